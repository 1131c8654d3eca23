"""Reading what a failed statement says: which key clashed, which COPY line, which column."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from datainfra.adapters.postgres.identifiers import index_name, primary_key_name
from datainfra.domain.errors import Conflict
from datainfra.domain.tabular_schema import TabularSchema
from datainfra.domain.types import BadValue, FieldType, parse_text

_KEY_DETAIL = re.compile(r"^Key \((?P<cols>.*)\)=\((?P<vals>.*)\) already exists\.?$", re.S)
_COPY_LINE = re.compile(r"COPY [^\n]*?, line (\d+)")


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
    columns = constraint_columns(schema, table, exc.diag.constraint_name)
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
    return candidates[0] if len(candidates) == 1 else None
