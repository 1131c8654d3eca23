"""The TabularStore contract: what every adapter (in-memory, PostgreSQL) must do, seen from outside."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from decimal import Decimal
from typing import Any

import pytest

from datainfra.adapters.http.formats.tabular import csv_text, ndjson_text
from datainfra.domain.errors import Conflict, InvalidInput
from datainfra.domain.filters import FilterSpec, filter_term, parse_filters
from datainfra.domain.model import Dataset
from datainfra.domain.query import CountMode, RecordQuery, SortKey
from datainfra.domain.records import OnConflict, RecordRows, WriteResult
from datainfra.domain.tabular_schema import parse_tabular_schema, plan_migration
from datainfra.domain.types import INT64_MAX, INT64_MIN, parse_text
from datainfra.services.exports import ExportColumn
from tests.contract.conftest import POSTGRES_ENGINES, new_session, tabular_dataset

ALL_TYPES = {
    "columns": [
        {"name": "t", "type": "text"},
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
ITEMS = {
    "columns": [
        {"name": "sku", "type": "text"},
        {"name": "qty", "type": "integer"},
        {"name": "email", "type": "text"},
    ],
    "primary_key": ["sku"],
    "indexes": [{"columns": ["email"], "unique": True}],
}
NUMBERS = {"columns": [{"name": "n", "type": "integer"}, {"name": "s", "type": "text"}]}
BY_ID = (SortKey("id"),)
BY_SKU = (SortKey("sku"),)


async def stream(records: Iterable[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for record in records:
        yield dict(record)


def complete(dataset: Dataset, record: Mapping[str, Any]) -> dict[str, Any]:
    """What the service hands the store: every column (NULL where these tests give none)."""
    columns = [c.name for c in dataset.tabular_schema.columns if not c.generated]
    return {**{name: None for name in columns}, **record}


async def insert(
    store: Any, dataset: Dataset, records: Iterable[dict[str, Any]], policy: OnConflict = OnConflict.ERROR
) -> WriteResult:
    result: WriteResult = await store.insert_records(dataset, stream(complete(dataset, r) for r in records), policy)
    return result


async def make(store: Any, schema: dict[str, Any], rows: Iterable[dict[str, Any]] = ()) -> Dataset:
    session = new_session()
    await store.create_session_space(session)
    dataset = tabular_dataset(session, schema)
    await store.create_table(dataset)
    rows = list(rows)
    if rows:
        await insert(store, dataset, rows)
    return dataset


async def rows_of(store: Any, dataset: Dataset, sort: tuple[SortKey, ...] | None = None) -> list[dict[str, Any]]:
    key = tuple(SortKey(name) for name in dataset.tabular_schema.primary_key)
    page = await store.query(dataset, RecordQuery(sort=sort or key, limit=1000))
    return page.items


def where(dataset: Dataset, *params: tuple[str, str]) -> FilterSpec:
    return parse_filters([filter_term(*p) for p in params], dataset.tabular_schema.field_types)


def key_text(key: Any) -> dict[str, str]:
    """A Conflict's key as column → text, whatever value types the adapter reports."""
    assert isinstance(key, Mapping), key
    return {str(name): str(value) for name, value in key.items()}


async def migrate(store: Any, dataset: Dataset, schema: dict[str, Any], renames: Mapping[str, str] = {}) -> Dataset:
    after = parse_tabular_schema(schema)
    plan = plan_migration(dataset.tabular_schema, after, renames)
    migrated = dataclasses.replace(dataset, schema=after)
    await store.migrate_table(migrated, plan)
    return migrated


# -- values round-trip ----------------------------------------------------------------------------

ROUND_TRIP = [
    {
        "t": "plain",
        "i": INT64_MAX,
        "f": 0.1,
        "n": Decimal("12345678901234567890.123456789012345678901234567890"),
        "b": True,
        "d": dt.date(1999, 12, 31),
        "ts": dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC),
        "j": {"a": [1, Decimal("2.5"), "x", None, True, {"nested": {}}], "ü": '"q"'},
        "u": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    },
    {
        "t": "quote ' and \" and back\\slash; line\nbreak\ttab ✓ 😀 ünïcode",
        "i": INT64_MIN,
        "f": -1.7976931348623157e308,
        "n": Decimal("-0.000001"),
        "b": False,
        "d": dt.date(1, 1, 1),
        "ts": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        "j": [],
        "u": uuid.UUID(int=0),
    },
    {"t": "", "i": 0, "f": 1e-300, "n": Decimal("1.50"), "b": True, "d": None, "ts": None, "j": "text", "u": None},
    {"t": None, "i": None, "f": None, "n": None, "b": None, "d": None, "ts": None, "j": None, "u": None},
]


async def test_every_type_round_trips(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ALL_TYPES, ROUND_TRIP)
    got = await rows_of(tabular_store, dataset)
    assert [{k: v for k, v in row.items() if k != "id"} for row in got] == ROUND_TRIP
    first, second, third, _ = got
    assert type(first["i"]) is int and type(first["f"]) is float and isinstance(first["n"], Decimal)
    assert first["b"] is True and second["b"] is False
    assert isinstance(first["u"], uuid.UUID) and isinstance(first["d"], dt.date)
    assert str(third["n"]) == "1.50"  # numeric keeps the scale it was given
    assert first["ts"].utcoffset() == dt.timedelta(0)


async def test_timestamps_come_back_in_utc(tabular_store: Any) -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    dataset = await make(tabular_store, ALL_TYPES, [{"ts": dt.datetime(2026, 1, 1, 12, 0, tzinfo=plus_two)}])
    (row,) = await rows_of(tabular_store, dataset)
    assert row["ts"] == dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC)
    assert row["ts"].utcoffset() == dt.timedelta(0)
    assert row["ts"].hour == 10


async def test_returned_values_are_copies(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ALL_TYPES, [{"j": {"a": [1]}}])
    (row,) = await rows_of(tabular_store, dataset)
    row["j"]["a"].append(2)
    (again,) = await rows_of(tabular_store, dataset)
    assert again["j"] == {"a": [1]}


# -- generated ids --------------------------------------------------------------------------------


async def test_generated_ids_start_at_one_and_move_past_explicit_ones(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS, [{"n": 1}, {"n": 2}, {"n": 3}])
    assert [r["id"] for r in await rows_of(tabular_store, dataset)] == [1, 2, 3]
    await insert(tabular_store, dataset, [{"id": 10, "n": 10}], OnConflict.ERROR)
    await insert(tabular_store, dataset, [{"n": 11}, {"id": None, "n": 12}], OnConflict.ERROR)
    rows = await rows_of(tabular_store, dataset)
    assert [r["id"] for r in rows][:4] == [1, 2, 3, 10]
    assert all(r["id"] > 10 for r in rows[4:]) and len({r["id"] for r in rows}) == 6
    assert [r["n"] for r in rows] == [1, 2, 3, 10, 11, 12]


