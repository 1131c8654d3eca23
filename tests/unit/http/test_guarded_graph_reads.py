"""Graph reads from cached catalog facts (services/guarded_reads.GuardedReads): a repeated read asks
the catalog one question (run alongside the read), and cached facts never outlive a change: a
rotated key, a dropped dataset or session, a migrated schema are seen by the very next request,
also by a second app (another worker) sharing the same stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dependency_injector import providers
from litestar.testing import TestClient

from datainfra.adapters.http.app import create_app
from datainfra.adapters.memory.catalog import InMemoryCatalog
from datainfra.config import Settings
from datainfra.containers import build_memory_container
from datainfra.domain.model import Dataset, User
from tests.unit.http.api import graph, new_key, problem, write

GRAPH = {
    "nodes": [
        {"id": "ada", "labels": ["Person"], "properties": {"name": "Ada", "age": 36}},
        {"id": "alan", "labels": ["Person"], "properties": {"name": "Alan", "age": 41}},
        {"id": "london", "labels": ["City"], "properties": {"name": "London"}},
    ],
    "edges": [
        {"id": "k1", "source": "ada", "target": "alan", "type": "KNOWS", "properties": {"since": 1840}},
        {"id": "l1", "source": "alan", "target": "london", "type": "LIVES_IN"},
    ],
}
PATH = {"source": "ada", "target": "london"}


class CountingCatalog(InMemoryCatalog):
    """Counts the catalog's answers the graph reads ask for."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0
        self.checks = 0

    async def user_for_key(self, key_hash: str) -> User | None:
        self.lookups += 1
        return await super().user_for_key(key_hash)

    async def facts_hold(self, key_hash: str, dataset: Dataset) -> bool:
        self.checks += 1
        lookups = self.lookups
        try:
            return await super().facts_hold(key_hash, dataset)
        finally:
            self.lookups = lookups  # the check's own reads are the one question


def _counting_client(make_client: Callable[..., TestClient]) -> tuple[TestClient, CountingCatalog]:
    client = make_client()
    catalog = CountingCatalog()
    client.app.state.container.catalog.override(providers.Object(catalog))
    return client, catalog


READS: list[tuple[str, str, Any]] = [
    ("GET", "/nodes/ada", None),
    ("GET", "/nodes/ada/neighbors?depth=2&direction=out", None),
    ("POST", "/algorithms/shortest_path", PATH),
    ("POST", "/algorithms/all_shortest_paths", PATH),
]


def _read(client: TestClient, url: str, auth: dict[str, str], method: str, path: str, body: Any) -> Any:
    return client.request(method, f"{url}{path}", json=body, headers=auth)


def test_a_repeated_read_asks_the_catalog_once_and_answers_the_same(
    make_client: Callable[..., TestClient],
) -> None:
    client, catalog = _counting_client(make_client)
    auth = new_key(client)
    url = graph(client, auth)
    write(client, auth, url, GRAPH)
    for method, path, body in READS:
        first = _read(client, url, auth, method, path, body)
        assert first.status_code == 200, first.text
        lookups, checks = catalog.lookups, catalog.checks
        again = _read(client, url, auth, method, path, body)
        assert again.status_code == 200 and again.json() == first.json()
        assert (catalog.lookups, catalog.checks) == (lookups, checks + 1)


def test_problems_of_the_read_itself_are_the_routes(client: TestClient) -> None:
    auth = new_key(client)
    url = graph(client, auth)
    write(client, auth, url, GRAPH)
    assert client.get(f"{url}/nodes/ada", headers=auth).status_code == 200  # cached now
    assert problem(client.get(f"{url}/nodes/nobody", headers=auth), 404)["parameter"] == "node_id"
    body = problem(client.post(f"{url}/algorithms/shortest_path", json={**PATH, "source": "x"}, headers=auth), 404)
    assert body["field"] == "source"
    problem(client.post(f"{url}/algorithms/shortest_path", json={"source": "ada"}, headers=auth), 400)
    problem(client.get(f"{url}/nodes/ada/neighbors?depth=0", headers=auth), 400)
    problem(client.get(f"{url}/nodes/ada", headers=new_key(client)), 404)  # another user's dataset
    problem(client.get(f"{url}/nodes/ada"), 401)


