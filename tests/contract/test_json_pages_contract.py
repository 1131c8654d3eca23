"""The JsonPages contract (domain/ports/json_pages.py), over every adapter: the page is
TabularStore.query's page (same rows, `has_more`, last sort values), its JSON decodes to what the
API's encoder writes for the typed items, and the answer is None as soon as a cached fact no
longer holds (key rotated or unknown, dataset removed, changed or its table gone)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from datainfra.adapters.http.encoding import encode_json
from datainfra.domain.auth import hash_api_key, new_api_key
from datainfra.domain.filters import filter_term, parse_filters
from datainfra.domain.model import Dataset, User
from datainfra.domain.ports import JsonPages, PageGuard
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.domain.records import OnConflict
from datainfra.domain.tabular_schema import parse_tabular_schema
from tests.contract.conftest import NOW, POSTGRES_ENGINES, new_session, runtime_of, tabular_dataset

SCHEMA = {
    "columns": [
        {"name": "t", "type": "text", "nullable": False},
        {"name": "i", "type": "integer"},
        {"name": "f", "type": "float"},
        {"name": "n", "type": "numeric"},
        {"name": "b", "type": "boolean"},
        {"name": "d", "type": "date"},
        {"name": "ts", "type": "timestamp"},
        {"name": "j", "type": "json"},
        {"name": "u", "type": "uuid"},
    ]
}
TEXTS = ["", "plain", 'a "quoted"\\ word', "line\nbreak\ttab", "\x01control\x1f\x7f", "ünïcode ✓ 😀 \u2028", "/"]
FLOATS = [1e20, 1.5e-07, 0.1, -0.0, 0.0, 5.0, 1e-300, -1.7976931348623157e308, 1e15, 1e16, 123456789012345.6, None]
NUMERICS = ["1.50", "0.000", "-0.000001", "0.0000001", "12345678901234567890.123456789", "100", "7", None]
TIMESTAMPS = [
    dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 4, 5, 6, 7, 500000, tzinfo=dt.UTC),
    dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    dt.datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
    None,
]
JSONS: list[Any] = [{"bb": 1, "a": [Decimal("2.50"), "x", None, True]}, "text", Decimal("1E+2"), 0, {}, [], None]


def records() -> list[dict[str, Any]]:
    rows = []
    for k in range(40):
        rows.append(
            {
                "t": TEXTS[k % len(TEXTS)] + str(k),
                "i": None if k % 9 == 0 else k * 1_000_000_007 - 17,
                "f": FLOATS[k % len(FLOATS)],
                "n": None if NUMERICS[k % len(NUMERICS)] is None else Decimal(NUMERICS[k % len(NUMERICS)]),
                "b": [True, False, None][k % 3],
                "d": None if k % 4 == 0 else dt.date(1999 + k, 1 + k % 12, 1 + k % 28),
                "ts": TIMESTAMPS[k % len(TIMESTAMPS)],
                "j": JSONS[k % len(JSONS)],
                "u": None if k % 5 == 0 else uuid.UUID(int=k * 7919),
            }
        )
    return rows


@dataclasses.dataclass
class World:
    catalog: Any
    tabular: Any
    pages: JsonPages
    drop_table: Any


@pytest.fixture(params=["memory", *POSTGRES_ENGINES])
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    if request.param == "memory":
        from datainfra.adapters.memory.catalog import InMemoryCatalog
        from datainfra.adapters.memory.page_json import InMemoryJsonPages
        from datainfra.adapters.memory.tabular_store import InMemoryTabularStore

        catalog, tabular = InMemoryCatalog(), InMemoryTabularStore()
        yield World(catalog, tabular, InMemoryJsonPages(catalog, tabular), tabular.drop_table)
        return
    from psycopg import sql

    from datainfra.adapters.postgres.catalog import PostgresCatalog
    from datainfra.adapters.postgres.migrations import migrate_catalog
    from datainfra.adapters.postgres.page_json import PostgresJsonPages

    runtime = runtime_of(request, request.param)
    factory = request.getfixturevalue(f"{request.param}_tabular_store_factory")
    pool = await runtime.pool()
    schema = f"catalog_test_{uuid.uuid4().hex[:16]}"
    await migrate_catalog(pool, schema)
    try:
        async with factory() as tabular:
            catalog = PostgresCatalog(pool, schema=schema)
            yield World(catalog, tabular, PostgresJsonPages(pool, catalog_schema=schema), tabular.drop_table)
    finally:
        async with pool.connection() as conn:
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


async def _stream(rows: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for row in rows:
        yield row


async def setup(world: World, rows: list[dict[str, Any]] | None = None) -> tuple[str, Dataset]:
    key = new_api_key()
    session = new_session()
    await world.catalog.create_user(User(id=session.owner_id, created_at=NOW), hash_api_key(key))
    await world.catalog.add_session(session)
    dataset = tabular_dataset(session, SCHEMA)
    await world.catalog.add_dataset(dataset)
    await world.tabular.create_session_space(session)
    await world.tabular.create_table(dataset)
    await world.tabular.insert_records(dataset, _stream(rows if rows is not None else records()), OnConflict.ERROR)
    return hash_api_key(key), dataset


def typed(value: Any) -> Any:
    """A decoded JSON value with its number kinds kept apart (1 is not 1.0), compared exactly."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, Decimal):
        return ("fraction", value)
    if isinstance(value, list):
        return [typed(v) for v in value]
    return {k: typed(v) for k, v in value.items()}


