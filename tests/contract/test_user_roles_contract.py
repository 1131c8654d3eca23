"""The UserRoles contract: making a user's own store identity is idempotent, also concurrently, for
every adapter; on PostgreSQL the role then exists, holds no power of its own, and can log in."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from datainfra.domain.ports import UserRoles

# The fixture lives here, not in conftest, so that its PostgreSQL parameter carries its own marker.
USER_ROLES_ADAPTERS = ["memory", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=USER_ROLES_ADAPTERS)
async def user_roles(request: pytest.FixtureRequest) -> AsyncIterator[UserRoles]:
    if request.param == "memory":
        from datainfra.adapters.memory.user_roles import InMemoryUserRoles

        yield InMemoryUserRoles()
    elif request.param == "postgres":
        from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles

        yield PostgresUserRoles(await request.getfixturevalue("postgres_runtime").pool())
    else:  # pragma: no cover
        raise AssertionError(request.param)


@pytest.fixture
def user_id(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh user; on PostgreSQL its role (cluster-wide, unlike schemas) is dropped afterwards."""
    made = str(uuid.uuid4())
    on_postgres = "postgres" in request.node.callspec.id
    url = request.getfixturevalue("postgres_url") if on_postgres else None
    yield made
    if url is not None:
        from datainfra.adapters.postgres.identifiers import user_role_name

        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user_role_name(made))))


async def test_ensuring_a_role_twice_is_the_same_as_once(user_roles: UserRoles, user_id: str) -> None:
    await user_roles.ensure_role(user_id)
    await user_roles.ensure_role(user_id)


async def test_concurrent_calls_for_one_user_all_succeed(user_roles: UserRoles, user_id: str) -> None:
    await asyncio.gather(*(user_roles.ensure_role(user_id) for _ in range(5)))


# -- PostgreSQL: what the role is --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _migrated_catalog(pool: Any) -> AsyncIterator[str]:
    from datainfra.adapters.postgres.migrations import migrate_catalog

    schema = f"catalog_test_{uuid.uuid4().hex[:16]}"
    await migrate_catalog(pool, schema)
    try:
        yield schema
    finally:
        async with pool.connection() as conn:
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.postgres
async def test_a_postgres_role_has_no_power_of_its_own_and_can_log_in(postgres_pool: Any, postgres_url: str) -> None:
    from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
    from datainfra.adapters.postgres.identifiers import user_role_name

    user = str(uuid.uuid4())
    role = user_role_name(user)
    async with _migrated_catalog(postgres_pool) as schema:
        roles = PostgresUserRoles(postgres_pool, catalog_schema=schema)
        try:
            await roles.ensure_role(user)
            await roles.ensure_role(user)  # leaves the role it made as it is
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                attrs = admin.execute(
                    "SELECT rolcanlogin, rolinherit, rolcreatedb, rolcreaterole, rolsuper, rolreplication, "
                    "rolbypassrls FROM pg_roles WHERE rolname = %s",
                    (role,),
                ).fetchone()
            assert attrs == (True, False, False, False, False, False, False)

            login, password = await roles.credentials(user)
            assert login == role
            server = {k: v for k, v in conninfo_to_dict(postgres_url).items() if k not in ("user", "password")}
            with psycopg.connect(make_conninfo("", **server, user=login, password=password)) as conn:
                assert conn.execute("SELECT current_user").fetchone() == (role,)
        finally:
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
