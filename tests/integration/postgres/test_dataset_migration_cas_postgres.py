"""Dataset migrations with If-Match on the real PostgreSQL catalog and table: the tag is checked
atomically with the catalog update (a compare-and-swap), so of two migrations sent at once with the
same tag exactly one changes the table and the other answers 412 (PreconditionFailed) touching nothing;
a migration whose table change fails leaves the catalog as it was."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from psycopg import sql

from datainfra.adapters.memory.graph_store import InMemoryGraphStore
from datainfra.adapters.postgres.identifiers import table_identifier
from datainfra.adapters.postgres.pool import connection
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.adapters.system_clock import SystemClock, UuidGenerator
from datainfra.domain.errors import InvalidInput, PreconditionFailed
from datainfra.domain.model import Dataset, User
from datainfra.domain.ports import Catalog
from datainfra.domain.record_versions import IfMatch, dataset_etag
from datainfra.domain.records import OnConflict
from datainfra.services.datasets import DatasetService
from tests.integration.postgres.conftest import NOW, new_session, stream

pytestmark = pytest.mark.postgres

BEFORE = {"columns": [{"name": "a", "type": "text"}]}


class _BothReadFirst:
    """The catalog, except that the first two dataset reads wait for each other: both migrations
    plan from the same schema and pass the early tag check, so only the compare-and-swap can stop one."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._barrier = asyncio.Barrier(2)
        self._reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)

    async def get_dataset(self, owner_id: str, session_id: str, dataset_id: str) -> Dataset | None:
        dataset = await self._catalog.get_dataset(owner_id, session_id, dataset_id)
        self._reads += 1
        if self._reads <= 2:
            await asyncio.wait_for(self._barrier.wait(), timeout=10)
        return dataset


@pytest.fixture
async def catalog(postgres_catalog_factory: Any) -> AsyncIterator[Catalog]:
    async with postgres_catalog_factory() as catalog:
        yield catalog


async def _dataset(catalog: Catalog, store: PostgresTabularStore) -> tuple[DatasetService, User, Dataset]:
    user = await catalog.create_user(User(id=UuidGenerator().new_id(), created_at=NOW), UuidGenerator().new_id())
    session = new_session(user.id)
    await catalog.add_session(session)
    await store.create_session_space(session)
    service = DatasetService(catalog, store, InMemoryGraphStore(), SystemClock(), UuidGenerator())
    dataset = await service.create(user, session.id, "items", "tabular", BEFORE)
    return service, user, dataset


async def _columns(store: PostgresTabularStore, pool: Any, dataset: Dataset) -> list[str]:
    async with connection(pool) as conn:
        cur = await conn.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(table_identifier(dataset)))
        return [column.name for column in cur.description or []]


async def test_two_migrations_with_the_same_tag_exactly_one_wins(
    catalog: Catalog, store: PostgresTabularStore, postgres_pool: Any
) -> None:
    service, user, dataset = await _dataset(catalog, store)
    tag = IfMatch(tags=frozenset({dataset_etag(dataset)}))
    racing = DatasetService(_BothReadFirst(catalog), store, InMemoryGraphStore(), SystemClock(), UuidGenerator())  # type: ignore[arg-type]
    schemas = [{"columns": [{"name": "a", "type": "text"}, {"name": name, "type": "integer"}]} for name in ("b", "c")]
    outcomes = await asyncio.gather(
        *(racing.change_schema(user, dataset.session_id, dataset.id, schema, None, if_match=tag) for schema in schemas),
        return_exceptions=True,
    )
    winners = [outcome for outcome in outcomes if isinstance(outcome, Dataset)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, PreconditionFailed)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    winner = winners[0]
    stored = await service.get(user, dataset.session_id, dataset.id)
    assert stored.schema == winner.schema and dataset_etag(stored) == dataset_etag(winner)
    assert await _columns(store, postgres_pool, dataset) == list(winner.tabular_schema.column_names)


async def test_a_migration_whose_table_change_fails_leaves_the_catalog_unchanged(
    catalog: Catalog, store: PostgresTabularStore, postgres_pool: Any
) -> None:
    service, user, dataset = await _dataset(catalog, store)
    await store.insert_records(dataset, stream([{"a": "not a number"}]), OnConflict.ERROR)
    tag = IfMatch(tags=frozenset({dataset_etag(dataset)}))
    with pytest.raises(InvalidInput):
        await service.change_schema(
            user, dataset.session_id, dataset.id, {"columns": [{"name": "a", "type": "integer"}]}, None, if_match=tag
        )
    stored = await service.get(user, dataset.session_id, dataset.id)
    assert dataset_etag(stored) == dataset_etag(dataset)  # the old tag still migrates
    after = {"columns": [{"name": "a", "type": "text"}, {"name": "b", "type": "text"}]}
    migrated = await service.change_schema(user, dataset.session_id, dataset.id, after, None, if_match=tag)
    assert await _columns(store, postgres_pool, dataset) == list(migrated.tabular_schema.column_names)
