"""JSON and NDJSON record bodies decoded straight into typed rows: one msgspec Struct type per
dataset schema (made once, cached by the columns' names, types, nullability and defaults), so
msgspec checks and types the values in C while it decodes, and the rows are read off the Structs
column by column (no dict per record).

The result is exactly what `TabularSchema.coerce_record(..., fill_defaults=True)` makes of the same
body, or nothing: msgspec's own types are used only where they read a JSON value as the domain does
(text, bounded integers, floats, booleans, `YYYY-MM-DD` dates); numeric, timestamp, uuid and json
values are decoded untyped exactly as the generic path decodes them (numbers as int or exact
Decimal), then given to the domain's own converters (`domain.types.JSON_COERCERS`), a whole column
at a time: a numeric column of JSON numbers needs no per-value call at all, since its Decimals are
made under a context that refuses any number the domain's numeric would not take as it is. Whatever
msgspec refuses (a missing required field, an unknown one, a null where none may be, a `1e3`
integer, a date with spaces, a NUL character, a number of more than 80 digits) sends the body (for
NDJSON, the line) down the generic path, which accepts it or names the index and field just as before.
tests/unit/http/test_typed_records.py holds the two paths to the same answers.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import itertools
import operator
import re
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

import msgspec

from datainfra.adapters.http.encoding import check_depth
from datainfra.domain.json_depth import MAX_JSON_DEPTH, json_depth_exceeds
from datainfra.domain.records import Record, RecordRows
from datainfra.domain.tabular_schema import Column, TabularSchema
from datainfra.domain.types import (
    INT64_MAX,
    INT64_MIN,
    JSON_COERCERS,
    NUMERIC_MAX_FRACTION_DIGITS,
    NUMERIC_MAX_INTEGER_DIGITS,
    FieldType,
)

_FLOAT_MAX = sys.float_info.max

_CONVERTED = (FieldType.NUMERIC, FieldType.TIMESTAMP, FieldType.UUID, FieldType.JSON)
"""Decoded untyped, as the generic path decodes them, then converted by the domain's converter."""
_NATIVE: dict[FieldType, Any] = {
    FieldType.TEXT: str,
    FieldType.INTEGER: Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)],
    FieldType.FLOAT: Annotated[float, msgspec.Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)],
    FieldType.BOOLEAN: bool,
    FieldType.DATE: dt.date,
}

_DIGITS = 80
_EXACT = decimal.Context(
    prec=_DIGITS,
    Emax=NUMERIC_MAX_INTEGER_DIGITS - 1,
    Emin=_DIGITS - 1 - NUMERIC_MAX_FRACTION_DIGITS,
    traps=[
        decimal.Inexact,
        decimal.Rounded,
        decimal.Overflow,
        decimal.Underflow,
        decimal.Subnormal,
        decimal.Clamped,
        decimal.InvalidOperation,
    ],
)
"""A JSON number with a fraction or an exponent becomes a Decimal under this context: exactly the
generic path's `Decimal(text)` when it has at most 80 digits, its first digit at most 131071 places
before the point and at least 16304 after it (so its last at most 16383 after it: within numeric's
range, nothing left for the domain to check); anything else raises, and the generic path decides."""


_DECIMALS = frozenset({Decimal})
_DECIMALS_OR_NULL = _DECIMALS | {type(None)}
_NUMBERS = frozenset({Decimal, int})
_NUMBERS_OR_NULL = _NUMBERS | {type(None)}


class _Refused(Exception):
    """The typed decoder did not take the body: the generic path decides."""


class Declined(Exception):
    """Typed JSON rows met a value only the generic path may judge while they were being taken: the
    write taking them fails with this (so keeps nothing), and the body is read the generic way."""


