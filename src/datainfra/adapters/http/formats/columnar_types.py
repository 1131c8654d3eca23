"""How the columns of an uploaded Parquet or Arrow file become a tabular dataset's typed values.

Columns match by name. Each file type converts to the dataset types below, and only to them (a
column of another type is refused, never reinterpreted):
- integer ← any integer type (uint64 beyond int64 is refused naming the row);
- float ← floating point, integer or decimal (NaN and infinities are refused, as in every write);
- numeric ← decimal, integer, or floating point (by its shortest repr: 0.1 → 0.1);
- boolean ← bool; date ← date32, date64;
- timestamp ← timestamp of any unit, with a zone or without (then taken as UTC, the API's rule for
  a timestamp without offset); a value with nanoseconds is refused (PostgreSQL keeps microseconds);
- text ← string; json ← string (JSON text) or nested values (list, struct, map);
  uuid ← string, 16-byte fixed-size binary (Parquet's UUID, Arrow's uuid extension);
- any type ← string, read as a CSV cell is (`domain.types.parse_text`); any type ← all-null.
Dictionary-encoded columns (pandas categoricals) are decoded first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from datainfra.domain.errors import InvalidInput, InvalidRequest
from datainfra.domain.records import RecordRows
from datainfra.domain.tabular_schema import Column, TabularSchema
from datainfra.domain.types import JSON_COERCERS, TEXT_PARSERS, BadValue, FieldType, FieldValue

Values = list[FieldValue]
_Convert = Callable[[pa.Array, int], Values]
"""A file column's values of one batch (and the batch's first record index) → typed values."""


def _is_string(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _is_uuid_binary(t: pa.DataType) -> bool:
    storage = getattr(t, "storage_type", t)  # an extension type (arrow.uuid) by its storage
    return bool(pa.types.is_fixed_size_binary(storage) and storage.byte_width == 16)


_NESTED = (pa.types.is_list, pa.types.is_large_list, pa.types.is_struct, pa.types.is_map)
_ACCEPTS: dict[FieldType, Callable[[pa.DataType], bool]] = {
    FieldType.INTEGER: pa.types.is_integer,
    FieldType.FLOAT: lambda t: pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t),
    FieldType.NUMERIC: lambda t: pa.types.is_decimal(t) or pa.types.is_integer(t) or pa.types.is_floating(t),
    FieldType.BOOLEAN: pa.types.is_boolean,
    FieldType.DATE: lambda t: pa.types.is_date32(t) or pa.types.is_date64(t),
    FieldType.TIMESTAMP: pa.types.is_timestamp,
    FieldType.TEXT: _is_string,
    FieldType.JSON: lambda t: _is_string(t) or any(test(t) for test in _NESTED),
    FieldType.UUID: lambda t: _is_string(t) or _is_uuid_binary(t),
}


@dataclass(frozen=True, slots=True)
class _FileColumn:
    at: int
    column: Column
    convert: _Convert


@dataclass(frozen=True, slots=True)
class RowPlan:
    """Which file column fills which dataset column, and how; the columns the file leaves out take
    their default (the generated key is left to the store)."""

    given: tuple[_FileColumn, ...]
    defaults: tuple[Column, ...]

    @classmethod
    def of(cls, schema: TabularSchema, file_schema: pa.Schema) -> RowPlan:
        names = file_schema.names
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise InvalidRequest(f"the file names column {twice[0]!r} twice", field=twice[0])
        given = []
        for at, field in enumerate(file_schema):
            column = schema.column(field.name)
            if column is None:
                raise InvalidInput(f"unknown field {field.name!r}", field=field.name)
            given.append(_FileColumn(at, column, _converter(column, field.type)))
        named = set(names)
        for column in schema.columns:
            if column.name not in named and not column.nullable and not column.has_default:
                raise InvalidInput(f"field {column.name!r} is required: the file has no such column", field=column.name)
        defaults = tuple(c for c in schema.columns if c.name not in named and not c.generated)
        return cls(tuple(given), defaults)

    def rows(self, batch: pa.RecordBatch, first: int) -> RecordRows | None:
        """The batch's rows (record indexes from `first`); None for an empty batch."""
        count = batch.num_rows
        if count == 0:
            return None
        columns: list[str] = []
        values: list[Sequence[FieldValue]] = []
        for item in self.given:
            array = batch.column(item.at)
            column = item.column
            try:
                array.validate(full=True)  # e.g. text that is not UTF-8 (Parquet's reader does not check it)
            except pa.ArrowException as exc:
                raise InvalidInput(f"field {column.name!r} holds invalid data: {exc}", field=column.name) from None
            nulls = array.null_count
            if column.generated:
                if nulls == count:
                    continue  # the store numbers them
                if nulls:
                    raise InvalidInput(
                        f"field {column.name!r}: give the generated key in every row or in none",
                        index=first + _first_null(array),
                        field=column.name,
                    )
            elif nulls and not column.nullable:
                raise InvalidInput(
                    f"field {column.name!r} must not be null", index=first + _first_null(array), field=column.name
                )
            columns.append(column.name)
            values.append(item.convert(array, first))
        for column in self.defaults:
            columns.append(column.name)
            values.append([column.default] * count)
        return RecordRows(tuple(columns), list(zip(*values, strict=True)))


