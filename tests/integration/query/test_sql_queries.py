"""Client SQL through POST /sessions/{sid}/query on the real PostgreSQL: what a user can do with it
(typed parameters, joins, aggregates, writes, limits), every failure a clean problem document."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from datainfra.adapters.postgres.identifiers import user_role_name
from tests.support.citus_fixtures import ALL_TABULAR_ENGINES
from tests.support.real_app import real_app_client
from tests.unit.http.api import create_dataset, create_session, dataset_url, new_key, problem

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]
TABULAR_ENGINES = ALL_TABULAR_ENGINES
"""The module runs on the single PostgreSQL and on the Citus cluster (tests/support/citus_fixtures.py)."""

PEOPLE = {
    "columns": [
        {"name": "name", "type": "text", "nullable": False},
        {"name": "age", "type": "integer"},
        {"name": "score", "type": "numeric"},
        {"name": "born", "type": "date"},
        {"name": "seen", "type": "timestamp"},
        {"name": "tags", "type": "json"},
        {"name": "active", "type": "boolean"},
    ]
}
ORDERS = {
    "columns": [
        {"name": "person", "type": "text", "nullable": False},
        {"name": "total", "type": "numeric", "nullable": False},
    ]
}


@pytest.fixture(scope="module")
def client(tabular_runtime: Any, neo4j_runtime: Any) -> Iterator[TestClient[Any]]:
    with real_app_client(tabular_runtime, neo4j_runtime) as client:
        yield client


@pytest.fixture(scope="module")
def tenant(client: TestClient[Any]) -> dict[str, Any]:
    auth = new_key(client)
    sid = create_session(client, auth)
    people = create_dataset(client, auth, sid, "people", PEOPLE)
    orders = create_dataset(client, auth, sid, "orders", ORDERS)
    rows = [
        {"name": "ada", "age": 36, "score": "1.50", "born": "1815-12-10", "seen": "2024-01-02T03:04:05Z",
         "tags": {"k": [1, "x"]}, "active": True},
        {"name": "bob", "age": 28, "score": "2.25", "born": "1990-05-01", "seen": None, "tags": None, "active": False},
        {"name": "cy", "age": None, "score": None, "born": None, "seen": None, "tags": None, "active": None},
    ]  # fmt: skip
    assert client.post(f"{dataset_url(sid, people)}/records", json={"records": rows}, headers=auth).status_code == 201
    orders_rows = [
        {"person": "ada", "total": "10.10"},
        {"person": "ada", "total": "5"},
        {"person": "bob", "total": "1"},
    ]
    assert (
        client.post(f"{dataset_url(sid, orders)}/records", json={"records": orders_rows}, headers=auth).status_code
        == 201
    )
    return {"auth": auth, "sid": sid, "people": people, "orders": orders}


def query(client: TestClient[Any], tenant: dict[str, Any], text: str, *params: Any, **options: Any) -> Any:
    body = {"language": "sql", "query": text, **options}
    if params:
        body["parameters"] = list(params)
    return client.post(f"/sessions/{tenant['sid']}/query", json=body, headers=tenant["auth"])


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= {"columns", "rows", "row_count", "truncated", "elapsed_ms"}
    assert body["row_count"] == len(body["rows"])
    return body


def test_select_with_typed_columns(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = ok(query(client, tenant, "SELECT name, age, score, born, seen, tags, active FROM people ORDER BY name"))
    assert [c["name"] for c in body["columns"]] == ["name", "age", "score", "born", "seen", "tags", "active"]
    assert [c["type"] for c in body["columns"]] == [
        "text",
        "integer",
        "numeric",
        "date",
        "timestamp",
        "json",
        "boolean",
    ]
    assert body["rows"][0] == ["ada", 36, 1.5, "1815-12-10", "2024-01-02T03:04:05Z", {"k": [1, "x"]}, True]
    assert body["rows"][2] == ["cy", None, None, None, None, None, None]
    assert body["truncated"] is False


def test_numeric_values_stay_exact(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    response = query(client, tenant, "SELECT score FROM people WHERE name = $1", "bob")
    assert '"rows":[[2.25]]' in response.text.replace(" ", "")
    body = ok(query(client, tenant, "SELECT 0.1 + 0.2 AS s"))
    assert Decimal(str(body["rows"][0][0])) == Decimal("0.3")


@pytest.mark.parametrize(
    ("text", "params", "expected"),
    [
        ("SELECT $1::text", ["héllo 'quoted' \"x\" \\ ;--"], "héllo 'quoted' \"x\" \\ ;--"),
        ("SELECT $1::int + 1", [41], 42),
        ("SELECT $1::bigint", [2**62], 2**62),
        ("SELECT $1::float8 * 2", [1.25], 2.5),
        ("SELECT $1::numeric", ["12345678901234567890.123456789"], 12345678901234567890.123456789),
        ("SELECT NOT $1::boolean", [True], False),
        ("SELECT $1::text IS NULL", [None], True),
        ("SELECT $1::date + 1", ["2024-02-28"], "2024-02-29"),
        ("SELECT $1::timestamptz", ["2024-01-01T00:00:00+02:00"], "2023-12-31T22:00:00Z"),
        ("SELECT $1::uuid", ["0f8fad5b-d9cb-469f-a165-70867728950e"], "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("SELECT $1::jsonb -> 'a'", [{"a": [1, {"b": None}]}], [1, {"b": None}]),
        ("SELECT array_length($1::int[], 1)", [[1, 2, 3]], 3),
        ("SELECT $1::jsonb", [[1, "two", None]], [1, "two", None]),
    ],
)
def test_parameters_of_every_type(
    client: TestClient[Any], tenant: dict[str, Any], text: str, params: list[Any], expected: Any
) -> None:
    assert ok(query(client, tenant, text, *params))["rows"] == [[expected]]


def test_a_parameter_is_data_never_sql(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    hostile = "x'; DROP TABLE people; --"
    assert ok(query(client, tenant, "SELECT count(*) FROM people WHERE name = $1", hostile))["rows"] == [[0]]
    assert ok(query(client, tenant, "SELECT count(*) FROM people"))["rows"] == [[3]]


def test_join_and_aggregates_across_datasets(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = ok(
        query(
            client,
            tenant,
            "SELECT p.name, count(o.*) AS n, sum(o.total) AS spent FROM people p "
            "LEFT JOIN orders o ON o.person = p.name GROUP BY p.name HAVING count(o.*) >= $1 ORDER BY spent DESC",
            1,
        )
    )
    assert body["rows"] == [["ada", 2, 15.10], ["bob", 1, 1]]
    assert [c["type"] for c in body["columns"]] == ["text", "integer", "numeric"]


def test_with_and_window_functions(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = ok(
        query(
            client,
            tenant,
            "WITH t AS (SELECT person, total FROM orders) "
            "SELECT person, total, rank() OVER (PARTITION BY person ORDER BY total DESC) FROM t ORDER BY person, total",
        )
    )
    assert body["rows"] == [["ada", 5, 2], ["ada", 10.10, 1], ["bob", 1, 1]]


def test_writes_need_read_only_false_and_report_what_changed(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    refused = problem(query(client, tenant, "INSERT INTO orders (person, total) VALUES ($1, $2)", "cy", 3), 400)
    assert refused["field"] == "query"
    body = ok(
        query(
            client, tenant, "INSERT INTO orders (person, total) VALUES ($1, $2) RETURNING person, total", "cy", "3.5",
            read_only=False,
        )
    )  # fmt: skip
    assert body["rows"] == [["cy", 3.5]] and body["affected"] == 1
    body = ok(query(client, tenant, "UPDATE orders SET total = total * 2 WHERE person = $1", "cy", read_only=False))
    assert body["affected"] == 1 and body["rows"] == [] and body["columns"] == []
    body = ok(query(client, tenant, "DELETE FROM orders WHERE person = $1 RETURNING total", "cy", read_only=False))
    assert body["rows"] == [[7.0]]
    # what SQL wrote, the records route reads
    records = client.get(f"{dataset_url(tenant['sid'], tenant['orders'])}/records", headers=tenant["auth"]).json()
    assert sorted(r["person"] for r in records["items"]) == ["ada", "ada", "bob"]


def test_a_failed_write_changes_nothing(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    response = query(
        client,
        tenant,
        "INSERT INTO orders (person, total) VALUES ('z', 1), ('z', NULL)",
        read_only=False,
    )
    body = problem(response, 422)
    assert "null" in body["detail"].lower()
    assert ok(query(client, tenant, "SELECT count(*) FROM orders WHERE person = 'z'"))["rows"] == [[0]]


def test_generated_ids_work_through_sql(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = ok(query(client, tenant, "INSERT INTO people (name) VALUES ($1) RETURNING id, name", "dee", read_only=False))
    assert isinstance(body["rows"][0][0], int)
    ok(query(client, tenant, "DELETE FROM people WHERE name = 'dee'", read_only=False))


def test_row_cap_says_when_it_bit(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = ok(query(client, tenant, "SELECT name FROM people ORDER BY name", max_rows=2))
    assert body["rows"] == [["ada"], ["bob"]] and body["truncated"] is True and body["row_count"] == 2
    body = ok(query(client, tenant, "SELECT name FROM people ORDER BY name", max_rows=3))
    assert body["truncated"] is False and body["row_count"] == 3


def test_a_long_query_is_cancelled_in_the_database(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    started = time.monotonic()
    response = query(
        client, tenant, "SELECT count(*) FROM people a, people b, people c, people d, people e, people f, "
        "people g, people h, people i, people j, people k, people l, people m, people n, people o, people p, "
        "people q, people r, people s, people t, people u", timeout_ms=300
    )  # fmt: skip
    assert time.monotonic() - started < 10
    body = problem(response, 504)
    assert "timeout_ms" in body["detail"]
    assert ok(query(client, tenant, "SELECT 1"))["rows"] == [[1]]  # the next request is unaffected


def test_empty_result_still_names_its_columns(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = ok(query(client, tenant, "SELECT name, age FROM people WHERE false"))
    assert body["rows"] == [] and [c["name"] for c in body["columns"]] == ["name", "age"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"language": "sql"}, 400, "query"),
        ({"language": "sql", "query": ""}, 400, "query"),
        ({"language": "sql", "query": 5}, 400, "query"),
        ({"language": "cobol", "query": "SELECT 1"}, 400, "language"),
        ({"query": "SELECT 1"}, 400, "language"),
        ({"language": "sql", "query": "SELECT $1", "parameters": {"a": 1}}, 400, "parameters"),
        ({"language": "sql", "query": "SELECT $1"}, 400, "parameters"),
        ({"language": "sql", "query": "SELECT 1", "parameters": [1]}, 400, "parameters"),
        ({"language": "sql", "query": "SELECT 1", "max_rows": 0}, 400, "max_rows"),
        ({"language": "sql", "query": "SELECT 1", "max_rows": 10**9}, 400, "max_rows"),
        ({"language": "sql", "query": "SELECT 1", "timeout_ms": "fast"}, 400, "timeout_ms"),
        ({"language": "sql", "query": "SELECT 1", "read_only": "no"}, 400, "read_only"),
        ({"language": "sql", "query": "SELECT 1", "dataset": "people"}, 400, "dataset"),
        ({"language": "sql", "query": "SELECT 1", "surprise": 1}, 400, "surprise"),
        ({"language": "sql", "query": "SELEC 1"}, 400, "query"),
        ({"language": "sql", "query": "SELECT nope FROM people"}, 400, "query"),
        ({"language": "sql", "query": "SELECT * FROM missing"}, 400, "query"),
        ({"language": "sql", "query": "SELECT 1/0"}, 422, "query"),
        ({"language": "sql", "query": "SELECT $1::int", "parameters": ["abc"]}, 422, "query"),
        ({"language": "sql", "query": "SELECT $1::int[]", "parameters": [[1, "a"]]}, 400, "query"),
    ],
)
def test_bad_requests_are_clean_problems(
    client: TestClient[Any], tenant: dict[str, Any], body: dict[str, Any], status: int, field: str
) -> None:
    response = client.post(f"/sessions/{tenant['sid']}/query", json=body, headers=tenant["auth"])
    assert problem(response, status).get("field") == field


def test_size_caps_hold(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    long_query = "SELECT 1 " + "-- padding\n" * 7000
    assert problem(query(client, tenant, long_query), 400)["field"] == "query"
    huge = "SELECT " + " + ".join(["1"] * 300_000)
    problem(query(client, tenant, huge), 413)  # a body over the request size limit, refused unread
    deep = "SELECT " + "(" * 20_000 + "1" + ")" * 20_000
    assert problem(query(client, tenant, deep), 400)["field"] == "query"


def test_a_60_kb_operator_chain_is_refused_and_the_next_request_is_served(
    client: TestClient[Any], tenant: dict[str, Any]
) -> None:
    """30,000 terms under the 64 KiB cap once killed the whole API process inside the SQL parser."""
    chain = "SELECT " + "+".join(["1"] * 30_000)
    assert 60_000 < len(chain) < 64 * 1024
    body = problem(query(client, tenant, chain), 400)
    assert body["field"] == "query"
    assert "nested too deeply" in body["detail"]
    assert ok(query(client, tenant, "SELECT 1 + 1 AS two"))["rows"] == [[2]]


def test_a_long_chain_under_the_nesting_bound_runs(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    assert ok(query(client, tenant, "SELECT " + "+".join(["1"] * 1_900) + " AS total"))["rows"] == [[1_900]]


def test_unknown_session_is_404_and_no_key_is_401(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = {"language": "sql", "query": "SELECT 1"}
    problem(client.post("/sessions/nope/query", json=body, headers=tenant["auth"]), 404)
    problem(client.post(f"/sessions/{tenant['sid']}/query", json=body), 401)
    other = new_key(client)
    problem(client.post(f"/sessions/{tenant['sid']}/query", json=body, headers=other), 404)


def test_sql_runs_as_the_users_own_role_with_its_limits(client: TestClient[Any], tabular_runtime: Any) -> None:
    created = client.post("/users").json()
    auth = {"X-API-Key": created["api_key"]}
    sid = create_session(client, auth)
    body = ok(
        client.post(f"/sessions/{sid}/query", json={"language": "sql", "query": "SELECT current_user"}, headers=auth)
    )
    role = user_role_name(created["user_id"])
    assert body["rows"] == [[role]]
    with psycopg.connect(tabular_runtime.settings().url) as conn:
        row = conn.execute(
            "SELECT rolconnlimit, rolconfig, rolsuper, rolcreaterole, rolcreatedb, rolinherit FROM pg_roles "
            "WHERE rolname = %s",
            (role,),
        ).fetchone()
    assert row is not None
    connlimit, config, superuser, createrole, createdb, inherit = row
    assert connlimit == 4 and not superuser and not createrole and not createdb and not inherit
    assert "work_mem=16MB" in config and "statement_timeout=60000" in config
    assert any(item.startswith("temp_file_limit=") for item in config)  # the test server's role is a superuser