async def test_explicit_id_clash_is_a_conflict(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS, [{"n": 1}])
    with pytest.raises(Conflict) as caught:
        await insert(tabular_store, dataset, [{"id": 1, "n": 5}], OnConflict.ERROR)
    assert key_text(caught.value.key) == {"id": "1"}


# -- conflicts ------------------------------------------------------------------------------------


async def test_insert_reports_counts(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS)
    result = await insert(
        tabular_store,
        dataset,
        [{"sku": "a", "qty": 1, "email": None}, {"sku": "b", "qty": 2, "email": None}],
        OnConflict.ERROR,
    )
    assert result == WriteResult(inserted=2)
    assert await tabular_store.count(dataset) == 2


async def test_error_on_existing_key_keeps_nothing_of_the_request(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS, [{"sku": "a", "qty": 1, "email": "a@x"}])
    records = [{"sku": "b", "qty": 2, "email": "b@x"}, {"sku": "a", "qty": 9, "email": "z@x"}]
    with pytest.raises(Conflict) as caught:
        await insert(tabular_store, dataset, records, OnConflict.ERROR)
    assert (key_text(caught.value.key), caught.value.index) == ({"sku": "a"}, 1)
    assert await rows_of(tabular_store, dataset) == [{"sku": "a", "qty": 1, "email": "a@x"}]


async def test_error_on_duplicate_within_one_request(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS)
    records = [{"sku": "a", "qty": 1, "email": None}, {"sku": "a", "qty": 2, "email": None}]
    with pytest.raises(Conflict) as caught:
        await insert(tabular_store, dataset, records, OnConflict.ERROR)
    assert (key_text(caught.value.key), caught.value.index) == ({"sku": "a"}, 1)
    assert await tabular_store.count(dataset) == 0


async def test_update_overwrites_existing_rows(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS, [{"sku": "a", "qty": 1, "email": "a@x"}])
    records = [{"sku": "a", "qty": 5, "email": None}, {"sku": "b", "qty": 2, "email": "a@x"}]
    result = await insert(tabular_store, dataset, records, OnConflict.UPDATE)
    assert result == WriteResult(inserted=1, updated=1)
    assert await rows_of(tabular_store, dataset) == [
        {"sku": "a", "qty": 5, "email": None},
        {"sku": "b", "qty": 2, "email": "a@x"},
    ]


async def test_update_with_a_key_twice_in_one_request_keeps_the_last(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS)
    records = [{"sku": "a", "qty": 1, "email": None}, {"sku": "a", "qty": 2, "email": None}]
    result = await insert(tabular_store, dataset, records, OnConflict.UPDATE)
    assert result == WriteResult(inserted=1, updated=1)
    assert await rows_of(tabular_store, dataset) == [{"sku": "a", "qty": 2, "email": None}]


async def test_ignore_skips_existing_and_repeated_keys(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS, [{"sku": "a", "qty": 1, "email": None}])
    records = [
        {"sku": "a", "qty": 9, "email": None},
        {"sku": "b", "qty": 2, "email": None},
        {"sku": "b", "qty": 3, "email": None},
    ]
    result = await insert(tabular_store, dataset, records, OnConflict.IGNORE)
    assert result == WriteResult(inserted=1, ignored=2)
    assert await rows_of(tabular_store, dataset) == [
        {"sku": "a", "qty": 1, "email": None},
        {"sku": "b", "qty": 2, "email": None},
    ]


async def test_unique_index_clash(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS, [{"sku": "a", "qty": 1, "email": "a@x"}])
    clash = {"sku": "b", "qty": 2, "email": "a@x"}
    with pytest.raises(Conflict) as caught:
        await insert(tabular_store, dataset, [clash], OnConflict.ERROR)
    assert (key_text(caught.value.key), caught.value.index) == ({"email": "a@x"}, 0)
    with pytest.raises(Conflict):
        await insert(tabular_store, dataset, [clash], OnConflict.UPDATE)
    result = await insert(tabular_store, dataset, [clash], OnConflict.IGNORE)
    assert result == WriteResult(ignored=1)
    assert await tabular_store.count(dataset) == 1


async def test_a_unique_index_clash_after_records_naming_other_fields_names_its_record(tabular_store: Any) -> None:
    """Records leaving a field out, then records giving it (one of them clashing with a stored row on a
    unique index, after an earlier repeat of a key that is not the first wrong record): the record
    named is the first refused, counted over the whole request."""
    dataset = await make(tabular_store, ITEMS, [{"sku": "a", "qty": 1, "email": "a@x"}])
    records = [
        {"sku": "b", "qty": 2},
        {"sku": "c", "qty": 3},
        {"sku": "d", "qty": 4, "email": "d@x"},
        {"sku": "e", "qty": 5, "email": "a@x"},
        {"sku": "f", "qty": 6, "email": "d@x"},
    ]
    with pytest.raises(Conflict) as caught:
        await tabular_store.insert_records(dataset, stream(records), OnConflict.ERROR)
    assert (key_text(caught.value.key), caught.value.index) == ({"email": "a@x"}, 3)
    assert await tabular_store.count(dataset) == 1


async def test_update_that_would_clash_a_unique_index_is_a_conflict(tabular_store: Any) -> None:
    rows = [{"sku": "a", "qty": 1, "email": "a@x"}, {"sku": "b", "qty": 2, "email": "b@x"}]
    dataset = await make(tabular_store, ITEMS, rows)
    with pytest.raises(Conflict) as caught:
        await insert(tabular_store, dataset, [{"sku": "a", "qty": 7, "email": "b@x"}], OnConflict.UPDATE)
    assert key_text(caught.value.key) == {"email": "b@x"}
    assert await rows_of(tabular_store, dataset) == rows


async def test_unique_index_treats_nulls_as_distinct(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS)
    records = [{"sku": s, "qty": 1, "email": None} for s in "abc"]
    assert await insert(tabular_store, dataset, records, OnConflict.ERROR) == WriteResult(inserted=3)


async def test_composite_key(tabular_store: Any) -> None:
    schema = {
        "columns": [{"name": "a", "type": "integer"}, {"name": "b", "type": "text"}, {"name": "v", "type": "float"}],
        "primary_key": ["a", "b"],
    }
    dataset = await make(tabular_store, schema, [{"a": 1, "b": "x", "v": 1.0}, {"a": 1, "b": "y", "v": 2.0}])
    with pytest.raises(Conflict) as caught:
        await insert(tabular_store, dataset, [{"a": 1, "b": "y", "v": 3.0}], OnConflict.ERROR)
    assert key_text(caught.value.key) == {"a": "1", "b": "y"}
    await insert(tabular_store, dataset, [{"a": 1, "b": "y", "v": 3.0}], OnConflict.UPDATE)
    assert [r["v"] for r in await rows_of(tabular_store, dataset)] == [1.0, 3.0]


# -- all or nothing -------------------------------------------------------------------------------


class BadRecord(InvalidInput):
    pass


