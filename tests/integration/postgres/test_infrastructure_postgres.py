"""Migrations, the pool's behaviour under cancellation and outage, and per-user roles."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.identifiers import session_schema_name, user_role_name
from datainfra.adapters.postgres.migrations import MIGRATIONS, catalog_version, migrate_catalog
from datainfra.adapters.postgres.pool import PostgresSettings, close_pool, open_pool
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.domain.errors import StoreUnavailable
from datainfra.domain.records import OnConflict
from tests.integration.postgres.conftest import dataset_for, new_session, stream

pytestmark = pytest.mark.postgres


async def _drop_schema(pool: Any, schema: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


async def test_migrations_apply_once_and_are_idempotent(postgres_pool: Any) -> None:
    schema = f"mig_{uuid.uuid4().hex[:12]}"
    try:
        assert await catalog_version(postgres_pool, schema) == 0
        assert await migrate_catalog(postgres_pool, schema) == [m.version for m in MIGRATIONS]
        assert await migrate_catalog(postgres_pool, schema) == []
        assert await catalog_version(postgres_pool, schema) == MIGRATIONS[-1].version
    finally:
        await _drop_schema(postgres_pool, schema)


async def test_two_processes_migrating_at_once_apply_each_version_once(postgres_settings: Any) -> None:
    schema = f"mig_{uuid.uuid4().hex[:12]}"
    pools = [await open_pool(postgres_settings) for _ in range(2)]
    try:
        results = await asyncio.gather(*(migrate_catalog(pool, schema) for pool in pools))
        assert sorted(results, key=len) == [[], [m.version for m in MIGRATIONS]]
        async with pools[0].connection() as conn:
            cur = await conn.execute(
                sql.SQL("SELECT version, count(*) FROM {}.schema_migrations GROUP BY version").format(
                    sql.Identifier(schema)
                )
            )
            assert all(count == 1 for _, count in await cur.fetchall())
    finally:
        await _drop_schema(pools[0], schema)
        for pool in pools:
            await close_pool(pool)


async def test_a_cancelled_request_leaves_no_transaction_open_and_no_connection_leaked(postgres_url: str) -> None:
    settings = PostgresSettings(
        url=postgres_url, min_size=1, max_size=1, application_name=f"cancel-{uuid.uuid4().hex[:8]}"
    )
    pool = await open_pool(settings)
    store = PostgresTabularStore(pool, PostgresUserRoles(pool))
    session = new_session()
    try:
        await store.create_session_space(session)
        dataset = dataset_for(session, {"columns": [{"name": "v", "type": "integer"}]})
        await store.create_table(dataset)

        async def slow_records() -> Any:
            yield {"v": 1}
            await asyncio.sleep(30)  # the client stops sending: the request is cancelled meanwhile
            yield {"v": 2}

        task = asyncio.create_task(store.insert_records(dataset, slow_records(), OnConflict.ERROR))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        async def slow_query() -> None:
            async with pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_sleep(30)")

        task2 = asyncio.create_task(slow_query())
        await asyncio.sleep(0.3)
        task2.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task2

        # The only connection is back in the pool, idle, and the rows were never committed.
        assert await asyncio.wait_for(store.count(dataset), 10) == 0
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT state FROM pg_stat_activity WHERE application_name = %s", (settings.application_name,)
            ).fetchall()
        assert rows and all(state == "idle" for (state,) in rows), rows
        assert pool.get_stats().get("pool_available", 0) == 1
    finally:
        await store.drop_session_space(session)
        await close_pool(pool)


async def test_an_unreachable_server_is_store_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = PostgresSettings(url=f"postgresql://nobody@127.0.0.1:{port}/x", pool_timeout=1.0, connect_timeout=1)
    with pytest.raises(StoreUnavailable):
        await open_pool(settings)
    pool = await open_pool(settings, wait=False)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await PostgresTabularStore(pool, PostgresUserRoles(pool)).ping()
        assert caught.value.retry_after > 0
    finally:
        await close_pool(pool)


async def test_a_user_role_reaches_its_own_tables_only(postgres_pool: Any, postgres_url: str) -> None:
    roles = PostgresUserRoles(postgres_pool)
    store = PostgresTabularStore(postgres_pool, roles)
    alice, bob = new_session(), new_session()
    try:
        for session in (alice, bob):
            await roles.ensure_role(session.owner_id)
            await roles.ensure_role(session.owner_id)  # idempotent
            await store.create_session_space(session)
            dataset = dataset_for(session, {"columns": [{"name": "v", "type": "text"}]})
            await store.create_table(dataset)
            await store.insert_records(dataset, stream([{"v": "secret"}]), OnConflict.ERROR)
        alice_role = user_role_name(alice.owner_id)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            attrs = admin.execute(
                "SELECT rolcanlogin, rolinherit, rolcreatedb, rolcreaterole, rolsuper FROM pg_roles WHERE rolname = %s",
                (alice_role,),
            ).fetchone()
            assert attrs == (True, False, False, False, False)
            admin.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(alice_role)))
            own = sql.Identifier(session_schema_name(alice.id), "items")
            assert admin.execute(sql.SQL("SELECT v FROM {}").format(own)).fetchall() == [("secret",)]
            admin.execute(sql.SQL("INSERT INTO {} (v) VALUES ('mine')").format(own))
            other = sql.Identifier(session_schema_name(bob.id), "items")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                admin.execute(sql.SQL("SELECT v FROM {}").format(other))
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                admin.execute(
                    sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(session_schema_name(alice.id), "x"))
                )
            admin.execute("RESET ROLE")
    finally:
        for session in (alice, bob):
            await store.drop_session_space(session)
