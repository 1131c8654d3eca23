"""No tenant stalls another on the shared Neo4j, through the HTTP API on the real stores.

Several tenants create, migrate and drop graph datasets (with declared indexes and unique
properties) and sessions at once; every request finishes in bounded time and none is a 5xx.
Clients upserting the same node and edge ids at once never conflict with each other. No answer
names our storage (`D_/L_/R_<hex>`, `datainfra_<hex>_...`, Neo4j's `Node(12)`)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from httpx import Response
from litestar.testing import TestClient

from tests.support.real_app import real_app_client
from tests.unit.http.api import create_session, dataset_url, new_key

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

CLIENTS = 8
TENANTS = 4
REQUEST_LIMIT = 5.0
"""Seconds one request may take while the others run, on an idle machine (the issue's bound).
On a loaded test box the bound is the time of one creation alone times the number of clients:
schema changes are serialized by Neo4j, so that is what queueing behind every other client costs,
and a request waiting on another tenant's indexes (300 s before) still fails it."""

PERSON = {
    "name": "Person",
    "properties": [
        {"name": "email", "type": "text"},
        {"name": "age", "type": "integer"},
        {"name": "score", "type": "numeric"},
    ],
    "indexes": [{"properties": ["email"], "unique": True}, "age", {"properties": ["age", "score"]}],
}
CITY = {
    "name": "City",
    "properties": [{"name": "name", "type": "text"}],
    "indexes": [{"properties": ["name"], "unique": True}],
}
INDEXED_SCHEMA: dict[str, Any] = {
    "node_labels": [PERSON, CITY],
    "relationship_types": [{"name": "KNOWS", "properties": [{"name": "since", "type": "integer"}]}],
}

INTERNAL = re.compile(r"\b[DR]_[0-9a-f]{8}|\bL_[0-9a-f]{8}|datainfra_[0-9a-f]{8}|Relationship\(\d|Node\(\d")


@pytest.fixture
def real_client(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[TestClient[Any]]:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        yield client


class Timed:
    """Every answer the workers got, with how long it took; checked all at once at the end."""

    def __init__(self, client: TestClient[Any]) -> None:
        self.client = client
        self.answers: list[tuple[str, int, float, str]] = []
        self._lock = threading.Lock()

    def __call__(self, method: str, url: str, **kwargs: Any) -> Response:
        started = time.monotonic()
        response = self.client.request(method, url, **kwargs)
        took = time.monotonic() - started
        with self._lock:
            self.answers.append((f"{method} {url}", response.status_code, took, response.text[:300]))
        return response

    def check(self, limit: float) -> None:
        bad = [a for a in self.answers if a[1] >= 500]
        slow = [a for a in self.answers if a[2] > limit]
        leaks = [a for a in self.answers if INTERNAL.search(a[3])]
        assert not bad, bad[:5]
        assert not slow, (limit, slow[:5])
        assert not leaks, leaks[:5]


def run_all(work: Callable[[int], None], count: int = CLIENTS) -> None:
    """`work(i)` for i < count, in threads released together."""
    barrier = threading.Barrier(count)

    def start(i: int) -> None:
        barrier.wait()
        work(i)

    with ThreadPoolExecutor(count) as pool:
        for future in [pool.submit(start, i) for i in range(count)]:
            future.result()


def create_graph(call: Timed, auth: dict[str, str], session: str, name: str) -> str:
    body = {"name": name, "kind": "graph", "schema": INDEXED_SCHEMA}
    created = call("POST", f"/sessions/{session}/datasets", json=body, headers=auth)
    assert created.status_code == 201, created.text
    return dataset_url(session, created.json()["id"])


def test_tenants_create_migrate_and_drop_graph_datasets_and_sessions_at_once(real_client: TestClient[Any]) -> None:
    keys = [new_key(real_client) for _ in range(TENANTS)]
    solo = Timed(real_client)
    create_graph(solo, keys[0], create_session(real_client, keys[0], "solo"), "alone")
    limit = max(REQUEST_LIMIT, CLIENTS * solo.answers[0][2])
    call = Timed(real_client)

    def work(i: int) -> None:
        auth = keys[i % TENANTS]
        for round_ in range(2):
            session = create_session(real_client, auth, f"s{i}_{round_}")
            urls = [create_graph(call, auth, session, f"g{j}") for j in range(2)]
            people = [
                {"id": f"p{k}", "labels": ["Person"], "properties": {"email": f"{k}@x", "age": k}} for k in range(20)
            ]
            knows = [{"id": f"e{k}", "source": f"p{k}", "target": f"p{k + 1}", "type": "KNOWS"} for k in range(19)]
            written = call("POST", f"{urls[0]}/records", json={"nodes": people, "edges": knows}, headers=auth)
            assert written.status_code == 201, written.text
            fewer = {**INDEXED_SCHEMA, "node_labels": [PERSON]}
            assert call("PUT", urls[1], json={"schema": fewer}, headers=auth).status_code == 200
            assert call("DELETE", urls[1], headers=auth).status_code == 204
            assert call("DELETE", f"/sessions/{session}", headers=auth).status_code == 204

    run_all(work)
    call.check(limit)


def test_concurrent_upserts_of_the_same_node_and_edge_ids_never_conflict(real_client: TestClient[Any]) -> None:
    auth = new_key(real_client)
    session = create_session(real_client, auth)
    url = create_graph(Timed(real_client), auth, session, "shared")
    call = Timed(real_client)

    def work(i: int) -> None:
        for round_ in range(4):
            # overlapping windows of keys, in an order of its own per client
            keys = [(i + round_ + k) % 12 for k in range(8)]
            nodes = [{"id": f"n{k}", "labels": ["Person"], "properties": {"age": i}} for k in keys]
            edges = [
                {"id": f"e{k}", "source": f"n{k}", "target": f"n{(k + 1) % 12}", "type": "KNOWS"}
                for k in keys
                if (k + 1) % 12 in keys
            ]
            for mode in ("update", "ignore"):
                body = {"nodes": nodes, "edges": edges, "on_conflict": mode}
                response = call("POST", f"{url}/records", json=body, headers=auth)
                assert response.status_code == 201, (mode, response.text)
            again = call("POST", f"{url}/records", json={"nodes": nodes[:1], "edges": edges[:1]}, headers=auth)
            assert again.status_code == 409, again.text  # an ERROR write of existing ids: named, not leaked

    run_all(work)
    call.check(limit=60.0)
    listed = real_client.get(f"{url}/edges", params={"limit": 100}, headers=auth).json()["items"]
    assert sorted(e["id"] for e in listed) == sorted({e["id"] for e in listed})
    nodes = real_client.get(f"{url}/nodes", params={"limit": 100}, headers=auth).json()["items"]
    assert sorted(n["id"] for n in nodes) == sorted(f"n{k}" for k in range(12))