@dataclass(frozen=True, slots=True)
class _Converted:
    """A column decoded untyped: its converter, and what an absent value (msgspec.UNSET) becomes."""

    name: str
    get: Callable[[Any], Any]
    convert: Callable[[Any], Any]
    nullable: bool
    numeric: bool
    default: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class RecordDecoder:
    """The decoders of one schema: a bare array of records, `{"records", "on_conflict"}`, one line."""

    bare: msgspec.json.Decoder[Any]
    document: msgspec.json.Decoder[Any]
    line: msgspec.json.Decoder[Any]
    columns: tuple[str, ...]
    values: Callable[[Any], tuple[Any, ...]]
    """A Struct's values of `columns`, as a tuple (one C call)."""
    generated: Callable[[Any], Any] | None
    """A Struct's generated key, if the schema has one: a body gives it in every record or in none."""
    given: tuple[str, ...]
    """Every column but the generated key."""
    given_values: Callable[[Any], tuple[Any, ...]]
    not_null: tuple[Callable[[Any], Any], ...]
    """Getters of the NOT NULL columns whose Struct field may still hold a null (native columns with
    a default): `RecordRows` holds no null where the schema forbids one."""
    converted: tuple[_Converted, ...]
    nests: bool
    """Whether a column is json: only then can a body the typed decoder takes nest deeper than the
    records themselves (other values are scalars, or untyped values a converter refuses when nested),
    so only then is the body's depth measured before decoding; otherwise a too-deep body is refused
    by msgspec (a type error, or its own RecursionError) and the generic path, which measures it,
    names it."""

    def rows(self, structs: list[Any]) -> Iterator[RecordRows]:
        """The decoded Structs as rows, `_CHUNK` at a time as they are taken, their untyped columns
        converted then (a column at a time), so that a store writes the first chunk while the next
        is made (PostgreSQL works on another core meanwhile). `_Refused` now when the generic path
        must judge the records as a whole; `Declined` from the iterator when a converted value needs it."""
        for get in self.not_null:
            if any(map(operator.is_, map(get, structs), itertools.repeat(None))):
                raise _Refused  # an explicit null where a default stands in for an absent value
        columns, values_of = self.columns, self.values
        if self.generated is not None:
            absent = list(map(self.generated, structs)).count(None)
            if absent == len(structs):  # the store numbers them
                columns, values_of = self.given, self.given_values
            elif absent:  # some records give the key, some do not: the generic path keeps them apart
                raise _Refused
        return _chunks(structs, self.converted, columns, values_of)

    def decode(self, body: bytes) -> tuple[Iterator[RecordRows], str | None]:
        """The body's typed rows (made and converted as they are taken: see `rows`) and its
        on_conflict; `_Refused` when the generic path must decide."""
        if b"\\u0000" in body:  # NUL in a text value: msgspec would take it, the domain does not
            raise _Refused
        try:
            if body.lstrip()[:1] == b"[":
                return self.rows(self.bare.decode(body)), None
            document = self.document.decode(body)
            return self.rows(document.records), document.on_conflict
        except Exception:  # msgspec's errors, the number context's and the domain's converters' alike
            raise _Refused from None

    def decode_block(self, block: bytes) -> list[RecordRows] | None:
        """The rows of complete NDJSON lines, one object per line; None when the generic path must
        read them (a blank line, two objects on a line, anything the typed decoder refuses)."""
        if b"\\u0000" in block or _TWO_ON_A_LINE.search(block):
            return None
        if self.nests and json_depth_exceeds(block, MAX_JSON_DEPTH):
            return None
        try:
            structs = self.line.decode_lines(block)
            if len(structs) != block.count(b"\n"):
                return None
            return list(self.rows(structs))
        except Exception:
            return None


_CHUNK = 5000


def _chunks(
    structs: list[Any],
    converted: tuple[_Converted, ...],
    columns: tuple[str, ...],
    values_of: Callable[[Any], tuple[Any, ...]],
) -> Iterator[RecordRows]:
    """The rows of `structs`, `_CHUNK` at a time, each chunk's untyped values converted and set
    back first."""
    for start in range(0, len(structs), _CHUNK):
        part = structs[start : start + _CHUNK]
        for column in converted:
            values = list(map(column.get, part))
            try:
                new = _converted(values, column)
            except Exception:  # _Refused, the number context's and the domain's converters' errors
                raise Declined from None
            if new is not values:
                for _ in map(setattr, part, itertools.repeat(column.name), new):
                    pass
        yield RecordRows(columns, list(map(values_of, part)))


