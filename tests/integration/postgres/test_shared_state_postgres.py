"""State every API process must count alike, kept in the catalog: Cypher's work slots (a per-owner
concurrency cap) and each graph dataset's Neo4j bookmarks. Each adapter below is used from two
pools, as two processes would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from psycopg import sql

from datainfra.adapters.postgres.graph_bookmarks import PostgresGraphBookmarks
from datainfra.adapters.postgres.migrations import migrate_catalog
from datainfra.adapters.postgres.pool import close_pool, open_pool
from datainfra.adapters.postgres.work_slots import PostgresWorkSlots

pytestmark = pytest.mark.postgres


@pytest.fixture
async def two_pools(postgres_settings: Any) -> AsyncIterator[tuple[str, list[Any]]]:
    """A catalog schema of its own, reached through two pools (two processes)."""
    schema = f"shared_{uuid.uuid4().hex[:12]}"
    pools = [await open_pool(postgres_settings) for _ in range(2)]
    await migrate_catalog(pools[0], schema)
    try:
        yield schema, pools
    finally:
        async with pools[0].connection() as conn:
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        for pool in pools:
            await close_pool(pool)


async def test_an_owner_holds_at_most_the_limit_of_slots_over_every_process(two_pools: tuple[str, list[Any]]) -> None:
    schema, pools = two_pools
    one, other = (PostgresWorkSlots(pool, schema=schema) for pool in pools)
    claims = await asyncio.gather(*(slots.claim("u", "cypher", 2, 60) for slots in (one, other) * 4))
    held = [c for c in claims if c is not None]
    assert sorted(c.slot for c in held) == [1, 2]
    assert await one.claim("someone else", "cypher", 2, 60) is not None

    await other.release(held[0])
    again = await one.claim("u", "cypher", 2, 60)
    assert again is not None and again.slot == held[0].slot
    assert await other.claim("u", "cypher", 2, 60) is None


async def test_a_slot_whose_lease_ran_out_is_taken_over_and_its_old_holder_cannot_free_it(
    two_pools: tuple[str, list[Any]],
) -> None:
    schema, pools = two_pools
    one, other = (PostgresWorkSlots(pool, schema=schema) for pool in pools)
    dead = await one.claim("u", "cypher", 1, 0.001)  # its process died: nobody releases it
    assert dead is not None
    await asyncio.sleep(0.05)
    taken = await other.claim("u", "cypher", 1, 60)
    assert taken is not None and taken.slot == dead.slot
    await one.release(dead)
    assert await one.claim("u", "cypher", 1, 60) is None


async def test_graph_bookmarks_merge_concurrent_writers_and_drop_what_each_started_from(
    two_pools: tuple[str, list[Any]],
) -> None:
    schema, pools = two_pools
    one, other = (PostgresGraphBookmarks(pool, schema=schema) for pool in pools)
    assert await one.latest("d") == frozenset()
    await one.replace("d", [], ["b1"])
    started = await other.latest("d")
    assert started == {"b1"}
    # two writers started from b1 and committed at once: both bookmarks are kept, b1 is not
    await asyncio.gather(one.replace("d", started, ["b2"]), other.replace("d", started, ["b3"]))
    assert await other.latest("d") == {"b2", "b3"}
    await one.replace("d", {"b2", "b3"}, ["b4"])
    assert await other.latest("d") == {"b4"}
    assert await other.latest("e") == frozenset()
    await other.forget("d")
    assert await one.latest("d") == frozenset()
