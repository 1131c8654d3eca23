"""POST /sessions/{sid}/query on the in-memory stores: the request checks every language shares,
and what the in-memory build says for raw SQL and Cypher (which need the real stores; their own
behaviour is tested in tests/integration/query and tests/security)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from datainfra.adapters.http.query_requests import QUERY_EXAMPLES, QueryResultOut
from tests.unit.http.api import create_dataset, create_session, problem


@pytest.fixture
def sid(client: TestClient, auth: dict[str, str]) -> str:
    session_id = create_session(client, auth)
    create_dataset(client, auth, session_id, "people", {"columns": [{"name": "name", "type": "text"}]})
    create_dataset(client, auth, session_id, "social", {"node_labels": [{"name": "Person"}]}, kind="graph")
    return session_id


def post(client: TestClient, auth: dict[str, str], sid: str, body: Any, **kwargs: Any) -> Any:
    return client.post(f"/sessions/{sid}/query", json=body, headers=auth, **kwargs)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "language"),
        ({"language": "SQL", "query": "SELECT 1"}, "language"),
        ({"language": "sql", "query": "   "}, "query"),
        ({"language": "sql", "query": ["SELECT 1"]}, "query"),
        ({"language": "sql", "query": "SELECT 1", "parameters": "1"}, "parameters"),
        ({"language": "sql", "query": "SELECT 1", "parameters": list(range(1001))}, "parameters"),
        ({"language": "cypher", "query": "RETURN 1", "parameters": [1]}, "parameters"),
        ({"language": "cypher", "query": "RETURN 1", "parameters": {"_x": 1}}, "parameters._x"),
        ({"language": "cypher", "query": "RETURN 1", "parameters": {"a b": 1}}, "parameters.a b"),
        ({"language": "cypher", "query": "RETURN 1"}, "dataset"),
        ({"language": "cypher", "query": "RETURN 1", "dataset": "people"}, "dataset"),
        ({"language": "sql", "query": "SELECT 1", "timeout_ms": 0}, "timeout_ms"),
        ({"language": "sql", "query": "SELECT 1", "timeout_ms": 60_001}, "timeout_ms"),
        ({"language": "sql", "query": "SELECT 1", "max_rows": True}, "max_rows"),
        ({"language": "sql", "query": "SELECT 1", "read_only": 1}, "read_only"),
        ({"language": "sql", "query": "SELECT 1", "from": "people"}, "from"),
        ({"language": "sql", "query": "x" * (64 * 1024 + 1)}, "query"),
        ({"language": "sql", "query": "SELECT '\u0000'"}, "query"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field(
    client: TestClient, auth: dict[str, str], sid: str, body: dict[str, Any], field: str
) -> None:
    assert problem(post(client, auth, sid, body), 400).get("field") == field


def test_the_body_must_be_a_json_object(client: TestClient, auth: dict[str, str], sid: str) -> None:
    problem(post(client, auth, sid, ["sql"]), 400)
    problem(client.post(f"/sessions/{sid}/query", content=b"{nope", headers=auth), 400)


def test_a_body_beyond_the_query_cap_is_a_413(client: TestClient, auth: dict[str, str], sid: str) -> None:
    body = {"language": "sql", "query": "SELECT $1", "parameters": ["x" * (1024 * 1024)]}
    problem(post(client, auth, sid, body), 413)


def test_an_unknown_graph_dataset_is_a_404(client: TestClient, auth: dict[str, str], sid: str) -> None:
    body = {"language": "cypher", "query": "RETURN 1", "dataset": "nope"}
    assert problem(post(client, auth, sid, body), 404)["field"] == "dataset"


def test_another_users_session_is_a_404(client: TestClient, auth: dict[str, str], sid: str) -> None:
    other = {"X-API-Key": client.post("/users").json()["api_key"]}
    problem(post(client, other, sid, {"language": "sql", "query": "SELECT 1"}), 404)
    problem(post(client, {}, sid, {"language": "sql", "query": "SELECT 1"}), 401)


@pytest.mark.parametrize("language", ["sql", "cypher"])
def test_raw_queries_need_the_real_stores(client: TestClient, auth: dict[str, str], sid: str, language: str) -> None:
    body = {"language": language, "query": "RETURN 1" if language == "cypher" else "SELECT 1", "dataset": "social"}
    if language == "sql":
        del body["dataset"]
    response = post(client, auth, sid, body)
    assert "in-memory" in problem(response, 503)["detail"]


def test_a_structured_query_joins_groups_and_aggregates(client: TestClient, auth: dict[str, str]) -> None:
    sid = create_session(client, auth)
    people = create_dataset(
        client, auth, sid, "people", {"columns": [{"name": "name", "type": "text"}, {"name": "age", "type": "integer"}]}
    )
    orders = create_dataset(
        client,
        auth,
        sid,
        "orders",
        {"columns": [{"name": "person", "type": "text"}, {"name": "total", "type": "numeric"}]},
    )
    rows = [{"name": "ada", "age": 36}, {"name": "bob", "age": 28}, {"name": "cy", "age": 19}]
    client.post(f"/sessions/{sid}/datasets/{people}/records", json={"records": rows}, headers=auth)
    sales = [{"person": "ada", "total": "10.5"}, {"person": "ada", "total": "2"}, {"person": "bob", "total": "1"}]
    client.post(f"/sessions/{sid}/datasets/{orders}/records", json={"records": sales}, headers=auth)
    body = {
        "language": "structured",
        "from": "people",
        "join": [{"dataset": "orders", "type": "left", "on": {"name": "person"}}],
        "where": {"or": [{"age": {"gte": 28}}, {"name": {"ilike": "C%"}}]},
        "group_by": ["name"],
        "aggregates": [
            {"fn": "count", "field": "orders.total", "as": "n"},
            {"fn": "sum", "field": "total", "as": "spent"},
        ],
        "order_by": ["-n", "name"],
    }
    response = post(client, auth, sid, body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert [c["name"] for c in result["columns"]] == ["name", "n", "spent"]
    assert result["rows"] == [["ada", 2, 12.5], ["bob", 1, 1], ["cy", 0, None]]
    assert result["truncated"] is False and result["row_count"] == 3
    assert '"spent"' in response.text and "12.5" in response.text


def test_averages_keep_a_sane_scale(client: TestClient, auth: dict[str, str]) -> None:
    """Issue 13: avg of integers is a float; avg of numeric is rounded to 6 places (or the values'
    larger scale); neither is PostgreSQL's 36.6666666666666667."""
    sid = create_session(client, auth)
    schema = {"columns": [{"name": "age", "type": "integer"}, {"name": "price", "type": "numeric"}]}
    people = create_dataset(client, auth, sid, "people", schema)
    rows = [{"age": 36, "price": "1.50"}, {"age": 37, "price": "2.25"}, {"age": 37, "price": "3.00"}]
    client.post(f"/sessions/{sid}/datasets/{people}/records", json={"records": rows}, headers=auth)
    body = {
        "language": "structured",
        "from": "people",
        "aggregates": [{"fn": "avg", "field": "age", "as": "age"}, {"fn": "avg", "field": "price", "as": "price"}],
    }
    response = post(client, auth, sid, body)
    assert response.status_code == 200, response.text
    assert response.json()["columns"] == [{"name": "age", "type": "float"}, {"name": "price", "type": "numeric"}]
    assert '"rows":[[36.666666666666664,2.250000]]' in response.text


