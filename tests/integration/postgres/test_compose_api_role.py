"""The compose deployment's PostgreSQL role (deploy/postgres/initdb/10-api-role.sh) is enough to run
the API: the script itself runs against a real server as the image would run it, then the catalog
migrations, a user's own role, a table and that user's SQL all work as the non-superuser role, and
what only a superuser could do is skipped with a warning rather than failing."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from structlog.testing import capture_logs

from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.client_sql.runner import PostgresSqlRunner
from datainfra.adapters.postgres.migrations import MIGRATIONS, migrate_catalog
from datainfra.adapters.postgres.pool import PostgresSettings, close_pool, open_pool
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.domain.queries import QueryLimits
from datainfra.domain.records import OnConflict
from datainfra.local_stores.postgres_runtime import postgres_bin_dir
from tests.integration.postgres.conftest import dataset_for, new_session, stream

pytestmark = pytest.mark.postgres

INIT_SCRIPT = Path(__file__).resolve().parents[3] / "deploy" / "postgres" / "initdb" / "10-api-role.sh"


@pytest.fixture
async def api_role_url(postgres_runtime: Any) -> AsyncIterator[str]:
    """Run the init script as the image would (POSTGRES_USER, API_DB_*), yield the API's URL."""
    superuser_url = postgres_runtime.url()
    server = conninfo_to_dict(superuser_url)
    tag = uuid.uuid4().hex[:12]
    role, database, password = f"api_{tag}", f"db_{tag}", f"pw-{uuid.uuid4().hex}"
    env = {
        "PATH": f"{postgres_bin_dir()}:{os.environ.get('PATH', '')}",
        "PGHOST": str(server.get("host", "127.0.0.1")),
        "PGPORT": str(server.get("port", 5432)),
        "PGPASSWORD": str(server.get("password", "")),
        "POSTGRES_USER": str(server.get("user", "postgres")),
        "API_DB_USER": role,
        "API_DB_PASSWORD": password,
        "API_DB_NAME": database,
    }
    result = subprocess.run(["sh", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    try:
        yield f"postgresql://{role}:{quote(password)}@{env['PGHOST']}:{env['PGPORT']}/{database}"
    finally:
        async with await psycopg.AsyncConnection.connect(superuser_url, autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            cur = await conn.execute(
                "SELECT r.rolname FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid "
                "WHERE m.grantor = (SELECT oid FROM pg_roles WHERE rolname = %s) AND r.rolname <> %s",
                (role, role),
            )
            for (made,) in await cur.fetchall():
                await conn.execute(f'DROP ROLE IF EXISTS "{made}"')
            await conn.execute(f'DROP ROLE IF EXISTS "{role}"')


async def test_the_compose_role_is_not_a_superuser_and_runs_the_whole_api(api_role_url: str) -> None:
    pool = await open_pool(PostgresSettings(url=api_role_url, min_size=1, max_size=4))
    try:
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")
            assert await cur.fetchone() == (False, True)
        with capture_logs() as logs:
            applied = await migrate_catalog(pool)
        assert applied == [migration.version for migration in MIGRATIONS]
        assert any(e["event"] == "catalog_migration_notice" and "PUBLIC keeps them" in e["message"] for e in logs)

        roles = PostgresUserRoles(pool)
        store = PostgresTabularStore(pool, roles)
        session = new_session()
        await roles.ensure_role(session.owner_id)
        await store.create_session_space(session)
        dataset = dataset_for(session, {"columns": [{"name": "name", "type": "text"}]})
        await store.create_table(dataset)
        await store.insert_records(dataset, stream([{"name": "a"}, {"name": "b"}]), OnConflict.ERROR)

        runner = PostgresSqlRunner(pool, roles)
        with capture_logs() as logs:
            result = await runner.run_sql(session, "SELECT count(*) AS n FROM items", [], QueryLimits())
        assert result.rows == [[2]]
        assert any(e["event"] == "role_setting_skipped" and e["setting"] == "temp_file_limit" for e in logs)
    finally:
        await close_pool(pool)
