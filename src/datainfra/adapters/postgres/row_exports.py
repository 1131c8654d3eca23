"""Exporting every matching row of a tabular dataset's table: the typed row stream of the port
(a server-side cursor) and the native text of the `NativeTextExport` capability (`COPY ... TO
STDOUT`, about ten times as fast as formatting the typed rows in Python; held byte-equal to the
HTTP edge's writers by tests/integration/postgres/test_native_export.py).

Both run in the caller's read-only transaction with no statement time limit (the client's reading
paces them), but each answer from the server must come within the pool's answer deadline
(statement timeout + 5 s), so a server that stops mid-stream ends the stream. Closing a generator
early leaves its cursor or COPY block with an exception: psycopg cancels the statement and the
caller's transaction rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq, sql
from psycopg.abc import PQGen
from psycopg.generators import fetch_many
from psycopg.pq.abc import PGconn
from psycopg.waiting import Wait

from datainfra.adapters.postgres.identifiers import table_identifier
from datainfra.adapters.postgres.row_reads import selected_names, value_out
from datainfra.adapters.postgres.sql_filters import Compiled, column, order_by
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.model import Dataset
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.domain.types import FieldType

EXPORT_CHUNK = 64 * 1024
"""Bytes gathered from COPY's per-row messages before a chunk of an export is handed on."""
EXPORT_BATCH = 2000
"""Rows fetched from an export's server-side cursor at a time."""


async def begin_export(conn: psycopg.AsyncConnection[Any], *, snapshot: bool = False) -> None:
    """Make the caller's fresh transaction read-only, lift its statement time limit and fix the
    DateStyle `EXPORT_TIMESTAMP_TEXT` reads (ISO, whatever the server's default), in one
    simple-protocol round trip; with `snapshot`, every statement of the transaction also reads one
    snapshot (REPEATABLE READ: an export made of two statements)."""
    level = "ISOLATION LEVEL REPEATABLE READ " if snapshot else ""
    await conn.execute(
        f"SET TRANSACTION {level}READ ONLY; SET LOCAL statement_timeout = 0; SET LOCAL DateStyle = 'ISO'"
    )


async def stream_rows(
    conn: psycopg.AsyncConnection[Any], dataset: Dataset, query: RecordQuery, compiled: Compiled
) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
    """The matching rows as tuples of typed values, `EXPORT_BATCH` a fetch from a server-side
    cursor (one statement: one snapshot)."""
    selected = sql.SQL(", ").join(column(n) for n in selected_names(dataset, query))
    statement = (
        sql.SQL("SELECT {} FROM {}").format(selected, table_identifier(dataset))
        + compiled.where()
        + order_by(query.sort)
    )
    cur = conn.cursor(name="datainfra$export")
    try:
        await cur.execute(statement, compiled.params)
        while rows := await cur.fetchmany(EXPORT_BATCH):
            yield [tuple(value_out(value) for value in row) for row in rows]
    except pg_errors.InvalidEscapeSequence:
        raise InvalidRequest("a LIKE pattern must not end with a backslash") from None


_TIMESTAMP_ANY_TEXT = (
    "CASE WHEN isfinite({c}) THEN to_char({c} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {c}) = {c}"
    """ THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
    " || CASE WHEN {c} < '0001-01-01 00:00:00+00' THEN ' BC' ELSE '' END ELSE {c}::text END"
)
"""Any timestamptz in the API's one form: also the infinities, BC and years after 9999."""

TIMESTAMP_TEXT = (
    "CASE WHEN {c} >= '0001-01-01 00:00:00+00' AND {c} < '10000-01-01 00:00:00+00'"
    " THEN to_char({c} AT TIME ZONE 'UTC', CASE WHEN {c}::timestamptz(0) = {c}"
    """ THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
    " ELSE " + _TIMESTAMP_ANY_TEXT + " END"
)
"""A timestamptz in the API's one form (domain.value_text.timestamp_rfc3339; '0044-03-15T05:00:00Z BC'
before year 1, 'infinity' / '-infinity' as they are).

Years 1 to 9999 (two comparisons) take one `to_char`, whole seconds told by rounding to whole
seconds (`::timestamptz(0)`, integer arithmetic) rather than `date_trunc` (a calendar split); the rest
take `_TIMESTAMP_ANY_TEXT`. That costs the PostgreSQL backend ~0.31 s of CPU per 1M values where the
general form alone cost ~0.37 s (`timestamptz_out` itself: ~0.07 s); the two agree byte for byte
(tests/integration/postgres/test_native_export.py)."""

EXPORT_TIMESTAMP_TEXT = (
    "CASE WHEN {c} >= '0001-01-01 00:00:00+00' AND {c} < '10000-01-01 00:00:00+00'"
    " THEN CASE WHEN {c}::timestamptz(0) = {c} THEN replace(({c} AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z'"
    """ ELSE to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""
    " ELSE " + _TIMESTAMP_ANY_TEXT + " END"
)
"""`TIMESTAMP_TEXT` for the exports, whose transaction fixes DateStyle ISO (`begin_export`): a whole
second of years 1 to 9999 is the timestamp's own ISO text (`2026-01-02 03:04:05`) with `T` and `Z`,
which costs the backend ~0.2 s of CPU per 1M values where `to_char` costs ~0.3 s (its six
zero-padded numbers are printed one by one); a fraction keeps `to_char` (the ISO text trims the
fraction's zeros)."""

_BOOLEAN_TEXT = "CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END"
"""A boolean as true/false (NULL stays NULL): constants, where `::text` makes a new text per value."""


_ROW = sql.Identifier("datainfra$row")
"""The exported table's alias. Aliases hold `$`, which user column names cannot: a column never
shadows them."""


