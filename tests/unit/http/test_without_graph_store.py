"""On a machine without Java there is no local Neo4j: tabular work goes on, and the graph routes
answer 503 with a problem document saying how to get a graph store."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from datainfra import resources
from datainfra.adapters.unavailable import UnavailableGraphStore
from datainfra.config import Settings


async def test_without_java_the_graph_store_resource_is_an_explanation_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import datainfra.local_stores.neo4j_runtime as neo4j_runtime
    from datainfra.adapters.postgres.graph_bookmarks import PostgresGraphBookmarks

    monkeypatch.setattr(neo4j_runtime, "java_available", lambda: False)
    stores = resources.graph_store(Settings(), PostgresGraphBookmarks(None))  # type: ignore[arg-type]
    store = await anext(stores)
    assert isinstance(store, UnavailableGraphStore)
    assert "Java 17" in store.reason and "DATAINFRA_NEO4J_URI" in store.reason
    await stores.aclose()


@pytest.fixture
def no_graph_client(make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client()
    client.app.state.container.graph_store.override(providers.Object(UnavailableGraphStore(resources.NO_GRAPH_STORE)))
    return client


def test_graph_routes_answer_503_saying_how_to_get_a_graph_store(no_graph_client: TestClient) -> None:
    client = no_graph_client
    auth = {"X-API-Key": client.post("/users").json()["api_key"]}
    sid = client.post("/sessions", json={"name": "s"}, headers=auth).json()["id"]

    response = client.post(f"/sessions/{sid}/datasets", json={"name": "g", "kind": "graph"}, headers=auth)

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Retry-After" in response.headers
    assert "Java 17" in response.json()["detail"]
    assert client.get(f"/sessions/{sid}/datasets", headers=auth).json()["items"] == []


def test_tabular_work_goes_on_and_ready_says_the_graph_store_is_not_configured(no_graph_client: TestClient) -> None:
    client = no_graph_client
    auth = {"X-API-Key": client.post("/users").json()["api_key"]}
    sid = client.post("/sessions", json={"name": "s"}, headers=auth).json()["id"]
    schema = {"columns": [{"name": "v", "type": "integer"}]}
    created = client.post(
        f"/sessions/{sid}/datasets", json={"name": "t", "kind": "tabular", "schema": schema}, headers=auth
    )
    assert created.status_code == 201
    did = created.json()["id"]
    assert client.post(f"/sessions/{sid}/datasets/{did}/records", json=[{"v": 1}], headers=auth).status_code == 201

    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["stores"]["graph"].startswith("not configured")
    assert client.delete(f"/sessions/{sid}", headers=auth).status_code == 204


async def test_without_a_graph_store_client_cypher_answers_the_same_explanation() -> None:
    from datainfra.adapters.memory.work_slots import InProcessWorkSlots
    from datainfra.domain.errors import StoreUnavailable
    from datainfra.domain.queries import QueryLimits
    from tests.contract.conftest import graph_dataset, new_session

    store = UnavailableGraphStore(resources.NO_GRAPH_STORE)
    runner = resources.cypher_runner(store, InProcessWorkSlots(), Settings())
    with pytest.raises(StoreUnavailable) as caught:
        await runner.run_cypher(graph_dataset(new_session()), "RETURN 1", {}, QueryLimits())
    assert caught.value.detail == resources.NO_GRAPH_STORE
