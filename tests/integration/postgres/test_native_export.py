"""PostgreSQL's native export text (COPY, the `NativeTextExport` fast path) is byte for byte what the
HTTP edge's writers make from the same store's typed row stream: over every field type, the
awkward values (NULL beside the empty string, quotes, separators, line breaks, COPY's end marker,
shortest floats, numeric scales, fractional timestamps, jsonb key order) and the values only SQL
can store (NaN, infinity, BC dates, years after 9999)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from psycopg import sql

from datainfra.adapters.http.formats.tabular import csv_text, ndjson_text
from datainfra.adapters.postgres import row_exports
from datainfra.adapters.postgres.identifiers import table_identifier
from datainfra.adapters.postgres.sql_filters import Compiled
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.domain.filters import filter_term, parse_filters
from datainfra.domain.model import Dataset
from datainfra.domain.ports import NativeTextExport
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.services.exports import ExportColumn
from tests.contract.conftest import new_session, tabular_dataset

pytestmark = [pytest.mark.postgres]

SCHEMA = {
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
TEXTS = [
    "",
    None,
    "plain",
    "\\.",
    "\\",
    'a "quoted" word',
    "a,b",
    "line\nbreak",
    "cr\rlf",
    "tab\there",
    " padded ",
    "ünïcode ✓ 😀",
    "\x01control\x1f",
    "'single'",
    "NULL",
    "\\N",
]
FLOATS = [1e20, 1.5e-07, 0.1, -0.0, 0.0, 1e-300, -1.7976931348623157e308, 1e15, 123456789012345.6, 1e-4, 5.0]
NUMERICS = ["1.50", "0.000", "-0.000001", "12345678901234567890.123456789012345678901234567890", "100", "1E+3", "7"]
TIMESTAMPS = [
    dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 4, 5, 6, 7, 500000, tzinfo=dt.UTC),
    dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    dt.datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
]
JSONS: list[Any] = [
    {"bb": 1, "a": 2, "ccc": {"zz": [], "y": {}}, "ü": '"q"\n', "é": None},
    [1, Decimal("2.50"), "x", None, True, False, {"k": "\\"}],
    "text",
    Decimal("1E+2"),
    0,
    {},
    [],
    "\x01\u2028",
]
SQL_ONLY = [  # (column, text): stored through SQL, as the query endpoint could
    ("f", "NaN"),
    ("f", "Infinity"),
    ("f", "-Infinity"),
    ("n", "NaN"),
    ("n", "Infinity"),
    ("n", "-Infinity"),
    ("d", "infinity"),
    ("d", "-infinity"),
    ("d", "0044-03-15 BC"),
    ("d", "12000-01-01"),
    ("ts", "infinity"),
    ("ts", "-infinity"),
    ("ts", "0044-03-15 05:00:00+00 BC"),
    ("ts", "12000-01-01 10:00:00.25+00"),
    # the edges of the one-to_char range of row_exports.TIMESTAMP_TEXT (years 1 to 9999)
    ("ts", "0001-12-31 23:59:59.999999+00 BC"),
    ("ts", "9999-12-31 23:59:59.999999+00"),
    ("ts", "10000-01-01 00:00:00+00"),
]


def rows() -> list[dict[str, Any]]:
    count = max(len(TEXTS), len(FLOATS), len(NUMERICS), len(TIMESTAMPS), len(JSONS))
    out: list[dict[str, Any]] = []
    for k in range(count):
        out.append(
            {
                "t": TEXTS[k % len(TEXTS)],
                "i": [0, -(2**63), 2**63 - 1, 42, None][k % 5],
                "f": FLOATS[k % len(FLOATS)],
                "n": Decimal(NUMERICS[k % len(NUMERICS)]),
                "b": [True, False, None][k % 3],
                "d": [dt.date(1999, 12, 31), dt.date(1, 1, 1), None, dt.date(9999, 12, 31)][k % 4],
                "ts": TIMESTAMPS[k % len(TIMESTAMPS)] if k % 6 else None,
                "j": JSONS[k % len(JSONS)] if k % 7 else None,
                "u": uuid.UUID(int=k * 0x1234_5678_9ABC_DEF0_1234) if k % 4 else None,
            }
        )
    out.append(dict.fromkeys(SCHEMA_NAMES))
    return out


SCHEMA_NAMES = [c["name"] for c in SCHEMA["columns"]]


async def bytes_of(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def columns(dataset: Dataset, query: RecordQuery) -> list[ExportColumn]:
    schema = dataset.tabular_schema
    names = query.select if query.select is not None else schema.column_names
    return [ExportColumn(name, schema.field_types[name]) for name in names]


@pytest.fixture
async def store_and_dataset(
    postgres_tabular_store_factory: Any, postgres_runtime: Any
) -> AsyncIterator[tuple[PostgresTabularStore, Dataset]]:
    async with postgres_tabular_store_factory() as store:
        session = new_session()
        await store.create_session_space(session)
        dataset = tabular_dataset(session, SCHEMA)
        await store.create_table(dataset)

        async def records() -> AsyncIterator[dict[str, Any]]:
            for row in rows():
                yield row

        await store.insert_records(dataset, records(), "error")
        pool = await postgres_runtime.pool()
        async with pool.connection() as conn:
            for name, text in SQL_ONLY:  # an untyped parameter: the server reads it as the column's type
                statement = sql.SQL("INSERT INTO {} ({}) VALUES (%s)")
                await conn.execute(statement.format(table_identifier(dataset), sql.Identifier(name)), [text])
        try:
            yield store, dataset
        finally:
            await store.drop_session_space(session)


QUERIES = [
    RecordQuery(sort=(SortKey("id"),)),
    *(RecordQuery(select=(name,), sort=(SortKey("id"),)) for name in SCHEMA_NAMES),
    RecordQuery(select=("u", "t", "id"), sort=(SortKey("t", descending=True), SortKey("id"))),
    # sorted by the columns exported as text: the order is still the values' own, not their text's
    RecordQuery(sort=(SortKey("ts"), SortKey("id"))),
    RecordQuery(select=("b", "ts"), sort=(SortKey("ts", descending=True), SortKey("b"), SortKey("id"))),
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(q.select or ("all",)))
async def test_copy_writes_what_the_edge_writers_write(
    store_and_dataset: tuple[PostgresTabularStore, Dataset], query: RecordQuery
) -> None:
    store, dataset = store_and_dataset
    assert isinstance(store, NativeTextExport)
    native_csv = await bytes_of(store.copy_out_csv(dataset, query))
    assert native_csv == await bytes_of(csv_text(columns(dataset, query), store.stream_rows(dataset, query)))
    native_ndjson = await bytes_of(store.copy_out_ndjson(dataset, query))
    assert native_ndjson == await bytes_of(ndjson_text(columns(dataset, query), store.stream_rows(dataset, query)))
    assert native_csv.count(b"\n") > len(rows())


async def test_a_filtered_export_agrees_too(store_and_dataset: tuple[PostgresTabularStore, Dataset]) -> None:
    store, dataset = store_and_dataset
    types = dataset.tabular_schema.field_types
    query = RecordQuery(
        filter=parse_filters([filter_term("t", "like:%a%"), filter_term("i", "is:notnull")], types),
        sort=(SortKey("f"), SortKey("id")),
    )
    native = await bytes_of(store.copy_out_csv(dataset, query))
    assert native == await bytes_of(csv_text(columns(dataset, query), store.stream_rows(dataset, query)))
    assert native.count(b"\n") > 1
    # NDJSON's row is a LATERAL subquery whose columns share the table's names: the filter and the
    # sort must still mean the table's columns.
    native_ndjson = await bytes_of(store.copy_out_ndjson(dataset, query))
    assert native_ndjson == await bytes_of(ndjson_text(columns(dataset, query), store.stream_rows(dataset, query)))
    assert native_ndjson.count(b"\n") > 1


async def test_exports_write_the_api_s_one_timestamp_form_and_true_false(
    store_and_dataset: tuple[PostgresTabularStore, Dataset],
) -> None:
    """Chosen on purpose (was COPY's own `2026-03-04 05:06:07.891011+00` and `t`/`f`): RFC 3339 in
    UTC with `Z`, no fraction or exactly 6 digits, the same in CSV and NDJSON; booleans true/false."""
    store, dataset = store_and_dataset
    query = RecordQuery(select=("ts", "b"), sort=(SortKey("id"),))
    csv_lines = (await bytes_of(store.copy_out_csv(dataset, query))).decode().splitlines()
    ndjson = (await bytes_of(store.copy_out_ndjson(dataset, query))).decode()
    expected = [
        "2026-03-04T05:06:07.891011Z",
        "2026-03-04T05:06:07.500000Z",
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00.000001Z",
        "2026-01-01T06:30:00Z",
        "infinity",
        "-infinity",
        "0044-03-15T05:00:00Z BC",
        "12000-01-01T10:00:00.250000Z",
        "0001-12-31T23:59:59.999999Z BC",
        "9999-12-31T23:59:59.999999Z",
        "10000-01-01T00:00:00Z",
    ]
    cells = {line.split(",")[0] for line in csv_lines[1:]}
    assert set(expected) <= cells
    assert all(f'"ts":"{text}"' in ndjson for text in expected)
    assert {line.split(",")[1] for line in csv_lines[1:] if "," in line} == {"true", "false", ""}
    assert "+00" not in "".join(csv_lines) + ndjson


@pytest.mark.parametrize("ndjson", [False, True], ids=["csv", "ndjson"])
async def test_the_export_text_does_not_depend_on_the_session_s_datestyle(
    store_and_dataset: tuple[PostgresTabularStore, Dataset], postgres_runtime: Any, ndjson: bool
) -> None:
    """A whole second is exported from the timestamp's ISO text; a server or session whose DateStyle
    is another changes nothing, because the export's transaction sets ISO itself."""
    store, dataset = store_and_dataset
    query = RecordQuery(sort=(SortKey("id"),))
    expected = await bytes_of(store.copy_out_ndjson(dataset, query) if ndjson else store.copy_out_csv(dataset, query))
    statement, params = row_exports.export_statement(dataset, query, Compiled(), ndjson=ndjson)
    pool = await postgres_runtime.pool()
    async with pool.connection() as conn:
        await conn.execute("SET DateStyle = 'SQL, DMY'")
        try:
            async with conn.transaction():
                await row_exports.begin_export(conn)
                got = b"".join([chunk async for chunk in row_exports.copy_out(conn, statement, params)])
        finally:
            await conn.execute("RESET DateStyle")
    assert got == expected
    assert b"T00:00:00Z" in got
