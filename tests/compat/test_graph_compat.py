"""Graph exports opened with the libraries their users use (issue 14), on the real stores (Neo4j for
the graph, PostgreSQL for the catalog): node-link JSON with networkx's own defaults, GraphML with
networkx, python-igraph and the GraphML 1.0 structure (tests/compat/graphml_1_0_subset.xsd), graph
NDJSON read back by the import. Every property type the graph holds is checked by value, under the
rules formats/graph_attributes.py and formats/graphml.py document; the weighted shortest path,
PageRank and the components each library computes on the export equal the API's on the dataset.
One graph is written and exported once for the whole module (one Neo4j start for the suite)."""

from __future__ import annotations

import io
import json
import math
import tempfile
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import igraph as ig
import networkx as nx
import pytest
import xmlschema
from litestar.testing import TestClient

from tests.compat.tally import record
from tests.support.real_app import real_app_client
from tests.unit.http.api import create_dataset, create_session, dataset_url, write

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

XSD = Path(__file__).with_name("graphml_1_0_subset.xsd")
GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"
SCHEMA: dict[str, Any] = {
    "node_labels": [
        {
            "name": "Person",
            "properties": [
                {"name": "name", "type": "text"},
                {"name": "big", "type": "integer"},
                {"name": "ratio", "type": "float"},
                {"name": "score", "type": "numeric"},
                {"name": "flag", "type": "boolean"},
                {"name": "born", "type": "date"},
                {"name": "seen", "type": "timestamp"},
                {"name": "uid", "type": "uuid"},
                {"name": "meta", "type": "json"},
            ],
        }
    ],
    "relationship_types": [{"name": "KNOWS", "properties": [{"name": "weight", "type": "float"}]}],
}
TRICKY = 'Ada "quoted", <&> \n newline\ttab ✓ 😀'
NODES: list[dict[str, Any]] = [
    {
        "id": "a",
        "labels": ["Person", "Admin"],
        "properties": {
            "name": TRICKY,
            "big": 9223372036854775807,
            "ratio": 0.1,
            "score": "12345678901234567890.1234567890",
            "flag": True,
            "born": "0001-01-01",
            "seen": "2026-01-02T03:04:05.5Z",
            "uid": "12345678-1234-5678-1234-567812345678",
            "meta": {"k": [1, "v", None]},
            "tags": ["x", "y"],
            "null_text": "NULL",
            "empty": "",
            "id": "own-id",
        },
    },
    {
        "id": "b",
        "labels": ["Person"],
        "properties": {
            "name": "Bob",
            "big": -9223372036854775808,
            "ratio": 1e-300,
            "flag": False,
            "born": "9999-12-31",
        },
    },
    {"id": "c", "labels": [], "properties": {}},
    {"id": "d", "labels": ["Person"], "properties": {"score": "0.000000001"}},
]
EDGES: list[dict[str, Any]] = [  # the README's social graph, a parallel edge, and names readers reserve
    {"id": "ab", "source": "a", "target": "b", "type": "KNOWS", "properties": {"weight": 1.0}},
    {"id": "bc", "source": "b", "target": "c", "type": "KNOWS", "properties": {"weight": 1.0}},
    {"id": "ac", "source": "a", "target": "c", "type": "KNOWS", "properties": {"weight": 5.0}},
    {"id": "ab2", "source": "a", "target": "b", "type": "KNOWS", "properties": {"weight": 3.0}},
    {
        "id": "ca",
        "source": "c",
        "target": "a",
        "type": "LIKES",
        "properties": {"weight": 2.0, "source": "s", "target": "t", "key": "k", "id": "i"},
    },
]
# The value type each node property stands for in the tally.
TYPES = {
    "name": "text (quotes, newline, tab, emoji)",
    "big": "int64",
    "ratio": "float",
    "score": "numeric",
    "flag": "boolean",
    "born": "date",
    "seen": "timestamp",
    "uid": "uuid",
    "meta": "json",
    "tags": "list",
    "null_text": 'text "NULL"',
    "empty": "empty text",
    "id": "property named id",
}


@dataclass(frozen=True)
class Exported:
    client: TestClient[Any]
    auth: dict[str, str]
    url: str
    node_link: bytes
    graphml: bytes
    ndjson: bytes


