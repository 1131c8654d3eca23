"""Graph deletes by id and by filter, all shortest paths, and the whole-graph algorithms (PageRank,
weakly connected components, degrees) over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from datainfra.services.graphs import GraphService
from tests.unit.http.api import graph, problem, tabular, walk, write

ROADS_SCHEMA: dict[str, Any] = {
    "node_labels": [{"name": "Place", "properties": [{"name": "name", "type": "text"}]}],
    "relationship_types": [
        {"name": "ROAD", "properties": [{"name": "w", "type": "float"}]},
        {"name": "FLIGHT", "properties": [{"name": "w", "type": "float"}]},
    ],
}


def place(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "labels": ["Place"], "properties": {"name": node_id.upper()}}


def link(edge_id: str, source: str, target: str, w: float | None = 1.0, rel: str = "ROAD") -> dict[str, Any]:
    properties = {} if w is None else {"w": w}
    return {"id": edge_id, "source": source, "target": target, "type": rel, "properties": properties}


@pytest.fixture
def roads(client: TestClient, auth: dict[str, str]) -> str:
    """s → a → t twice (e3, e5), s → b → t, s → b → c → t as cheap through a free road, a dear
    direct flight s → t, and q alone."""
    url = graph(client, auth, ROADS_SCHEMA)
    write(
        client,
        auth,
        url,
        {
            "nodes": [place(n) for n in ["s", "a", "b", "c", "t", "q"]],
            "edges": [
                link("e1", "s", "a"),
                link("e2", "s", "b"),
                link("e3", "a", "t"),
                link("e4", "b", "t"),
                link("e5", "a", "t"),
                link("e6", "s", "t", 5.0, "FLIGHT"),
                link("e7", "b", "c", 0.0),
                link("e8", "c", "t"),
            ],
        },
    )
    return url


def edge_ids(client: TestClient, auth: dict[str, str], url: str) -> list[str]:
    return sorted(e["id"] for page in walk(client, auth, f"{url}/edges") for e in page["items"])


# -- deletes --------------------------------------------------------------------------------------


def test_deleting_a_node_answers_204_and_removes_its_edges(
    client: TestClient, auth: dict[str, str], roads: str
) -> None:
    response = client.delete(f"{roads}/nodes/b", headers=auth)

    assert response.status_code == 204
    assert response.content == b""
    problem(client.get(f"{roads}/nodes/b", headers=auth), 404)
    assert edge_ids(client, auth, roads) == ["e1", "e3", "e5", "e6", "e8"]
    assert client.get(f"{roads}/nodes/c", headers=auth).status_code == 200


def test_deleting_an_absent_node_is_404_naming_it(client: TestClient, auth: dict[str, str], roads: str) -> None:
    assert client.delete(f"{roads}/nodes/q", headers=auth).status_code == 204
    body = problem(client.delete(f"{roads}/nodes/q", headers=auth), 404)
    assert body["parameter"] == "node_id"
    assert len(edge_ids(client, auth, roads)) == 8


def test_deleting_an_edge_by_id(client: TestClient, auth: dict[str, str], roads: str) -> None:
    assert client.delete(f"{roads}/edges/e5", headers=auth).status_code == 204
    assert edge_ids(client, auth, roads) == ["e1", "e2", "e3", "e4", "e6", "e7", "e8"]
    assert client.get(f"{roads}/nodes/a", headers=auth).status_code == 200
    assert problem(client.delete(f"{roads}/edges/e5", headers=auth), 404)["parameter"] == "edge_id"


def test_deleting_edges_by_type_and_filters(client: TestClient, auth: dict[str, str], roads: str) -> None:
    response = client.delete(f"{roads}/edges", params={"type": "ROAD", "w": "lt:1"}, headers=auth)
    assert response.status_code == 200
    assert response.json() == {"deleted": 1}
    assert "e7" not in edge_ids(client, auth, roads)

    assert client.delete(f"{roads}/edges", params={"source": "eq:a"}, headers=auth).json() == {"deleted": 2}
    assert client.delete(f"{roads}/edges", params={"type": "FLIGHT"}, headers=auth).json() == {"deleted": 1}
    assert edge_ids(client, auth, roads) == ["e1", "e2", "e4", "e8"]
    assert client.get(f"{roads}/nodes/a", headers=auth).status_code == 200


def test_deleting_every_edge_needs_all_true(client: TestClient, auth: dict[str, str], roads: str) -> None:
    assert problem(client.delete(f"{roads}/edges", headers=auth), 400)["parameter"] == "all"
    assert problem(client.delete(f"{roads}/edges", params={"all": "yes"}, headers=auth), 400)["parameter"] == "all"
    assert len(edge_ids(client, auth, roads)) == 8

    assert client.delete(f"{roads}/edges", params={"all": "true"}, headers=auth).json() == {"deleted": 8}
    assert edge_ids(client, auth, roads) == []
    assert len(client.get(f"{roads}/nodes", headers=auth).json()["items"]) == 6


def test_a_bad_edge_delete_filter_is_400(client: TestClient, auth: dict[str, str], roads: str) -> None:
    problem(client.delete(f"{roads}/edges", params={"w": "near:1"}, headers=auth), 400)
    problem(client.delete(f"{roads}/edges", params={"type": "bad-type"}, headers=auth), 400)
    assert len(edge_ids(client, auth, roads)) == 8


@pytest.mark.parametrize("path", ["/nodes/a", "/edges/a", "/edges?all=true"])
def test_graph_deletes_on_a_tabular_dataset_are_400(client: TestClient, auth: dict[str, str], path: str) -> None:
    url = tabular(client, auth)
    problem(client.delete(f"{url}{path}", headers=auth), 400)


# -- all shortest paths ---------------------------------------------------------------------------


def all_paths(client: TestClient, auth: dict[str, str], url: str, **body: Any) -> Any:
    return client.post(f"{url}/algorithms/all_shortest_paths", json=body, headers=auth)


def routes(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(" ".join(n["id"] for n in p["nodes"]), " ".join(e["id"] for e in p["edges"])) for p in body["paths"]]


def test_all_shortest_paths_by_hops(client: TestClient, auth: dict[str, str], roads: str) -> None:
    response = all_paths(client, auth, roads, source="s", target="t", types=["ROAD"])

    assert response.status_code == 200
    body = response.json()
    assert (body["found"], body["length"], body["truncated"]) == (True, 2, False)
    assert "cost" not in body
    assert routes(body) == [("s a t", "e1 e3"), ("s a t", "e1 e5"), ("s b t", "e2 e4")]
    first = body["paths"][0]
    assert first["length"] == 2
    assert first["nodes"][0] == {"id": "s", "labels": ["Place"], "properties": {"name": "S"}}
    assert first["edges"][0] == {"id": "e1", "source": "s", "target": "a", "type": "ROAD", "properties": {"w": 1.0}}

    assert routes(all_paths(client, auth, roads, source="s", target="t").json()) == [("s t", "e6")]


def test_all_shortest_paths_by_weight_report_the_cost(client: TestClient, auth: dict[str, str], roads: str) -> None:
    body = all_paths(client, auth, roads, source="s", target="t", weight="w").json()

    assert body["found"] is True
    assert body["cost"] == 2
    assert body["length"] == 2
    assert routes(body) == [("s a t", "e1 e3"), ("s a t", "e1 e5"), ("s b c t", "e2 e7 e8"), ("s b t", "e2 e4")]
    assert [p["length"] for p in body["paths"]] == [2, 2, 3, 2]


def test_all_shortest_paths_limit_marks_truncation(client: TestClient, auth: dict[str, str], roads: str) -> None:
    body = all_paths(client, auth, roads, source="s", target="t", weight="w", limit=3).json()
    assert body["truncated"] is True
    assert routes(body) == [("s a t", "e1 e3"), ("s a t", "e1 e5"), ("s b c t", "e2 e7 e8")]
    assert all_paths(client, auth, roads, source="s", target="t", weight="w", limit=4).json()["truncated"] is False


def test_all_shortest_paths_direction_depth_and_no_path(client: TestClient, auth: dict[str, str], roads: str) -> None:
    none = all_paths(client, auth, roads, source="t", target="s").json()
    assert none == {"found": False, "length": None, "truncated": False, "paths": []}
    back = all_paths(client, auth, roads, source="t", target="s", direction="in", types=["ROAD"]).json()
    assert routes(back) == [("t a s", "e3 e1"), ("t a s", "e5 e1"), ("t b s", "e4 e2")]
    shallow = all_paths(client, auth, roads, source="s", target="c", max_depth=1).json()
    assert shallow["found"] is False
    itself = all_paths(client, auth, roads, source="q", target="q", weight="w").json()
    assert (itself["found"], itself["length"], itself["cost"], routes(itself)) == (True, 0, 0, [("q", "")])


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"source": "s", "target": "t", "limit": 0}, 422, "limit"),
        ({"source": "s", "target": "t", "limit": 1001}, 422, "limit"),
        ({"source": "s", "target": "t", "max_depth": 51}, 422, "max_depth"),
        ({"source": "s", "target": "t", "weight": "bad-name"}, 422, "weight"),
        ({"source": "s", "target": "t", "types": ["bad-type"]}, 422, "types"),
        ({"source": "s", "target": "t", "direction": "up"}, 400, "direction"),
        ({"source": "s", "target": "nobody"}, 404, "target"),
        ({"source": "nobody", "target": "t"}, 404, "source"),
        ({"source": "s", "target": "t", "first": True}, 400, "first"),
    ],
)
def test_a_bad_all_shortest_paths_request_names_the_field(
    client: TestClient, auth: dict[str, str], roads: str, body: dict[str, Any], status: int, field: str
) -> None:
    response = client.post(f"{roads}/algorithms/all_shortest_paths", json=body, headers=auth)
    assert problem(response, status).get("field") == field


def test_a_non_numeric_weight_in_reach_is_422(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth, {})
    edges = [
        {"id": "x", "source": "a", "target": "b", "type": "R", "properties": {"w": "far"}},
        {"id": "y", "source": "a", "target": "c", "type": "R", "properties": {"w": 1}},
    ]
    write(client, auth, url, {"nodes": [{"id": n} for n in "abc"], "edges": edges})
    body = problem(all_paths(client, auth, url, source="a", target="c", weight="w"), 422)
    assert (body["field"], body["key"]) == ("weight", "x")


# -- PageRank -------------------------------------------------------------------------------------


@pytest.fixture
def web(client: TestClient, auth: dict[str, str]) -> str:
    """The directed graph networkx's reference values below were computed on: a → b → c → a,
    a → c, d → c, and e alone (dangling)."""
    url = graph(client, auth, {})
    pairs = [("a", "b"), ("b", "c"), ("c", "a"), ("a", "c"), ("d", "c")]
    edges = [{"id": f"l{i}", "source": s, "target": t, "type": "LINKS"} for i, (s, t) in enumerate(pairs)]
    write(client, auth, url, {"nodes": [{"id": n} for n in "abcde"], "edges": edges})
    return url


NX_WEB = {
    "c": 0.3799022746234154,
    "a": 0.35906185217699765,
    "b": 0.18874671657308092,
    "d": 0.03614457831325302,
    "e": 0.03614457831325302,
}


def algorithm(client: TestClient, auth: dict[str, str], url: str, name: str, body: Any = None, **params: Any) -> Any:
    return client.post(f"{url}/algorithms/{name}", json=body, params=params, headers=auth)


def test_pagerank_ranks_nodes_as_networkx_does(client: TestClient, auth: dict[str, str], web: str) -> None:
    response = client.post(f"{web}/algorithms/pagerank", headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == ["c", "a", "b", "d", "e"]
    assert {item["id"]: item["score"] for item in body["items"]} == pytest.approx(NX_WEB, abs=1e-12)
    assert (body["limit"], body["offset"], body["total"], body["converged"]) == (50, 0, 5, True)
    assert body["iterations"] >= 1
    assert "next" not in body


def test_pagerank_pages_follow_next(client: TestClient, auth: dict[str, str], web: str) -> None:
    first = algorithm(client, auth, web, "pagerank", {}, limit=2).json()
    assert [i["id"] for i in first["items"]] == ["c", "a"]
    assert first["total"] == 5
    seen = [i["id"] for i in first["items"]]
    following = first.get("next")
    while following:
        page = client.post(following, json={}, headers=auth).json()
        seen += [i["id"] for i in page["items"]]
        following = page.get("next")
    assert seen == ["c", "a", "b", "d", "e"]
    last = algorithm(client, auth, web, "pagerank", limit=2, offset=4).json()
    assert ([i["id"] for i in last["items"]], last["offset"], "next" in last) == (["e"], 4, False)


def test_pagerank_options_change_the_ranking(client: TestClient, auth: dict[str, str], web: str) -> None:
    reverse = algorithm(client, auth, web, "pagerank", {"direction": "in"}).json()
    assert [i["id"] for i in reverse["items"]] == ["c", "a", "b", "d", "e"]
    assert reverse["items"][3]["score"] > 0.15  # d now receives rank from c
    flat = algorithm(client, auth, web, "pagerank", {"damping": 0}).json()
    assert {i["score"] for i in flat["items"]} == {0.2}
    short = algorithm(client, auth, web, "pagerank", {"iterations": 1, "tolerance": 1e-12}).json()
    assert (short["iterations"], short["converged"]) == (1, False)
    none = algorithm(client, auth, web, "pagerank", {"types": ["NOTHING"]}).json()
    assert [i["score"] for i in none["items"]] == pytest.approx([0.2] * 5)


def test_weighted_pagerank_counts_edges_by_their_weight(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth, {})
    edges = [
        {"source": "hub", "target": "big", "type": "T", "properties": {"w": 9}},
        {"source": "hub", "target": "small", "type": "T", "properties": {"w": 1}},
    ]
    write(client, auth, url, {"nodes": [{"id": n} for n in ["hub", "big", "small"]], "edges": edges})
    plain = algorithm(client, auth, url, "pagerank", {}).json()
    weighted = algorithm(client, auth, url, "pagerank", {"weight": "w"}).json()
    assert [i["id"] for i in plain["items"]][:2] == ["big", "small"]
    assert plain["items"][0]["score"] == plain["items"][1]["score"]
    scores = {i["id"]: i["score"] for i in weighted["items"]}
    assert scores["big"] > plain["items"][0]["score"] > scores["small"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"damping": 1}, 422, "damping"),
        ({"damping": -0.1}, 422, "damping"),
        ({"iterations": 0}, 422, "iterations"),
        ({"iterations": 1001}, 422, "iterations"),
        ({"tolerance": 0}, 422, "tolerance"),
        ({"weight": "bad-name"}, 422, "weight"),
        ({"types": ["bad-type"]}, 422, "types"),
        ({"direction": "up"}, 400, "direction"),
        ({"alpha": 0.5}, 400, "alpha"),
        ({"damping": "high"}, 400, "damping"),
    ],
)
def test_a_bad_pagerank_body_names_the_field(
    client: TestClient, auth: dict[str, str], web: str, body: dict[str, Any], status: int, field: str
) -> None:
    assert problem(algorithm(client, auth, web, "pagerank", body), status).get("field") == field


@pytest.mark.parametrize("name", ["pagerank", "connected_components", "degree"])
@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"limit": "1001"}, "limit"), ({"limit": "-1"}, "limit"), ({"offset": "x"}, "offset"), ({"sort": "id"}, "sort")],
)
def test_bad_paging_parameters_are_400(
    client: TestClient, auth: dict[str, str], web: str, name: str, params: dict[str, str], parameter: str
) -> None:
    assert problem(algorithm(client, auth, web, name, **params), 400)["parameter"] == parameter


def test_a_malformed_algorithm_body_is_400(client: TestClient, auth: dict[str, str], web: str) -> None:
    response = client.post(f"{web}/algorithms/degree", content=b"{not json", headers=auth)
    problem(response, 400)


# -- weakly connected components ------------------------------------------------------------------


def test_components_are_named_by_their_smallest_id(client: TestClient, auth: dict[str, str], roads: str) -> None:
    extra = {"nodes": [place("z"), place("y")], "edges": [link("zy", "z", "y", rel="FERRY")]}
    write(client, auth, roads, extra)

    body = algorithm(client, auth, roads, "connected_components").json()

    assert body["components"] == 3
    assert body["total"] == 8
    assert [(i["id"], i["component"], i["size"]) for i in body["items"]] == [
        ("a", "a", 5),
        ("b", "a", 5),
        ("c", "a", 5),
        ("s", "a", 5),
        ("t", "a", 5),
        ("q", "q", 1),
        ("y", "y", 2),
        ("z", "y", 2),
    ]
    only_ferries = algorithm(client, auth, roads, "connected_components", {"types": ["FERRY"]}).json()
    assert only_ferries["components"] == 7
    problem(algorithm(client, auth, roads, "connected_components", {"direction": "out"}), 400)


# -- degrees --------------------------------------------------------------------------------------


def test_degrees_by_direction(client: TestClient, auth: dict[str, str], roads: str) -> None:
    both = algorithm(client, auth, roads, "degree").json()
    assert [(i["id"], i["degree"]) for i in both["items"]] == [
        ("t", 5),
        ("a", 3),
        ("b", 3),
        ("s", 3),
        ("c", 2),
        ("q", 0),
    ]
    out = algorithm(client, auth, roads, "degree", {"direction": "out", "types": ["ROAD"]}, limit=2).json()
    assert [(i["id"], i["degree"]) for i in out["items"]] == [("a", 2), ("b", 2)]
    assert (out["total"], out["next"].endswith("limit=2&offset=2")) == (6, True)
    incoming = algorithm(client, auth, roads, "degree", {"direction": "in"}).json()
    assert incoming["items"][0] == {"id": "t", "degree": 5}


# -- size limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pagerank", "connected_components", "degree"])
def test_a_graph_beyond_the_size_limit_is_413(
    client: TestClient, auth: dict[str, str], roads: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GraphService, "max_projected_nodes", 5)
    body = problem(algorithm(client, auth, roads, name), 413)
    assert "at most 5 nodes" in body["detail"]

    monkeypatch.setattr(GraphService, "max_projected_nodes", 6)
    monkeypatch.setattr(GraphService, "max_projected_edges", 6)
    body = problem(algorithm(client, auth, roads, name), 413)
    assert body["field"] == "types"
    assert algorithm(client, auth, roads, name, {"types": ["FLIGHT"]}).status_code == 200


@pytest.mark.parametrize("name", ["pagerank", "connected_components", "degree", "all_shortest_paths"])
def test_algorithms_on_a_tabular_dataset_are_400(client: TestClient, auth: dict[str, str], name: str) -> None:
    url = tabular(client, auth)
    body = {"source": "a", "target": "b"} if name == "all_shortest_paths" else {}
    problem(algorithm(client, auth, url, name, body), 400)


def test_the_new_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    base = "/sessions/{session_id}/datasets/{dataset_id}"
    for name in ["all_shortest_paths", "pagerank", "connected_components", "degree"]:
        assert "post" in paths[f"{base}/algorithms/{name}"]
    assert "requestBody" in paths[f"{base}/algorithms/pagerank"]["post"]
    assert "delete" in paths[f"{base}/nodes/{{node_id}}"]
    assert "delete" in paths[f"{base}/edges/{{edge_id}}"]
    assert "delete" in paths[f"{base}/edges"]
