"""Cypher syntax the lexer once missed (issue 11 item 6), through the real query endpoint: floats with
no digit before the point (`.1`) and parameters named by digits (`$1`, sent as {"1": ...})."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support.real_app import real_app_client
from tests.unit.http.api import SOCIAL_SCHEMA, create_dataset, create_session, new_key

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

Graph = tuple[TestClient[Any], dict[str, str], str]


@pytest.fixture(scope="module")
def graph(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[Graph]:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        auth = new_key(client)
        sid = create_session(client, auth)
        create_dataset(client, auth, sid, "social", SOCIAL_SCHEMA, kind="graph")
        yield client, auth, sid
        client.delete(f"/sessions/{sid}", headers=auth)


def cypher(graph: Graph, query: str, **extra: Any) -> Any:
    client, auth, sid = graph
    body = {"language": "cypher", "dataset": "social", "query": query, **extra}
    return client.post(f"/sessions/{sid}/query", json=body, headers=auth)


def test_a_leading_point_float_and_a_numeric_parameter(graph: Graph) -> None:
    response = cypher(graph, "RETURN .1 AS a, $1 AS b, -.5 AS c, 1 + .5e3 AS d", parameters={"1": "one"})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [[0.1, "one", -0.5, 501.0]]


def test_ranges_and_property_access_still_read_as_before(graph: Graph) -> None:
    response = cypher(graph, "WITH [1, 2, 3] AS list, {a: {b: .25}} AS m RETURN list[1..2] AS s, m.a.b AS p")
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [[[2], 0.25]]


def test_a_numeric_parameter_never_reaches_our_own_names(graph: Graph) -> None:
    """Our own parameters are `_ds_...`; a client's may not start with `_`, digits or not."""
    assert cypher(graph, "RETURN $_ds_s0", parameters={"_ds_s0": 1}).status_code == 400
    response = cypher(graph, "RETURN 'x' AS s, $0 AS z", parameters={"0": "zero"})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["x", "zero"]]
