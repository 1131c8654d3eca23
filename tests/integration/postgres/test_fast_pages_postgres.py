"""The hot records GET on PostgreSQL with two apps (two workers: each its own pool and caches) on
one catalog: what one changes, the other's very next request sees, although it had cached the key
and the dataset (the page statement re-checks both). And its answers are the route's."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from datainfra.adapters.http.app import create_app
from datainfra.adapters.memory.graph_store import InMemoryGraphStore
from datainfra.adapters.postgres.catalog import PostgresCatalog
from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.migrations import migrate_catalog
from datainfra.adapters.postgres.page_json import PostgresJsonPages
from datainfra.adapters.postgres.pool import close_pool, open_pool
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.config import Settings
from datainfra.containers import build_container, build_memory_container
from datainfra.domain.ports import JsonPages, PageGuard
from datainfra.domain.ports.json_pages import JsonPage
from datainfra.domain.query import RecordQuery
from tests.unit.http.api import new_key, problem, tabular, write

pytestmark = [pytest.mark.postgres]

SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "name", "type": "text", "nullable": False},
        {"name": "score", "type": "float"},
        {"name": "seen", "type": "timestamp"},
    ]
}
RECORDS = [
    {"name": f"r{i}", "score": [5.0, 1.5, None][i % 3], "seen": ["2026-01-02T03:04:05.25Z", None][i % 2]}
    for i in range(30)
]


class Counting(JsonPages):
    def __init__(self, inner: JsonPages) -> None:
        self.inner = inner
        self.answered = 0

    async def page(self, guard: PageGuard, query: RecordQuery) -> JsonPage | None:
        page = await self.inner.page(guard, query)
        self.answered += page is not None
        return page


@contextmanager
def worker(postgres_runtime: Any, schema: str) -> Iterator[tuple[TestClient[Any], Counting]]:
    """An app on PostgreSQL (catalog `schema`), its own pool on its own loop, graphs in memory."""
    container = build_memory_container(Settings())
    with TestClient(create_app(container)) as client:  # type: ignore[arg-type]
        portal = client.blocking_portal
        assert portal is not None
        pool = portal.call(open_pool, postgres_runtime.settings())
        portal.call(migrate_catalog, pool, schema)
        roles = PostgresUserRoles(pool, catalog_schema=schema)
        pages = Counting(PostgresJsonPages(pool, catalog_schema=schema))
        try:
            with (
                container.catalog.override(providers.Object(PostgresCatalog(pool, schema=schema))),
                container.user_roles.override(providers.Object(roles)),
                container.tabular_store.override(providers.Object(PostgresTabularStore(pool, roles))),
                container.json_pages.override(providers.Object(pages)),
            ):
                yield client, pages
        finally:
            portal.call(close_pool, pool)


@pytest.fixture
def two_workers(postgres_runtime: Any) -> Iterator[tuple[tuple[TestClient[Any], Counting], ...]]:
    schema = f"catalog_test_{uuid.uuid4().hex[:16]}"
    with ExitStack() as stack:
        yield (
            stack.enter_context(worker(postgres_runtime, schema)),
            stack.enter_context(worker(postgres_runtime, schema)),
        )


def test_the_answers_are_the_routes(two_workers: Any) -> None:
    (one, pages), _ = two_workers
    auth = new_key(one)
    url = tabular(one, auth, SCHEMA)
    write(one, auth, url, {"records": RECORDS})
    targets = [f"{url}/records?limit=7", f"{url}/records?sort=score:desc&limit=4", f"{url}/records?name=like:r1%"]
    first = one.get(targets[0], headers=auth).json()
    targets.append(first["next"])
    fast = [one.get(t, headers=auth) for t in targets]
    assert pages.answered == len(targets) + 1
    with one.app.state.container.record_pages.override(providers.Object(None)):
        slow = [one.get(t, headers=auth) for t in targets]
    for f, s in zip(fast, slow, strict=True):
        assert f.status_code == s.status_code == 200
        assert f.json() == s.json()
        assert f.headers.get("link") == s.headers.get("link")
    assert fast[0].json()["items"][0] == {"id": 1, "name": "r0", "score": 5.0, "seen": "2026-01-02T03:04:05.250000Z"}


def test_a_key_rotated_on_one_worker_is_refused_by_the_other_at_once(two_workers: Any) -> None:
    (one, _), (two, pages) = two_workers
    auth = new_key(one)
    url = tabular(one, auth, SCHEMA)
    write(one, auth, url, {"records": RECORDS})
    assert two.get(f"{url}/records", headers=auth).status_code == 200
    assert two.get(f"{url}/records", headers=auth).status_code == 200
    assert pages.answered == 2  # worker two has the key and the dataset cached
    rotated = one.post("/users/key", headers=auth)
    assert rotated.status_code == 201
    problem(two.get(f"{url}/records", headers=auth), 401)
    assert two.get(f"{url}/records", headers={"X-API-Key": rotated.json()["api_key"]}).status_code == 200


def test_a_dataset_dropped_on_one_worker_is_gone_for_the_other_at_once(two_workers: Any) -> None:
    (one, _), (two, _) = two_workers
    auth = new_key(one)
    url = tabular(one, auth, SCHEMA)
    write(one, auth, url, {"records": RECORDS})
    assert two.get(f"{url}/records", headers=auth).status_code == 200
    assert one.delete(url, headers=auth).status_code == 204
    problem(two.get(f"{url}/records", headers=auth), 404)


def test_a_migration_on_one_worker_shows_on_the_other_at_once(two_workers: Any) -> None:
    (one, _), (two, pages) = two_workers
    auth = new_key(one)
    url = tabular(one, auth, SCHEMA)
    write(one, auth, url, {"records": RECORDS})
    assert "extra" not in two.get(f"{url}/records", headers=auth).json()["items"][0]
    schema = {"columns": [*SCHEMA["columns"], {"name": "extra", "type": "integer", "default": 7}]}
    assert one.put(url, json={"schema": schema}, headers=auth).status_code == 200
    items = two.get(f"{url}/records", headers=auth).json()["items"]
    assert {item["extra"] for item in items} == {7}
    assert two.get(f"{url}/records", headers=auth).status_code == 200
    assert pages.answered == 2  # before; then the route answered once, and the new version is cached


def test_the_production_wiring_takes_the_fast_path(postgres_url: str, tmp_path: Path) -> None:
    """build_container as `python -m datainfra` builds it (the pool an async resource)."""
    calls: list[bool] = []
    container = build_container(Settings(database_url=postgres_url, data_dir=tmp_path))
    container.graph_store.override(providers.Object(InMemoryGraphStore()))
    with TestClient(create_app(container)) as client:  # type: ignore[arg-type]
        pages = client.blocking_portal.call(_resolved, container.json_pages)  # type: ignore[union-attr]
        spy = Counting(pages)
        with container.json_pages.override(providers.Object(spy)):
            container.record_pages.reset()
            auth = new_key(client)
            url = tabular(client, auth, SCHEMA)
            write(client, auth, url, {"records": RECORDS})
            for _ in range(3):
                calls.append(client.get(f"{url}/records?limit=5", headers=auth).status_code == 200)
    assert all(calls) and spy.answered == 3


async def _resolved(provider: Any) -> Any:
    value = provider()
    return await value if inspect.isawaitable(value) else value
