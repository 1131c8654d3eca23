"""What a client's SQL result looks like in the API: column type names and JSON-ready values.

Column types use the dataset schema's names (domain.types.FieldType) where one fits, so a column
reads the same in a schema and in a query result; other types keep PostgreSQL's own name. Values
keep their exact type where JSON can carry it (Decimal, dates, UUIDs, json); anything else
(intervals, ranges, network addresses, bytea ...) is sent as PostgreSQL's text for it, never
dropped and never a server error.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.array import ArrayLoader
from psycopg.types.string import TextLoader

from datainfra.adapters.postgres.sql_types import COPY_TYPE
from datainfra.domain.queries import ResultColumn
from datainfra.domain.types import FieldType, non_finite_text

_FIELD_TYPES: dict[str, FieldType] = {name: field_type for field_type, name in COPY_TYPE.items()} | {
    "int2": FieldType.INTEGER,
    "int4": FieldType.INTEGER,
    "float4": FieldType.FLOAT,
    "varchar": FieldType.TEXT,
    "bpchar": FieldType.TEXT,
    "name": FieldType.TEXT,
    "json": FieldType.JSON,
}
"""PostgreSQL type name → the schema type a column of it reads as: the types datasets are stored in,
and their narrower or older relatives."""


def columns_of(conn: AsyncConnection[Any], description: Any) -> tuple[ResultColumn, ...]:
    if not description:
        return ()
    return tuple(ResultColumn(name=col.name, type=type_name(conn, col.type_code)) for col in description)


def type_name(conn: AsyncConnection[Any], oid: int) -> str:
    info = conn.adapters.types.get(oid)
    if info is None:
        return "unknown"
    field_type = _FIELD_TYPES.get(info.name)
    if field_type is not None:
        return field_type.value
    element = _FIELD_TYPES.get(info.name[:-2]) if info.name.endswith("[]") else None
    if element is not None:
        return f"{element.value}[]"
    return info.name


_AS_TEXT = (
    "interval", "time", "timetz", "bytea", "inet", "cidr", "macaddr", "macaddr8", "money", "xml", "bit", "varbit",
    "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
    "int4multirange", "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange", "datemultirange",
)  # fmt: skip
"""Types whose Python form JSON cannot carry: loaded as PostgreSQL's own text for them."""


def load_as_text(conn: AsyncConnection[Any]) -> None:
    """Make `conn` load the types JSON cannot carry (and their arrays) as their PostgreSQL text."""
    for name in _AS_TEXT:
        info = conn.adapters.types.get(name)
        if info is None:
            continue
        conn.adapters.register_loader(info.oid, TextLoader)
        if info.array_oid:
            conn.adapters.register_loader(info.array_oid, _TextArrayLoader)


class _TextArrayLoader(ArrayLoader):
    base_oid = 25  # text: every element as text


def json_value(value: Any) -> Any:
    """A loaded value as the API sends it: non-finite numbers as "NaN", "Infinity", "-Infinity"
    (JSON has no number for them; the connection's loaders already give these, see special_values);
    a zoned timestamp in UTC, so it is written the API's one way (`2026-01-02T03:04:05Z`, 6
    fractional digits when there is a fraction) whatever time zone the statement used."""
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        return non_finite_text(value) or value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if isinstance(value, list):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str | Decimal | uuid.UUID | dt.date):
        return value
    return str(value)


def approximate_size(value: Any) -> int:
    """Roughly the bytes `value` takes as JSON: enough to keep a result within a byte budget."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, list):
        return 2 + sum(approximate_size(item) + 1 for item in value)
    if isinstance(value, dict):
        return 2 + sum(len(str(key)) + 4 + approximate_size(item) for key, item in value.items())
    return 24
