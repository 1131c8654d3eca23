"""Graph size limits on the real Neo4j, through the HTTP API: what the domain bounds never reaches
the store (4,000 labels answer 422 at once, not a 503 minutes later), what is allowed up to the
bound is stored, and what the store itself refuses from input (a value too large for an index,
written through client Cypher or already present when a migration adds the index) is a 4xx
without our storage names."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from datainfra.domain.graph_limits import MAX_INDEXED_BYTES, MAX_LABELS_PER_NODE
from tests.integration.neo4j.test_graph_concurrency import INTERNAL
from tests.support.real_app import real_app_client
from tests.unit.http.api import create_session, dataset_url, new_key, problem

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

DOC = {"name": "Doc", "properties": [{"name": "title", "type": "text"}]}


@pytest.fixture
def graph(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[tuple[TestClient[Any], dict[str, str], str, str]]:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        auth = new_key(client)
        session = create_session(client, auth)
        body = {"name": "g", "kind": "graph", "schema": {"node_labels": [DOC]}}
        created = client.post(f"/sessions/{session}/datasets", json=body, headers=auth)
        assert created.status_code == 201, created.text
        yield client, auth, session, dataset_url(session, created.json()["id"])


def test_many_labels_are_refused_before_the_store_and_the_bound_is_stored(graph: Any) -> None:
    client, auth, _session, url = graph
    started = time.monotonic()
    thousands = {"nodes": [{"id": "x", "labels": [f"L{i}" for i in range(4_000)]}]}
    body = problem(client.post(f"{url}/records", json=thousands, headers=auth), 422)
    assert body["field"] == "nodes[0].labels" and time.monotonic() - started < 5
    labels = [f"L{i}" for i in range(MAX_LABELS_PER_NODE)]
    assert (
        client.post(f"{url}/records", json={"nodes": [{"id": "a", "labels": labels}]}, headers=auth).status_code == 201
    )
    node = client.get(f"{url}/nodes/a", headers=auth).json()
    assert node["labels"] == labels
    found = client.get(f"{url}/nodes", params={"label": ",".join(labels)}, headers=auth).json()["items"]
    assert [n["id"] for n in found] == ["a"]


def test_values_too_large_for_an_index_are_4xx_from_every_path(graph: Any) -> None:
    client, auth, session, url = graph
    long_title = "t" * 9_000  # past Neo4j's index key limit (8,167 bytes), under the text bound
    write = {"nodes": [{"id": "big", "labels": ["Doc"], "properties": {"title": long_title}}]}
    assert client.post(f"{url}/records", json=write, headers=auth).status_code == 201  # not indexed yet
    indexed = {"node_labels": [{**DOC, "indexes": ["title"]}]}
    migrated = client.put(url, json={"schema": indexed}, headers=auth)
    body = problem(migrated, 422)
    assert "index on Doc(title)" in body["detail"] and not INTERNAL.search(migrated.text), body
    client.delete(f"{url}/nodes/big", headers=auth)
    assert client.put(url, json={"schema": indexed}, headers=auth).status_code == 200
    refused = client.post(f"{url}/records", json=write, headers=auth)
    assert problem(refused, 422)["field"] == "nodes[0].properties.title"
    fits = {"nodes": [{"id": "ok", "labels": ["Doc"], "properties": {"title": "t" * MAX_INDEXED_BYTES}}]}
    assert client.post(f"{url}/records", json=fits, headers=auth).status_code == 201
    query = {
        "language": "cypher",
        "dataset": url.rsplit("/", 1)[1],
        "query": "CREATE (n:Doc {id: 'c', title: $t}) RETURN n.id",
        "parameters": {"t": long_title},
        "read_only": False,
    }
    answer = client.post(f"/sessions/{session}/query", json=query, headers=auth)
    assert 400 <= answer.status_code < 500, answer.text
    assert not INTERNAL.search(answer.text), answer.text