def row_column(name: str) -> sql.Composable:
    """Column `name` of the exported table, through its alias: the filter of an export is compiled
    with it (`compile_filter(field_sql=...)`), since in the NDJSON statement a bare name would also
    match the LATERAL row's output column of that name."""
    return sql.SQL("{}.{}").format(_ROW, column(name))


def _exported(name: str, field_type: FieldType | None, *, csv: bool) -> sql.Composable:
    """The SELECT item exporting column `name` under its own name: timestamps in the API's one
    text form, CSV booleans as true/false (COPY writes t/f)."""
    value = row_column(name)
    if field_type is FieldType.TIMESTAMP:
        value = sql.SQL(EXPORT_TIMESTAMP_TEXT).format(c=value)
    elif field_type is FieldType.BOOLEAN and csv:
        value = sql.SQL(_BOOLEAN_TEXT).format(c=value)
    return sql.SQL("{} AS {}").format(value, column(name))


def _order_by(sort: Sequence[SortKey]) -> sql.Composable:
    """`order_by` over the table's columns, named through its alias: a bare name would sort by the
    output column of that name, which is the text of a timestamp or boolean, not its value."""
    if not sort:
        return sql.SQL("")
    items = [
        row_column(key.field) + sql.SQL(" DESC NULLS FIRST" if key.descending else " ASC NULLS LAST") for key in sort
    ]
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(items)


def export_statement(
    dataset: Dataset, query: RecordQuery, compiled: Compiled, *, ndjson: bool
) -> tuple[sql.Composed, list[Any]]:
    """`COPY (SELECT ...) TO STDOUT` of every matching row (`compiled`: the filter compiled with
    `row_column`). NDJSON: one `row_to_json` per row, sent as CSV with quote and delimiter bytes
    that JSON text never holds (control characters are always escaped in it), so no line is ever
    quoted or escaped: each is the JSON text itself."""
    names = selected_names(dataset, query)
    types = dataset.tabular_schema.field_types
    fields = sql.SQL(", ").join(_exported(n, types.get(n), csv=not ndjson) for n in names)
    source = sql.SQL("{} AS {}").format(table_identifier(dataset), _ROW)
    if ndjson:
        # A LATERAL subquery is flattened into the scan (the whole-row value becomes a ROW() with
        # the same names); a scalar sub-SELECT per row cost the backend ~0.2 s per 1M rows more.
        obj = sql.Identifier("datainfra$obj")
        select = sql.SQL("SELECT row_to_json({}) FROM {} CROSS JOIN LATERAL (SELECT {}) AS {}").format(
            obj, source, fields, obj
        )
        options = sql.SQL("FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'")
    else:
        select = sql.SQL("SELECT {} FROM {}").format(fields, source)
        options = sql.SQL("FORMAT csv, HEADER")
    select += compiled.where() + _order_by(query.sort)
    return sql.SQL("COPY (") + select + sql.SQL(") TO STDOUT WITH (") + options + sql.SQL(")"), compiled.params


async def copy_out(
    conn: psycopg.AsyncConnection[Any], statement: sql.Composed, params: list[Any]
) -> AsyncGenerator[bytes, None]:
    """The COPY's output, the server's per-row messages gathered into chunks of about
    `EXPORT_CHUNK` bytes.

    The rows are taken from libpq by `_received` (every row already received, in one call), not one
    `Copy.read()` a row: each of those is a round through psycopg's wait machinery (a coroutine and
    two generators per row, a few µs), which cost more CPU than PostgreSQL's COPY itself. Each wait
    is still `conn.wait` (so the connection's answer deadline bounds it) and covers one answer of
    the server, however slowly matching rows trickle in."""
    buffer = bytearray()
    encoding = conn.info.encoding
    cur = conn.cursor()
    try:
        async with cur.copy(statement, params or None):
            ended = False
            while not ended:
                ended = await conn.wait(_received(conn.pgconn, buffer, EXPORT_CHUNK, encoding))
                if len(buffer) >= EXPORT_CHUNK:
                    yield bytes(buffer)
                    buffer.clear()
    except pg_errors.InvalidEscapeSequence:
        raise InvalidRequest("a LIKE pattern must not end with a backslash") from None
    if buffer:
        yield bytes(buffer)


def _received(pgconn: PGconn, buffer: bytearray, limit: int, encoding: str) -> PQGen[bool]:
    """Append the COPY data rows libpq holds to `buffer` until it holds `limit` bytes, reading what
    the socket already holds without waiting, and waiting for the server only while nothing came in
    this call; True when the COPY has ended, its final result read (an error there is raised, as
    psycopg's own `copy_from` does).

    libpq reads at most ~16 KiB a time: one `consume_input` more before giving up saves a round
    through the event loop (psycopg's wait: a reader, an event, a timeout) per 16 KiB whenever
    the server is ahead, which is the case that bounds an export's speed."""
    appended = False
    read_ahead = False
    while True:
        nbytes, data = pgconn.get_copy_data(1)
        if nbytes > 0:
            buffer += data
            appended = True
            read_ahead = False
            if len(buffer) >= limit:
                return False
        elif nbytes == 0:  # no whole row left in libpq's buffer
            if not read_ahead:
                read_ahead = True
                pgconn.consume_input()  # what the socket holds already (never blocks)
                continue
            if appended:
                return False
            while not (yield Wait.R):
                pass
            pgconn.consume_input()
        else:  # the end of the COPY (or an error the server sent instead of more rows)
            for result in (yield from fetch_many(pgconn)):
                if result.status != pq.ExecStatus.COMMAND_OK:
                    raise pg_errors.error_from_result(result, encoding=encoding)
            return True
