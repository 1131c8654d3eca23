"""PostgreSQL fixtures for the test run: one server and one pool per run, fresh adapters per test.

Isolation: tabular stores are shared (tests use fresh session ids, hence fresh schemas); every
catalog gets its own freshly migrated catalog schema, dropped after the test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any

import pytest

from tests.support.no_servers import refuse_if_no_servers
from tests.support.postgres_server import postgres_url_for_tests

__all__ = [
    "postgres_catalog_factory",
    "postgres_pool",
    "postgres_runtime",
    "postgres_settings",
    "postgres_tabular_store_factory",
    "postgres_url",
]


class PostgresRuntime:
    """The server and pool of this run, started on first use (so runs without PostgreSQL tests
    start nothing). Lazy because the contract fixtures reach the factories through
    `getfixturevalue` inside async fixtures, where async session fixtures cannot be set up.
    `server`: what yields the superuser URL (the single server, or a Citus cluster's coordinator)."""

    def __init__(
        self, server: Callable[[], AbstractContextManager[str]] = postgres_url_for_tests, *, name: str = "PostgreSQL"
    ) -> None:
        self._server = server
        self.name = name
        self._stack = contextlib.ExitStack()
        self._url: str | None = None
        self._pool: Any = None

    def url(self) -> str:
        if self._url is None:
            refuse_if_no_servers(self.name, "postgres")
            self._url = self._stack.enter_context(self._server())
        return self._url

    def settings(self) -> Any:
        from datainfra.adapters.postgres.pool import PostgresSettings

        return PostgresSettings(url=self.url(), min_size=1, max_size=8, statement_timeout_ms=60_000)

    async def pool(self) -> Any:
        if self._pool is None:
            from datainfra.adapters.postgres.pool import open_pool

            self._pool = await open_pool(self.settings())
        return self._pool

    async def close_pool(self) -> None:
        if self._pool is not None:
            from datainfra.adapters.postgres.pool import close_pool

            pool, self._pool = self._pool, None
            await close_pool(pool)

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def postgres_runtime() -> Iterator[PostgresRuntime]:
    runtime = PostgresRuntime()
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture(scope="session", autouse=True)
async def _postgres_pool_closer(postgres_runtime: PostgresRuntime) -> AsyncIterator[None]:
    yield
    await postgres_runtime.close_pool()


@pytest.fixture(scope="session")
def postgres_url(postgres_runtime: PostgresRuntime) -> str:
    return postgres_runtime.url()


@pytest.fixture(scope="session")
def postgres_settings(postgres_runtime: PostgresRuntime) -> Any:
    return postgres_runtime.settings()


@pytest.fixture(scope="session")
async def postgres_pool(postgres_runtime: PostgresRuntime) -> Any:
    return await postgres_runtime.pool()


@pytest.fixture
def postgres_tabular_store_factory(
    postgres_runtime: PostgresRuntime,
) -> Callable[..., AbstractAsyncContextManager[Any]]:
    return tabular_store_factory(postgres_runtime)


@pytest.fixture
def postgres_catalog_factory(postgres_runtime: PostgresRuntime) -> Callable[..., AbstractAsyncContextManager[Any]]:
    return catalog_factory(postgres_runtime)


def tabular_store_factory(runtime: PostgresRuntime) -> Callable[..., AbstractAsyncContextManager[Any]]:
    """Fresh tabular stores on `runtime`'s pool."""
    from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
    from datainfra.adapters.postgres.tabular_store import PostgresTabularStore

    @contextlib.asynccontextmanager
    async def factory(**options: Any) -> AsyncIterator[PostgresTabularStore]:
        pool = await runtime.pool()
        yield PostgresTabularStore(pool, PostgresUserRoles(pool), **options)

    return factory


def catalog_factory(runtime: PostgresRuntime) -> Callable[..., AbstractAsyncContextManager[Any]]:
    """Catalogs on `runtime`, each in a freshly migrated schema of its own, dropped afterwards."""
    from psycopg import sql

    from datainfra.adapters.postgres.catalog import PostgresCatalog
    from datainfra.adapters.postgres.migrations import migrate_catalog

    @contextlib.asynccontextmanager
    async def factory() -> AsyncIterator[PostgresCatalog]:
        schema = f"catalog_test_{uuid.uuid4().hex[:16]}"
        postgres_pool = await runtime.pool()
        await migrate_catalog(postgres_pool, schema)
        try:
            yield PostgresCatalog(postgres_pool, schema=schema)
        finally:
            async with postgres_pool.connection() as conn:
                await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    return factory
