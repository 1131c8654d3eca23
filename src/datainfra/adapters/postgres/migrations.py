"""The catalog's own tables, created and upgraded at start-up by numbered migrations.

All pending migrations run in one transaction holding a transaction-level advisory lock, so two
processes starting at once apply each migration exactly once (the second waits, then finds nothing
to do), and a failed migration leaves the previous version intact."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import structlog
from psycopg import AsyncConnection, errors, sql
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.citus import prepare_citus
from datainfra.adapters.postgres.pool import connection

DEFAULT_CATALOG_SCHEMA = "datainfra"

log = structlog.get_logger("datainfra.migrations")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    """SQL with `{schema}` standing for the (quoted) catalog schema."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users, keys, sessions, datasets",
        (
            """CREATE TABLE {schema}.users (
                id text COLLATE "C" PRIMARY KEY,
                created_at timestamptz NOT NULL
            )""",
            """CREATE TABLE {schema}.api_keys (
                key_hash text COLLATE "C" PRIMARY KEY,
                user_id text COLLATE "C" NOT NULL REFERENCES {schema}.users (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL DEFAULT now(),
                revoked_at timestamptz
            )""",
            """CREATE UNIQUE INDEX api_keys_one_active ON {schema}.api_keys (user_id)
                WHERE revoked_at IS NULL""",
            """CREATE TABLE {schema}.sessions (
                id text COLLATE "C" PRIMARY KEY,
                owner_id text COLLATE "C" NOT NULL,
                name text COLLATE "C" NOT NULL,
                description text COLLATE "C" NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            )""",
            "CREATE INDEX sessions_by_owner ON {schema}.sessions (owner_id, created_at, id)",
            """CREATE TABLE {schema}.datasets (
                id text COLLATE "C" PRIMARY KEY,
                session_id text COLLATE "C" NOT NULL,
                owner_id text COLLATE "C" NOT NULL,
                name text COLLATE "C" NOT NULL,
                kind text COLLATE "C" NOT NULL CHECK (kind IN ('tabular', 'graph')),
                definition jsonb NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                CONSTRAINT datasets_name_unique UNIQUE (owner_id, session_id, name)
            )""",
            "CREATE INDEX datasets_by_session ON {schema}.datasets (owner_id, session_id, created_at, id)",
        ),
    ),
    Migration(
        2,
        "the deployment secret user-role passwords derive from",
        (
            # Only the service role can read the catalog schema; user roles have no USAGE on it.
            """CREATE TABLE {schema}.secrets (
                name text COLLATE "C" PRIMARY KEY,
                value text NOT NULL
            )""",
            # 256 bits from the server's strong random source (gen_random_uuid uses pg_strong_random).
            """INSERT INTO {schema}.secrets (name, value)
                SELECT 'role_password_key',
                       encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text
                                                || gen_random_uuid()::text, 'UTF8')), 'hex')""",
        ),
    ),
    Migration(
        3,
        "user roles may not create temporary tables",
        (
            # PUBLIC may create temp tables by default; user roles get nothing but their own schemas.
            # The service role keeps the right (its upsert staging tables are temporary).
            """DO $$
            BEGIN
                EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
                EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), current_user);
            END
            $$""",
        ),
    ),
    Migration(
        4,
        "functions with effects beyond a statement are not PUBLIC's",
        (
            # Large objects live outside every schema and outlive the request; advisory locks and
            # notifications are shared by the whole database (ours included). User roles get none of
            # them; the service role keeps them. Needs the functions' owner (a superuser): on a server
            # where the service role is not one, this is skipped with a notice and the SQL guard,
            # which refuses every one of these calls, is the only line.
            r"""DO $$
            DECLARE
                fn regprocedure;
            BEGIN
                FOR fn IN
                    SELECT p.oid::regprocedure FROM pg_proc p
                    WHERE p.pronamespace = 'pg_catalog'::regnamespace
                      AND (p.proname IN ('lo_create', 'lo_creat', 'lo_from_bytea', 'lo_put', 'lo_open', 'lowrite',
                                         'lo_truncate', 'lo_truncate64', 'lo_unlink', 'lo_import', 'lo_export',
                                         'pg_notify', 'pg_logical_emit_message')
                           OR p.proname LIKE 'pg\_advisory\_%' OR p.proname LIKE 'pg\_try\_advisory\_%')
                LOOP
                    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
                    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, current_user);
                END LOOP;
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE NOTICE 'datainfra: not the owner of the system functions; PUBLIC keeps them';
            END
            $$""",
        ),
    ),
    Migration(
        5,
        "idempotency keys: one stored answer per (user, key)",
        (
            """CREATE TABLE {schema}.idempotency_keys (
                user_id text COLLATE "C" NOT NULL,
                idem_key text COLLATE "C" NOT NULL,
                token text COLLATE "C" NOT NULL,
                claimed_at timestamptz NOT NULL,
                completed_at timestamptz,
                fingerprint text COLLATE "C",
                status integer,
                headers jsonb,
                body bytea,
                PRIMARY KEY (user_id, idem_key)
            )""",
            "CREATE INDEX idempotency_keys_by_age ON {schema}.idempotency_keys (coalesce(completed_at, claimed_at))",
        ),
    ),
    Migration(
        6,
        # UNLOGGED: a claim and a release are two writes per Cypher query; leases need no WAL or fsync
        # (after a crash the table is empty, which frees every slot, as the leases' end would)
        "work slots: concurrent work per owner, counted over every API process",
        (
            """CREATE UNLOGGED TABLE {schema}.work_slots (
                owner_id text COLLATE "C" NOT NULL,
                kind text COLLATE "C" NOT NULL,
                slot integer NOT NULL,
                token text COLLATE "C" NOT NULL,
                leased_until timestamptz NOT NULL,
                PRIMARY KEY (owner_id, kind, slot)
            )""",
        ),
    ),
    Migration(
        7,
        "graph bookmarks: each graph dataset's last Neo4j bookmarks, for read-your-writes on a cluster",
        (
            """CREATE TABLE {schema}.graph_bookmarks (
                dataset_id text COLLATE "C" PRIMARY KEY,
                bookmarks text[] NOT NULL
            )""",
        ),
    ),
)


