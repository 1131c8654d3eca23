"""Reading what a failed statement says: which key clashed, which COPY line, which column."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from datainfra.adapters.postgres.identifiers import index_name, primary_key_name
from datainfra.domain.errors import Conflict, InvalidInput
from datainfra.domain.tabular_schema import TabularSchema
from datainfra.domain.types import BadValue, FieldType, parse_text

_KEY_DETAIL = re.compile(r"^Key \((?P<cols>.*)\)=\((?P<vals>.*)\) already exists\.?$", re.S)
_COPY_LINE = re.compile(r"COPY [^\n]*?, line (\d+)")
_INTERNAL_NAMES = re.compile(r"\b[su]_[0-9a-f]{32}\b|\b(?:ix|ux|pk|sq)\$[0-9a-f]{24}(?:_\d+)?\b|\bdatainfra\$\w+")
_INDEX_ROW = re.compile(r'index row size (\d+) exceeds .*? maximum (\d+) for index "([^"]+)"')
_ROW_TOO_BIG = re.compile(r"row is too big: size (\d+), maximum size (\d+)")


# Citus relays a worker's error from a COPY (and from an INSERT ... SELECT through the coordinator) as
# XX000 with the worker's message and detail only; these messages say which error it was.
_RELAYED: tuple[tuple[re.Pattern[str], type[psycopg.Error]], ...] = (
    (re.compile(r"^duplicate key value violates unique constraint "), pg_errors.UniqueViolation),
    (re.compile(r"^null value in column .* violates not-null constraint"), pg_errors.NotNullViolation),
    (re.compile(r" violates check constraint "), pg_errors.CheckViolation),
    (re.compile(r"^value too long for type "), pg_errors.StringDataRightTruncation),
    (re.compile(r"^invalid input syntax for type "), pg_errors.InvalidTextRepresentation),
    (re.compile(r" out of range"), pg_errors.NumericValueOutOfRange),
    (re.compile(r"^index row size \d+ exceeds "), pg_errors.ProgramLimitExceeded),
    (re.compile(r"^row is too big: "), pg_errors.ProgramLimitExceeded),
)
_CONSTRAINT = re.compile(r'constraint "([^"]+)"')
_NULL_COLUMN = re.compile(r'^null value in column "([^"]+)"')
_SHARD_SUFFIX = re.compile(r"_\d+$")
"""Citus names a shard's table, index and constraints after the table's, with `_<shard id>` added."""


def relayed(exc: psycopg.Error) -> psycopg.Error:
    """The error PostgreSQL raised on a Citus worker, as far as a relayed message tells (its class;
    the message, detail and context stay those relayed); any other error as it is."""
    if exc.sqlstate != "XX000":
        return exc
    message = exc.diag.message_primary or ""
    for pattern, error_class in _RELAYED:
        if pattern.search(message):
            return error_class(*exc.args, info=exc._info, encoding=exc._encoding)
    return exc


def constraint_of(exc: psycopg.Error) -> str | None:
    """The constraint the server named: its diagnostic field, else (from a Citus worker, which leaves
    the field empty and names its shard's copy) the name in the message, without the shard's suffix."""
    if exc.diag.constraint_name:
        return exc.diag.constraint_name
    match = _CONSTRAINT.search(exc.diag.message_primary or "")
    return _SHARD_SUFFIX.sub("", match.group(1)) if match else None


def copy_line(exc: psycopg.Error) -> int | None:
    """The 1-based row of a COPY that failed, from the error context."""
    match = _COPY_LINE.search(exc.diag.context or "")
    return int(match.group(1)) if match else None


def constraint_columns(schema: TabularSchema, table: str, constraint: str | None) -> tuple[str, ...]:
    """The columns of the unique constraint the server named (ours are named deterministically)."""
    if constraint == primary_key_name(table):
        return schema.primary_key
    for ix in schema.indexes:
        if ix.unique and index_name(table, ix.columns, True) == constraint:
            return ix.columns
    return schema.primary_key


def _split_values(text: str, count: int) -> list[str] | None:
    if count == 1:
        return [text]
    parts = text.split(", ")
    return parts if len(parts) == count else None


def _typed(text: str, field_type: FieldType) -> Any:
    if field_type is FieldType.TEXT:
        return text
    try:
        return parse_text(text, field_type)
    except BadValue:
        return text


def conflict_from(exc: psycopg.Error, schema: TabularSchema, table: str, *, index: int | None = None) -> Conflict:
    """A unique violation → Conflict whose key maps each clashing column to its value."""
    columns = constraint_columns(schema, table, constraint_of(exc))
    types: Mapping[str, FieldType] = schema.field_types
    key: dict[str, Any] = {}
    match = _KEY_DETAIL.match(exc.diag.message_detail or "")
    if match:
        values = _split_values(match.group("vals"), len(columns))
        if values is not None:
            key = {name: _typed(value, types[name]) for name, value in zip(columns, values, strict=True)}
        else:
            key = {", ".join(columns): match.group("vals")}
    shown = ", ".join(f"{name}={value}" for name, value in key.items()) or ", ".join(columns)
    return Conflict(f"a record with {shown} already exists", key=key or None, index=index)


def column_of(exc: psycopg.Error, candidates: Sequence[str] = ()) -> str | None:
    column = exc.diag.column_name
    if column:
        return column
    match = _NULL_COLUMN.search(exc.diag.message_primary or "")  # relayed by Citus without the field
    if match:
        return match.group(1)
    return candidates[0] if len(candidates) == 1 else None


def scrub(text: str) -> str:
    """Our opaque schema, role, index and sequence names mean nothing to a client and are not its business."""
    return _INTERNAL_NAMES.sub("<internal>", text)


def is_limit(exc: psycopg.Error) -> bool:
    """SQLSTATE class 54, "program limit exceeded": the request was too big for PostgreSQL; not an outage.
    (One relayed by Citus keeps XX000: `relayed` gave it the class.)"""
    return isinstance(exc, pg_errors.ProgramLimitExceeded) or (exc.sqlstate or "").startswith("54")


def is_concurrency_failure(exc: psycopg.Error) -> bool:
    """Class 40 (deadlock, serialization failure) or a lock not available: another request's write got
    in the way and this transaction was rolled back. The server is fine; the request may be resent."""
    state = exc.sqlstate or ""
    return state.startswith("40") or state == "55P03"


def limit_exceeded(
    exc: psycopg.Error, schema: TabularSchema | None = None, table: str | None = None, *, index: int | None = None
) -> InvalidInput:
    """A class-54 refusal → 422 naming the limit (and the fields, when the schema says which),
    never our internal names."""
    message = exc.diag.message_primary or str(exc)
    row = _INDEX_ROW.search(message)
    if row:
        size, maximum, name = row.groups()
        columns = _index_columns(schema, table, name)
        fields = ", ".join(columns) if columns else "an indexed field"
        return InvalidInput(
            f"the value of {fields} is too large for an index: {size} bytes, but a key or indexed value may take "
            f"at most {maximum} bytes (after compression); store shorter values or drop the index",
            field=columns[0] if columns else None,
            index=index,
        )
    too_big = _ROW_TOO_BIG.search(message)
    if too_big:
        size, maximum = too_big.groups()
        return InvalidInput(
            f"the record is too large: its fixed-size values (numbers, booleans, dates, timestamps, uuids) "
            f"take {size} bytes, but a record may take at most {maximum}; use fewer columns",
            index=index,
        )
    if "at most 1600 columns" in message:
        return InvalidInput(
            "a table can have at most 1600 columns, counting columns dropped earlier (PostgreSQL's limit): "
            "create a new dataset instead",
            field="schema.columns",
        )
    if "more than 32 columns in an index" in message:
        return InvalidInput("an index (or the primary key) can have at most 32 columns", field="schema.indexes")
    return InvalidInput(f"the request exceeds a PostgreSQL limit: {scrub(message)}", index=index)


def _index_columns(schema: TabularSchema | None, table: str | None, name: str) -> tuple[str, ...]:
    name = _SHARD_SUFFIX.sub("", name)
    if schema is None or table is None:
        return ()
    if name == primary_key_name(table):
        return schema.primary_key
    for ix in schema.indexes:
        if index_name(table, ix.columns, ix.unique) == name:
            return ix.columns
    return ()
