"""Issue 11, item 2: temporal, duration and point properties a client stores through Cypher read back
on every path (Cypher results, node pages and single nodes, every graph export), never a 5xx, in one
documented form each (adapters/neo4j/values.py), nanoseconds kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import networkx as nx
import pytest

from tests.integration.query.social_graph import Graph, cypher, social_graph
from tests.unit.http.api import dataset_url

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

STORED = {
    "lt": ("localtime('12:00')", "12:00:00"),
    "ltn": ("localtime('23:59:59.000000001')", "23:59:59.000000001"),
    "ldt": ("localdatetime('2020-01-02T03:04:05.123456789')", "2020-01-02T03:04:05.123456789"),
    "ldt0": ("localdatetime('2020-01-02T03:04')", "2020-01-02T03:04:00"),
    "z": ("time('12:00+01:00')", "12:00:00+01:00"),
    "zn": ("time('01:02:03.120000000Z')", "01:02:03.12Z"),
    "d": ("date('2020-01-02')", "2020-01-02"),
    "u": ("duration('P1DT2H')", "P1DT2H"),
    "un": ("duration('P1Y2M3DT4H5M6.000000007S')", "P1Y2M3DT4H5M6.000000007S"),
    "p": ("point({x: 1, y: 2})", {"srid": 7203, "x": 1.0, "y": 2.0}),
    "p3": ("point({longitude: 1, latitude: 2, height: 3})", {"srid": 4979, "x": 1.0, "y": 2.0, "z": 3.0}),
    "lts": ("[localtime('12:00:00.5'), localtime('13:00')]", ["12:00:00.5", "13:00:00"]),
}
EXPECTED = {name: shown for name, (_, shown) in STORED.items()}


@pytest.fixture(scope="module")
def graph(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[Graph]:
    with social_graph(postgres_runtime, neo4j_runtime) as graph:
        written = ", ".join(f"{name}: {expression}" for name, (expression, _) in STORED.items())
        cypher(graph, f"CREATE (:Person {{id: 'tm', name: 'tm', {written}}})", read_only=False)
        cypher(graph, "CREATE (:Person {id: 'other', name: 'other'})", read_only=False)
        cypher(graph, "MATCH (a {id: 'tm'}), (b {id: 'other'}) MERGE (a)-[r:KNOWS]->(b)", read_only=False)
        cypher(graph, f"MATCH ()-[r:KNOWS]->() SET r += {{{written}}}", read_only=False)
        yield graph


def key_of(graph: Graph, name: str) -> str:
    """The key the graph routes address of the node Cypher created with property `id` = `name`."""
    [[key]] = cypher(graph, f"MATCH (n {{id: '{name}'}}) RETURN datainfra.key(n)")["rows"]
    return str(key)


def stored(properties: dict[str, Any]) -> dict[str, Any]:
    return {name: properties.get(name) for name in STORED}


def test_cypher_returns_the_node_and_each_property(graph: Graph) -> None:
    result = cypher(graph, "MATCH (n:Person {id: 'tm'})-[r:KNOWS]->() RETURN n, r, properties(n) AS m")
    node, edge, mapped = result["rows"][0]
    assert stored(node["properties"]) == EXPECTED
    assert stored(edge["properties"]) == EXPECTED
    assert stored(mapped) == EXPECTED
    for name, shown in EXPECTED.items():
        assert cypher(graph, f"MATCH (n:Person {{id: 'tm'}}) RETURN n.{name}")["rows"] == [[shown]], name


def test_cypher_column_types_name_local_kinds(graph: Graph) -> None:
    result = cypher(graph, "MATCH (n:Person {id: 'tm'}) RETURN n.lt AS a, n.ldt AS b, n.z AS c, n.u AS d, n.p AS e")
    kinds = [column["type"] for column in result["columns"]]
    assert kinds == ["localtime", "localdatetime", "time", "duration", "point"]


def test_the_graph_routes_read_them(graph: Graph) -> None:
    client, auth, sid, dataset = graph
    url = dataset_url(sid, dataset)
    tm = key_of(graph, "tm")
    node = client.get(f"{url}/nodes/{tm}", headers=auth)
    assert node.status_code == 200, node.text
    assert stored(node.json()["properties"]) == EXPECTED
    page = client.get(f"{url}/nodes", headers=auth)
    assert page.status_code == 200, page.text
    assert stored(next(item for item in page.json()["items"] if item["id"] == tm)["properties"]) == EXPECTED
    edges = client.get(f"{url}/edges", headers=auth)
    assert edges.status_code == 200, edges.text
    assert stored(edges.json()["items"][0]["properties"]) == EXPECTED


def test_every_export_reads_them(graph: Graph) -> None:
    client, auth, sid, dataset = graph
    url = dataset_url(sid, dataset)
    tm = key_of(graph, "tm")
    exported = client.get(f"{url}/export", params={"format": "json"}, headers=auth)
    assert exported.status_code == 200, exported.text
    linked = nx.node_link_graph(exported.json())  # properties flat beside id (issue 14)
    assert stored(linked.nodes[tm]) == EXPECTED
    assert stored(next(iter(linked.edges(data=True)))[2]) == EXPECTED
    lines = client.get(f"{url}/export", params={"format": "ndjson"}, headers=auth)
    assert lines.status_code == 200, lines.text
    records = [json.loads(line) for line in lines.text.splitlines() if line]
    node = next(record for record in records if record.get("id") == tm)
    edge = next(record for record in records if record.get("kind") == "edge")
    assert stored(node["properties"]) == EXPECTED and stored(edge["properties"]) == EXPECTED
    graphml = client.get(f"{url}/export", params={"format": "graphml"}, headers=auth)
    assert graphml.status_code == 200, graphml.text
    assert graphml.text.rstrip().endswith("</graphml>")
    for text in ("2020-01-02T03:04:05.123456789", "12:00:00+01:00", "23:59:59.000000001", "P1DT2H", "2020-01-02<"):
        assert text in graphml.text, text
