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
from psycopg import sql

from datainfra.adapters.postgres.identifiers import table_identifier
from datainfra.adapters.postgres.row_reads import selected_names, value_out
from datainfra.adapters.postgres.sql_filters import Compiled, column, order_by
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.model import Dataset
from datainfra.domain.query import RecordQuery

EXPORT_CHUNK = 64 * 1024
"""Bytes gathered from COPY's per-row messages before a chunk of an export is handed on."""
EXPORT_BATCH = 2000
"""Rows fetched from an export's server-side cursor at a time."""


async def begin_export(conn: psycopg.AsyncConnection[Any]) -> None:
    """Make the caller's fresh transaction read-only and lift its statement time limit."""
    await conn.execute("SET TRANSACTION READ ONLY")
    await conn.execute("SET LOCAL statement_timeout = 0")


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


def export_statement(
    dataset: Dataset, query: RecordQuery, compiled: Compiled, *, ndjson: bool
) -> tuple[sql.Composed, list[Any]]:
    """`COPY (SELECT ...) TO STDOUT` of every matching row. NDJSON: one `row_to_json` per row, sent
    as CSV with quote and delimiter bytes that JSON text never holds (control characters are
    always escaped in it), so no line is ever quoted or escaped: each is the JSON text itself."""
    names = selected_names(dataset, query)
    table = table_identifier(dataset)
    if ndjson:
        # Aliases hold `$`, which user column names cannot: a column never shadows them.
        row, obj = sql.Identifier("datainfra$row"), sql.Identifier("datainfra$obj")
        fields = sql.SQL(", ").join(sql.SQL("{}.{}").format(row, column(n)) for n in names)
        selected: sql.Composable = sql.SQL("(SELECT row_to_json({}) FROM (SELECT {}) AS {})").format(obj, fields, obj)
        source: sql.Composable = sql.SQL("{} AS {}").format(table, row)
        options = sql.SQL("FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'")
    else:
        selected = sql.SQL(", ").join(column(n) for n in names)
        source = table
        options = sql.SQL("FORMAT csv, HEADER")
    select = sql.SQL("SELECT {} FROM {}").format(selected, source) + compiled.where() + order_by(query.sort)
    return sql.SQL("COPY (") + select + sql.SQL(") TO STDOUT WITH (") + options + sql.SQL(")"), compiled.params


async def copy_out(
    conn: psycopg.AsyncConnection[Any], statement: sql.Composed, params: list[Any]
) -> AsyncGenerator[bytes, None]:
    """The COPY's output, the server's per-row messages gathered into chunks of about
    `EXPORT_CHUNK` bytes."""
    buffer = bytearray()
    cur = conn.cursor()
    try:
        async with cur.copy(statement, params or None) as copy:
            async for data in copy:
                buffer += data
                if len(buffer) >= EXPORT_CHUNK:
                    yield bytes(buffer)
                    buffer.clear()
    except pg_errors.InvalidEscapeSequence:
        raise InvalidRequest("a LIKE pattern must not end with a backslash") from None
    if buffer:
        yield bytes(buffer)