async def failing_stream(good: int) -> AsyncIterator[dict[str, Any]]:
    for i in range(good):
        yield {"sku": f"s{i}", "qty": i, "email": None}
    raise BadRecord("record 3 is bad", index=good)


async def test_a_stream_that_raises_leaves_nothing(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS, [{"sku": "keep", "qty": 0, "email": None}])
    for policy in OnConflict:
        with pytest.raises(BadRecord) as caught:
            await tabular_store.insert_records(dataset, failing_stream(3), policy)
        assert caught.value.index == 3
    assert await rows_of(tabular_store, dataset) == [{"sku": "keep", "qty": 0, "email": None}]


async def test_not_null_violation_names_index_and_field(tabular_store: Any) -> None:
    schema = {"columns": [{"name": "k", "type": "integer"}, {"name": "v", "type": "text", "nullable": False}]}
    dataset = await make(tabular_store, schema)
    with pytest.raises(InvalidInput) as caught:
        await insert(tabular_store, dataset, [{"k": 1, "v": "ok"}, {"k": 2, "v": None}], OnConflict.ERROR)
    assert (caught.value.index, caught.value.field) == (1, "v")
    assert await tabular_store.count(dataset) == 0


def rows_block(dataset: Dataset, records: Iterable[Mapping[str, Any]]) -> RecordRows:
    """`records` (completed) as one RecordRows of every column but the generated key."""
    columns = tuple(c.name for c in dataset.tabular_schema.columns if not c.generated)
    return RecordRows(columns, [tuple(complete(dataset, r)[n] for n in columns) for r in records])


async def items(*parts: Any) -> AsyncIterator[Any]:
    """A stream of records and RecordRows; an exception in it is raised there."""
    for part in parts:
        if isinstance(part, BaseException):
            raise part
        yield part


async def test_rows_and_records_in_one_stream_are_stored_in_order(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ALL_TYPES)
    first, second, third, fourth = ROUND_TRIP
    stream_ = items(rows_block(dataset, [first]), dict(second), rows_block(dataset, [third, fourth]))

    result = await tabular_store.insert_records(dataset, stream_, OnConflict.ERROR)

    assert result == WriteResult(inserted=4)
    got = await rows_of(tabular_store, dataset)
    assert [{k: v for k, v in row.items() if k != "id"} for row in got] == ROUND_TRIP
    assert str(got[2]["n"]) == "1.50"


async def test_a_clash_in_a_later_block_of_rows_names_its_index_and_keeps_nothing(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS, [{"sku": "keep", "qty": 0, "email": None}])
    blocks = [
        rows_block(dataset, [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]),
        rows_block(dataset, [{"sku": "c", "qty": 3}, {"sku": "keep", "qty": 4}]),
    ]

    with pytest.raises(Conflict) as caught:
        await tabular_store.insert_records(dataset, items(*blocks), OnConflict.ERROR)

    assert caught.value.index == 3
    assert await rows_of(tabular_store, dataset) == [{"sku": "keep", "qty": 0, "email": None}]


async def test_a_stream_that_raises_after_rows_leaves_nothing_and_the_store_goes_on(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS)
    block = rows_block(dataset, [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}])

    with pytest.raises(BadRecord):
        await tabular_store.insert_records(dataset, items(block, BadRecord("bad", index=2)), OnConflict.ERROR)

    assert await tabular_store.count(dataset) == 0
    assert await tabular_store.insert_records(dataset, items(block), OnConflict.ERROR) == WriteResult(inserted=2)


async def test_a_null_in_rows_where_not_null_names_index_and_field(tabular_store: Any) -> None:
    schema = {"columns": [{"name": "k", "type": "integer"}, {"name": "v", "type": "text", "nullable": False}]}
    dataset = await make(tabular_store, schema)
    block = rows_block(dataset, [{"k": 1, "v": "ok"}, {"k": 2, "v": None}])

    with pytest.raises(InvalidInput) as caught:
        await tabular_store.insert_records(
            dataset, items(rows_block(dataset, [{"k": 0, "v": "x"}]), block), OnConflict.ERROR
        )

    assert (caught.value.index, caught.value.field) == (2, "v")
    assert await tabular_store.count(dataset) == 0


async def test_a_null_in_rows_of_every_column_is_refused_by_the_table_naming_index_and_field(
    tabular_store: Any,
) -> None:
    """Rows naming every column are copied as they are (their producer checks them): the table's
    NOT NULL is what refuses the NULL, and the problem still names the record and the field."""
    schema = {
        "columns": [{"name": "k", "type": "integer"}, {"name": "v", "type": "text", "nullable": False}],
        "primary_key": ["k"],
    }
    dataset = await make(tabular_store, schema)
    blocks = [
        rows_block(dataset, [{"k": 0, "v": "x"}]),
        rows_block(dataset, [{"k": 1, "v": "ok"}, {"k": 2, "v": None}]),
    ]

    with pytest.raises(InvalidInput) as caught:
        await tabular_store.insert_records(dataset, items(*blocks), OnConflict.ERROR)

    assert (caught.value.index, caught.value.field) == (2, "v")
    assert await tabular_store.count(dataset) == 0


