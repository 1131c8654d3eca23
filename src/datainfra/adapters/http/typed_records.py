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
import functools
import operator
import re
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal, cast

import msgspec

from datainfra.adapters.http.encoding import check_depth
from datainfra.domain.json_depth import MAX_JSON_DEPTH, json_depth_exceeds
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
class _Shape:
    """One Struct type's decoders (a bare array of records, `{"records", "on_conflict"}`, one line)
    and the columns it leaves as raw JSON text: (name, converter, nullable)."""

    bare: msgspec.json.Decoder[Any]
    document: msgspec.json.Decoder[Any]
    line: msgspec.json.Decoder[Any]
    raw: tuple[tuple[str, Callable[[Any], Any], bool], ...]


_DIGITS = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_RUN = b"0" * 41
"""No run of 41 digits in a body: a number in it has at most 80 significant digits."""


@dataclass(frozen=True, slots=True)
class RecordDecoder:
    """The decoders of one schema. `native` types numeric columns in C (msgspec's Decimal, exact
    from a JSON number): used when `strings` finds no numeric column given a JSON string (which
    Python's Decimal reads more leniently than the domain: `1_000`, `NaN`) and the numbers' sizes
    are checked cheaply; `exact` reads numeric columns as raw text like the generic path."""

    native: _Shape | None
    exact: _Shape
    strings: re.Pattern[bytes] | None
    numeric: tuple[str, ...]
    generated: str | None
    nests: bool
    """Whether a column is json: only then can a body the typed decoder takes nest deeper than the
    records themselves (other values are scalars, or raw text a converter refuses when nested), so
    only then is the body's depth measured before decoding; otherwise a too-deep body is refused by
    msgspec (a type error, or its own RecursionError on a skipped raw value) and the generic path,
    which measures it, names it."""

    def _shape(self, text: bytes) -> _Shape:
        if self.native is None:
            return self.exact
        if self.strings is not None and self.strings.search(text):
            return self.exact
        if len(text) > 40 and _LONG_RUN in text.translate(_DIGITS):
            return self.exact
        return self.native

    def records(self, rows: Any, shape: _Shape) -> list[Record]:
        to_dict = msgspec.structs.asdict
        records = [to_dict(row) for row in rows]
        if shape.raw:
            for record in records:
                _convert(record, shape.raw)
        if shape is self.native:
            self._check_numbers(records)
        if self.generated is not None:
            name = self.generated
            for record in records:
                if record[name] is None:
                    del record[name]
        return records

    def _check_numbers(self, records: list[Record]) -> None:
        """Numeric's digit limits, as the domain checks them, for values msgspec read: a body without
        a 41-digit run holds numbers of at most 80 digits, so only a value whose magnitude is near a
        limit needs the full check, and only a negative one can be an integer -0. Each column's
        magnitudes and signs are looked at in C-speed passes; a column with a value near a limit or
        a negative one is then checked record by record."""
        for name in self.numeric:
            values = list(filter(_not_none, map(operator.itemgetter(name), records)))
            if not values:
                continue
            magnitudes = list(map(Decimal.adjusted, values))
            if min(magnitudes) >= -16_000 and max(magnitudes) <= 131_000 and not any(map(Decimal.is_signed, values)):
                continue
            for record in records:
                _check_number(record, name)

    def decode(self, body: bytes) -> tuple[list[Record], str | None]:
        """The body's typed records and its on_conflict; `_Refused` when the generic path must decide."""
        if b"\\u0000" in body:  # NUL in a text value: msgspec would take it, the domain does not
            raise _Refused
        start = body.lstrip()[:1]
        shape = self._shape(body)
        try:
            if start == b"[":
                return self.records(shape.bare.decode(body), shape), None
            document = shape.document.decode(body)
            return self.records(document.records, shape), document.on_conflict
        except Exception:  # msgspec's errors and the domain's converters' alike
            raise _Refused from None

    def decode_block(self, block: bytes) -> list[Record] | None:
        """The records of complete NDJSON lines, one object per line; None when the generic path
        must read them (a blank line, two objects on a line, anything the typed decoder refuses)."""
        if b"\\u0000" in block or _TWO_ON_A_LINE.search(block):
            return None
        if self.nests and json_depth_exceeds(block, MAX_JSON_DEPTH):
            return None
        shape = self._shape(block)
        try:
            rows = shape.line.decode_lines(block)
            if len(rows) != block.count(b"\n"):
                return None
            return self.records(rows, shape)
        except Exception:
            return None


_not_none = functools.partial(operator.is_not, None)


