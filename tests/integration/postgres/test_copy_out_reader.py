"""The native export's COPY reader (row_exports.copy_out) over many chunks: it takes every row libpq
holds per wait, so these pin that no row is lost, doubled or reordered at chunk and read
boundaries, that chunks stay bounded, and that an error PostgreSQL raises mid-COPY, after rows
went out, still reaches the caller with its own class."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import errors as pg_errors
from psycopg import sql

from datainfra.adapters.postgres import row_exports

pytestmark = [pytest.mark.postgres]

ROWS = 40_000
LONGEST = 299


def _row(g: int) -> str:
    text = chr(97 + g % 26) * (g % (LONGEST + 1))
    return f"{g},{text or chr(34) * 2}\n"  # COPY quotes the empty string: ""


_STATEMENT = sql.SQL(
    "COPY (SELECT g, repeat(chr(97 + g % 26), g % {}) FROM generate_series(1, {}) AS g) TO STDOUT WITH (FORMAT csv)"
).format(sql.Literal(LONGEST + 1), sql.Literal(ROWS))


async def _chunks(conn: Any, statement: sql.Composed) -> list[bytes]:
    return [chunk async for chunk in row_exports.copy_out(conn, statement, [])]


async def test_every_row_arrives_once_in_order_in_bounded_chunks(postgres_runtime: Any) -> None:
    pool = await postgres_runtime.pool()
    async with pool.connection() as conn, conn.transaction():
        chunks = await _chunks(conn, _STATEMENT)
    assert b"".join(chunks) == "".join(_row(g) for g in range(1, ROWS + 1)).encode()
    assert len(chunks) > 50
    longest_row = len(_row(LONGEST))
    for chunk in chunks[:-1]:
        assert row_exports.EXPORT_CHUNK <= len(chunk) < row_exports.EXPORT_CHUNK + longest_row
        assert chunk.endswith(b"\n")


async def test_an_error_after_rows_went_out_reaches_the_caller(postgres_runtime: Any) -> None:
    statement = sql.SQL(
        "COPY (SELECT CASE WHEN g < {} THEN repeat('x', 100) ELSE (1 / (g - g))::text END"
        " FROM generate_series(1, {}) AS g) TO STDOUT WITH (FORMAT csv)"
    ).format(sql.Literal(ROWS // 2), sql.Literal(ROWS))
    pool = await postgres_runtime.pool()
    received: list[bytes] = []
    async with pool.connection() as conn:
        with pytest.raises(pg_errors.DivisionByZero):
            async with conn.transaction():
                async for chunk in row_exports.copy_out(conn, statement, []):
                    received.append(chunk)
        assert len(received) > 10  # the error came mid-stream, after whole chunks
        assert all(chunk.endswith(b"\n") for chunk in received)
        assert set(b"".join(received).splitlines()) == {b"x" * 100}
        # the connection is usable again: the COPY's end was read, the transaction rolled back
        async with conn.transaction():
            again = await _chunks(conn, _STATEMENT)
    assert b"".join(again).count(b"\n") == ROWS