@pytest.mark.parametrize("engine", POSTGRES_ENGINES)
async def test_a_value_too_large_for_an_index_is_refused_naming_its_field(
    engine: str, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL's limit on an index entry (the memory store has none): a 422 naming the field,
    and on a single server the record too (Citus relays a worker's refusal without it)."""
    async with request.getfixturevalue(f"{engine}_tabular_store_factory")() as store:
        dataset = await make(store, {"columns": [{"name": "k", "type": "text"}], "primary_key": ["k"]})
        big = os.urandom(1600).hex()  # 3200 characters that do not compress

        with pytest.raises(InvalidInput) as caught:
            await insert(store, dataset, [{"k": "ok"}, {"k": big}], OnConflict.ERROR)

        assert "too large for an index" in str(caught.value)
        assert (caught.value.field, caught.value.index) == ("k", 1 if engine == "postgres" else None)
        assert await store.count(dataset) == 0


# -- filters --------------------------------------------------------------------------------------

FILTER_ROWS = [
    {"k": 1, "n": 1, "t": "apple", "b": True, "f": 1.5, "ts": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
    {"k": 2, "n": 2, "t": "Apricot", "b": False, "f": -2.0, "ts": dt.datetime(2026, 6, 1, tzinfo=dt.UTC)},
    {"k": 3, "n": 3, "t": "50% off", "b": None, "f": None, "ts": None},
    {"k": 4, "n": None, "t": "a_b", "b": True, "f": 0.0, "ts": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)},
    {"k": 5, "n": 5, "t": None, "b": None, "f": 10.0, "ts": dt.datetime(2027, 1, 1, tzinfo=dt.UTC)},
    {"k": 6, "n": 2, "t": "line\nbreak", "b": False, "f": 2.0, "ts": None},
]
FILTER_SCHEMA = {
    "columns": [
        {"name": "k", "type": "integer"},
        {"name": "n", "type": "integer"},
        {"name": "t", "type": "text"},
        {"name": "b", "type": "boolean"},
        {"name": "f", "type": "float"},
        {"name": "ts", "type": "timestamp"},
    ],
    "primary_key": ["k"],
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("n", "eq:2")], {2, 6}),
        ([("n", "ne:2")], {1, 3, 5}),
        ([("n", "gt:2")], {3, 5}),
        ([("n", "gte:2")], {2, 3, 5, 6}),
        ([("n", "lt:3")], {1, 2, 6}),
        ([("n", "lte:3")], {1, 2, 3, 6}),
        ([("n", "in:1,5,99")], {1, 5}),
        ([("n", "nin:1,5")], {2, 3, 6}),
        ([("n", "in:")], set()),
        ([("n", "nin:")], {1, 2, 3, 5, 6}),
        ([("n", "is:null")], {4}),
        ([("n", "is:notnull")], {1, 2, 3, 5, 6}),
        ([("b", "is:true")], {1, 4}),
        ([("b", "is:false")], {2, 6}),
        ([("b", "eq:false")], {2, 6}),
        ([("b", "ne:true")], {2, 6}),
        ([("t", "like:a%")], {1, 4}),
        ([("t", "like:A%")], {2}),
        ([("t", "ilike:a%")], {1, 2, 4}),
        ([("t", "ilike:%RIC%")], {2}),
        ([("t", "like:a_b")], {4}),
        ([("t", r"like:a\_b")], {4}),
        ([("t", r"like:_\_%")], {4}),
        ([("t", r"like:%\%%")], {3}),
        ([("t", "like:%")], {1, 2, 3, 4, 6}),
        ([("t", "like:line_break")], {6}),
        ([("t", "like:line%")], {6}),
        ([("t", "nin:apple")], {2, 3, 4, 6}),
        ([("t", "gt:a")], {1, 4, 6}),
        ([("t", "lt:a")], {2, 3}),
        ([("t", 'in:"50% off",apple')], {1, 3}),
        ([("f", "gt:0")], {1, 5, 6}),
        ([("f", "lte:0")], {2, 4}),
        ([("f", "eq:-2")], {2}),
        ([("ts", "gte:2026-01-01T00:00:00Z")], {1, 2, 5}),
        ([("ts", "lt:2026-01-01T02:00:00+02:00")], {4}),
        ([("n", "gte:2"), ("n", "lte:3")], {2, 3, 6}),
        ([("n", "ne:2"), ("b", "is:null")], {3, 5}),
        ([], {1, 2, 3, 4, 5, 6}),
    ],
)
async def test_filter_operators(tabular_store: Any, params: list[tuple[str, str]], expected: set[int]) -> None:
    dataset = await make(tabular_store, FILTER_SCHEMA, FILTER_ROWS)
    page = await tabular_store.query(dataset, RecordQuery(filter=where(dataset, *params), sort=(SortKey("k"),)))
    assert {row["k"] for row in page.items} == expected


async def test_filters_on_every_orderable_type(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ALL_TYPES, ROUND_TRIP)
    checks = [
        (("n", "gt:0"), {1, 3}),
        (("n", "eq:1.5"), {3}),
        (("n", "lt:0"), {2}),
        (("d", "lt:2000-01-01"), {1, 2}),
        (("u", "eq:12345678-1234-5678-1234-567812345678"), {1}),
        (("u", "ne:00000000-0000-0000-0000-000000000000"), {1}),
        (("j", "is:null"), {4}),
        (("j", "is:notnull"), {1, 2, 3}),
        (("i", f"eq:{INT64_MIN}"), {2}),
        (("i", f"gte:{INT64_MAX}"), {1}),
        (("t", "like:%😀%"), {2}),
        (("t", "eq:"), {3}),
    ]
    for param, expected in checks:
        page = await tabular_store.query(dataset, RecordQuery(filter=where(dataset, param), sort=BY_ID))
        assert {row["id"] for row in page.items} == expected, param


# -- order and pages ------------------------------------------------------------------------------


async def test_multi_column_sort_with_nulls(tabular_store: Any) -> None:
    dataset = await make(tabular_store, FILTER_SCHEMA, FILTER_ROWS)

    async def order(*sort: SortKey) -> list[int]:
        page = await tabular_store.query(dataset, RecordQuery(sort=(*sort, SortKey("k"))))
        return [row["k"] for row in page.items]

    assert await order(SortKey("n")) == [1, 2, 6, 3, 5, 4]
    assert await order(SortKey("n", descending=True)) == [4, 5, 3, 2, 6, 1]
    assert await order(SortKey("b"), SortKey("f", descending=True)) == [6, 2, 1, 4, 3, 5]
    assert await order(SortKey("b", descending=True), SortKey("f")) == [5, 3, 4, 1, 2, 6]
    assert await order(SortKey("ts")) == [4, 1, 2, 5, 3, 6]
    assert await order(SortKey("t", descending=True)) == [5, 6, 1, 4, 2, 3]


async def test_text_sorts_by_code_point(tabular_store: Any) -> None:
    words = ["b", "B", "a", "é", "Z", "aa", "", "😀", "a b", "_", "ä"]
    dataset = await make(tabular_store, NUMBERS, [{"n": i, "s": w} for i, w in enumerate(words)])
    page = await tabular_store.query(dataset, RecordQuery(sort=(SortKey("s"), SortKey("id"))))
    assert [row["s"] for row in page.items] == sorted(words)


async def test_numbers_sort_numerically(tabular_store: Any) -> None:
    values = [Decimal("10"), Decimal("9.99"), Decimal("-1"), Decimal("100.000001"), Decimal("0.5")]
    dataset = await make(tabular_store, ALL_TYPES, [{"n": v, "i": int(v * 2)} for v in values])
    page = await tabular_store.query(dataset, RecordQuery(sort=(SortKey("n"), SortKey("id"))))
    assert [row["n"] for row in page.items] == sorted(values)
    page = await tabular_store.query(dataset, RecordQuery(sort=(SortKey("i", descending=True), SortKey("id"))))
    assert [row["i"] for row in page.items] == [200, 20, 19, 1, -2]


async def test_limit_offset_and_has_more(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS, [{"n": i} for i in range(7)])

    async def page(limit: int, offset: int) -> tuple[list[int], bool]:
        result = await tabular_store.query(dataset, RecordQuery(sort=BY_ID, limit=limit, offset=offset))
        return [row["n"] for row in result.items], result.has_more

    assert await page(3, 0) == ([0, 1, 2], True)
    assert await page(3, 3) == ([3, 4, 5], True)
    assert await page(3, 6) == ([6], False)
    assert await page(4, 3) == ([3, 4, 5, 6], False)
    assert await page(3, 10) == ([], False)
    assert await page(0, 0) == ([], True)
    assert await page(7, 0) == ([0, 1, 2, 3, 4, 5, 6], False)


