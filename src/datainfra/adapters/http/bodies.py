"""Streaming request bodies: CSV (the dialect of domain.csv_records: RFC 4180, header row,
PostgreSQL's NULL rule) and NDJSON, parsed record by record as the bytes arrive, so a bulk load
never holds the whole body in memory."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from decimal import Decimal
from typing import Any

import msgspec

from datainfra.adapters.http.encoding import check_depth
from datainfra.adapters.http.typed_records import typed_ndjson
from datainfra.domain.csv_records import csv_rows, line_batches, parse_csv_record
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.records import Record, RecordRows
from datainfra.domain.tabular_schema import TabularSchema

__all__ = ["csv_rows", "ndjson_record", "ndjson_rows", "parse_csv_record", "typed_ndjson_rows"]

_ndjson = msgspec.json.Decoder(float_hook=Decimal)


async def _lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[str]:
    """Text lines (without their "\n" and a trailing "\r") from a UTF-8 stream."""
    async for lines in line_batches(chunks):
        for line in lines:
            yield line.removesuffix("\r")


def ndjson_record(line: str, index: int) -> dict[str, Any]:
    """One non-blank NDJSON line → its object (400 naming the line's index otherwise)."""
    check_depth(line, f"line {index + 1}", index=index)
    try:
        value = _ndjson.decode(line)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"line {index + 1} is not valid JSON: {exc}", index=index) from None
    if not isinstance(value, dict):
        raise InvalidRequest("each NDJSON line must be a JSON object", index=index)
    return value


async def ndjson_rows(chunks: AsyncIterable[bytes]) -> AsyncIterator[dict[str, Any]]:
    """NDJSON body → one dict per non-empty line."""
    index = 0
    async for line in _lines(chunks):
        if not line.strip():
            continue
        yield ndjson_record(line, index)
        index += 1


def typed_ndjson_rows(schema: TabularSchema, chunks: AsyncIterable[bytes]) -> AsyncIterator[Record | RecordRows]:
    """NDJSON body → typed, complete records, a block of rows at a time (adapters/http/typed_records.py);
    a block of lines the typed decoder refuses is read line by line by `ndjson_record` and `coerce_record`, with their
    errors and indexes."""

    async def generic(block: bytes, index: int) -> AsyncIterator[Record]:
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("the body is not valid UTF-8") from None
        for line in text.split("\n"):
            line = line.removesuffix("\r")
            if not line.strip():
                continue
            yield schema.coerce_record(ndjson_record(line, index), index, fill_defaults=True)
            index += 1

    return typed_ndjson(schema, chunks, generic)
