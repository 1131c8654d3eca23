"""The single-record part of the TabularStore contract (get_by_key, update_record, delete_record)
over every adapter: the same content gives the same ETag in every store, and a conditional write
is one atomic check-and-write, so of two concurrent writers holding the same tag exactly one wins."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from datainfra.domain.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from datainfra.domain.record_versions import IfMatch, record_etag
from tests.contract.test_tabular_store_contract import ALL_TYPES, ITEMS, ROUND_TRIP, make, rows_of

READINGS = {
    "columns": [
        {"name": "city", "type": "text", "nullable": False},
        {"name": "day", "type": "date", "nullable": False},
        {"name": "temp", "type": "numeric"},
    ],
    "primary_key": ["city", "day"],
}


def _set(**values: Any) -> Any:
    return lambda _current: dict(values)


async def test_get_by_key_returns_the_whole_record_or_none(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS, [{"sku": "a", "qty": 1, "email": "a@x"}])
    assert await tabular_store.get_by_key(dataset, {"sku": "a"}) == {"sku": "a", "qty": 1, "email": "a@x"}
    assert await tabular_store.get_by_key(dataset, {"sku": "b"}) is None


async def test_every_type_gives_the_tag_of_the_values_written(tabular_store: Any) -> None:
    """The tag is computed from what the store hands back, and that is what was written: so the
    same content has the same tag whichever store holds it."""
    dataset = await make(tabular_store, ALL_TYPES, ROUND_TRIP)
    schema = dataset.tabular_schema
    for row, written in zip(await rows_of(tabular_store, dataset), ROUND_TRIP, strict=True):
        stored = await tabular_store.get_by_key(dataset, {"id": row["id"]})
        assert record_etag(schema, stored) == record_etag(schema, {"id": row["id"], **written})


async def test_composite_keys(tabular_store: Any) -> None:
    day = dt.date(2024, 1, 31)
    dataset = await make(
        tabular_store,
        READINGS,
        [{"city": "Paris", "day": day, "temp": Decimal("3.5")}, {"city": "Lyon", "day": day, "temp": None}],
    )
    updated = await tabular_store.update_record(dataset, {"city": "Lyon", "day": day}, _set(temp=Decimal(4)), None)
    assert updated == {"city": "Lyon", "day": day, "temp": Decimal(4)}
    assert (await tabular_store.get_by_key(dataset, {"city": "Paris", "day": day}))["temp"] == Decimal("3.5")
    await tabular_store.delete_record(dataset, {"city": "Paris", "day": day}, None)
    assert [r["city"] for r in await rows_of(tabular_store, dataset)] == ["Lyon"]


async def test_update_record_checks_the_tag_then_writes(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS, [{"sku": "a", "qty": 1, "email": "a@x"}])
    schema = dataset.tabular_schema
    tag = record_etag(schema, await tabular_store.get_by_key(dataset, {"sku": "a"}))
    seen: list[dict[str, Any]] = []

    def change(current: dict[str, Any]) -> dict[str, Any]:
        seen.append(current)
        return {"qty": current["qty"] + 1}

    written = await tabular_store.update_record(dataset, {"sku": "a"}, change, IfMatch(tags=frozenset({tag})))
    assert written == {"sku": "a", "qty": 2, "email": "a@x"} and seen == [{"sku": "a", "qty": 1, "email": "a@x"}]
    with pytest.raises(PreconditionFailed):
        await tabular_store.update_record(dataset, {"sku": "a"}, _set(qty=9), IfMatch(tags=frozenset({tag})))
    with pytest.raises(PreconditionFailed):
        await tabular_store.delete_record(dataset, {"sku": "a"}, IfMatch(tags=frozenset({tag})))
    assert await tabular_store.get_by_key(dataset, {"sku": "a"}) == written
    fresh = IfMatch(tags=frozenset({record_etag(schema, written)}))
    await tabular_store.delete_record(dataset, {"sku": "a"}, fresh)
    assert await tabular_store.get_by_key(dataset, {"sku": "a"}) is None


async def test_absent_records(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS)
    with pytest.raises(NotFound):
        await tabular_store.update_record(dataset, {"sku": "x"}, _set(qty=1), None)
    with pytest.raises(NotFound):
        await tabular_store.delete_record(dataset, {"sku": "x"}, None)
    with pytest.raises(PreconditionFailed):
        await tabular_store.update_record(dataset, {"sku": "x"}, _set(qty=1), IfMatch(any=True))
    assert await rows_of(tabular_store, dataset) == []


async def test_update_record_refuses_null_and_unique_clashes_and_keeps_the_row(tabular_store: Any) -> None:
    schema = {
        "columns": [*ITEMS["columns"][:1], {"name": "qty", "type": "integer", "nullable": False}, ITEMS["columns"][2]]
    }
    schema = {**ITEMS, "columns": schema["columns"]}
    dataset = await make(
        tabular_store, schema, [{"sku": "a", "qty": 1, "email": "a@x"}, {"sku": "b", "qty": 2, "email": "b@x"}]
    )
    with pytest.raises(InvalidInput):
        await tabular_store.update_record(dataset, {"sku": "a"}, _set(qty=None), None)
    with pytest.raises(Conflict):
        await tabular_store.update_record(dataset, {"sku": "a"}, _set(email="b@x"), None)
    assert await tabular_store.get_by_key(dataset, {"sku": "a"}) == {"sku": "a", "qty": 1, "email": "a@x"}


async def test_two_concurrent_writers_with_the_same_tag_exactly_one_wins(tabular_store: Any) -> None:
    dataset = await make(tabular_store, ITEMS, [{"sku": "a", "qty": 0, "email": None}])
    schema = dataset.tabular_schema
    expected = IfMatch(tags=frozenset({record_etag(schema, await tabular_store.get_by_key(dataset, {"sku": "a"}))}))
    for round_ in range(5):
        writers = [
            tabular_store.update_record(dataset, {"sku": "a"}, _set(qty=100 * round_ + n, email=f"{n}@x"), expected)
            for n in (1, 2)
        ]
        outcomes = await asyncio.gather(*writers, return_exceptions=True)
        won = [o for o in outcomes if isinstance(o, dict)]
        lost = [o for o in outcomes if isinstance(o, PreconditionFailed)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert await tabular_store.get_by_key(dataset, {"sku": "a"}) == won[0]  # nothing of the loser stored
        expected = IfMatch(tags=frozenset({record_etag(schema, won[0])}))


def test_tags_differ_by_type_and_value() -> None:
    from datainfra.domain.tabular_schema import parse_tabular_schema

    schema = parse_tabular_schema({"columns": [{"name": "v", "type": "json"}]})
    tags = {
        record_etag(schema, {"id": 1, "v": value})
        for value in (1, "1", True, None, Decimal("1.0"), [1], {"a": 1}, {"a": "1"}, uuid.UUID(int=1))
    }
    assert len(tags) == 9
    assert record_etag(schema, {"id": 1, "v": {"a": 1, "b": 2}}) == record_etag(
        schema, {"id": 1, "v": {"b": 2, "a": 1}}
    )
