"""What only the real PostgreSQL store can show: plans, estimates, staging, sequences, timeouts."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from typing import Any

import pytest
from psycopg import sql

from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.identifiers import session_schema_name
from datainfra.adapters.postgres.pool import PostgresSettings, close_pool, connection, open_pool
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.domain.errors import Conflict, InvalidInput, StoreTimeout
from datainfra.domain.filters import filter_term, parse_filters
from datainfra.domain.model import Session
from datainfra.domain.query import CountMode, RecordQuery, SortKey
from datainfra.domain.records import OnConflict
from datainfra.domain.tabular_schema import parse_tabular_schema, plan_migration
from tests.integration.postgres.conftest import dataset_for, stream

pytestmark = pytest.mark.postgres

INDEXED = {
    "columns": [{"name": "code", "type": "text"}, {"name": "n", "type": "integer"}],
    "indexes": [{"columns": ["code"]}],
}


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_plan_nodes(child))
    return nodes


async def test_an_equality_filter_on_an_indexed_column_uses_the_index(
    store: PostgresTabularStore, session: Session, postgres_pool: Any
) -> None:
    dataset = dataset_for(session, INDEXED)
    await store.create_table(dataset)
    await store.insert_records(dataset, stream({"code": f"c{i:05d}", "n": i} for i in range(20_000)), OnConflict.ERROR)
    query = RecordQuery(filter=parse_filters([filter_term("code", "eq:c01234")], dataset.tabular_schema.field_types))
    statement, params, _ = store.page_statement(dataset, query)
    async with postgres_pool.connection() as conn:
        await conn.execute(
            sql.SQL("ANALYZE {}.{}").format(sql.Identifier(session_schema_name(session.id)), sql.Identifier("items"))
        )
        cur = await conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + statement, params)
        row = await cur.fetchone()
    plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    nodes = _plan_nodes(plan[0]["Plan"])
    assert any("Index" in node["Node Type"] and node.get("Index Name", "").startswith("ix$") for node in nodes), nodes
    page = await store.query(dataset, query)
    assert page.items == [{"id": 1235, "code": "c01234", "n": 1234}]


async def test_an_estimated_count_comes_from_the_planner_on_big_tables(postgres_pool: Any, session: Session) -> None:
    store = PostgresTabularStore(postgres_pool, PostgresUserRoles(postgres_pool), exact_count_threshold=1)
    dataset = dataset_for(session, INDEXED)
    await store.create_table(dataset)
    await store.insert_records(dataset, stream({"code": "x", "n": i} for i in range(5000)), OnConflict.ERROR)
    async with postgres_pool.connection() as conn:
        # Make the statistics lie: the estimate must come from them, the exact count must not.
        await conn.execute(
            "UPDATE pg_class SET reltuples = 123456, relpages = 10 WHERE oid = %s::regclass",
            (f'"{session_schema_name(session.id)}"."items"',),
        )
    estimated = await store.query(dataset, RecordQuery(limit=1, count=CountMode.ESTIMATED))
    exact = await store.query(dataset, RecordQuery(limit=1, count=CountMode.EXACT))
    assert exact.total == 5000
    assert estimated.total is not None and estimated.total > 0 and estimated.total != exact.total

    async with postgres_pool.connection() as conn:
        await conn.execute(sql.SQL("ANALYZE {}.items").format(sql.Identifier(session_schema_name(session.id))))
    # the default threshold: small tables are counted exactly
    small = PostgresTabularStore(postgres_pool, PostgresUserRoles(postgres_pool))
    assert (await small.query(dataset, RecordQuery(limit=1, count=CountMode.ESTIMATED))).total == 5000


async def test_a_bulk_write_failing_in_a_later_batch_keeps_nothing(postgres_pool: Any, session: Session) -> None:
    store = PostgresTabularStore(postgres_pool, PostgresUserRoles(postgres_pool), batch_size=10)
    dataset = dataset_for(session, {"columns": [{"name": "k", "type": "integer"}], "primary_key": ["k"]})
    await store.create_table(dataset)
    records = [{"k": i} for i in range(35)] + [{"k": 3}]
    with pytest.raises(Conflict) as caught:
        await store.insert_records(dataset, stream(records), OnConflict.ERROR)
    assert caught.value.key == {"k": 3}
    assert caught.value.index == 35
    assert await store.count(dataset) == 0

    for mode in (OnConflict.UPDATE, OnConflict.IGNORE):
        bad = [{"k": i} for i in range(25)] + [{"k": None}]
        with pytest.raises(InvalidInput) as invalid:
            await store.insert_records(dataset, stream(bad), mode)
        assert invalid.value.index == 25
        assert await store.count(dataset) == 0


async def test_upserts_across_batches_count_inserts_and_updates(postgres_pool: Any, session: Session) -> None:
    store = PostgresTabularStore(postgres_pool, PostgresUserRoles(postgres_pool), batch_size=4)
    schema = {"columns": [{"name": "k", "type": "integer"}, {"name": "v", "type": "text"}], "primary_key": ["k"]}
    dataset = dataset_for(session, schema)
    await store.create_table(dataset)
    first = await store.insert_records(dataset, stream({"k": i, "v": "a"} for i in range(6)), OnConflict.UPDATE)
    assert (first.inserted, first.updated) == (6, 0)
    records = [{"k": i, "v": "b"} for i in range(3, 10)] + [{"k": 9, "v": "c"}]
    second = await store.insert_records(dataset, stream(records), OnConflict.UPDATE)
    assert (second.inserted, second.updated) == (4, 4)
    page = await store.query(dataset, RecordQuery(sort=(SortKey("k"),), limit=100))
    assert [r["v"] for r in page.items] == ["a", "a", "a", "b", "b", "b", "b", "b", "b", "c"]


async def test_explicit_ids_move_the_generated_key_past_them(store: PostgresTabularStore, session: Session) -> None:
    dataset = dataset_for(session, {"columns": [{"name": "v", "type": "text"}]})
    await store.create_table(dataset)
    await store.insert_records(dataset, stream([{"v": "a"}, {"id": 100, "v": "b"}]), OnConflict.ERROR)
    await store.insert_records(dataset, stream([{"v": "c"}]), OnConflict.UPDATE)
    await store.insert_records(dataset, stream([{"id": 5, "v": "d"}, {"v": "e"}]), OnConflict.IGNORE)
    page = await store.query(dataset, RecordQuery(sort=(SortKey("id"),)))
    assert [(r["id"], r["v"]) for r in page.items] == [(1, "a"), (5, "d"), (100, "b"), (101, "c"), (102, "e")]


async def test_a_failing_cast_changes_nothing(store: PostgresTabularStore, session: Session) -> None:
    before = parse_tabular_schema({"columns": [{"name": "a", "type": "text"}, {"name": "b", "type": "text"}]})
    dataset = dataset_for(session, before)
    await store.create_table(dataset)
    await store.insert_records(dataset, stream([{"a": "1", "b": "x"}, {"a": "2", "b": "y"}]), OnConflict.ERROR)
    after = parse_tabular_schema(
        {
            "columns": [
                {"name": "a2", "type": "integer"},
                {"name": "b", "type": "integer"},
                {"name": "c", "type": "date"},
            ]
        }
    )
    plan = plan_migration(before, after, {"a": "a2"})
    with pytest.raises(InvalidInput) as caught:
        await store.migrate_table(replace(dataset, schema=after), plan)
    assert caught.value.field == "b"
    page = await store.query(dataset, RecordQuery(sort=(SortKey("id"),)))
    assert page.items == [{"id": 1, "a": "1", "b": "x"}, {"id": 2, "a": "2", "b": "y"}]


async def test_a_statement_past_the_time_limit_is_a_store_timeout(postgres_url: str) -> None:
    pool = await open_pool(PostgresSettings(url=postgres_url, statement_timeout_ms=50, max_size=1))
    try:
        with pytest.raises(StoreTimeout):
            async with connection(pool) as conn:
                await conn.execute("SELECT pg_sleep(2)")
        async with connection(pool) as conn:  # the connection is usable again
            cur = await conn.execute("SELECT 1")
            assert await cur.fetchone() == (1,)
    finally:
        await close_pool(pool)


KEYED = {
    "columns": [{"name": "sku", "type": "text", "nullable": False}, {"name": "qty", "type": "integer"}],
    "primary_key": ["sku"],
}


@pytest.mark.parametrize("mode", [OnConflict.IGNORE, OnConflict.UPDATE])
async def test_concurrent_upserts_of_overlapping_keys_never_conflict(
    store: PostgresTabularStore, session: Session, mode: OnConflict
) -> None:
    """Eight writers upsert the same keys at once, each in an order of its own, in one batch or in
    several: each one is stored (issue 10); unordered row locks made them deadlock, and the deadlock
    was answered as an outage (503)."""
    dataset = dataset_for(session, KEYED)
    await store.create_table(dataset)
    keys = [f"k{k:05d}" for k in range(20_000)]

    async def writer(seed: int) -> Any:
        order = keys[:]
        random.Random(seed).shuffle(order)
        if seed % 2:  # half write one batch (under the store's 5,000), half several
            order = order[:3_000]
        return await store.insert_records(dataset, stream({"sku": key, "qty": seed} for key in order), mode)

    results = await asyncio.gather(*(writer(seed) for seed in range(8)))
    assert sum(result.inserted for result in results) == len(keys)
    page = await store.query(dataset, RecordQuery(limit=1, count=CountMode.EXACT))
    assert page.total == len(keys)