@pytest.fixture(scope="module")
def exported(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[Exported]:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        auth = {"X-API-Key": client.post("/users").json()["api_key"]}
        session_id = create_session(client, auth)
        url = dataset_url(session_id, create_dataset(client, auth, session_id, "social", SCHEMA, kind="graph"))
        write(client, auth, url, {"nodes": NODES, "edges": EDGES})
        files = {}
        for fmt in ("json", "graphml", "ndjson"):
            response = client.get(f"{url}/export", params={"format": fmt}, headers=auth)
            assert response.status_code == 200, response.text
            files[fmt] = response.content
        yield Exported(client, auth, url, files["json"], files["graphml"], files["ndjson"])


def api_properties(exported: Exported) -> dict[str, dict[str, Any]]:
    """Each node's properties as the API shows them (GET .../nodes): the values every export is
    checked against (numerics as exact decimals, floats as floats)."""
    response = exported.client.get(f"{exported.url}/nodes", params={"limit": 100}, headers=exported.auth)
    page = json.loads(response.text, parse_float=Decimal)
    return {
        item["id"]: {k: float(v) if k == "ratio" else v for k, v in item["properties"].items()}
        for item in page["items"]
    }


def check_nodes(
    exported: Exported,
    fmt: str,
    library: str,
    attributes: Callable[[str], dict[str, Any]],
    rule: Callable[[str, Any], Any],
    missing: Callable[[str, str, Any], bool],
) -> None:
    """For every node and every property anywhere in the graph: present ones equal `rule(name, api
    value)`, absent ones satisfy `missing`; each property type is tallied once it held for all nodes."""
    expected = api_properties(exported)
    names = {name for props in expected.values() for name in props}
    for name in sorted(names):
        attribute = "property:id" if name == "id" else name
        for node_id, props in expected.items():
            got = attributes(node_id)
            if name in props:
                assert attribute in got, (fmt, library, node_id, name)
                assert got[attribute] == rule(name, props[name]), (fmt, library, node_id, name, got[attribute])
            else:
                assert missing(node_id, attribute, got.get(attribute)), (fmt, library, node_id, name, got)
        record(fmt, library, TYPES[name])
    record(fmt, library, "missing property")


# -- node-link JSON -------------------------------------------------------------------------------


def node_link_graph(exported: Exported) -> nx.MultiDiGraph:
    graph = nx.node_link_graph(json.loads(exported.node_link))  # networkx 3.6.x defaults: edges="edges"
    assert isinstance(graph, nx.MultiDiGraph)
    return graph


def test_networkx_reads_node_link_values_with_its_defaults(exported: Exported) -> None:
    graph = node_link_graph(exported)
    exact = nx.node_link_graph(json.loads(exported.node_link, parse_float=Decimal))

    def as_json_reads(name: str, value: Any) -> Any:
        return float(value) if name == "score" else value  # JSON numbers are floats to json.loads

    check_nodes(exported, "node-link json", "networkx", lambda n: graph.nodes[n], as_json_reads, _absent)
    assert exact.nodes["a"]["score"] == Decimal("12345678901234567890.1234567890")  # exact with parse_float=Decimal
    record("node-link json", "networkx", "numeric (exact, parse_float=Decimal)")
    assert graph.nodes["a"][":labels"] == ":Person:Admin" and ":labels" not in graph.nodes["c"]
    record("node-link json", "networkx", "labels")
    edges = {key: (u, v, data) for u, v, key, data in graph.edges(keys=True, data=True)}
    assert set(edges) == {"ab", "bc", "ac", "ab2", "ca"}
    assert edges["ca"] == (
        "c",
        "a",
        {
            "id": "ca",
            ":type": "LIKES",
            "weight": 2.0,
            "property:source": "s",
            "property:target": "t",
            "property:key": "k",
            "property:id": "i",
        },
    )
    record("node-link json", "networkx", "edge key")


def test_networkx_writes_the_node_link_graph_as_graphml(exported: Exported) -> None:
    """The loaded graph holds no list for the labels; only list or json property values (here
    `tags`, `meta`) stop write_graphml, as for any networkx graph holding lists."""
    graph = node_link_graph(exported)
    for _, data in graph.nodes(data=True):
        for name in [k for k, v in data.items() if isinstance(v, list | dict)]:
            del data[name]
    written = io.BytesIO()
    nx.write_graphml(graph, written)
    response = exported.client.post(
        f"{_new_dataset(exported, 'rewritten')}/records",
        content=written.getvalue(),
        headers={**exported.auth, "content-type": "application/graphml+xml"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["inserted"] == len(NODES) + len(EDGES)


# -- GraphML --------------------------------------------------------------------------------------

GRAPHML_AS_TEXT = {"score", "born", "seen", "uid"}


def graphml_rule(name: str, value: Any) -> Any:
    """GraphML has no numeric, date, timestamp, uuid or json type: those are their API text; lists
    and json values are JSON text."""
    if name in ("meta", "tags"):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if name == "score":
        return str(value)
    return value


def test_networkx_reads_graphml_values(exported: Exported) -> None:
    graph = nx.read_graphml(io.BytesIO(exported.graphml), force_multigraph=True)

    def rule(name: str, value: Any) -> Any:
        got = graphml_rule(name, value)
        return json.loads(got) if name in ("meta", "tags") else got

    check_nodes(
        exported,
        "graphml",
        "networkx",
        lambda n: {k: json.loads(v) if k in ("meta", "tags") else v for k, v in graph.nodes[n].items()},
        rule,
        _absent,
    )
    assert graph.nodes["a"][":labels"] == ":Person:Admin"
    record("graphml", "networkx", "labels")
    keys = sorted(key for _, _, key in graph.edges(keys=True))
    assert keys == sorted(e["id"] for e in EDGES)
    assert all(data["id"] == key for _, _, key, data in graph.edges(keys=True, data=True))
    record("graphml", "networkx", "edge key")


def test_igraph_reads_graphml_values_node_ids_and_edge_keys(exported: Exported) -> None:
    graph = igraph_graph(exported)
    assert graph.is_directed()
    by_id = {v["id"]: v.attributes() for v in graph.vs}  # node ids kept: no node attribute is named id
    assert sorted(by_id) == ["a", "b", "c", "d"]

    def rule(name: str, value: Any) -> Any:
        if name in ("big", "ratio"):
            return float(value)  # igraph holds every number as a double (documented: int64 past 2**53 rounds)
        return graphml_rule(name, value)

    check_nodes(exported, "graphml", "python-igraph", lambda n: by_id[n], rule, _igraph_absent)
    assert by_id["a"][":labels"] == ":Person:Admin"
    record("graphml", "python-igraph", "labels")
    edges = {e["id"]: (graph.vs[e.source]["id"], graph.vs[e.target]["id"], e[":type"]) for e in graph.es}
    assert edges == {e["id"]: (e["source"], e["target"], e["type"]) for e in EDGES}
    record("graphml", "python-igraph", "edge key")


def test_graphml_validates_and_declares_keys_as_gephi_expects(exported: Exported) -> None:
    xmlschema.XMLSchema(str(XSD)).validate(io.BytesIO(exported.graphml))
    record("graphml", "GraphML 1.0 XSD", "document")
    root = ET.fromstring(exported.graphml)
    keys = root.findall(f"{GRAPHML_NS}key")
    assert keys and all(key.get("attr.name") for key in keys)
    assert {key.get("attr.type") for key in keys} <= {"boolean", "int", "long", "float", "double", "string"}
    assert {key.get("for") for key in keys} == {"node", "edge"}
    assert not root.findall(f".//{GRAPHML_NS}default")  # no default: an absent value is never filled in
    kinds = {key.get("attr.name"): key.get("attr.type") for key in keys if key.get("for") == "node"}
    assert (kinds["big"], kinds["ratio"], kinds["flag"], kinds["name"]) == ("long", "double", "boolean", "string")
    record("graphml", "Gephi key declarations", "key types")


# -- NDJSON ---------------------------------------------------------------------------------------


def test_graph_ndjson_imports_back_exactly(exported: Exported) -> None:
    lines = [json.loads(line) for line in exported.ndjson.splitlines()]
    assert [line["kind"] for line in lines] == ["node"] * len(NODES) + ["edge"] * len(EDGES)
    copy = _new_dataset(exported, "from_ndjson")
    response = exported.client.post(
        f"{copy}/records",
        content=exported.ndjson,
        headers={**exported.auth, "content-type": "application/x-ndjson"},
    )
    assert response.status_code == 201, response.text
    again = exported.client.get(f"{copy}/export", params={"format": "ndjson"}, headers=exported.auth)
    assert again.content == exported.ndjson
    for kind in sorted(set(TYPES.values())):
        record("graph ndjson", "datainfra import", kind)


@pytest.mark.parametrize(("fmt", "media"), [("json", "application/json"), ("graphml", "application/graphml+xml")])
def test_graph_exports_import_back_byte_for_byte(exported: Exported, fmt: str, media: str) -> None:
    body = exported.node_link if fmt == "json" else exported.graphml
    copy = _new_dataset(exported, "social")
    response = exported.client.post(f"{copy}/records", content=body, headers={**exported.auth, "content-type": media})
    assert response.status_code == 201, response.text
    assert exported.client.get(f"{copy}/export", params={"format": fmt}, headers=exported.auth).content == body
    record("node-link json" if fmt == "json" else "graphml", "datainfra import", "round trip")


# -- algorithms -----------------------------------------------------------------------------------


def loaded_graphs(exported: Exported) -> dict[str, nx.MultiDiGraph]:
    return {
        "node-link json": node_link_graph(exported),
        "graphml": nx.read_graphml(io.BytesIO(exported.graphml), force_multigraph=True),
    }


def api(exported: Exported, algorithm: str, body: dict[str, Any]) -> Any:
    response = exported.client.post(
        f"{exported.url}/algorithms/{algorithm}", json=body, params=_paging(algorithm), headers=exported.auth
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_weighted_shortest_path_is_the_apis(exported: Exported) -> None:
    found = api(exported, "shortest_path", {"source": "a", "target": "c", "weight": "weight"})
    assert [n["id"] for n in found["nodes"]] == ["a", "b", "c"] and found["cost"] == 2.0
    for fmt, graph in loaded_graphs(exported).items():
        assert nx.shortest_path(graph, "a", "c", weight="weight") == ["a", "b", "c"]
        assert nx.shortest_path_length(graph, "a", "c", weight="weight") == 2.0
        record(fmt, "networkx", "weighted shortest path")
    igraph = igraph_graph(exported)
    (path,) = igraph.get_shortest_paths(igraph.vs.find(id="a"), igraph.vs.find(id="c"), weights="weight")
    assert [igraph.vs[i]["id"] for i in path] == ["a", "b", "c"]
    record("graphml", "python-igraph", "weighted shortest path")


@pytest.mark.parametrize("weight", [None, "weight"])
def test_pagerank_is_the_apis(exported: Exported, weight: str | None) -> None:
    ranked = api(exported, "pagerank", {"weight": weight} if weight else {})
    scores = {item["id"]: item["score"] for item in ranked["items"]}
    kind = f"pagerank ({'weighted' if weight else 'unweighted'})"
    for fmt, graph in loaded_graphs(exported).items():
        theirs = networkx_pagerank(graph, weight=weight, tol=1e-10)
        assert scores.keys() == theirs.keys()
        assert all(math.isclose(scores[n], theirs[n], abs_tol=1e-5) for n in scores), (fmt, scores, theirs)
        record(fmt, "networkx", kind)
    igraph = igraph_graph(exported)
    by_igraph = dict(zip(igraph.vs["id"], igraph.pagerank(directed=True, weights=weight), strict=True))
    assert all(math.isclose(scores[n], by_igraph[n], abs_tol=1e-5) for n in scores), (scores, by_igraph)
    record("graphml", "python-igraph", kind)


def test_connected_components_are_the_apis(exported: Exported) -> None:
    members = api(exported, "connected_components", {})["items"]
    ours: dict[str, set[str]] = {}
    for item in members:
        ours.setdefault(item["component"], set()).add(item["id"])
    expected = sorted(sorted(c) for c in ours.values())
    assert expected == [["a", "b", "c"], ["d"]]
    for fmt, graph in loaded_graphs(exported).items():
        assert sorted(sorted(c) for c in nx.weakly_connected_components(graph)) == expected
        record(fmt, "networkx", "weak components")
    igraph = igraph_graph(exported)
    found = igraph.connected_components(mode="weak")
    assert sorted(sorted(igraph.vs[i]["id"] for i in c) for c in found) == expected
    record("graphml", "python-igraph", "weak components")


# -- helpers --------------------------------------------------------------------------------------


def networkx_pagerank(graph: nx.MultiDiGraph, **options: Any) -> dict[str, float]:
    """networkx.pagerank exactly as a user calls it (it needs scipy, a dev dependency for that reason)."""
    return dict(nx.pagerank(graph, **options))


_IGRAPH: dict[int, ig.Graph] = {}


def igraph_graph(exported: Exported) -> ig.Graph:
    """igraph's GraphML reader takes a file (it needs a file descriptor), so the export goes through
    one. igraph says once that it keeps the `id` data key rather than the XML edge ids (which it
    would otherwise fill with wrong values): that one warning is expected, and no other."""
    key = id(exported)
    if key not in _IGRAPH:
        with tempfile.NamedTemporaryFile(suffix=".graphml") as file, warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            file.write(exported.graphml)
            file.flush()
            _IGRAPH[key] = ig.Graph.Read_GraphML(file.name)
        assert [str(w.message).split(".")[0] for w in said] == [
            "Could not add edge ids, there is already an 'id' edge attribute"
        ]
    return _IGRAPH[key]


def _absent(node_id: str, attribute: str, value: Any) -> bool:
    """networkx: a property the node lacks is no attribute at all."""
    return value is None


def _igraph_absent(node_id: str, attribute: str, value: Any) -> bool:
    """igraph has no absent value: it reads NaN for a number, "" for a string, False for a boolean
    (GraphML declares no default, so that is igraph's own filling, documented)."""
    return value == "" or value is False or (isinstance(value, float) and math.isnan(value))


def _paging(algorithm: str) -> dict[str, Any]:
    return {} if algorithm.endswith("path") else {"limit": 100}


def _new_dataset(exported: Exported, name: str) -> str:
    session_id = create_session(exported.client, exported.auth)
    dataset = create_dataset(exported.client, exported.auth, session_id, name, SCHEMA, kind="graph")
    return dataset_url(session_id, dataset)
