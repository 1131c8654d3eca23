"""The whole API on the real stores: catalog and tables in PostgreSQL (with client SQL running as
each user's own role), graphs in Neo4j (with client Cypher scoped and plan-checked).

The test client runs the app on its own event loop, so the pool and the driver are opened on that
loop (the session-wide ones belong to pytest's loop). Each client gets a fresh catalog schema, so
its users, roles' secret and sessions are its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dependency_injector import providers
from litestar.testing import TestClient

from datainfra.adapters.http.app import create_app
from datainfra.adapters.neo4j.client_cypher.runner import Neo4jCypherRunner
from datainfra.adapters.neo4j.driver import close_driver, open_driver
from datainfra.adapters.neo4j.graph_store import Neo4jGraphStore
from datainfra.adapters.postgres.catalog import PostgresCatalog
from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.client_sql.runner import PostgresSqlRunner
from datainfra.adapters.postgres.idempotency import PostgresIdempotencyStore
from datainfra.adapters.postgres.migrations import migrate_catalog
from datainfra.adapters.postgres.page_json import PostgresJsonPages
from datainfra.adapters.postgres.pool import close_pool, open_pool
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.adapters.postgres.work_slots import PostgresWorkSlots
from datainfra.config import Settings
from datainfra.containers import build_memory_container


@contextmanager
def real_app_client(
    postgres_runtime: Any, neo4j_runtime: Any | None, *, schema: str | None = None
) -> Iterator[TestClient[Any]]:
    """`schema`: the catalog schema to use (a later client on the same one is a restarted worker).
    Without `neo4j_runtime` graphs stay in memory (tests of tables alone need no Neo4j)."""
    schema = schema or f"catalog_test_{uuid.uuid4().hex[:16]}"
    container = build_memory_container(Settings())
    with TestClient(create_app(container)) as client:
        portal = client.blocking_portal
        assert portal is not None
        pool = portal.call(open_pool, postgres_runtime.settings())
        portal.call(migrate_catalog, pool, schema)
        driver = open_driver(neo4j_runtime.settings()) if neo4j_runtime is not None else None
        roles = PostgresUserRoles(pool, catalog_schema=schema)
        runner = PostgresSqlRunner(pool, roles)
        try:
            with (
                container.catalog.override(providers.Object(PostgresCatalog(pool, schema=schema))),
                container.user_roles.override(providers.Object(roles)),
                container.idempotency.override(providers.Object(PostgresIdempotencyStore(pool, schema=schema))),
                container.tabular_store.override(providers.Object(PostgresTabularStore(pool, roles))),
                container.json_pages.override(providers.Object(PostgresJsonPages(pool, catalog_schema=schema))),
                container.sql_runner.override(providers.Object(runner)),
                _graphs(container, driver, PostgresWorkSlots(pool, schema=schema)),
            ):
                yield client
        finally:
            portal.call(runner.close)
            if driver is not None:
                portal.call(close_driver, driver)
            portal.call(close_pool, pool)


@contextmanager
def _graphs(container: Any, driver: Any | None, slots: PostgresWorkSlots) -> Iterator[None]:
    """Graphs in Neo4j when a driver is given (Cypher's slots in the catalog), else the container's
    in-memory store as it is."""
    if driver is None:
        yield
        return
    with (
        container.graph_store.override(providers.Object(Neo4jGraphStore(driver))),
        container.cypher_runner.override(providers.Object(Neo4jCypherRunner(driver, slots=slots))),
    ):
        yield