async def test_keyset_after_returns_rows_strictly_after(tabular_store: Any) -> None:
    rows = [{"n": n, "s": s} for n, s in [(1, "a"), (2, "b"), (2, "c"), (3, "a"), (2, "a")]]
    dataset = await make(tabular_store, NUMBERS, rows)
    sort = (SortKey("n", descending=True), SortKey("id"))
    first = await tabular_store.query(dataset, RecordQuery(sort=sort, limit=2))
    assert [(r["n"], r["id"]) for r in first.items] == [(3, 4), (2, 2)] and first.has_more
    last = first.items[-1]
    second = await tabular_store.query(dataset, RecordQuery(sort=sort, limit=2, after=(last["n"], last["id"])))
    assert [(r["n"], r["id"]) for r in second.items] == [(2, 3), (2, 5)] and second.has_more
    third = await tabular_store.query(dataset, RecordQuery(sort=sort, limit=2, after=(2, 5)))
    assert [(r["n"], r["id"]) for r in third.items] == [(1, 1)] and not third.has_more
    filtered = RecordQuery(filter=where(dataset, ("s", "eq:a")), sort=sort, after=(3, 4))
    assert [r["id"] for r in (await tabular_store.query(dataset, filtered)).items] == [5, 1]


async def test_keyset_after_on_text(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS, [{"n": 0, "s": s} for s in ["b", "a", "B", "é"]])
    sort = (SortKey("s"), SortKey("id"))
    page = await tabular_store.query(dataset, RecordQuery(sort=sort, after=("a", 2)))
    assert [r["s"] for r in page.items] == ["b", "é"]


async def test_count(tabular_store: Any) -> None:
    dataset = await make(tabular_store, FILTER_SCHEMA, FILTER_ROWS)
    query = RecordQuery(filter=where(dataset, ("n", "gte:2")), sort=(SortKey("k"),), limit=1, count=CountMode.EXACT)
    page = await tabular_store.query(dataset, query)
    assert page.total == 4 and len(page.items) == 1 and page.has_more
    unfiltered = await tabular_store.query(dataset, RecordQuery(sort=(SortKey("k"),), count=CountMode.EXACT))
    assert unfiltered.total == 6
    estimated = await tabular_store.query(dataset, RecordQuery(sort=(SortKey("k"),), count=CountMode.ESTIMATED))
    assert isinstance(estimated.total, int) and estimated.total >= 0
    assert (await tabular_store.query(dataset, RecordQuery(sort=(SortKey("k"),)))).total is None
    assert await tabular_store.count(dataset) == 6


async def test_select_limits_columns(tabular_store: Any) -> None:
    dataset = await make(tabular_store, FILTER_SCHEMA, FILTER_ROWS)
    page = await tabular_store.query(dataset, RecordQuery(select=("t", "k"), sort=(SortKey("k"),), limit=2))
    assert page.items == [{"t": "apple", "k": 1}, {"t": "Apricot", "k": 2}]


# -- updates and deletes --------------------------------------------------------------------------


async def test_update_by_key(tabular_store: Any) -> None:
    rows = [{"sku": "a", "qty": 1, "email": "a@x"}, {"sku": "b", "qty": 2, "email": None}]
    dataset = await make(tabular_store, ITEMS, rows)
    assert await tabular_store.update_by_key(dataset, [{"sku": "b", "qty": 20}, {"sku": "a", "email": None}]) == 2
    assert await rows_of(tabular_store, dataset) == [
        {"sku": "a", "qty": 1, "email": None},
        {"sku": "b", "qty": 20, "email": None},
    ]


async def test_update_by_key_with_a_missing_key_changes_nothing(tabular_store: Any) -> None:
    rows = [{"sku": "a", "qty": 1, "email": None}]
    dataset = await make(tabular_store, ITEMS, rows)
    with pytest.raises(InvalidInput) as caught:
        await tabular_store.update_by_key(dataset, [{"sku": "a", "qty": 5}, {"sku": "zz", "qty": 6}])
    assert caught.value.index == 1
    assert await rows_of(tabular_store, dataset) == rows


async def test_update_by_key_refuses_null_in_not_null_column(tabular_store: Any) -> None:
    schema = {"columns": [{"name": "k", "type": "integer"}, {"name": "v", "type": "text", "nullable": False}]}
    dataset = await make(tabular_store, {**schema, "primary_key": ["k"]}, [{"k": 1, "v": "x"}])
    with pytest.raises(InvalidInput) as caught:
        await tabular_store.update_by_key(dataset, [{"k": 1, "v": None}])
    assert caught.value.index == 0 and caught.value.field == "v"
    assert await rows_of(tabular_store, dataset) == [{"k": 1, "v": "x"}]


async def test_update_by_key_unique_clash_is_a_conflict(tabular_store: Any) -> None:
    rows = [{"sku": "a", "qty": 1, "email": "a@x"}, {"sku": "b", "qty": 2, "email": "b@x"}]
    dataset = await make(tabular_store, ITEMS, rows)
    with pytest.raises(Conflict):
        await tabular_store.update_by_key(dataset, [{"sku": "b", "email": "a@x"}])
    assert await rows_of(tabular_store, dataset) == rows


async def test_update_where(tabular_store: Any) -> None:
    dataset = await make(tabular_store, FILTER_SCHEMA, FILTER_ROWS)
    assert await tabular_store.update_where(dataset, where(dataset, ("n", "ne:2")), {"t": "changed"}) == 3
    rows = await rows_of(tabular_store, dataset)
    assert {r["k"] for r in rows if r["t"] == "changed"} == {1, 3, 5}
    assert await tabular_store.update_where(dataset, FilterSpec(), {"f": None, "b": True}) == 6
    assert all(r["f"] is None and r["b"] is True for r in await rows_of(tabular_store, dataset))
    assert await tabular_store.update_where(dataset, where(dataset, ("n", "eq:99")), {"t": "x"}) == 0


async def test_update_where_clash_changes_nothing(tabular_store: Any) -> None:
    rows = [{"sku": "a", "qty": 1, "email": "a@x"}, {"sku": "b", "qty": 1, "email": "b@x"}]
    dataset = await make(tabular_store, ITEMS, rows)
    with pytest.raises(Conflict):
        await tabular_store.update_where(dataset, where(dataset, ("qty", "eq:1")), {"email": "same@x"})
    assert await rows_of(tabular_store, dataset) == rows


async def test_delete_where(tabular_store: Any) -> None:
    dataset = await make(tabular_store, FILTER_SCHEMA, FILTER_ROWS)
    assert await tabular_store.delete_where(dataset, where(dataset, ("n", "nin:2"))) == 3
    assert [r["k"] for r in await rows_of(tabular_store, dataset)] == [2, 4, 6]
    assert await tabular_store.delete_where(dataset, where(dataset, ("t", "eq:nothing"))) == 0
    assert await tabular_store.delete_where(dataset, FilterSpec()) == 3
    assert await tabular_store.count(dataset) == 0


# -- migrations -----------------------------------------------------------------------------------

