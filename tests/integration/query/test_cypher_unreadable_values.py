"""Client Cypher returning a value the driver cannot build (found by the fuzz stage, issue 10):
Neo4j's dates and times span years -999,999,999 to 999,999,999, Python's only 1 to 9999. Such a
value breaks the whole record in the driver; the answer is a 422 saying so, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support.real_app import real_app_client
from tests.unit.http.api import SOCIAL_SCHEMA, create_dataset, create_session, new_key, problem

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


@pytest.fixture(scope="module")
def graph(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[tuple[TestClient[Any], dict[str, str], str]]:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        auth = new_key(client)
        sid = create_session(client, auth)
        create_dataset(client, auth, sid, "social", SOCIAL_SCHEMA, kind="graph")
        yield client, auth, sid
        client.delete(f"/sessions/{sid}", headers=auth)


def cypher(graph: tuple[TestClient[Any], dict[str, str], str], query: str, **extra: Any) -> Any:
    client, auth, sid = graph
    body = {"language": "cypher", "dataset": "social", "query": query, **extra}
    return client.post(f"/sessions/{sid}/query", json=body, headers=auth)


@pytest.mark.parametrize(
    "expression",
    [
        "date('-999999999-01-01')",
        "date('+10000-01-01')",
        "datetime('+999999999-12-31T23:59:59Z')",
        "localdatetime('-0001-06-01T12:00:00')",
        "[1, date('+999999999-12-31')]",
        "{when: datetime('-999999999-01-01T00:00:00Z')}",
    ],
)
def test_a_date_past_year_9999_or_before_year_1_is_a_422_naming_the_range(graph: Any, expression: str) -> None:
    body = problem(cypher(graph, f"RETURN {expression} AS x"), 422)
    assert body["field"] == "query"
    assert "year 1 to 9999" in body["detail"] and "toString" in body["detail"]


def test_the_same_value_reads_as_text_and_the_next_request_is_served(graph: Any) -> None:
    assert problem(cypher(graph, "RETURN date('+999999999-12-31') AS x"), 422)
    response = cypher(graph, "RETURN toString(date('+999999999-12-31')) AS x, date('2024-02-29') AS y")
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["+999999999-12-31", "2024-02-29"]]


def test_a_stored_far_date_is_refused_when_read_and_leaves_the_write_undone(graph: Any) -> None:
    write = cypher(graph, "CREATE (p:Person {name: 'far', seen: date('+20000-01-01')}) RETURN p", read_only=False)
    assert problem(write, 422)["field"] == "query"
    count = cypher(graph, "MATCH (p:Person {name: 'far'}) RETURN count(p) AS n")
    assert count.status_code == 200 and count.json()["rows"] == [[0]], count.text