def _first_null(array: pa.Array) -> int:
    return int(pc.index(pc.is_null(array), True).as_py())


def _converter(column: Column, file_type: pa.DataType) -> _Convert:
    value_type = file_type.value_type if pa.types.is_dictionary(file_type) else file_type
    if pa.types.is_null(value_type):
        return lambda array, first: [None] * len(array)
    if _is_string(value_type) and column.type not in (FieldType.TEXT, FieldType.JSON):
        convert = _each(column, TEXT_PARSERS[column.type])
    elif not _ACCEPTS[column.type](value_type):
        raise InvalidInput(
            f"field {column.name!r} is {value_type} in the file, which does not convert to {column.type.value} "
            "(see the upload's type rules)",
            field=column.name,
            extra={"file_type": str(value_type), "column_type": column.type.value},
        )
    else:
        convert = _typed(column, value_type)
    if pa.types.is_dictionary(file_type):
        return lambda array, first: convert(array.dictionary_decode(), first)
    return convert


def _each(column: Column, parse: Callable[[Any], FieldValue]) -> _Convert:
    """Values converted one by one, a failure naming its row."""

    def convert(array: pa.Array, first: int) -> Values:
        out: Values = []
        for offset, value in enumerate(array.to_pylist()):
            if value is None:
                out.append(None)
                continue
            try:
                out.append(parse(value))
            except BadValue as exc:
                raise InvalidInput(f"field {column.name!r}: {exc}", index=first + offset, field=column.name) from None
        return out

    return convert


def _typed(column: Column, file_type: pa.DataType) -> _Convert:
    kind = column.type
    if kind is FieldType.INTEGER:
        return _cast_then(column, pa.int64(), "integer out of the 64-bit range")
    if kind is FieldType.FLOAT:
        return _finite(column, _cast_then(column, pa.float64(), "number out of the float range"))
    if kind is FieldType.NUMERIC:
        if pa.types.is_decimal(file_type):
            return _pylist(column)
        if pa.types.is_integer(file_type):
            return _mapped(_pylist(column), Decimal)
        return _each(column, lambda f: JSON_COERCERS[FieldType.NUMERIC](Decimal(repr(f))) if f == f else _nan())
    if kind is FieldType.TIMESTAMP:
        return _timestamps(column, file_type)
    if kind in (FieldType.BOOLEAN, FieldType.DATE):
        return _pylist(column)
    if kind is FieldType.TEXT:
        return _text(column)
    if kind is FieldType.JSON:
        parse = TEXT_PARSERS[FieldType.JSON] if _is_string(file_type) else JSON_COERCERS[FieldType.JSON]
        return _each(column, lambda v: parse(_json_ready(v)))
    # uuid from 16 bytes
    return _each(column, lambda b: b if isinstance(b, uuid.UUID) else uuid.UUID(bytes=bytes(b)))