PEOPLE = {
    "columns": [
        {"name": "name", "type": "text"},
        {"name": "age", "type": "integer"},
        {"name": "score", "type": "float"},
        {"name": "amount", "type": "numeric"},
    ]
}
PEOPLE_ROWS = [
    {"name": "ann", "age": 30, "score": 2.5, "amount": Decimal("2.5")},
    {"name": "bob", "age": None, "score": -0.5, "amount": Decimal("-2.5")},
    {"name": "cy", "age": 7, "score": 1.5, "amount": Decimal("0.49")},
]


def people_schema(**changes: dict[str, Any]) -> dict[str, Any]:
    columns = [dict(c, **changes.get(str(c["name"]), {})) for c in PEOPLE["columns"]]
    return {"columns": columns}


async def test_migrate_rename_drop_and_add(tabular_store: Any) -> None:
    dataset = await make(tabular_store, PEOPLE, PEOPLE_ROWS)
    schema = {
        "columns": [
            {"name": "full_name", "type": "text"},
            {"name": "age", "type": "integer"},
            {"name": "active", "type": "boolean", "nullable": False, "default": True},
            {"name": "note", "type": "text"},
        ]
    }
    migrated = await migrate(tabular_store, dataset, schema, {"name": "full_name"})
    assert await rows_of(tabular_store, migrated) == [
        {"id": 1, "full_name": "ann", "age": 30, "active": True, "note": None},
        {"id": 2, "full_name": "bob", "age": None, "active": True, "note": None},
        {"id": 3, "full_name": "cy", "age": 7, "active": True, "note": None},
    ]
    await insert(
        tabular_store, migrated, [{"full_name": "dee", "age": 1, "active": False, "note": "n"}], OnConflict.ERROR
    )
    assert [r["id"] for r in await rows_of(tabular_store, migrated)] == [1, 2, 3, 4]


async def test_migrate_adding_not_null_without_default(tabular_store: Any) -> None:
    schema = {"columns": [*PEOPLE["columns"], {"name": "must", "type": "text", "nullable": False}]}
    empty = await make(tabular_store, PEOPLE)
    await migrate(tabular_store, empty, schema)
    full = await make(tabular_store, PEOPLE, PEOPLE_ROWS)
    with pytest.raises(InvalidInput) as caught:
        await migrate(tabular_store, full, schema)
    assert caught.value.field == "must"
    assert await rows_of(tabular_store, full) == [{"id": i + 1, **r} for i, r in enumerate(PEOPLE_ROWS)]


@pytest.mark.parametrize(
    ("column", "new_type", "expected"),
    [
        ("age", "text", ["30", None, "7"]),
        ("age", "float", [30.0, None, 7.0]),
        ("age", "numeric", [Decimal(30), None, Decimal(7)]),
        ("score", "integer", [2, 0, 2]),  # float → integer rounds half to even
        ("amount", "integer", [3, -3, 0]),  # numeric → integer rounds half away from zero
        ("amount", "float", [2.5, -2.5, 0.49]),
        ("amount", "text", ["2.5", "-2.5", "0.49"]),
        ("score", "numeric", [Decimal("2.5"), Decimal("-0.5"), Decimal("1.5")]),
        ("score", "text", ["2.5", "-0.5", "1.5"]),
    ],
)
async def test_migrate_casts_values(tabular_store: Any, column: str, new_type: str, expected: list[Any]) -> None:
    dataset = await make(tabular_store, PEOPLE, PEOPLE_ROWS)
    migrated = await migrate(tabular_store, dataset, people_schema(**{column: {"type": new_type}}))
    rows = await rows_of(tabular_store, migrated)
    assert [r[column] for r in rows] == expected
    assert all(type(v) is type(e) for v, e in zip((r[column] for r in rows), expected, strict=True))


async def test_migrate_to_text_uses_the_stores_text_forms(tabular_store: Any) -> None:
    rows = [
        {"b": True, "f": 1.0, "n": Decimal("1.50"), "j": {"a": [1, "x"]}, "d": dt.date(2026, 2, 3)},
        {"b": False, "f": 1e20, "n": Decimal("-3"), "j": [True, None], "d": None},
        {"b": None, "f": 1.5e-7, "n": None, "j": "s", "d": None},
    ]
    dataset = await make(tabular_store, ALL_TYPES, rows)
    as_text = {name: {"type": "text"} for name in ("b", "f", "n", "j", "d")}
    schema = {"columns": [dict(c, **as_text.get(c["name"], {})) for c in ALL_TYPES["columns"]]}
    migrated = await migrate(tabular_store, dataset, schema)
    got = [{k: r[k] for k in as_text} for r in await rows_of(tabular_store, migrated)]
    assert got == [
        {"b": "true", "f": "1", "n": "1.50", "j": '{"a": [1, "x"]}', "d": "2026-02-03"},
        {"b": "false", "f": "1e+20", "n": "-3", "j": "[true, null]", "d": None},
        {"b": None, "f": "1.5e-07", "n": None, "j": '"s"', "d": None},
    ]


async def test_migrate_timestamp_to_text_and_back(tabular_store: Any) -> None:
    instant = dt.datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=dt.UTC)
    dataset = await make(tabular_store, ALL_TYPES, [{"ts": instant}])
    to_text = {"columns": [dict(c, type="text") if c["name"] == "ts" else c for c in ALL_TYPES["columns"]]}
    as_text = await migrate(tabular_store, dataset, to_text)
    (row,) = await rows_of(tabular_store, as_text)
    assert row["ts"] == "2026-03-04 05:06:07.123456+00"  # PostgreSQL's own text form, in UTC
    assert parse_text(row["ts"], parse_tabular_schema(ALL_TYPES).field_types["ts"]) == instant
    back = await migrate(tabular_store, as_text, ALL_TYPES)
    (row,) = await rows_of(tabular_store, back)
    assert row["ts"] == instant


async def test_migrate_text_to_other_types(tabular_store: Any) -> None:
    schema = {"columns": [{"name": "a", "type": "text"}, {"name": "b", "type": "text"}, {"name": "c", "type": "text"}]}
    dataset = await make(tabular_store, schema, [{"a": " 42 ", "b": "2026-01-02", "c": "true"}, {"a": "-7"}])
    after = {
        "columns": [{"name": "a", "type": "integer"}, {"name": "b", "type": "date"}, {"name": "c", "type": "boolean"}]
    }
    migrated = await migrate(tabular_store, dataset, after)
    assert [(r["a"], r["b"], r["c"]) for r in await rows_of(tabular_store, migrated)] == [
        (42, dt.date(2026, 1, 2), True),
        (-7, None, None),
    ]