def test_a_rotated_key_is_refused_on_the_very_next_read(client: TestClient) -> None:
    auth = new_key(client)
    url = graph(client, auth)
    write(client, auth, url, GRAPH)
    for method, path, body in READS:
        assert _read(client, url, auth, method, path, body).status_code == 200
    rotated = client.post("/users/key", headers=auth)
    assert rotated.status_code == 201
    for method, path, body in READS:
        problem(_read(client, url, auth, method, path, body), 401)
    fresh = {"X-API-Key": rotated.json()["api_key"]}
    for method, path, body in READS:
        assert _read(client, url, fresh, method, path, body).status_code == 200


def test_a_dropped_dataset_or_session_is_gone_on_the_very_next_read(client: TestClient) -> None:
    auth = new_key(client)
    for drop in ("dataset", "session"):
        url = graph(client, auth)
        write(client, auth, url, GRAPH)
        for method, path, body in READS:
            assert _read(client, url, auth, method, path, body).status_code == 200
        target = url if drop == "dataset" else url.rsplit("/datasets/", 1)[0]
        assert client.delete(target, headers=auth).status_code == 204
        for method, path, body in READS:
            problem(_read(client, url, auth, method, path, body), 404)


def test_a_migrated_dataset_is_read_afresh_on_the_very_next_read(make_client: Callable[..., TestClient]) -> None:
    client, catalog = _counting_client(make_client)
    auth = new_key(client)
    url = graph(client, auth)
    write(client, auth, url, GRAPH)
    assert client.get(f"{url}/nodes/ada", headers=auth).status_code == 200
    schema = client.get(url, headers=auth).json()["schema"]
    person = next(label for label in schema["node_labels"] if label["name"] == "Person")
    person["properties"].append({"name": "code", "type": "text"})
    assert client.put(url, json={"schema": schema}, headers=auth).status_code == 200
    lookups = catalog.lookups
    assert client.get(f"{url}/nodes/ada", headers=auth).json()["properties"]["name"] == "Ada"
    assert catalog.lookups == lookups + 1  # the check failed: the route's own lookups ran
    lookups = catalog.lookups
    assert client.get(f"{url}/nodes/ada", headers=auth).status_code == 200
    assert catalog.lookups == lookups  # and their answer is cached


def test_two_apps_on_the_same_stores_see_each_others_changes() -> None:
    """Two workers: each caches in its own memory, both read the same stores."""
    settings = Settings()
    first = build_memory_container(settings)
    second = build_memory_container(settings)
    for name in ("catalog", "tabular_store", "user_roles", "graph_store"):
        getattr(second, name).override(providers.Object(getattr(first, name)()))
    with TestClient(create_app(first)) as one, TestClient(create_app(second)) as two:  # type: ignore[arg-type]
        auth = new_key(one)
        url = graph(one, auth)
        write(one, auth, url, GRAPH)
        assert two.post(f"{url}/algorithms/shortest_path", json=PATH, headers=auth).status_code == 200
        assert two.post(f"{url}/algorithms/shortest_path", json=PATH, headers=auth).status_code == 200
        rotated = one.post("/users/key", headers=auth).json()["api_key"]
        problem(two.post(f"{url}/algorithms/shortest_path", json=PATH, headers=auth), 401)
        fresh = {"X-API-Key": rotated}
        assert two.get(f"{url}/nodes/ada/neighbors", headers=fresh).status_code == 200
        assert one.delete(url, headers=fresh).status_code == 204
        problem(two.get(f"{url}/nodes/ada/neighbors", headers=fresh), 404)
