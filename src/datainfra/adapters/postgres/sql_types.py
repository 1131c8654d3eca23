"""How each domain field type is stored in PostgreSQL."""

from __future__ import annotations

from psycopg import sql

from datainfra.domain.types import FieldType

SQL_TYPE: dict[FieldType, str] = {
    FieldType.TEXT: "text",
    FieldType.INTEGER: "bigint",
    FieldType.FLOAT: "double precision",
    FieldType.NUMERIC: "numeric",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATE: "date",
    FieldType.TIMESTAMP: "timestamptz",
    FieldType.JSON: "jsonb",
    FieldType.UUID: "uuid",
}
"""The column type; text columns also get COLLATE "C" (code-point order whatever the locale)."""

COPY_TYPE: dict[FieldType, str] = {
    FieldType.TEXT: "text",
    FieldType.INTEGER: "int8",
    FieldType.FLOAT: "float8",
    FieldType.NUMERIC: "numeric",
    FieldType.BOOLEAN: "bool",
    FieldType.DATE: "date",
    FieldType.TIMESTAMP: "timestamptz",
    FieldType.JSON: "jsonb",
    FieldType.UUID: "uuid",
}
"""Type names for binary COPY (psycopg needs the exact type of every column)."""


def column_type(field_type: FieldType) -> sql.Composable:
    """The type as written in a column definition."""
    if field_type is FieldType.TEXT:
        return sql.SQL('text COLLATE "C"')
    return sql.SQL(SQL_TYPE[field_type])


def cast_type(field_type: FieldType) -> sql.Composable:
    """The type as written after `::` (no collation: the column's own applies)."""
    return sql.SQL(SQL_TYPE[field_type])


def param(field_type: FieldType) -> sql.Composable:
    """A typed placeholder, so the server never guesses a parameter's type."""
    return sql.SQL("%s::") + cast_type(field_type)


def array_param(field_type: FieldType) -> sql.Composable:
    return sql.SQL("%s::") + cast_type(field_type) + sql.SQL("[]")