async def test_a_failing_cast_names_the_column_and_changes_nothing(tabular_store: Any) -> None:
    rows = [{"name": "12"}, {"name": "twelve"}]
    dataset = await make(tabular_store, PEOPLE, rows)
    before = await rows_of(tabular_store, dataset)
    schema = {"columns": [{"name": "label", "type": "integer"}, *PEOPLE["columns"][1:], {"name": "x", "type": "text"}]}
    with pytest.raises(InvalidInput) as caught:
        await migrate(tabular_store, dataset, schema, {"name": "label"})
    assert caught.value.field == "label"
    assert await rows_of(tabular_store, dataset) == before
    await insert(tabular_store, dataset, [{"name": "still text"}], OnConflict.ERROR)
    assert (await rows_of(tabular_store, dataset))[-1]["name"] == "still text"


async def test_an_out_of_range_cast_fails(tabular_store: Any) -> None:
    dataset = await make(tabular_store, PEOPLE, [{"score": 1e19}])
    with pytest.raises(InvalidInput) as caught:
        await migrate(tabular_store, dataset, people_schema(score={"type": "integer"}))
    assert caught.value.field == "score"
    assert (await rows_of(tabular_store, dataset))[0]["score"] == 1e19


async def test_migrate_set_not_null(tabular_store: Any) -> None:
    dataset = await make(tabular_store, PEOPLE, PEOPLE_ROWS)
    with pytest.raises(InvalidInput) as caught:
        await migrate(tabular_store, dataset, people_schema(age={"nullable": False}))
    assert caught.value.field == "age"
    migrated = await migrate(tabular_store, dataset, people_schema(name={"nullable": False}))
    with pytest.raises(InvalidInput):
        await insert(tabular_store, migrated, [{"name": None}], OnConflict.ERROR)
    relaxed = await migrate(tabular_store, migrated, PEOPLE)
    await insert(tabular_store, relaxed, [{"name": None}], OnConflict.ERROR)
    assert await tabular_store.count(relaxed) == 4


async def test_migrate_indexes(tabular_store: Any) -> None:
    dataset = await make(tabular_store, PEOPLE, [*PEOPLE_ROWS, {"name": "ann", "age": 1}])
    unique_age = {**PEOPLE, "indexes": [{"columns": ["age"], "unique": True}]}
    migrated = await migrate(tabular_store, dataset, unique_age)
    with pytest.raises(Conflict) as caught:
        await insert(tabular_store, migrated, [{"age": 30}], OnConflict.ERROR)
    assert key_text(caught.value.key) == {"age": "30"}
    unique_name = {**PEOPLE, "indexes": [{"columns": ["name"], "unique": True}]}
    with pytest.raises(InvalidInput):
        await migrate(tabular_store, migrated, unique_name)
    relaxed = await migrate(tabular_store, migrated, PEOPLE)
    await insert(tabular_store, relaxed, [{"age": 30}], OnConflict.ERROR)
    assert await tabular_store.count(relaxed) == 5


# -- lifecycle ------------------------------------------------------------------------------------


async def test_tables_are_isolated(tabular_store: Any) -> None:
    session = new_session()
    await tabular_store.create_session_space(session)
    await tabular_store.create_session_space(session)  # idempotent
    one = tabular_dataset(session, NUMBERS, name="one")
    two = tabular_dataset(session, NUMBERS, name="two")
    await tabular_store.create_table(one)
    await tabular_store.create_table(two)
    await insert(tabular_store, one, [{"n": 1}], OnConflict.ERROR)
    assert (await tabular_store.count(one), await tabular_store.count(two)) == (1, 0)


async def test_drop_table(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS, [{"n": 1}])
    await tabular_store.drop_table(dataset)
    await tabular_store.drop_table(dataset)  # idempotent
    await tabular_store.create_table(dataset)
    assert await tabular_store.count(dataset) == 0


async def test_drop_session_space(tabular_store: Any) -> None:
    session = new_session()
    await tabular_store.create_session_space(session)
    dataset = tabular_dataset(session, NUMBERS)
    await tabular_store.create_table(dataset)
    await insert(tabular_store, dataset, [{"n": 1}], OnConflict.ERROR)
    await tabular_store.drop_session_space(session)
    await tabular_store.drop_session_space(session)  # idempotent
    await tabular_store.create_session_space(session)
    await tabular_store.create_table(dataset)
    assert await tabular_store.count(dataset) == 0


async def test_concurrent_inserts_all_land(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS)

    async def slow(start: int) -> AsyncIterator[dict[str, Any]]:
        for i in range(start, start + 5):
            await asyncio.sleep(0)
            yield {"n": i, "s": None}

    results = await asyncio.gather(
        *(tabular_store.insert_records(dataset, slow(s), OnConflict.ERROR) for s in (0, 5, 10))
    )
    assert sum(r.inserted for r in results) == 15
    rows = await rows_of(tabular_store, dataset)
    assert sorted(r["n"] for r in rows) == list(range(15)) and len({r["id"] for r in rows}) == 15


async def test_ping(tabular_store: Any) -> None:
    await tabular_store.ping()


# -- streaming exports ----------------------------------------------------------------------------

EXPORT_CSV = (
    "id,t,i,f,n,b,d,ts,j,u\n"
    "1,plain,9223372036854775807,0.1,12345678901234567890.123456789012345678901234567890,true,1999-12-31,"
    '2026-03-04T05:06:07.891011Z,"{""a"": [1, 2.5, ""x"", null, true, {""nested"": {}}], ""ü"": ""\\""q\\""""}",'
    "12345678-1234-5678-1234-567812345678\n"
    '2,"quote \' and "" and back\\slash; line\nbreak\ttab ✓ 😀 ünïcode",-9223372036854775808,'
    "-1.7976931348623157e+308,-0.000001,false,0001-01-01,1970-01-01T00:00:00Z,[],00000000-0000-0000-0000-000000000000\n"
    '3,"",0,1e-300,1.50,true,,,"""text""",\n'
    "4,,,,,,,,,\n"
)
EXPORT_NDJSON = (
    '{"id":1,"t":"plain","i":9223372036854775807,"f":0.1,"n":12345678901234567890.123456789012345678901234567890,'
    '"b":true,"d":"1999-12-31","ts":"2026-03-04T05:06:07.891011Z",'
    '"j":{"a": [1, 2.5, "x", null, true, {"nested": {}}], "ü": "\\"q\\""},"u":"12345678-1234-5678-1234-567812345678"}\n'
    '{"id":2,"t":"quote \' and \\" and back\\\\slash; line\\nbreak\\ttab ✓ 😀 ünïcode","i":-9223372036854775808,'
    '"f":-1.7976931348623157e+308,"n":-0.000001,"b":false,"d":"0001-01-01","ts":"1970-01-01T00:00:00Z",'
    '"j":[],"u":"00000000-0000-0000-0000-000000000000"}\n'
    '{"id":3,"t":"","i":0,"f":1e-300,"n":1.50,"b":true,"d":null,"ts":null,"j":"text","u":null}\n'
    '{"id":4,"t":null,"i":null,"f":null,"n":null,"b":null,"d":null,"ts":null,"j":null,"u":null}\n'
)


async def exported(stream: AsyncIterator[bytes]) -> str:
    return b"".join([chunk async for chunk in stream]).decode()


