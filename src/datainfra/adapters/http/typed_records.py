"""JSON and NDJSON record bodies decoded straight into typed records: one msgspec Struct type per
dataset schema (made once, cached by the columns' names, types, nullability and defaults), so
msgspec checks and types the values in C while it decodes.

The result is exactly what `TabularSchema.coerce_record(..., fill_defaults=True)` makes of the same
body, or nothing: msgspec's own types are used only where they read a JSON value as the domain does
(text, bounded integers, floats, booleans, `YYYY-MM-DD` dates); numeric, timestamp, uuid and json
values are taken as raw JSON text and read as the generic path reads them (numbers as exact
Decimals), then by the domain's own converters (`domain.types.JSON_COERCERS`). Whatever msgspec
refuses (a missing required field, an unknown one, a null where none may be, a `1e3` integer, a
date with spaces, a NUL character) sends the body (for NDJSON, the line) down the generic path,
which accepts it or names the index and field just as before.
tests/unit/http/test_typed_records.py holds the two paths to the same answers.
"""

from __future__ import annotations

import copy
import datetime as dt
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

import msgspec

from datainfra.adapters.http.encoding import check_depth
from datainfra.domain.records import Record
from datainfra.domain.tabular_schema import Column, TabularSchema
from datainfra.domain.types import INT64_MAX, INT64_MIN, JSON_COERCERS, FieldType

_FLOAT_MAX = sys.float_info.max


_RAW = (FieldType.NUMERIC, FieldType.TIMESTAMP, FieldType.UUID, FieldType.JSON)
"""Read as raw JSON text, then exactly as the generic path reads it (numbers as int or Decimal) and
converted by the domain's converter."""
_generic = msgspec.json.Decoder(float_hook=Decimal)
_NATIVE: dict[FieldType, Any] = {
    FieldType.TEXT: str,
    FieldType.INTEGER: Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)],
    FieldType.FLOAT: Annotated[float, msgspec.Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)],
    FieldType.BOOLEAN: bool,
    FieldType.DATE: dt.date,
}


class _Refused(Exception):
    """The typed decoder did not take the body: the generic path decides."""


@dataclass(frozen=True, slots=True)
class RecordDecoder:
    """The decoders of one schema: a bare array of records, `{"records", "on_conflict"}`, one line."""

    bare: msgspec.json.Decoder[Any]
    document: msgspec.json.Decoder[Any]
    line: msgspec.json.Decoder[Any]
    generated: str | None
    raw: tuple[tuple[str, Callable[[Any], Any], bool], ...]
    """(name, converter, nullable) of the columns read as raw JSON text."""

    def records(self, rows: Any) -> list[Record]:
        to_dict = msgspec.structs.asdict
        records = [to_dict(row) for row in rows]
        if self.raw:
            for record in records:
                self._convert(record)
        if self.generated is not None:
            name = self.generated
            for record in records:
                if record[name] is None:
                    del record[name]
        return records

    def _convert(self, record: Record) -> None:
        for name, convert, nullable in self.raw:
            raw = record[name]
            if not isinstance(raw, msgspec.Raw):
                continue  # the column's default
            value = _generic.decode(raw)
            if value is None:
                if not nullable:
                    raise _Refused
                record[name] = None
                continue
            try:
                record[name] = convert(value)
            except Exception:
                raise _Refused from None

    def decode(self, body: bytes) -> tuple[list[Record], str | None]:
        """The body's typed records and its on_conflict; `_Refused` when the generic path must decide."""
        if b"\\u0000" in body:  # NUL in a text value: msgspec would take it, the domain does not
            raise _Refused
        start = body.lstrip()[:1]
        try:
            if start == b"[":
                return self.records(self.bare.decode(body)), None
            document = self.document.decode(body)
            return self.records(document.records), document.on_conflict
        except Exception:  # msgspec's errors and the domain's converters' alike
            raise _Refused from None

    def decode_line(self, line: bytes | str) -> Record:
        if "\\u0000" in (line if isinstance(line, str) else line.decode("utf-8", "replace")):
            raise _Refused
        try:
            record = msgspec.structs.asdict(self.line.decode(line))
            if self.raw:
                self._convert(record)
        except Exception:
            raise _Refused from None
        if self.generated is not None and record[self.generated] is None:
            del record[self.generated]
        return record


def _field(column: Column) -> tuple[Any, ...]:
    if column.type in _RAW:  # null arrives raw too: `_convert` reads it
        annotation: Any = msgspec.Raw
        absent: Any = msgspec.Raw(b"null")
    else:
        base = _NATIVE[column.type]
        absent = None
        nullable = column.nullable or column.generated or column.default is not None
        annotation = base | None if nullable else base
    default = column.default
    if default is None:
        if not column.nullable and not column.generated:
            return (column.name, annotation)  # required
        return (column.name, annotation, absent)
    if isinstance(default, dict | list):
        return (column.name, annotation, msgspec.field(default_factory=lambda: copy.deepcopy(default)))
    return (column.name, annotation, default)


@lru_cache(maxsize=256)
def _decoder(schema: _Keyed) -> RecordDecoder:
    fields = [_field(c) for c in schema.columns]
    row = msgspec.defstruct("Record", fields, forbid_unknown_fields=True, kw_only=True)
    document = msgspec.defstruct(
        "Records",
        [("records", list[row]), ("on_conflict", Literal["error", "update", "ignore"] | None, None)],  # type: ignore[valid-type]
        forbid_unknown_fields=True,
        kw_only=True,
    )
    generated = next((c.name for c in schema.columns if c.generated), None)
    raw = tuple((c.name, JSON_COERCERS[c.type], c.nullable) for c in schema.columns if c.type in _RAW)
    return RecordDecoder(
        bare=msgspec.json.Decoder(list[row]),  # type: ignore[valid-type]
        document=msgspec.json.Decoder(document),
        line=msgspec.json.Decoder(row),
        generated=generated,
        raw=raw,
    )


def decoder_for(schema: TabularSchema) -> RecordDecoder:
    signature = tuple((c.name, c.type, c.nullable, c.generated, repr(c.default)) for c in schema.columns)
    return _decoder(_Keyed(schema, signature))


class _Keyed:
    """A schema compared by its signature (defaults may be unhashable values)."""

    __slots__ = ("columns", "signature")

    def __init__(self, schema: TabularSchema, signature: tuple[Any, ...]) -> None:
        self.columns = schema.columns
        self.signature = signature

    def __hash__(self) -> int:
        return hash(self.signature)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Keyed) and other.signature == self.signature


def typed_json(schema: TabularSchema, body: bytes) -> tuple[list[Record], str | None] | None:
    """A JSON records body (a bare array, or `{"records": [...], "on_conflict": ...}`) as typed,
    complete records and its on_conflict; None when the generic path must decide (which then
    accepts the same records or names the index and field at fault)."""
    if not body.strip():
        return None
    check_depth(body)
    try:
        return decoder_for(schema).decode(body)
    except _Refused:
        return None


async def typed_ndjson(
    schema: TabularSchema, lines: AsyncIterable[str], generic: Callable[[str, int], Record]
) -> AsyncIterator[Record]:
    """NDJSON lines → typed, complete records; a line the typed decoder refuses goes to `generic`
    (the edge's own decode and the schema's coerce_record, with their errors and index)."""
    decoder = decoder_for(schema)
    index = 0
    async for line in lines:
        if not line.strip():
            continue
        check_depth(line, f"line {index + 1}", index=index)
        try:
            record = decoder.decode_line(line)
        except _Refused:
            record = generic(line, index)
        yield record
        index += 1