def _lock_key(schema: str) -> int:
    """A signed 64-bit advisory lock key, one per catalog schema."""
    digest = hashlib.sha256(f"datainfra-migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def migrate_catalog(pool: AsyncConnectionPool, schema: str = DEFAULT_CATALOG_SCHEMA) -> list[int]:
    """Bring the catalog schema to the latest version; return the versions applied now."""
    async with connection(pool) as conn:
        return await migrate_catalog_on(conn, schema)


async def migrate_catalog_on(conn: AsyncConnection[Any], schema: str = DEFAULT_CATALOG_SCHEMA) -> list[int]:
    applied: list[int] = []

    def notice(diagnostic: errors.Diagnostic) -> None:
        # A migration that cannot do all it would (e.g. 4 without a superuser) says so in a NOTICE
        # of its own; the server's routine ones ("already exists, skipping") are not news.
        message = diagnostic.message_primary or ""
        if message.startswith("datainfra:"):
            log.warning("catalog_migration_notice", message=message)

    conn.add_notice_handler(notice)
    try:
        await _migrate(conn, schema, applied)
        await prepare_citus(conn)
    finally:
        conn.remove_notice_handler(notice)
    return applied


async def _migrate(conn: AsyncConnection[Any], schema: str, applied: list[int]) -> None:
    ident = sql.Identifier(schema)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(schema),))
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        await conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                "version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(ident)
        )
        cur = await conn.execute(sql.SQL("SELECT version FROM {}.schema_migrations").format(ident))
        done = {row[0] for row in await cur.fetchall()}
        for migration in MIGRATIONS:
            if migration.version in done:
                continue
            for statement in migration.statements:
                await conn.execute(sql.SQL(statement).format(schema=ident))
            await conn.execute(
                sql.SQL("INSERT INTO {}.schema_migrations (version, name) VALUES (%s, %s)").format(ident),
                (migration.version, migration.name),
            )
            applied.append(migration.version)


async def catalog_version(pool: AsyncConnectionPool, schema: str = DEFAULT_CATALOG_SCHEMA) -> int:
    """The highest applied version (0 when the catalog was never migrated)."""
    async with connection(pool) as conn:
        cur = await conn.execute("SELECT to_regclass(format('%%I.schema_migrations', %s::text)) IS NOT NULL", (schema,))
        row = await cur.fetchone()
        if not row or not row[0]:
            return 0
        cur = await conn.execute(
            sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_migrations").format(sql.Identifier(schema))
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0