def _text(column: Column) -> _Convert:
    """Strings as they are (valid UTF-8, checked in `RowPlan.rows`) unless one holds a NUL, which
    PostgreSQL's text cannot."""

    def convert(array: pa.Array, first: int) -> Values:
        with_nul = pc.match_substring(array, "\x00")
        if pc.any(with_nul).as_py():
            raise InvalidInput(
                f"field {column.name!r}: text must not contain NUL characters",
                index=first + int(pc.index(with_nul, True).as_py()),
                field=column.name,
            )
        values: Values = array.to_pylist()
        return values

    return convert


def _nan() -> FieldValue:
    raise BadValue('NaN and infinities are not accepted in writes (they read back as "NaN", "Infinity")')


def _json_ready(value: Any) -> Any:
    """A nested value as the JSON coercer takes it: numbers exact, map entries as an object."""
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else value
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):  # a map's (key, value) pairs
            return {str(k): _json_ready(v) for k, v in value}
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return value


def _pylist(column: Column) -> _Convert:
    def convert(array: pa.Array, first: int) -> Values:
        try:
            values: Values = array.to_pylist()
        except (ValueError, OverflowError, pa.ArrowException):  # a date Python cannot hold
            return _each(column, lambda v: v)(_locate_unreadable(array, column, first), first)
        return values

    return convert


def _locate_unreadable(array: pa.Array, column: Column, first: int) -> pa.Array:
    for offset in range(len(array)):
        try:
            array[offset].as_py()
        except (ValueError, OverflowError, pa.ArrowException):
            raise InvalidInput(
                f"field {column.name!r}: a value outside years 1-9999", index=first + offset, field=column.name
            ) from None
    return array  # pragma: no cover - to_pylist failed, so one value did


def _mapped(convert: _Convert, to: Callable[[Any], FieldValue]) -> _Convert:
    return lambda array, first: [None if v is None else to(v) for v in convert(array, first)]


def _cast_then(column: Column, target: pa.DataType, problem: str) -> _Convert:
    """A safe cast to `target` (a value it would change is refused naming its row), then the values."""

    def convert(array: pa.Array, first: int) -> Values:
        try:
            cast = array.cast(target, safe=True)
        except pa.ArrowException:
            for offset in range(len(array)):
                try:
                    array.slice(offset, 1).cast(target, safe=True)
                except pa.ArrowException:
                    raise InvalidInput(
                        f"field {column.name!r}: {problem}", index=first + offset, field=column.name
                    ) from None
            raise  # pragma: no cover - the whole cast failed, so one value did
        values: Values = cast.to_pylist()
        return values

    return convert


def _finite(column: Column, convert: _Convert) -> _Convert:
    def checked(array: pa.Array, first: int) -> Values:
        values = convert(array, first)
        for offset, value in enumerate(values):
            if isinstance(value, float) and value - value != 0.0:
                raise InvalidInput(
                    f"field {column.name!r}: float must be finite (NaN and infinities are not accepted in writes)",
                    index=first + offset,
                    field=column.name,
                )
        return values

    return checked


def _timestamps(column: Column, file_type: pa.DataType) -> _Convert:
    target = pa.timestamp("us", tz="UTC")
    cast = _cast_then(column, target, "a timestamp with nanoseconds (PostgreSQL keeps microseconds) or out of range")

    def convert(array: pa.Array, first: int) -> Values:
        if file_type.tz is None:  # the same instants, labelled UTC (Arrow keeps the values)
            array = array.cast(pa.timestamp(file_type.unit, "UTC"))
        try:
            values = cast(array, first)
        except (ValueError, OverflowError):
            return _each(column, lambda v: v)(_locate_unreadable(array.cast(target), column, first), first)
        return [v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v for v in values]

    return convert