def decoded(data: bytes) -> Any:
    return typed(json.loads(data, parse_float=Decimal))


QUERIES = [
    RecordQuery(sort=(SortKey("id"),)),
    RecordQuery(sort=(SortKey("id"),), limit=7),
    RecordQuery(sort=(SortKey("t", descending=True), SortKey("id")), limit=5, offset=3),
    RecordQuery(sort=(SortKey("f"), SortKey("id")), limit=4, select=("t", "f")),
    RecordQuery(sort=(SortKey("ts"), SortKey("id")), limit=6, select=("n",)),
    RecordQuery(sort=(SortKey("id"),), limit=0),
    RecordQuery(sort=(SortKey("id"),), limit=5, after=(12,)),
]


@pytest.mark.parametrize("index", range(len(QUERIES)))
async def test_the_page_is_the_stores_page_as_the_api_writes_it(world: World, index: int) -> None:
    key_hash, dataset = await setup(world)
    query = QUERIES[index]
    page = await world.pages.page(PageGuard(key_hash, dataset), query)
    assert page is not None
    wanted = query.select or dataset.tabular_schema.column_names
    extended = dataclasses.replace(query, select=tuple(dict.fromkeys([*wanted, *(k.field for k in query.sort)])))
    expected = await world.tabular.query(dataset, extended)
    items = [{name: item[name] for name in wanted} for item in expected.items]
    assert decoded(page.items) == decoded(encode_json(items))
    assert page.has_more == expected.has_more
    if expected.has_more and query.limit:
        assert page.last == tuple(expected.items[-1][k.field] for k in query.sort)
    else:
        assert page.last is None


async def test_filters_work_as_in_the_store(world: World) -> None:
    key_hash, dataset = await setup(world)
    spec = parse_filters(
        [filter_term("i", "gte:5000000000"), filter_term("t", "like:%o%")], dataset.tabular_schema.field_types
    )
    query = RecordQuery(filter=spec, sort=(SortKey("id"),), limit=100)
    page = await world.pages.page(PageGuard(key_hash, dataset), query)
    expected = await world.tabular.query(dataset, query)
    assert page is not None and expected.items
    assert decoded(page.items) == decoded(encode_json(expected.items))


async def test_bytes_equal_the_encoders_for_text_integers_booleans_dates_timestamps_uuids(world: World) -> None:
    key_hash, dataset = await setup(world)
    query = RecordQuery(sort=(SortKey("id"),), limit=100, select=("id", "t", "i", "b", "d", "ts", "u"))
    page = await world.pages.page(PageGuard(key_hash, dataset), query)
    expected = await world.tabular.query(dataset, query)
    assert page is not None
    assert page.items == encode_json(expected.items)


async def test_none_once_the_key_is_rotated_or_unknown(world: World) -> None:
    key_hash, dataset = await setup(world, [])
    query = RecordQuery(sort=(SortKey("id"),))
    assert await world.pages.page(PageGuard(key_hash, dataset), query) is not None
    assert await world.pages.page(PageGuard(hash_api_key(new_api_key()), dataset), query) is None
    new_hash = hash_api_key(new_api_key())
    await world.catalog.rotate_key(dataset.owner_id, key_hash, new_hash)
    assert await world.pages.page(PageGuard(key_hash, dataset), query) is None
    assert await world.pages.page(PageGuard(new_hash, dataset), query) is not None


async def test_none_for_another_owners_key(world: World) -> None:
    key_hash, dataset = await setup(world, [])
    other_hash, _ = await setup(world, [])
    assert await world.pages.page(PageGuard(other_hash, dataset), RecordQuery(sort=(SortKey("id"),))) is None
    assert await world.pages.page(PageGuard(key_hash, dataset), RecordQuery(sort=(SortKey("id"),))) is not None


async def test_none_once_the_dataset_changed_or_went(world: World) -> None:
    key_hash, dataset = await setup(world, [])
    query = RecordQuery(sort=(SortKey("id"),))
    migrated = dataclasses.replace(
        dataset,
        schema=parse_tabular_schema({"columns": [*SCHEMA["columns"], {"name": "x", "type": "text"}]}),
        updated_at=NOW + dt.timedelta(seconds=1),
    )
    assert await world.catalog.update_dataset(migrated, expected_schema=dataset.schema)
    assert await world.pages.page(PageGuard(key_hash, dataset), query) is None
    # the same schema and time again (a migration undone) make the old facts hold again
    assert await world.catalog.update_dataset(dataset, expected_schema=migrated.schema)
    assert await world.pages.page(PageGuard(key_hash, dataset), query) is not None
    same_time = dataclasses.replace(migrated, updated_at=dataset.updated_at)  # a clock that stands still
    assert await world.catalog.update_dataset(same_time, expected_schema=dataset.schema)
    assert await world.pages.page(PageGuard(key_hash, dataset), query) is None
    assert await world.catalog.update_dataset(dataset, expected_schema=same_time.schema)
    await world.drop_table(dataset)
    assert await world.pages.page(PageGuard(key_hash, dataset), query) is None
    await world.catalog.remove_dataset(dataset.owner_id, dataset.session_id, dataset.id)
    assert await world.pages.page(PageGuard(key_hash, dataset), query) is None


async def test_none_once_the_session_went(world: World) -> None:
    key_hash, dataset = await setup(world, [])
    await world.catalog.remove_session(dataset.owner_id, dataset.session_id)
    assert await world.pages.page(PageGuard(key_hash, dataset), RecordQuery(sort=(SortKey("id"),))) is None
