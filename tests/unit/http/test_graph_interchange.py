"""Graph bodies in and out the way networkx and igraph users exchange them (issue 14): graph NDJSON
posts back, an undirected input graph is refused unless the import chose directed=false, and node-link
documents of the older nested shape are still read."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import networkx as nx
import pytest
from litestar.testing import TestClient

from datainfra.adapters.http.encoding import encode_json
from tests.unit.http.api import create_dataset, create_session, dataset_url, problem, write
from tests.unit.http.test_exports import EDGES, GRAPH_SCHEMA, NODES

NDJSON = {"content-type": "application/x-ndjson"}
GRAPHML = {"content-type": "application/graphml+xml"}


@pytest.fixture
def graph_url(client: TestClient, auth: dict[str, str]) -> str:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "social", GRAPH_SCHEMA, kind="graph"))
    write(client, auth, url, {"nodes": NODES, "edges": EDGES})
    return url


def new_graph(client: TestClient, auth: dict[str, str], schema: dict[str, Any] | None = None) -> str:
    session_id = create_session(client, auth)
    return dataset_url(session_id, create_dataset(client, auth, session_id, "copy", schema or {}, kind="graph"))


def elements(client: TestClient, auth: dict[str, str], url: str) -> tuple[list[Any], list[Any]]:
    nodes = client.get(f"{url}/records", params={"limit": 1000}, headers=auth).json()["items"]
    edges = client.get(f"{url}/edges", params={"limit": 1000}, headers=auth).json()["items"]
    return nodes, edges


def test_graph_ndjson_export_posts_back(client: TestClient, auth: dict[str, str], graph_url: str) -> None:
    exported = client.get(f"{graph_url}/export", params={"format": "ndjson"}, headers=auth).content
    copy = new_graph(client, auth, GRAPH_SCHEMA)
    response = client.post(f"{copy}/records", content=exported, headers={**auth, **NDJSON})
    assert response.status_code == 201, response.text
    assert response.json() == {"inserted": 6, "updated": 0, "ignored": 0}
    assert client.get(f"{copy}/export", params={"format": "ndjson"}, headers=auth).content == exported
    assert elements(client, auth, copy) == elements(client, auth, graph_url)


def test_a_bad_graph_ndjson_line_is_named_and_nothing_is_kept(client: TestClient, auth: dict[str, str]) -> None:
    url = new_graph(client, auth, GRAPH_SCHEMA)
    lines = [
        {"kind": "node", "id": "a", "labels": ["Person"], "properties": {}},
        {"kind": "node", "id": "b", "labels": ["Person"], "properties": {}},
        {"kind": "edge", "id": "e", "source": "a", "target": "b", "type": "KNOWS", "properties": {"weight": "x"}},
    ]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    found = problem(client.post(f"{url}/records", content=body, headers={**auth, **NDJSON}), 422)
    assert found["field"].startswith("line 3") and found["index"] == 2 and "line 3" in found["detail"]
    assert elements(client, auth, url) == ([], [])
    late = [*lines[:2], {**lines[2], "properties": {}}, {"kind": "node", "id": "c"}]
    body = "\n".join(json.dumps(line) for line in late).encode()
    found = problem(client.post(f"{url}/records", content=body, headers={**auth, **NDJSON}), 422)
    assert found["field"] == "line 4" and "after the first edge" in found["detail"]
    bad_kind = problem(client.post(f"{url}/records", content=b'{"id": "a"}\n', headers={**auth, **NDJSON}), 422)
    assert bad_kind["field"] == "line 1.kind"
    assert elements(client, auth, url) == ([], [])


def test_an_undirected_networkx_graph_is_refused_unless_directed_false(
    client: TestClient, auth: dict[str, str]
) -> None:
    made = nx.Graph()
    made.add_edge("x", "y", weight=2.0)
    document = nx.node_link_data(made)
    assert document["directed"] is False
    url = new_graph(client, auth)
    refused = problem(client.post(f"{url}/records", json=document, headers=auth), 400)
    assert refused["parameter"] == "directed" and "undirected" in refused["detail"]
    assert elements(client, auth, url) == ([], [])
    stored = client.post(f"{url}/records", params={"directed": "false"}, json=document, headers=auth)
    assert stored.status_code == 201, stored.text
    edges = elements(client, auth, url)[1]
    assert [(e["source"], e["target"], e["type"], e["properties"]) for e in edges] == [
        ("x", "y", "RELATED_TO", {"weight": 2.0})
    ]
    directed = nx.node_link_data(nx.MultiDiGraph(made))
    mismatch = client.post(f"{url}/records", params={"directed": "false"}, json=directed, headers=auth)
    assert problem(mismatch, 400)["parameter"] == "directed"


def test_an_undirected_graphml_is_refused_unless_directed_false(client: TestClient, auth: dict[str, str]) -> None:
    body = (
        b'<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        b'<graph edgedefault="undirected"><node id="x"/><node id="y"/><edge source="x" target="y"/></graph></graphml>'
    )
    url = new_graph(client, auth)
    assert problem(client.post(f"{url}/records", content=body, headers={**auth, **GRAPHML}), 400)["parameter"] == (
        "directed"
    )
    one_edge = body.replace(b'edgedefault="undirected"', b'edgedefault="directed"').replace(
        b"<edge source", b'<edge directed="false" source'
    )
    assert problem(client.post(f"{url}/records", content=one_edge, headers={**auth, **GRAPHML}), 400)
    stored = client.post(f"{url}/records", params={"directed": "false"}, content=body, headers={**auth, **GRAPHML})
    assert stored.status_code == 201, stored.text
    assert [(e["source"], e["target"]) for e in elements(client, auth, url)[1]] == [("x", "y")]


def test_directed_applies_only_to_node_link_and_graphml(client: TestClient, auth: dict[str, str]) -> None:
    url = new_graph(client, auth)
    body = {"nodes": [{"id": "a"}], "edges": []}
    assert (
        problem(client.post(f"{url}/records", params={"directed": "false"}, json=body, headers=auth), 400)["parameter"]
        == "directed"
    )
    assert problem(client.post(f"{url}/records", params={"directed": "maybe"}, json=body, headers=auth), 400)


def test_the_older_nested_node_link_shape_is_still_read(client: TestClient, auth: dict[str, str]) -> None:
    older = {
        "directed": True,
        "multigraph": True,
        "graph": {"name": "social"},
        "nodes": [
            {"id": "a", "labels": ["Person"], "properties": {"name": "Ada", "id": 7}},
            {"id": "b", "labels": [], "properties": {}},
        ],
        "edges": [{"source": "a", "target": "b", "key": "e1", "type": "KNOWS", "properties": {"source": "s"}}],
    }
    url = new_graph(client, auth)
    assert client.post(f"{url}/records", json=older, headers=auth).status_code == 201
    nodes, edges = elements(client, auth, url)
    assert [(n["id"], n["labels"], n["properties"]) for n in nodes] == [
        ("a", ["Person"], {"name": "Ada", "id": 7}),
        ("b", [], {}),
    ]
    assert [(e["id"], e["type"], e["properties"]) for e in edges] == [("e1", "KNOWS", {"source": "s"})]


def test_node_link_key_and_id_must_agree(client: TestClient, auth: dict[str, str], graph_url: str) -> None:
    document = client.get(f"{graph_url}/export", headers=auth).json()
    document["edges"][0]["id"] = "other"
    url = new_graph(client, auth, GRAPH_SCHEMA)
    found = problem(client.post(f"{url}/records", json=document, headers=auth), 422)
    assert found["field"] == "edges[0].id"


def test_graph_ndjson_past_the_body_limit_is_a_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=2048)
    auth = {"X-API-Key": client.post("/users").json()["api_key"]}
    url = new_graph(client, auth)
    lines = b"".join(json.dumps({"kind": "node", "id": f"n{i}"}).encode() + b"\n" for i in range(200))
    assert len(lines) > 2048
    problem(client.post(f"{url}/records", content=lines, headers={**auth, **NDJSON}), 413)
    assert elements(client, auth, url) == ([], [])


def test_an_undirected_graph_stored_with_directed_false_answers_as_networkx_with_direction_both(
    client: TestClient, auth: dict[str, str]
) -> None:
    """The documented rule gives the undirected answers: each edge stored once, read with direction=both."""
    from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python  # scipy-free nx.pagerank

    made = nx.Graph()
    made.add_weighted_edges_from([("a", "b", 1.0), ("c", "b", 1.0), ("a", "c", 5.0), ("d", "e", 1.0)])
    url = new_graph(client, auth)
    response = client.post(f"{url}/records", params={"directed": "false"}, json=nx.node_link_data(made), headers=auth)
    assert response.status_code == 201, response.text
    path = client.post(
        f"{url}/algorithms/shortest_path",
        json={"source": "a", "target": "c", "weight": "weight", "direction": "both"},
        headers=auth,
    ).json()
    assert [n["id"] for n in path["nodes"]] == nx.shortest_path(made, "a", "c", weight="weight") == ["a", "b", "c"]
    ranked = client.post(f"{url}/algorithms/pagerank", json={"direction": "both"}, headers=auth).json()["items"]
    theirs = _pagerank_python(made, weight=None, tol=1e-10)
    assert all(abs(item["score"] - theirs[item["id"]]) < 1e-5 for item in ranked) and len(ranked) == 5
    members = client.post(f"{url}/algorithms/connected_components", headers=auth).json()["items"]
    groups: dict[str, set[str]] = {}
    for item in members:
        groups.setdefault(item["component"], set()).add(item["id"])
    assert sorted(map(sorted, groups.values())) == sorted(map(sorted, nx.connected_components(made)))


def test_a_node_link_export_passed_through_networkx_posts_back_unchanged(
    client: TestClient, auth: dict[str, str], graph_url: str
) -> None:
    exported = client.get(f"{graph_url}/export", headers=auth)
    loaded = nx.node_link_graph(json.loads(exported.text, parse_float=Decimal))  # numerics kept exact
    through = encode_json(nx.node_link_data(loaded))  # networkx 3.6 defaults both ways
    copy = new_graph(client, auth, GRAPH_SCHEMA)
    assert client.post(f"{copy}/records", content=through, headers=auth).status_code == 201
    assert client.get(f"{copy}/export", headers=auth).content.replace(b"copy", b"social") == exported.content
