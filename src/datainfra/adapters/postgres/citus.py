"""Citus, when the database is a Citus coordinator: found, not configured.

With ``DATAINFRA_DATABASE_URL`` pointing at a coordinator, the service does the rest itself:

- start-up (:func:`prepare_citus`, after the catalog migrations): the extension is created in our
  database when the server preloads Citus but the database lacks it; the node-wide hardening of
  catalog migrations 3 and 4 (PUBLIC loses TEMPORARY on the database and the functions with effects
  beyond a statement) is applied on every worker too, on every start, so a worker added later gets it
  at the next start. Citus propagates roles, schema and table grants to the workers, but neither
  database-level grants nor grants on pg_catalog's functions.
- each session schema is created as a *distributed schema* (:data:`DISTRIBUTE_NEW_SCHEMA` before the
  CREATE SCHEMA): Citus places it, with every table later made in it, whole on one worker, one
  colocation group that the rebalancer moves as a unit. Queries of one session never cross nodes.
- the catalog's tables stay local tables on the coordinator (small, read on every request, joined with
  nothing but each other); a session's table and the catalog are never joined in one statement.
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from psycopg import AsyncConnection, sql
from psycopg import errors as pg_errors

__all__ = ["DISTRIBUTE_NEW_SCHEMA", "citus_in_use", "prepare_citus"]

log = structlog.get_logger("datainfra.citus")

DISTRIBUTE_NEW_SCHEMA: Final = sql.SQL("SET LOCAL citus.enable_schema_based_sharding TO on")
"""Inside the transaction that creates a session schema: the schema becomes a distributed schema."""

# What migrations 3 and 4 do on the coordinator, for each worker (run_command_on_workers runs one
# statement per worker, as the superuser; a DO block is one statement).
_WORKER_HARDENING: Final = r"""DO $$
DECLARE
    fn regprocedure;
BEGIN
    -- On a worker Citus refuses grants on objects it propagates from the coordinator, unless told not to.
    PERFORM set_config('citus.enable_ddl_propagation', 'off', true);
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    FOR fn IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
          AND (p.proname IN ('lo_create', 'lo_creat', 'lo_from_bytea', 'lo_put', 'lo_open', 'lowrite',
                             'lo_truncate', 'lo_truncate64', 'lo_unlink', 'lo_import', 'lo_export',
                             'pg_notify', 'pg_logical_emit_message')
               OR p.proname LIKE 'pg\_advisory\_%' OR p.proname LIKE 'pg\_try\_advisory\_%')
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
    END LOOP;
END
$$"""


async def citus_in_use(conn: AsyncConnection[Any]) -> bool:
    """Whether our database has the Citus extension (so it is a coordinator, or a single-node Citus)."""
    cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
    row = await cur.fetchone()
    return bool(row and row[0])


async def prepare_citus(conn: AsyncConnection[Any]) -> bool:
    """At start-up: create the extension where the server preloads Citus, harden the workers.
    Returns whether Citus is in use. A no-op (one query) on plain PostgreSQL."""
    if not await citus_in_use(conn):
        if not await _preloaded(conn):
            return False
        await conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
        log.info("citus_extension_created")
    try:
        cur = await conn.execute(
            sql.SQL("SELECT nodename, nodeport, success, result FROM run_command_on_workers({})").format(
                sql.Literal(_WORKER_HARDENING)
            )
        )
    except pg_errors.InsufficientPrivilege:
        log.warning("citus_worker_hardening_skipped", reason="needs a superuser; the SQL guard is the only line")
        return True
    for node, port, success, result in await cur.fetchall():
        if not success:
            log.warning("citus_worker_hardening_failed", node=f"{node}:{port}", result=result)
    return True


async def _preloaded(conn: AsyncConnection[Any]) -> bool:
    # pg_settings, not current_setting(): a role without pg_read_all_settings sees no row (no error).
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'shared_preload_libraries'"
        " AND 'citus' = ANY (string_to_array(replace(setting, ' ', ''), ',')))"
        " AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'citus')"
    )
    row = await cur.fetchone()
    return bool(row and row[0])
