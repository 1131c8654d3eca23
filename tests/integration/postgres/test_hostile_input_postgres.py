"""Property tests: any valid name and any value of every type round-trip exactly; hostile names and
values are data or refused, never executed."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.domain.errors import DomainError, InvalidInput
from datainfra.domain.filters import filter_term, parse_filters
from datainfra.domain.names import NAME_PATTERN, is_valid_name
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.domain.records import OnConflict
from datainfra.domain.tabular_schema import Column, TabularSchema
from datainfra.domain.types import INT64_MAX, INT64_MIN, FieldType
from tests.integration.postgres.conftest import dataset_for, new_session, stream

pytestmark = pytest.mark.postgres

RESERVED = ["select", "SELECT", "from", "Order", "user", "table", "group", "end", "desc", "limit", "id_", "Id", "_"]
names = st.one_of(st.sampled_from(RESERVED), st.from_regex(NAME_PATTERN, fullmatch=True)).filter(
    lambda n: is_valid_name(n) and n != "id"
)
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
hostile_text = st.sampled_from(["'; DROP TABLE items; --", '"', "\\", "/* x */", "$$", "a'b\"c", "%_", "E'\\x00'"])
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    text,
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)
VALUES: dict[FieldType, st.SearchStrategy[Any]] = {
    FieldType.TEXT: st.one_of(text, hostile_text),
    FieldType.INTEGER: st.integers(INT64_MIN, INT64_MAX),
    FieldType.FLOAT: st.floats(allow_nan=False, allow_infinity=False),
    FieldType.NUMERIC: st.decimals(
        allow_nan=False, allow_infinity=False, min_value=Decimal("-1e30"), max_value=Decimal("1e30")
    ),
    FieldType.BOOLEAN: st.booleans(),
    FieldType.DATE: st.dates(),
    FieldType.TIMESTAMP: st.datetimes(timezones=st.just(dt.UTC)),
    FieldType.JSON: json_value,
    FieldType.UUID: st.uuids(),
}


@st.composite
def tables(draw: st.DrawFn) -> tuple[TabularSchema, list[dict[str, Any]]]:
    column_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    types = [draw(st.sampled_from(list(FieldType))) for _ in column_names]
    declared = [Column(n, t) for n, t in zip(column_names, types, strict=True)]
    columns = (Column("id", FieldType.INTEGER, nullable=False, generated=True), *declared)
    schema = TabularSchema(columns=columns, primary_key=("id",))
    rows = draw(
        st.lists(
            st.fixed_dictionaries(
                {n: st.one_of(st.none(), VALUES[t]) for n, t in zip(column_names, types, strict=True)}
            ),
            min_size=1,
            max_size=5,
        )
    )
    return schema, rows


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and str(a) == str(b)  # keeps -0.0 apart from 0.0
    return bool(a == b)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(table=tables(), mode=st.sampled_from(list(OnConflict)))
async def test_any_valid_names_and_values_round_trip_exactly(
    postgres_pool: Any, table: tuple[TabularSchema, list[dict[str, Any]]], mode: OnConflict
) -> None:
    schema, rows = table
    store = PostgresTabularStore(postgres_pool, PostgresUserRoles(postgres_pool))
    session = new_session()
    await store.create_session_space(session)
    try:
        dataset = dataset_for(session, schema, name=schema.columns[-1].name)
        await store.create_table(dataset)
        result = await store.insert_records(dataset, stream(rows), mode)
        assert result.inserted == len(rows)
        page = await store.query(dataset, RecordQuery(sort=(SortKey("id"),), limit=100))
        assert [r["id"] for r in page.items] == list(range(1, len(rows) + 1))
        for got, sent in zip(page.items, rows, strict=True):
            for name, value in sent.items():
                assert _same(got[name], value), (name, got[name], value)
        for column in schema.columns[1:]:
            if column.type is FieldType.TEXT:
                for value in {r[column.name] for r in rows if r[column.name] is not None}:
                    spec = parse_filters([filter_term(column.name, "eq:" + value)], schema.field_types)
                    found = await store.query(dataset, RecordQuery(filter=spec, limit=100))
                    assert len(found.items) == sum(1 for r in rows if r[column.name] == value)
    finally:
        await store.drop_session_space(session)


HOSTILE_NAMES = ['a"b', "a;b", "x; DROP TABLE t", "a--b", "a/*b*/", "a\x00b", "pg_catalog", "", "1a", "a b", "é"]


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
async def test_hostile_names_are_refused_before_any_sql(postgres_pool: Any, hostile: str) -> None:
    store = PostgresTabularStore(postgres_pool, PostgresUserRoles(postgres_pool))
    session = new_session()
    await store.create_session_space(session)
    try:
        as_table = dataset_for(session, TabularSchema((Column("v", FieldType.TEXT),), primary_key=("v",)), name=hostile)
        with pytest.raises(InvalidInput):
            await store.create_table(as_table)
        as_column = dataset_for(
            session, TabularSchema((Column(hostile, FieldType.TEXT, nullable=False),), primary_key=(hostile,))
        )
        with pytest.raises(InvalidInput):
            await store.create_table(as_column)
        good = dataset_for(session, TabularSchema((Column("v", FieldType.TEXT, nullable=False),), primary_key=("v",)))
        await store.create_table(good)
        with pytest.raises(DomainError):
            await store.insert_records(good, stream([{hostile: "x"}]), OnConflict.ERROR)
        with pytest.raises(DomainError):
            await store.query(good, RecordQuery(select=(hostile,)))
        assert await store.count(good) == 0
    finally:
        await store.drop_session_space(session)


async def test_nul_in_text_is_refused_and_nothing_is_kept(postgres_pool: Any) -> None:
    store = PostgresTabularStore(postgres_pool, PostgresUserRoles(postgres_pool))
    session = new_session()
    await store.create_session_space(session)
    try:
        dataset = dataset_for(
            session, TabularSchema((Column("v", FieldType.TEXT, nullable=False),), primary_key=("v",))
        )
        await store.create_table(dataset)
        with pytest.raises(InvalidInput) as caught:
            await store.insert_records(dataset, stream([{"v": "ok"}, {"v": "a\x00b"}]), OnConflict.ERROR)
        assert caught.value.index == 1
        assert await store.count(dataset) == 0
        assert str(uuid.uuid4())  # the store is still usable
        await store.insert_records(dataset, stream([{"v": "ok"}]), OnConflict.ERROR)
        assert await store.count(dataset) == 1
    finally:
        await store.drop_session_space(session)