def _converted(values: list[Any], column: _Converted) -> list[Any]:
    """One untyped column's values as the generic path makes them. A numeric column of JSON numbers
    (ints, and Decimals made under `_EXACT`) is converted in one C-speed pass: `_EXACT` makes each an
    exact Decimal or raises (a number the domain may still take goes the generic way); anything else
    goes value by value."""
    if column.numeric:
        kinds = set(map(type, values))
        if kinds == _DECIMALS or (column.nullable and kinds <= _DECIMALS_OR_NULL):
            return values  # made under `_EXACT` already
        if kinds <= _NUMBERS:
            return list(map(_EXACT.create_decimal, values))
        if column.nullable and kinds <= _NUMBERS_OR_NULL:
            return [None if value is None else _EXACT.create_decimal(value) for value in values]
    convert, default = column.convert, column.default
    out: list[Any] = []
    for value in values:
        if value is None:
            if not column.nullable:
                raise _Refused
            out.append(None)
        elif value is msgspec.UNSET:
            out.append(default())
        elif type(value) is Decimal and column.numeric:
            out.append(value)
        else:
            out.append(convert(value))
    return out


def _field(column: Column) -> tuple[Any, ...]:
    if column.type in _CONVERTED:
        annotation: Any = Any  # null arrives as None: `_converted` judges it
        absent: Any = msgspec.UNSET
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
    if column.type in _CONVERTED:
        return (column.name, annotation, msgspec.UNSET)
    return (column.name, annotation, default)


def _absent(column: Column) -> Callable[[], Any]:
    default = column.default
    if isinstance(default, dict | list):
        return lambda: copy.deepcopy(default)
    return lambda: default


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A Struct's values of `names` as a tuple, in one C call where there are several."""
    if len(names) == 1:
        name = names[0]
        return lambda struct: (getattr(struct, name),)
    return operator.attrgetter(*names)


@lru_cache(maxsize=256)
def _decoder(schema: _Keyed) -> RecordDecoder:
    columns = schema.columns
    names = tuple(c.name for c in columns)
    generated = next((c for c in columns if c.generated), None)
    given = tuple(c.name for c in columns if not c.generated)
    # Decoded JSON holds no reference cycles: the Structs need not be tracked by the collector.
    row = msgspec.defstruct("Record", [_field(c) for c in columns], forbid_unknown_fields=True, kw_only=True, gc=False)
    document = msgspec.defstruct(
        "Records",
        [("records", list[row]), ("on_conflict", Literal["error", "update", "ignore"] | None, None)],  # type: ignore[valid-type]
        forbid_unknown_fields=True,
        kw_only=True,
    )
    hook = _EXACT.create_decimal
    return RecordDecoder(
        bare=msgspec.json.Decoder(list[row], float_hook=hook),  # type: ignore[valid-type]
        document=msgspec.json.Decoder(document, float_hook=hook),
        line=msgspec.json.Decoder(row, float_hook=hook),
        columns=names,
        values=_getter(names),
        generated=operator.attrgetter(generated.name) if generated is not None else None,
        given=given,
        given_values=_getter(given),
        not_null=tuple(
            operator.attrgetter(c.name)
            for c in columns
            if not c.nullable and not c.generated and c.default is not None and c.type not in _CONVERTED
        ),
        converted=tuple(
            _Converted(
                c.name,
                operator.attrgetter(c.name),
                JSON_COERCERS[c.type],
                c.nullable,
                c.type is FieldType.NUMERIC,
                _absent(c),
            )
            for c in columns
            if c.type in _CONVERTED
        ),
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


def typed_json(schema: TabularSchema, body: bytes) -> tuple[Iterator[RecordRows], str | None] | None:
    """A JSON records body (a bare array, or `{"records": [...], "on_conflict": ...}`) as typed,
    complete records (rows of every column, made as they are taken) and its on_conflict; None when
    the generic path must decide (which then accepts the same records or names the index and field
    at fault). Taking the rows may raise `Declined`: the generic path decides then too."""
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
) -> AsyncIterator[Record | RecordRows]:
    """NDJSON body → typed, complete records. The complete lines of each chunk are decoded at once
    (`decode_lines`) into one `RecordRows` when they are exactly one object per line and the typed
    decoder takes them all;
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
        blocks = decoder.decode_block(block)
        if blocks is None:
            async for record in generic(block, index):
                yield record
                index += 1
            continue
        for rows in blocks:
            yield rows
            index += len(rows)
    if first:
        pending = pending.removeprefix(_BOM)
    if pending.strip():
        async for record in generic(pending, index):
            yield record
