"""Cypher syntax the lexer once missed (issue 11 item 6), through the real query endpoint: floats with
no digit before the point (`.1`) and parameters named by digits (`$1`, sent as {"1": ...})."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.query.social_graph import Graph, post_cypher, social_graph

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


@pytest.fixture(scope="module")
def graph(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[Graph]:
    with social_graph(postgres_runtime, neo4j_runtime) as graph:
        yield graph


def test_a_leading_point_float_and_a_numeric_parameter(graph: Graph) -> None:
    response = post_cypher(graph, "RETURN .1 AS a, $1 AS b, -.5 AS c, 1 + .5e3 AS d", parameters={"1": "one"})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [[0.1, "one", -0.5, 501.0]]


def test_ranges_and_property_access_still_read_as_before(graph: Graph) -> None:
    response = post_cypher(graph, "WITH [1, 2, 3] AS list, {a: {b: .25}} AS m RETURN list[1..2] AS s, m.a.b AS p")
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [[[2], 0.25]]


def test_a_numeric_parameter_never_reaches_our_own_names(graph: Graph) -> None:
    """Our own parameters are `_ds_...`; a client's may not start with `_`, digits or not."""
    assert post_cypher(graph, "RETURN $_ds_s0", parameters={"_ds_s0": 1}).status_code == 400
    response = post_cypher(graph, "RETURN 'x' AS s, $0 AS z", parameters={"0": "zero"})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["x", "zero"]]
