"""Graph datasets: writing nodes and edges, node search, one node, neighbours, edges, shortest paths."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import TestClient

from tests.unit.http.api import SOCIAL_SCHEMA, graph, problem, tabular, walk, write


def person(node_id: str, age: int | None = None, **extra: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"name": node_id.title(), **extra}
    if age is not None:
        properties["age"] = age
    return {"id": node_id, "labels": ["Person"], "properties": properties}


def knows(source: str, target: str, weight: float = 1.0, since: int = 2000) -> dict[str, Any]:
    return {"source": source, "target": target, "type": "KNOWS", "properties": {"weight": weight, "since": since}}


@pytest.fixture
def social(client: TestClient, auth: dict[str, str]) -> str:
    """ann → bob → cat → dan (weights 1), ann → dan (weight 10), eve alone, bob LIVES_IN oslo."""
    url = graph(client, auth)
    write(
        client,
        auth,
        url,
        {
            "nodes": [
                person("ann", 30),
                person("bob", 40),
                person("cat", 50),
                person("dan", 60),
                person("eve"),
                {"id": "oslo", "labels": ["City"], "properties": {"name": "Oslo"}},
            ],
            "edges": [
                knows("ann", "bob", since=2001),
                knows("bob", "cat", since=2002),
                knows("cat", "dan", since=2003),
                knows("ann", "dan", weight=10.0, since=1990),
                {"source": "bob", "target": "oslo", "type": "LIVES_IN"},
            ],
        },
    )
    return url


def ids(nodes: list[dict[str, Any]]) -> list[str]:
    return sorted(n["id"] for n in nodes)


def pairs(edges: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((e["source"], e["type"], e["target"]) for e in edges)


# -- writing ---------------------------------------------------------------------------------------


def test_writing_nodes_and_edges_answers_201_with_counts(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)

    response = client.post(
        f"{url}/records", json={"nodes": [person("a"), person("b")], "edges": [knows("a", "b")]}, headers=auth
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"inserted", "updated", "ignored"}
    assert body["inserted"] >= 2
    assert body["updated"] == body["ignored"] == 0


def test_a_node_keeps_its_client_id_labels_and_typed_properties(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    write(client, auth, url, {"nodes": [person("ada", 36, nickname="countess", tags=["math", "poetry"])]})

    response = client.get(f"{url}/nodes/ada", headers=auth)

    assert response.status_code == 200
    assert response.json() == {
        "id": "ada",
        "labels": ["Person"],
        "properties": {"name": "Ada", "age": 36, "nickname": "countess", "tags": ["math", "poetry"]},
    }


def test_a_property_named_id_is_an_ordinary_property_beside_the_key(client: TestClient, auth: dict[str, str]) -> None:
    """Issue 11 item 3: what Cypher calls `n.id` lives in `properties`, typed, and never clashes with the key."""
    url = graph(client, auth)
    write(client, auth, url, {"nodes": [{"id": "k", "properties": {"id": 12}}, {"id": "m", "properties": {"id": 12}}]})

    assert client.get(f"{url}/nodes/k", headers=auth).json() == {"id": "k", "labels": [], "properties": {"id": 12}}
    found = client.get(f"{url}/nodes?id=eq:m", headers=auth).json()["items"]
    assert [n["id"] for n in found] == ["m"]  # a filter on "id" is the key's


def test_an_integer_node_id_is_kept_as_text(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    write(client, auth, url, {"nodes": [{"id": 42}]})
    assert client.get(f"{url}/nodes/42", headers=auth).json()["id"] == "42"


def test_an_existing_node_id_is_a_409_naming_the_key(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = problem(client.post(f"{social}/records", json={"nodes": [person("new"), person("ann")]}, headers=auth), 409)
    assert body["key"] == "ann"
    problem(client.get(f"{social}/nodes/new", headers=auth), 404)


def test_on_conflict_update_and_ignore_apply_to_nodes(client: TestClient, auth: dict[str, str], social: str) -> None:
    ignored = write(client, auth, social, {"nodes": [person("ann", 99)], "on_conflict": "ignore"})
    assert ignored["ignored"] == 1
    assert client.get(f"{social}/nodes/ann", headers=auth).json()["properties"]["age"] == 30

    updated = write(client, auth, social, {"nodes": [person("ann", 99)], "on_conflict": "update"})
    assert updated["updated"] == 1
    assert client.get(f"{social}/nodes/ann", headers=auth).json()["properties"]["age"] == 99


def test_a_declared_property_of_the_wrong_type_is_422_naming_index_and_field(
    client: TestClient, auth: dict[str, str]
) -> None:
    url = graph(client, auth)
    nodes = [person("a", 1), {"id": "b", "labels": ["Person"], "properties": {"age": "old"}}]

    body = problem(client.post(f"{url}/records", json={"nodes": nodes}, headers=auth), 422)

    assert body["index"] == 1
    assert body["field"] == "nodes[1].properties.age"
    problem(client.get(f"{url}/nodes/a", headers=auth), 404)


def test_an_edge_property_of_the_wrong_type_is_422(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    edge = {"source": "a", "target": "b", "type": "KNOWS", "properties": {"since": "long ago"}}

    body = problem(
        client.post(f"{url}/records", json={"nodes": [person("a"), person("b")], "edges": [edge]}, headers=auth), 422
    )

    assert body["index"] == 0
    assert body["field"] == "edges[0].properties.since"
    assert client.get(f"{url}/records", headers=auth).json()["items"] == []


def test_an_edge_to_a_missing_node_rejects_the_whole_write(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    response = client.post(
        f"{url}/records", json={"nodes": [person("a")], "edges": [knows("a", "ghost")]}, headers=auth
    )

    body = problem(response, 422)
    assert body["index"] == 0
    assert body["field"] == "edges[0].target"
    problem(client.get(f"{url}/nodes/a", headers=auth), 404)


@pytest.mark.parametrize(
    ("node", "field"),
    [
        ({"labels": ["Person"]}, "nodes[0].id"),
        ({"id": ""}, "nodes[0].id"),
        ({"id": True}, "nodes[0].id"),
        pytest.param(
            {"id": "a", "labels": ["bad-label"]},
            "nodes[0].labels",
        ),
        ({"id": "a", "labels": "Person"}, "nodes[0].labels"),
        pytest.param(
            {"id": "a", "properties": {"bad name": 1}},
            "nodes[0].properties.bad name",
        ),
        ({"id": "a", "properties": {"nested": {"a": 1}}}, "nodes[0].properties.nested"),
        ({"id": "a", "colour": "red"}, "nodes[0]"),
    ],
)
def test_a_malformed_node_is_422_naming_its_field(
    client: TestClient, auth: dict[str, str], node: dict[str, Any], field: str
) -> None:
    url = graph(client, auth)
    body = problem(client.post(f"{url}/records", json={"nodes": [node]}, headers=auth), 422)
    assert body["index"] == 0
    assert body["field"] == field


def test_a_strict_schema_refuses_undeclared_labels_types_and_properties(
    client: TestClient, auth: dict[str, str]
) -> None:
    url = graph(client, auth, {**SOCIAL_SCHEMA, "strict": True})

    for body in (
        {"nodes": [{"id": "a", "labels": ["Robot"]}]},
        {"nodes": [{"id": "a", "labels": ["Person"], "properties": {"shoe_size": 44}}]},
        {
            "nodes": [{"id": "a", "labels": ["Person"]}, {"id": "b", "labels": ["Person"]}],
            "edges": [{"source": "a", "target": "b", "type": "HATES"}],
        },
    ):
        problem(client.post(f"{url}/records", json=body, headers=auth), 422)
    assert client.get(f"{url}/records", headers=auth).json()["items"] == []


def test_a_loose_schema_accepts_undeclared_labels_and_properties(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    write(client, auth, url, {"nodes": [{"id": "r", "labels": ["Robot"], "properties": {"serial": 7}}]})
    assert client.get(f"{url}/nodes/r", headers=auth).json()["properties"] == {"serial": 7}


def test_unknown_members_of_a_graph_write_are_refused(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    problem(client.post(f"{url}/records", json={"nodes": [], "relationships": []}, headers=auth), 400)


# -- reading nodes -----------------------------------------------------------------------------------


def test_nodes_are_found_by_label_and_property_filters(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = client.get(f"{social}/nodes", params={"label": "Person", "age": "gte:40"}, headers=auth)

    assert response.status_code == 200
    assert ids(response.json()["items"]) == ["bob", "cat", "dan"]


def test_nodes_filtered_by_label_alone(client: TestClient, auth: dict[str, str], social: str) -> None:
    assert ids(client.get(f"{social}/nodes", params={"label": "City"}, headers=auth).json()["items"]) == ["oslo"]


def test_a_property_filter_never_matches_a_node_without_the_property(
    client: TestClient, auth: dict[str, str], social: str
) -> None:
    found = client.get(f"{social}/nodes", params={"label": "Person", "age": "ne:30"}, headers=auth).json()["items"]
    assert ids(found) == ["bob", "cat", "dan"]
    missing = client.get(f"{social}/nodes", params={"age": "is:null"}, headers=auth).json()["items"]
    assert ids(missing) == ["eve", "oslo"]


def test_node_filters_on_undeclared_properties_type_by_the_value(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    write(client, auth, url, {"nodes": [{"id": f"n{i}", "properties": {"score": i, "tag": f"t{i}"}} for i in range(5)]})

    assert ids(client.get(f"{url}/nodes", params={"score": "gt:2"}, headers=auth).json()["items"]) == ["n3", "n4"]
    assert ids(client.get(f"{url}/nodes", params={"tag": "in:t0,t4"}, headers=auth).json()["items"]) == ["n0", "n4"]


def test_node_pages_follow_next_until_exhausted(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    write(client, auth, url, {"nodes": [{"id": f"n{i:03d}", "labels": ["Person"]} for i in range(45)]})

    pages = walk(client, auth, f"{url}/nodes", {"label": "Person", "limit": 10})

    seen = [n["id"] for page in pages for n in page["items"]]
    assert seen == [f"n{i:03d}" for i in range(45)]
    assert len(pages) == 5


def test_node_pages_sorted_by_a_property_follow_next(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    write(client, auth, url, {"nodes": [person(f"p{i:02d}", age=i % 4) for i in range(22)]})

    pages = walk(client, auth, f"{url}/nodes", {"sort": "age:desc", "limit": 5, "count": "exact"})

    seen = [(n["properties"]["age"], n["id"]) for page in pages for n in page["items"]]
    assert seen == sorted(seen, key=lambda pair: (-pair[0], pair[1]))
    assert len(seen) == 22
    assert pages[0]["total"] == 22


def test_a_bad_node_filter_is_400_naming_the_parameter(client: TestClient, auth: dict[str, str], social: str) -> None:
    for params, parameter in (
        ({"age": "gt:old"}, "age"),
        ({"age": "around:3"}, "age"),
        ({"label": "bad-label"}, "label"),
        ({"limit": "5000"}, "limit"),
        ({"bad name": "eq:1"}, "bad name"),
    ):
        body = problem(client.get(f"{social}/nodes", params=params, headers=auth), 400)
        assert body["parameter"] == parameter


def test_a_strict_schema_refuses_filters_on_undeclared_properties(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth, {**SOCIAL_SCHEMA, "strict": True})
    body = problem(client.get(f"{url}/nodes", params={"shoe_size": "eq:1"}, headers=auth), 400)
    assert body["parameter"] == "shoe_size"


def test_reading_a_missing_node_is_404(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = problem(client.get(f"{social}/nodes/nobody", headers=auth), 404)
    assert body.get("parameter") == "node_id"


@pytest.mark.parametrize(
    "odd",
    [
        "a b?c#d%e&f=g",
        "ünï cødé ✓",
    ],
)
def test_node_ids_with_reserved_url_characters_round_trip(client: TestClient, auth: dict[str, str], odd: str) -> None:
    url = graph(client, auth)
    write(client, auth, url, {"nodes": [{"id": odd}]})

    response = client.get(f"{url}/nodes/{quote(odd, safe='')}", headers=auth)

    assert response.status_code == 200, response.text
    assert response.json()["id"] == odd


def test_a_node_id_with_a_slash_is_refused_because_no_url_could_address_it(
    client: TestClient, auth: dict[str, str]
) -> None:
    url = graph(client, auth)
    response = client.post(f"{url}/records", json={"nodes": [{"id": "ok"}, {"id": "a/b"}]}, headers=auth)

    assert response.status_code == 422
    assert (response.json()["index"], response.json()["field"]) == (1, "nodes[1].id")
    assert client.get(f"{url}/records?count=exact", headers=auth).json()["total"] == 0


# -- neighbours ------------------------------------------------------------------------------------


def test_neighbours_out_at_depth_one(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = client.get(f"{social}/nodes/ann/neighbors", params={"direction": "out"}, headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert ids(body["nodes"]) == ["bob", "dan"]
    assert pairs(body["edges"]) == [("ann", "KNOWS", "bob"), ("ann", "KNOWS", "dan")]


def test_the_start_node_is_not_among_its_neighbours(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = client.get(f"{social}/nodes/ann/neighbors", params={"direction": "both", "depth": 3}, headers=auth).json()
    assert "ann" not in ids(body["nodes"])
    assert ids(body["nodes"]) == ["bob", "cat", "dan", "oslo"]


def test_neighbours_in_follow_edges_backwards(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = client.get(f"{social}/nodes/dan/neighbors", params={"direction": "in"}, headers=auth).json()
    assert ids(body["nodes"]) == ["ann", "cat"]
    assert pairs(body["edges"]) == [("ann", "KNOWS", "dan"), ("cat", "KNOWS", "dan")]


def test_neighbours_both_ways_is_the_default(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = client.get(f"{social}/nodes/bob/neighbors", headers=auth).json()
    assert ids(body["nodes"]) == ["ann", "cat", "oslo"]


def test_neighbours_filtered_by_relationship_type(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = client.get(f"{social}/nodes/bob/neighbors", params={"type": "LIVES_IN"}, headers=auth).json()
    assert ids(body["nodes"]) == ["oslo"]
    assert pairs(body["edges"]) == [("bob", "LIVES_IN", "oslo")]


def test_neighbours_at_depth_two_include_the_edges_traversed(
    client: TestClient, auth: dict[str, str], social: str
) -> None:
    params: dict[str, str | int] = {"direction": "out", "depth": 2, "type": "KNOWS"}
    body = client.get(f"{social}/nodes/ann/neighbors", params=params, headers=auth).json()

    assert ids(body["nodes"]) == ["bob", "cat", "dan"]
    traversed = pairs(body["edges"])
    assert ("ann", "KNOWS", "bob") in traversed
    assert ("bob", "KNOWS", "cat") in traversed
    assert ("ann", "KNOWS", "dan") in traversed
    assert ("bob", "LIVES_IN", "oslo") not in traversed


def test_neighbour_limits_cap_the_nodes(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = client.get(f"{social}/nodes/bob/neighbors", params={"limit": 1}, headers=auth).json()
    assert len(body["nodes"]) == 1


def test_an_isolated_node_has_no_neighbours(client: TestClient, auth: dict[str, str], social: str) -> None:
    assert client.get(f"{social}/nodes/eve/neighbors", headers=auth).json() == {"nodes": [], "edges": []}


def test_neighbours_of_a_missing_node_is_404(client: TestClient, auth: dict[str, str], social: str) -> None:
    problem(client.get(f"{social}/nodes/nobody/neighbors", headers=auth), 404)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"direction": "up"}, "direction"),
        ({"depth": "0"}, "depth"),
        ({"depth": "11"}, "depth"),
        ({"depth": "two"}, "depth"),
        ({"limit": "1001"}, "limit"),
        ({"type": "not-a-type"}, "type"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_neighbour_parameters_are_400_naming_them(
    client: TestClient, auth: dict[str, str], social: str, params: dict[str, str], parameter: str
) -> None:
    body = problem(client.get(f"{social}/nodes/ann/neighbors", params=params, headers=auth), 400)
    assert body["parameter"] == parameter


# -- edges ----------------------------------------------------------------------------------------


def test_edges_are_listed_by_type_and_property_filters(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = client.get(f"{social}/edges", params={"type": "KNOWS", "since": "gte:2002"}, headers=auth)

    assert response.status_code == 200
    items = response.json()["items"]
    assert pairs(items) == [("bob", "KNOWS", "cat"), ("cat", "KNOWS", "dan")]
    assert all(set(e) == {"id", "source", "target", "type", "properties"} for e in items)


def test_edges_can_be_filtered_by_their_ends(client: TestClient, auth: dict[str, str], social: str) -> None:
    items = client.get(f"{social}/edges", params={"source": "eq:bob"}, headers=auth).json()["items"]
    assert pairs(items) == [("bob", "KNOWS", "cat"), ("bob", "LIVES_IN", "oslo")]


def test_edge_pages_follow_next_until_exhausted(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    nodes = [{"id": f"n{i}"} for i in range(13)]
    edges = [knows(f"n{i}", f"n{i + 1}", since=i) for i in range(12)]
    write(client, auth, url, {"nodes": nodes, "edges": edges})

    pages = walk(client, auth, f"{url}/edges", {"type": "KNOWS", "limit": 5})

    seen = [e["properties"]["since"] for page in pages for e in page["items"]]
    assert sorted(seen) == list(range(12))
    assert len(pages) == 3


def test_a_bad_edge_filter_is_400(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = problem(client.get(f"{social}/edges", params={"since": "gt:yesterday", "type": "KNOWS"}, headers=auth), 400)
    assert body["parameter"] == "since"


# -- updates and deletes through /records ------------------------------------------------------------


def test_nodes_are_updated_by_id(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = client.put(
        f"{social}/records", json={"records": [{"id": "ann", "properties": {"age": 31, "name": None}}]}, headers=auth
    )

    assert response.json() == {"updated": 1}
    assert client.get(f"{social}/nodes/ann", headers=auth).json()["properties"] == {"age": 31}


def test_nodes_matching_filters_are_updated_with_set(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = client.put(
        f"{social}/records", params={"label": "Person", "age": "gte:50"}, json={"set": {"senior": True}}, headers=auth
    )

    assert response.json() == {"updated": 2}
    found = client.get(f"{social}/nodes", params={"senior": "is:true"}, headers=auth).json()["items"]
    assert ids(found) == ["cat", "dan"]


def test_a_node_update_with_a_bad_declared_type_is_422(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = client.put(
        f"{social}/records", json={"records": [{"id": "ann", "properties": {"age": "x"}}]}, headers=auth
    )
    problem(response, 422)
    assert client.get(f"{social}/nodes/ann", headers=auth).json()["properties"]["age"] == 30


def test_deleting_nodes_removes_their_edges(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = client.delete(f"{social}/records", params={"id": "eq:bob"}, headers=auth)

    assert response.json() == {"deleted": 1}
    problem(client.get(f"{social}/nodes/bob", headers=auth), 404)
    remaining = client.get(f"{social}/edges", headers=auth).json()["items"]
    assert pairs(remaining) == [("ann", "KNOWS", "dan"), ("cat", "KNOWS", "dan")]


def test_deleting_nodes_without_a_filter_needs_all_true(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = problem(client.delete(f"{social}/records", headers=auth), 400)
    assert body["parameter"] == "all"
    problem(client.put(f"{social}/records", json={"set": {"x": 1}}, headers=auth), 400)
    assert client.delete(f"{social}/records", params={"all": "true"}, headers=auth).json() == {"deleted": 6}
    assert client.get(f"{social}/edges", headers=auth).json()["items"] == []


# -- shortest path ---------------------------------------------------------------------------------


def shortest(client: TestClient, auth: dict[str, str], url: str, **body: Any) -> Any:
    return client.post(f"{url}/algorithms/shortest_path", json=body, headers=auth)


def test_the_shortest_path_by_hops(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = shortest(client, auth, social, source="ann", target="dan")

    assert response.status_code == 200
    body = response.json()
    assert body["found"] is True
    assert body["length"] == 1
    assert [n["id"] for n in body["nodes"]] == ["ann", "dan"]
    assert pairs(body["edges"]) == [("ann", "KNOWS", "dan")]


def test_the_shortest_path_by_weight_reports_its_cost(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = shortest(client, auth, social, source="ann", target="dan", weight="weight").json()

    assert body["found"] is True
    assert [n["id"] for n in body["nodes"]] == ["ann", "bob", "cat", "dan"]
    assert body["length"] == 3
    assert body["cost"] == 3
    assert [(e["source"], e["target"]) for e in body["edges"]] == [("ann", "bob"), ("bob", "cat"), ("cat", "dan")]


def test_no_path_answers_found_false(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = shortest(client, auth, social, source="ann", target="eve")

    assert response.status_code == 200
    body = response.json()
    assert body["found"] is False
    assert body["nodes"] == [] and body["edges"] == []


def test_direction_decides_whether_edges_are_walked_backwards(
    client: TestClient, auth: dict[str, str], social: str
) -> None:
    assert shortest(client, auth, social, source="dan", target="ann", direction="out").json()["found"] is False
    back = shortest(client, auth, social, source="dan", target="ann", direction="in").json()
    assert back["found"] is True
    assert [n["id"] for n in back["nodes"]] == ["dan", "ann"]
    assert shortest(client, auth, social, source="dan", target="ann", direction="both").json()["length"] == 1


def test_types_restrict_the_relationships_a_path_may_use(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = shortest(client, auth, social, source="ann", target="oslo", direction="both", types=["KNOWS"]).json()
    assert body["found"] is False
    body = shortest(client, auth, social, source="ann", target="oslo", types=["KNOWS", "LIVES_IN"]).json()
    assert [n["id"] for n in body["nodes"]] == ["ann", "bob", "oslo"]


def test_max_depth_bounds_the_search(client: TestClient, auth: dict[str, str], social: str) -> None:
    assert shortest(client, auth, social, source="ann", target="cat", max_depth=1).json()["found"] is False
    assert shortest(client, auth, social, source="ann", target="cat", max_depth=2).json()["length"] == 2


def test_a_path_from_a_node_to_itself_has_length_zero(client: TestClient, auth: dict[str, str], social: str) -> None:
    body = shortest(client, auth, social, source="ann", target="ann").json()
    assert body["found"] is True
    assert body["length"] == 0
    assert [n["id"] for n in body["nodes"]] == ["ann"]


def test_a_path_between_unknown_nodes_is_404_naming_the_end(
    client: TestClient, auth: dict[str, str], social: str
) -> None:
    assert problem(shortest(client, auth, social, source="ann", target="nobody"), 404)["field"] == "target"
    assert problem(shortest(client, auth, social, source="nobody", target="ann"), 404)["field"] == "source"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"source": "ann", "target": "dan", "max_depth": 0}, 422, "max_depth"),
        ({"source": "ann", "target": "dan", "max_depth": 10_000}, 422, "max_depth"),
        ({"source": "ann", "target": "dan", "weight": "bad-name"}, 422, "weight"),
        ({"source": "ann", "target": "dan", "direction": "sideways"}, 400, "direction"),
        ({"source": "ann", "target": "dan", "types": ["bad-type"]}, 422, "types"),
        pytest.param(
            {"source": "ann"},
            400,
            "target",
        ),
        pytest.param(
            {"source": "ann", "target": "dan", "algorithm": "astar"},
            400,
            "algorithm",
        ),
        ({"source": ["ann"], "target": "dan"}, 400, "source"),
    ],
)
def test_a_bad_shortest_path_request_is_refused_naming_the_field(
    client: TestClient, auth: dict[str, str], social: str, body: dict[str, Any], status: int, field: str
) -> None:
    response = client.post(f"{social}/algorithms/shortest_path", json=body, headers=auth)
    assert problem(response, status).get("field") == field


def test_a_weight_that_is_not_numeric_is_refused(client: TestClient, auth: dict[str, str], social: str) -> None:
    write(
        client,
        auth,
        social,
        {"edges": [{"source": "eve", "target": "oslo", "type": "LIVES_IN", "properties": {"how": "by train"}}]},
    )

    response = shortest(client, auth, social, source="eve", target="oslo", weight="how")

    assert problem(response, 422)["field"] == "weight"


def test_a_weight_no_edge_carries_makes_no_edge_traversable(
    client: TestClient, auth: dict[str, str], social: str
) -> None:
    response = shortest(client, auth, social, source="bob", target="oslo", weight="name")

    assert response.status_code == 200
    assert response.json() == {"found": False, "length": None, "nodes": [], "edges": []}


# -- graph routes on a tabular dataset ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nodes", "/nodes/a", "/nodes/a/neighbors", "/edges"])
def test_graph_routes_on_a_tabular_dataset_are_400(client: TestClient, auth: dict[str, str], path: str) -> None:
    url = tabular(client, auth)
    problem(client.get(f"{url}{path}", headers=auth), 400)


def test_shortest_path_on_a_tabular_dataset_is_400(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)
    problem(shortest(client, auth, url, source="a", target="b"), 400)
