"""How big a node or edge may be (domain.graph_limits), through the HTTP API: each bound is a 422
naming the index and field just past it, and exactly at it the write goes through. The same checks
run before every store, so the in-memory app shows what the Neo4j one does (the real store's side
is in tests/integration/neo4j/test_graph_limits_real.py)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from datainfra.domain.graph_limits import (
    MAX_DECLARED_INDEXES,
    MAX_INDEX_PROPERTIES,
    MAX_INDEXED_BYTES,
    MAX_ITEM_BYTES,
    MAX_LABELS_PER_NODE,
    MAX_LIST_ITEMS,
    MAX_PROPERTIES,
    MAX_TEXT_BYTES,
)
from tests.unit.http.api import create_session, dataset_url, problem

SCHEMA: dict[str, Any] = {
    "node_labels": [
        {
            "name": "Doc",
            "properties": [{"name": "title", "type": "text"}, {"name": "body", "type": "json"}],
            "indexes": ["title"],
        }
    ],
    "relationship_types": [{"name": "CITES", "properties": [{"name": "note", "type": "text"}]}],
}


@pytest.fixture
def graph(client: TestClient, api_key: str) -> tuple[TestClient, dict[str, str], str]:
    auth = {"X-API-Key": api_key}
    session = create_session(client, auth)
    body = {"name": "g", "kind": "graph", "schema": SCHEMA}
    response = client.post(f"/sessions/{session}/datasets", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return client, auth, dataset_url(session, response.json()["id"])


def post(graph: tuple[TestClient, dict[str, str], str], nodes: list[Any], edges: list[Any] | None = None) -> Any:
    client, auth, url = graph
    return client.post(f"{url}/records", json={"nodes": nodes, "edges": edges or []}, headers=auth)


def refused(response: Any, field: str, words: str) -> None:
    body = problem(response, 422)
    assert body.get("field") == field, body
    assert words in body["detail"], body


def test_labels_per_node_are_bounded(graph: Any) -> None:
    at = [f"L{i}" for i in range(MAX_LABELS_PER_NODE)]
    assert post(graph, [{"id": "ok", "labels": at}]).status_code == 201
    response = post(graph, [{"id": "a"}, {"id": "b", "labels": [*at, "One_more"]}])
    refused(response, "nodes[1].labels", f"at most {MAX_LABELS_PER_NODE} labels")
    assert problem(response, 422).get("index") == 1
    thousands = [f"L{i}" for i in range(4_000)]
    refused(post(graph, [{"id": "c", "labels": thousands}]), "nodes[0].labels", "labels")
    client, auth, url = graph
    update = client.put(f"{url}/records", json={"records": [{"id": "ok", "labels": thousands}]}, headers=auth)
    refused(update, "records[0].labels", "labels")


def test_a_label_filter_names_at_most_as_many_labels_as_a_node_has(graph: Any) -> None:
    client, auth, url = graph
    many = ",".join(f"L{i}" for i in range(MAX_LABELS_PER_NODE + 1))
    body = problem(client.get(f"{url}/nodes", params={"label": many}, headers=auth), 400)
    assert body.get("parameter") == "label"
    fine = ",".join(f"L{i}" for i in range(MAX_LABELS_PER_NODE))
    assert client.get(f"{url}/nodes", params={"label": fine}, headers=auth).status_code == 200


def test_properties_per_node_and_edge_are_bounded(graph: Any) -> None:
    at = {f"p{i}": i for i in range(MAX_PROPERTIES)}
    assert post(graph, [{"id": "a", "properties": at}, {"id": "b"}]).status_code == 201
    over = {**at, "one_more": 1}
    refused(post(graph, [{"id": "c", "properties": over}]), "nodes[0].properties", f"at most {MAX_PROPERTIES}")
    edge = {"id": "e", "source": "a", "target": "b", "type": "CITES", "properties": over}
    refused(post(graph, [], [edge]), "edges[0].properties", f"at most {MAX_PROPERTIES}")


def test_text_json_and_list_values_are_bounded(graph: Any) -> None:
    ascii_at = "x" * MAX_TEXT_BYTES
    assert post(graph, [{"id": "a", "properties": {"blob": ascii_at}}]).status_code == 201
    refused(post(graph, [{"id": "b", "properties": {"blob": ascii_at + "x"}}]), "nodes[0].properties.blob", "bytes")
    # bytes, not characters: a 3-byte character counts three
    wide = "€" * (MAX_TEXT_BYTES // 3 + 1)
    refused(post(graph, [{"id": "b", "properties": {"blob": wide}}]), "nodes[0].properties.blob", "bytes")
    big_json = {"items": ["y" * 1000] * (MAX_TEXT_BYTES // 1000 + 1)}
    refused(post(graph, [{"id": "b", "properties": {"body": big_json}}]), "nodes[0].properties.body", "json")
    assert post(graph, [{"id": "c", "properties": {"v": [0.5] * MAX_LIST_ITEMS}}]).status_code == 201
    too_long = [1] * (MAX_LIST_ITEMS + 1)
    refused(post(graph, [{"id": "d", "properties": {"v": too_long}}]), "nodes[0].properties.v", "list")
    million = list(range(1_000_000))
    refused(post(graph, [{"id": "d", "properties": {"v": million}}]), "nodes[0].properties.v", "list")


def test_all_values_of_one_node_together_are_bounded(graph: Any) -> None:
    chunk = "z" * (MAX_TEXT_BYTES // 2)
    count = MAX_ITEM_BYTES // len(chunk) + 1
    response = post(graph, [{"id": "a", "properties": {f"p{i}": chunk for i in range(count)}}])
    refused(response, "nodes[0].properties", "together")


def test_an_indexed_value_must_fit_an_index_key(graph: Any) -> None:
    fits = "t" * (MAX_INDEXED_BYTES - 10)
    assert post(graph, [{"id": "a", "labels": ["Doc"], "properties": {"title": fits}}]).status_code == 201
    long_title = "t" * (MAX_INDEXED_BYTES + 1)
    response = post(graph, [{"id": "b", "labels": ["Doc"], "properties": {"title": long_title}}])
    refused(response, "nodes[0].properties.title", "indexed on label 'Doc'")
    # the same text on a node without the indexed label is fine
    assert post(graph, [{"id": "c", "labels": ["Note"], "properties": {"title": long_title}}]).status_code == 201


def test_a_schema_declares_a_bounded_number_of_indexes(client: TestClient, api_key: str) -> None:
    auth = {"X-API-Key": api_key}
    session = create_session(client, auth)
    props = [{"name": f"p{i}", "type": "integer"} for i in range(MAX_DECLARED_INDEXES + 1)]
    schema = {"node_labels": [{"name": "A", "properties": props, "indexes": [p["name"] for p in props]}]}
    body = {"name": "g", "kind": "graph", "schema": schema}
    refused(client.post(f"/sessions/{session}/datasets", json=body, headers=auth), "schema.node_labels", "indexes")
    wide = {"properties": [p["name"] for p in props[: MAX_INDEX_PROPERTIES + 1]]}
    schema = {"node_labels": [{"name": "A", "properties": props, "indexes": [wide]}]}
    body = {"name": "g", "kind": "graph", "schema": schema}
    response = client.post(f"/sessions/{session}/datasets", json=body, headers=auth)
    refused(response, "schema.node_labels[0].indexes[0]", f"at most {MAX_INDEX_PROPERTIES}")
