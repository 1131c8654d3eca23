"""The tabular export formats, CSV and NDJSON, written once here from the typed rows a TabularStore
streams; a store that writes the very same bytes itself, faster (PostgreSQL's COPY: the
`NativeTextExport` capability), is used instead.

CSV is what `COPY ... TO STDOUT (FORMAT csv, HEADER)` writes: a header row of column names; LF line
ends; NULL is an unquoted empty field; a value is quoted (inner quotes doubled) when it is empty,
holds a comma, quote, CR or LF, or is a lone backslash-dot (COPY's end marker) in a one-column
export. NDJSON is one compact object per row as `row_to_json` writes it: keys in column order, no
spaces, LF after every object, never a raw line break inside one. Values take the text forms of
`domain.value_text` (booleans true/false in both; timestamps in both the API's one RFC 3339 form,
`2026-01-02T03:04:05Z` or `...05.500000Z`, which pandas' read_csv/to_datetime parses as is); a
value the store could only hand over as text (NaN, infinity, a date after year 9999) is written as
that text (a JSON string in NDJSON).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Any

from datainfra.adapters.http.formats.jsonlines import TARGET_CHUNK
from datainfra.domain.model import Dataset
from datainfra.domain.query import RecordQuery
from datainfra.domain.types import FieldType
from datainfra.domain.value_text import (
    float_text,
    json_text,
    numeric_text,
    timestamp_rfc3339,
)
from datainfra.services.exports import ExportColumn, ExportService

TABULAR_TEXT_FORMATS = ("csv", "ndjson")
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')

Rows = AsyncIterable[Sequence[Sequence[Any]]]
"""Batches of rows, each row the typed values of the exported columns in order."""


def tabular_text(exports: ExportService, dataset: Dataset, query: RecordQuery, fmt: str) -> AsyncIterator[bytes]:
    """The export of `dataset` in `fmt` (csv or ndjson): the store's own bytes where it writes them,
    else the writers below over its typed rows."""
    native = exports.native_text(dataset, query, fmt)
    if native is not None:
        return native
    columns = exports.columns(dataset, query)
    rows = exports.rows(dataset, query)
    return csv_text(columns, rows) if fmt == "csv" else ndjson_text(columns, rows)


@contextlib.asynccontextmanager
async def _closing(rows: Rows) -> AsyncIterator[None]:
    """Close the row stream when the writer ends, also early: that frees the store's connection
    now rather than whenever the abandoned generator is collected."""
    try:
        yield
    finally:
        close = getattr(rows, "aclose", None)
        if close is not None:
            await close()


async def csv_text(columns: Sequence[ExportColumn], rows: Rows) -> AsyncIterator[bytes]:
    single = len(columns) == 1
    cells = [_CSV_CELL[column.type] for column in columns]
    chunk = [",".join(_csv_quoted(column.name, single) for column in columns) + "\n"]
    size = 0
    async with _closing(rows):
        async for batch in rows:
            for row in batch:
                line = (
                    ",".join(
                        "" if value is None else _csv_quoted(cell(value), single)
                        for cell, value in zip(cells, row, strict=True)
                    )
                    + "\n"
                )
                chunk.append(line)
                size += len(line)
            if size >= TARGET_CHUNK:
                yield "".join(chunk).encode()
                chunk, size = [], 0
    if chunk:
        yield "".join(chunk).encode()


async def ndjson_text(columns: Sequence[ExportColumn], rows: Rows) -> AsyncIterator[bytes]:
    fields = [(json.dumps(column.name, ensure_ascii=False) + ":", _JSON_VALUE[column.type]) for column in columns]
    chunk: list[str] = []
    size = 0
    async with _closing(rows):
        async for batch in rows:
            for row in batch:
                body = ",".join(
                    key + ("null" if value is None else write(value))
                    for (key, write), value in zip(fields, row, strict=True)
                )
                line = "{" + body + "}\n"
                chunk.append(line)
                size += len(line)
            if size >= TARGET_CHUNK:
                yield "".join(chunk).encode()
                chunk, size = [], 0
    if chunk:
        yield "".join(chunk).encode()


def _csv_quoted(text: str, single: bool) -> str:
    if text == "" or _NEEDS_QUOTES.search(text) is not None or (single and text == "\\."):
        return '"' + text.replace('"', '""') + '"'
    return text


def _as_text(write: Callable[[Any], str]) -> Callable[[Any], str]:
    """`write` for typed values; a value already in its text form (see the module docstring) as is."""
    return lambda value: value if isinstance(value, str) else write(value)


def _as_json_string(write: Callable[[Any], str]) -> Callable[[Any], str]:
    """`write` for typed values; a value in its text form as a JSON string."""
    return lambda value: _json_string(value) if isinstance(value, str) else write(value)


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


_CSV_CELL: dict[FieldType, Callable[[Any], str]] = {
    FieldType.TEXT: str,
    FieldType.INTEGER: str,
    FieldType.FLOAT: _as_text(float_text),
    FieldType.NUMERIC: _as_text(numeric_text),
    FieldType.BOOLEAN: lambda value: "true" if value else "false",
    FieldType.DATE: _as_text(lambda value: value.isoformat()),
    FieldType.TIMESTAMP: _as_text(timestamp_rfc3339),
    FieldType.JSON: json_text,
    FieldType.UUID: str,
}
_JSON_VALUE: dict[FieldType, Callable[[Any], str]] = {
    FieldType.TEXT: _json_string,
    FieldType.INTEGER: str,
    FieldType.FLOAT: _as_json_string(float_text),
    FieldType.NUMERIC: _as_json_string(numeric_text),
    FieldType.BOOLEAN: lambda value: "true" if value else "false",
    FieldType.DATE: _as_json_string(lambda value: '"' + value.isoformat() + '"'),
    FieldType.TIMESTAMP: _as_json_string(lambda value: '"' + timestamp_rfc3339(value) + '"'),
    FieldType.JSON: json_text,
    FieldType.UUID: lambda value: '"' + str(value) + '"',
}
