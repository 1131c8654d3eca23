"""Conditional writes of one record on the real PostgreSQL store: the check and the write are one
atomic step, so the lost update cannot happen even when writers really run at the same time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from datainfra.adapters.postgres import row_writes
from datainfra.adapters.postgres.pool import connection
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.domain.errors import PreconditionFailed
from datainfra.domain.record_versions import IfMatch, record_etag
from datainfra.domain.records import OnConflict
from tests.integration.postgres.conftest import dataset_for, new_session, stream

pytestmark = pytest.mark.postgres

ITEMS = {
    "columns": [{"name": "sku", "type": "text"}, {"name": "qty", "type": "integer"}, {"name": "by", "type": "text"}],
    "primary_key": ["sku"],
}


async def _items(store: PostgresTabularStore) -> Any:
    session = new_session()
    await store.create_session_space(session)
    dataset = dataset_for(session, ITEMS)
    await store.create_table(dataset)
    await store.insert_records(dataset, stream([{"sku": "a", "qty": 0, "by": None}]), OnConflict.ERROR)
    return dataset


async def test_a_writer_holding_the_row_makes_the_other_wait_then_fail(
    store: PostgresTabularStore, postgres_pool: Any
) -> None:
    """Alice has read the row (FOR UPDATE) and not yet committed; Bob, holding the same tag, waits
    on the row lock instead of reading the old row, then sees Alice's row and gets 412."""
    dataset = await _items(store)
    schema = dataset.tabular_schema
    tag = IfMatch(tags=frozenset({record_etag(schema, await store.get_by_key(dataset, {"sku": "a"}))}))
    async with connection(postgres_pool) as alice, alice.transaction():
        await row_writes.update_record(alice, dataset, {"sku": "a"}, lambda _: {"qty": 1, "by": "alice"}, tag)
        bob = asyncio.create_task(store.update_record(dataset, {"sku": "a"}, lambda _: {"qty": 2, "by": "bob"}, tag))
        await asyncio.sleep(0.5)
        assert not bob.done(), "Bob did not wait for Alice's row lock"
    with pytest.raises(PreconditionFailed):
        await bob
    assert await store.get_by_key(dataset, {"sku": "a"}) == {"sku": "a", "qty": 1, "by": "alice"}


async def test_many_concurrent_writers_with_one_tag_exactly_one_wins(store: PostgresTabularStore) -> None:
    dataset = await _items(store)
    schema = dataset.tabular_schema
    tag = IfMatch(tags=frozenset({record_etag(schema, await store.get_by_key(dataset, {"sku": "a"}))}))

    def by(name: str) -> Any:
        return lambda current: {"qty": current["qty"] + 1, "by": name}

    outcomes = await asyncio.gather(
        *(store.update_record(dataset, {"sku": "a"}, by(f"w{n}"), tag) for n in range(8)), return_exceptions=True
    )
    won = [o for o in outcomes if isinstance(o, dict)]
    assert len(won) == 1, outcomes
    assert all(isinstance(o, PreconditionFailed) for o in outcomes if not isinstance(o, dict)), outcomes
    assert await store.get_by_key(dataset, {"sku": "a"}) == {**won[0], "qty": 1}


async def test_a_delete_and_a_patch_with_one_tag_exactly_one_wins(store: PostgresTabularStore) -> None:
    dataset = await _items(store)
    tag = IfMatch(tags=frozenset({record_etag(dataset.tabular_schema, await store.get_by_key(dataset, {"sku": "a"}))}))
    outcomes = await asyncio.gather(
        store.delete_record(dataset, {"sku": "a"}, tag),
        store.update_record(dataset, {"sku": "a"}, lambda _: {"qty": 5}, tag),
        return_exceptions=True,
    )
    assert sum(isinstance(o, PreconditionFailed) for o in outcomes) == 1, outcomes
    stored = await store.get_by_key(dataset, {"sku": "a"})
    assert stored is None if outcomes[0] is None else stored == {"sku": "a", "qty": 5, "by": None}
