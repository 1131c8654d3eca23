"""Sessions on a Citus cluster: each session schema is placed whole on one worker, the sessions of
many tenants spread over both workers, and a session moved to another worker (by hand or by the
rebalancer) is served as before, its reads and writes unchanged for the client."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from datainfra.adapters.postgres.identifiers import session_schema_name, user_role_name
from datainfra.adapters.postgres.migrations import migrate_catalog
from datainfra.domain.model import Dataset
from tests.contract.test_tabular_store_contract import ITEMS, insert, make, rows_of

pytestmark = [pytest.mark.postgres, pytest.mark.citus]

SESSIONS = 6


def placements(url: str, datasets: list[Dataset]) -> dict[str, int]:
    """Each dataset's session schema → the port of the worker holding its table."""
    schemas = [session_schema_name(d.session_id) for d in datasets]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT split_part(table_name::text, '.', 1), nodeport FROM citus_shards "
            "WHERE split_part(table_name::text, '.', 1) = ANY(%s)",
            (schemas,),
        ).fetchall()
    return {schema: port for schema, port in rows}


def worker_ports(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT nodeport FROM pg_dist_node WHERE groupid > 0 ORDER BY nodeport")]


async def filled_sessions(factory: Any) -> tuple[Any, list[Dataset]]:
    async with factory() as store:
        datasets = []
        for i in range(SESSIONS):
            datasets.append(await make(store, ITEMS, [{"sku": f"s{i}-{n}", "qty": n, "email": None} for n in range(3)]))
        return store, datasets


async def test_sessions_are_distributed_schemas_spread_over_both_workers(
    citus_runtime: Any, citus_tabular_store_factory: Any
) -> None:
    _, datasets = await filled_sessions(citus_tabular_store_factory)
    url = citus_runtime.url()
    placed = placements(url, datasets)
    assert set(placed) == {session_schema_name(d.session_id) for d in datasets}  # every one is distributed
    assert set(placed.values()) == set(worker_ports(url))  # over both workers, none on the coordinator
    with psycopg.connect(url, autocommit=True) as conn:
        distributed = {r[0] for r in conn.execute("SELECT schema_name::text FROM citus_schemas")}
    assert set(placed) <= distributed


async def test_a_session_moved_to_the_other_worker_and_a_rebalance_leave_every_session_served(
    citus_runtime: Any, citus_tabular_store_factory: Any
) -> None:
    async with citus_tabular_store_factory() as store:
        _, datasets = await filled_sessions(citus_tabular_store_factory)
        url = citus_runtime.url()
        before = placements(url, datasets)
        moved = datasets[0]
        schema = session_schema_name(moved.session_id)
        target = next(p for p in worker_ports(url) if p != before[schema])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "SELECT citus_schema_move(%s::regnamespace, '127.0.0.1', %s, shard_transfer_mode => 'block_writes')",
                (schema, target),
            )
            assert placements(url, [moved])[schema] == target
            conn.execute("SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')")
            conn.execute("SELECT citus_rebalance_wait()")
            states = [r[0] for r in conn.execute("SELECT state FROM pg_dist_background_job ORDER BY job_id")]
        assert not states or states[-1] == "finished", states
        for i, dataset in enumerate(datasets):
            await insert(store, dataset, [{"sku": f"s{i}-new", "qty": 9, "email": f"{i}@x"}])
            got = await rows_of(store, dataset)
            assert [(r["sku"], r["qty"]) for r in got] == [(f"s{i}-{n}", n) for n in range(3)] + [(f"s{i}-new", 9)]


def on_workers(url: str, query: str | sql.Composable) -> list[str]:
    """`query`'s one value on every worker (Citus's run_command_on_workers), as text."""
    with psycopg.connect(url, autocommit=True) as conn:
        text = query if isinstance(query, str) else query.as_string(conn)
        rows = conn.execute("SELECT success, result FROM run_command_on_workers(%s)", (text,)).fetchall()
    assert all(success for success, _ in rows), rows
    return [result for _, result in rows]


async def test_every_worker_is_hardened_as_the_coordinator_is(citus_runtime: Any) -> None:
    """Migrations 3 and 4 (PUBLIC loses TEMPORARY and the functions with effects beyond a statement)
    reach every worker: Citus itself propagates neither database grants nor pg_catalog's functions'.
    The catalog's own tables stay local tables of the coordinator."""
    schema = f"catalog_test_{uuid.uuid4().hex[:16]}"
    await migrate_catalog(await citus_runtime.pool(), schema)
    url = citus_runtime.url()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT count(*), count(p.logicalrelid) FROM pg_class c "
                "LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.oid "
                "WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r'",
                (schema,),
            ).fetchone()
        assert tables is not None and tables[0] >= 6 and tables[1] == 0, tables  # local, not Citus tables
        checks = (
            "SELECT has_database_privilege('public', current_database(), 'TEMPORARY')",
            "SELECT has_function_privilege('public', 'pg_advisory_lock(bigint)', 'EXECUTE')",
            "SELECT has_function_privilege('public', 'lo_import(text)', 'EXECUTE')",
            "SELECT has_function_privilege('public', 'pg_notify(text, text)', 'EXECUTE')",
        )
        for check in checks:
            assert on_workers(url, check) == ["f", "f"], check
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


async def test_a_users_role_and_its_grants_reach_every_worker(
    citus_runtime: Any, citus_tabular_store_factory: Any
) -> None:
    async with citus_tabular_store_factory() as store:
        dataset = await make(store, ITEMS)
    url = citus_runtime.url()
    role = user_role_name(dataset.owner_id)
    schema = session_schema_name(dataset.session_id)
    attributes = on_workers(
        url,
        sql.SQL(
            "SELECT rolcanlogin::text || rolsuper::text || rolcreaterole::text FROM pg_roles WHERE rolname = {}"
        ).format(sql.Literal(role)),
    )
    assert attributes == ["truefalsefalse", "truefalsefalse"]
    # The schema exists on every node (its table on one worker only), granted to the role everywhere.
    usage = sql.SQL("SELECT has_schema_privilege({}, {}, 'USAGE')").format(sql.Literal(role), sql.Literal(schema))
    assert on_workers(url, usage) == ["t", "t"]