def test_a_structured_query_names_the_wrong_member(client: TestClient, auth: dict[str, str], sid: str) -> None:
    body = {"language": "structured", "from": "people", "where": {"age": {"between": 1}}}
    assert problem(post(client, auth, sid, body), 400)["field"].startswith("where")
    body = {"language": "structured", "from": "social"}
    assert "graph" in problem(post(client, auth, sid, body), 400)["detail"]
    body = {"language": "structured", "from": "people", "read_only": False}
    assert problem(post(client, auth, sid, body), 400)["field"] == "read_only"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "sql", "query": "SELECT 1", "dataset": "people"}, "dataset"),
        ({"language": "cypher", "query": "RETURN 1", "dataset": "social", "from": "x"}, "from"),
        ({"language": "structured", "from": "people", "query": "SELECT 1"}, "query"),
        ({"language": "structured", "from": "people", "parameters": [1]}, "parameters"),
        (
            {"language": "structured", "from": "people", "join": [{"dataset": "x", "on": {}, "how": "left"}]},
            "join[0].how",
        ),
        ({"language": "structured", "from": "people", "aggregates": [{"fn": "median", "as": "m"}]}, "aggregates[0].fn"),
        ({"language": "structured", "from": "people", "limit": 10_001}, "limit"),
        ({"language": "structured"}, "from"),
    ],
)
def test_unknown_or_wrong_members_are_refused_by_name(
    client: TestClient, auth: dict[str, str], sid: str, body: dict[str, Any], field: str
) -> None:
    assert problem(post(client, auth, sid, body), 400).get("field") == field


def test_the_documented_examples_are_accepted(client: TestClient, auth: dict[str, str]) -> None:
    sid = create_session(client, auth)
    schema = {"columns": [{"name": "age", "type": "integer"}, {"name": "city", "type": "text"}]}
    create_dataset(client, auth, sid, "people", schema)
    create_dataset(client, auth, sid, "social", {"node_labels": [{"name": "Person"}]}, kind="graph")
    for example in QUERY_EXAMPLES:
        response = post(client, auth, sid, example)
        expected = 200 if example["language"] == "structured" else 503  # raw SQL and Cypher: real stores only
        assert response.status_code == expected, response.text


def test_the_answer_has_the_documented_shape(client: TestClient, auth: dict[str, str], sid: str) -> None:
    response = post(client, auth, sid, {"language": "structured", "from": "people", "max_rows": 5})
    assert response.status_code == 200, response.text
    document = msgspec.json.decode(response.content, type=QueryResultOut)
    assert "name" in [c.name for c in document.columns] and document.rows == [] and document.row_count == 0
    assert "affected" not in response.json()