def export_columns(dataset: Dataset, query: RecordQuery) -> list[ExportColumn]:
    schema = dataset.tabular_schema
    names = query.select if query.select is not None else schema.column_names
    return [ExportColumn(name, schema.field_types[name]) for name in names]


def csv_export(store: Any, dataset: Dataset, query: RecordQuery) -> AsyncIterator[bytes]:
    """The CSV the HTTP edge writes from the store's row stream."""
    return csv_text(export_columns(dataset, query), store.stream_rows(dataset, query))


def ndjson_export(store: Any, dataset: Dataset, query: RecordQuery) -> AsyncIterator[bytes]:
    """The NDJSON the HTTP edge writes from the store's row stream."""
    return ndjson_text(export_columns(dataset, query), store.stream_rows(dataset, query))


def stream_rows(store: Any, dataset: Dataset, query: RecordQuery) -> AsyncIterator[Any]:
    return store.stream_rows(dataset, query)


async def test_stream_rows_hands_over_typed_values_in_batches(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ALL_TYPES, ROUND_TRIP)
    batches = [batch async for batch in tabular_store.stream_rows(dataset, RecordQuery(sort=BY_ID))]
    names = dataset.tabular_schema.column_names
    assert [dict(zip(names, row, strict=True)) for batch in batches for row in batch] == [
        {"id": number, **row} for number, row in enumerate(ROUND_TRIP, start=1)
    ]
    many = await make(tabular_store, NUMBERS, [{"n": i, "s": "r"} for i in range(5000)])
    sizes = [len(batch) async for batch in tabular_store.stream_rows(many, RecordQuery(select=("n",), sort=BY_ID))]
    assert len(sizes) > 1 and sum(sizes) == 5000


async def test_csv_export_writes_postgres_text_forms(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ALL_TYPES, ROUND_TRIP)
    assert await exported(csv_export(tabular_store, dataset, RecordQuery(sort=BY_ID))) == EXPORT_CSV


async def test_csv_export_reads_back_with_the_csv_module(tabular_store: Any) -> None:
    import csv
    import io
    import json

    dataset = await make(tabular_store, ALL_TYPES, ROUND_TRIP)
    text = await exported(csv_export(tabular_store, dataset, RecordQuery(sort=BY_ID)))
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    types = dataset.tabular_schema.field_types
    back = []
    for row in rows:
        record = {}
        for name, cell in zip(header, row, strict=True):
            if name == "id":
                continue
            # csv.reader cannot tell "" from an empty field: the text column's "" is checked above
            if cell == "" and name != "t":
                record[name] = None
            elif name == "j":
                record[name] = json.loads(cell, parse_float=Decimal)
            else:
                record[name] = parse_text(cell, types[name])
        back.append(record)
    back[3]["t"] = None  # the one unquoted empty text field is NULL
    assert back == ROUND_TRIP


async def test_ndjson_export_writes_row_to_json(tabular_store: Any) -> None:
    import json

    dataset = await make(tabular_store, ALL_TYPES, ROUND_TRIP)
    text = await exported(ndjson_export(tabular_store, dataset, RecordQuery(sort=BY_ID)))
    assert text == EXPORT_NDJSON
    lines = [json.loads(line, parse_float=Decimal) for line in text.splitlines()]
    assert [line["t"] for line in lines] == [r["t"] for r in ROUND_TRIP]
    assert [line["j"] for line in lines] == [r["j"] for r in ROUND_TRIP]


async def test_exports_honour_filter_select_and_sort_but_no_limit(tabular_store: Any) -> None:
    rows = [{"n": i % 7, "s": f"r{i}"} for i in range(30)]
    dataset = await make(tabular_store, NUMBERS, rows)
    query = RecordQuery(
        filter=where(dataset, ("n", "gte:5")),
        select=("s", "n"),
        sort=(SortKey("n", descending=True), SortKey("id")),
        limit=2,
        offset=3,
    )
    expected = sorted(
        ((i, r) for i, r in enumerate(rows, start=1) if r["n"] >= 5), key=lambda item: (-item[1]["n"], item[0])
    )
    csv_text = await exported(csv_export(tabular_store, dataset, query))
    assert csv_text == "s,n\n" + "".join(f"{r['s']},{r['n']}\n" for _, r in expected)
    ndjson_text = await exported(ndjson_export(tabular_store, dataset, query))
    assert ndjson_text == "".join(f'{{"s":"{r["s"]}","n":{r["n"]}}}\n' for _, r in expected)


async def test_csv_export_quotes_like_copy(tabular_store: Any) -> None:
    single = {"columns": [{"name": "s", "type": "text"}]}
    values = ["\\.", "", None, " sp ", 'a"b', "a,b", "cr\rlf", "x"]
    dataset = await make(tabular_store, single, [{"s": v} for v in values])
    one_column = await exported(csv_export(tabular_store, dataset, RecordQuery(select=("s",), sort=BY_ID)))
    assert one_column == 's\n"\\."\n""\n\n sp \n"a""b"\n"a,b"\n"cr\rlf"\nx\n'
    two_columns = await exported(csv_export(tabular_store, dataset, RecordQuery(sort=BY_ID)))
    assert two_columns.splitlines()[1] == "1,\\."  # the end marker is only ambiguous alone on a line


async def test_an_empty_export_is_the_header_alone(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS)
    assert await exported(csv_export(tabular_store, dataset, RecordQuery(sort=BY_ID))) == "id,n,s\n"
    assert await exported(ndjson_export(tabular_store, dataset, RecordQuery(sort=BY_ID))) == ""


async def test_large_exports_arrive_in_several_chunks(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS, [{"n": i, "s": "x" * 40} for i in range(5000)])
    chunks = [chunk async for chunk in csv_export(tabular_store, dataset, RecordQuery(sort=BY_ID))]
    assert len(chunks) > 1
    assert all(chunks)
    assert b"".join(chunks).count(b"\n") == 5001


async def test_closing_an_export_early_releases_what_it_holds(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS, [{"n": i, "s": "y" * 60} for i in range(5000)])
    for _ in range(20):  # more than any pool holds: each early close must give its connection back
        for open_export in (csv_export, ndjson_export, stream_rows):
            stream = open_export(tabular_store, dataset, RecordQuery(sort=BY_ID))
            first = await anext(stream)
            assert first
            await stream.aclose()
    await insert(tabular_store, dataset, [{"n": -1, "s": "after"}])
    assert await tabular_store.count(dataset) == 5001


async def test_an_export_sees_one_snapshot(tabular_store: Any) -> None:
    dataset = await make(tabular_store, NUMBERS, [{"n": i, "s": "z" * 60} for i in range(3000)])
    stream = ndjson_export(tabular_store, dataset, RecordQuery(sort=BY_ID))
    first = await anext(stream)
    await tabular_store.delete_where(dataset, FilterSpec())
    rest = b"".join([chunk async for chunk in stream])
    assert (first + rest).count(b"\n") == 3000
    assert await tabular_store.count(dataset) == 0