def _check_number(record: Record, name: str) -> None:
    value = cast("Decimal | None", record[name])  # msgspec reads a numeric field as Decimal
    if value is None:
        return
    magnitude = value.adjusted()
    if magnitude < -16_000 or magnitude > 131_000:
        JSON_COERCERS[FieldType.NUMERIC](value)
    elif not value and value.is_signed() and value.as_tuple().exponent == 0:
        record[name] = Decimal(0)  # an integer -0: an int to the generic path, so 0


def _convert(record: Record, raw_columns: tuple[tuple[str, Callable[[Any], Any], bool], ...]) -> None:
    for name, convert, nullable in raw_columns:
        raw = record[name]
        if not isinstance(raw, msgspec.Raw):
            continue  # the column's default
        value = _generic.decode(raw)
        if value is None:
            if not nullable:
                raise _Refused
            record[name] = None
            continue
        record[name] = convert(value)


def _field(column: Column, native_numeric: bool) -> tuple[Any, ...]:
    if column.type in _RAW and not (native_numeric and column.type is FieldType.NUMERIC):
        annotation: Any = msgspec.Raw  # null arrives raw too: `_convert` reads it
        absent: Any = msgspec.Raw(b"null")
    else:
        base = Decimal if column.type is FieldType.NUMERIC else _NATIVE[column.type]
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


def _shape_of(columns: tuple[Column, ...], native_numeric: bool) -> _Shape:
    row = msgspec.defstruct(
        "Record", [_field(c, native_numeric) for c in columns], forbid_unknown_fields=True, kw_only=True
    )
    document = msgspec.defstruct(
        "Records",
        [("records", list[row]), ("on_conflict", Literal["error", "update", "ignore"] | None, None)],  # type: ignore[valid-type]
        forbid_unknown_fields=True,
        kw_only=True,
    )
    raw = tuple(
        (c.name, JSON_COERCERS[c.type], c.nullable)
        for c in columns
        if c.type in _RAW and not (native_numeric and c.type is FieldType.NUMERIC)
    )
    return _Shape(
        bare=msgspec.json.Decoder(list[row]),  # type: ignore[valid-type]
        document=msgspec.json.Decoder(document),
        line=msgspec.json.Decoder(row),
        raw=raw,
    )


@lru_cache(maxsize=256)
def _decoder(schema: _Keyed) -> RecordDecoder:
    columns = schema.columns
    numeric = tuple(c.name for c in columns if c.type is FieldType.NUMERIC)
    strings = None
    if numeric:
        names = b"|".join(re.escape(n.encode()) for n in numeric)
        # Also matches such a key-like text inside a string value: that only costs the exact path.
        strings = re.compile(rb'"(?:' + names + rb')"\s*:\s*"')
    return RecordDecoder(
        native=_shape_of(columns, True) if numeric else None,
        exact=_shape_of(columns, False),
        strings=strings,
        numeric=numeric,
        generated=next((c.name for c in columns if c.generated), None),
        nests=any(c.type is FieldType.JSON for c in columns),
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
    decoder = decoder_for(schema)
    if decoder.nests:
        check_depth(body)
    try:
        return decoder.decode(body)
    except _Refused:
        return None


_TWO_ON_A_LINE = re.compile(rb"}[ \t\r]*{")
_BOM = b"\xef\xbb\xbf"


async def typed_ndjson(
    schema: TabularSchema, chunks: AsyncIterable[bytes], generic: Callable[[bytes, int], AsyncIterator[Record]]
) -> AsyncIterator[Record]:
    """NDJSON body → typed, complete records. The complete lines of each chunk are decoded at once
    (`decode_lines`) when they are exactly one object per line and the typed decoder takes them all;
    otherwise that block goes to `generic(block, index)` (the edge's own line reader and the schema's
    coerce_record, with their errors and indexes)."""
    decoder = decoder_for(schema)
    index = 0
    pending = b""
    first = True
    async for chunk in chunks:
        data = pending + chunk if pending else chunk
        if first and len(data) >= len(_BOM):
            data = data.removeprefix(_BOM)
            first = False
        cut = data.rfind(b"\n") + 1
        pending = data[cut:]
        if not cut:
            continue
        block = data[:cut]
        records = decoder.decode_block(block)
        if records is None:
            async for record in generic(block, index):
                yield record
                index += 1
            continue
        for record in records:
            yield record
        index += len(records)
    if first:
        pending = pending.removeprefix(_BOM)
    if pending.strip():
        async for record in generic(pending, index):
            yield record
