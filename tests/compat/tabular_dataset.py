"""The compatibility suite's tabular dataset: one column of every type, and in each the values that
break readers (quotes, line breaks, tabs and emoji in text, the string "NULL", empty string beside
null, 64-bit extremes, large and tiny numerics, the first and last dates, whole and fractional
seconds, json of every kind, uuid)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "k", "type": "integer", "nullable": False},
        {"name": "t", "type": "text"},
        {"name": "i", "type": "integer"},
        {"name": "f", "type": "float"},
        {"name": "n", "type": "numeric"},
        {"name": "b", "type": "boolean"},
        {"name": "d", "type": "date"},
        {"name": "ts", "type": "timestamp"},
        {"name": "j", "type": "json"},
        {"name": "u", "type": "uuid"},
    ],
    "primary_key": ["k"],
}
TYPES = ("t", "i", "f", "n", "b", "d", "ts", "j", "u")
TYPE_NAMES = {
    "t": "text",
    "i": "integer",
    "f": "float",
    "n": "numeric",
    "b": "boolean",
    "d": "date",
    "ts": "timestamp",
    "j": "json",
    "u": "uuid",
}

_COLUMNS: dict[str, list[Any]] = {
    "t": ["say \"hi\", 'you'", "two\nlines\r\nand crlf", "tab\there", "emoji 😀 ✓ ünïcode", "NULL", "", None, " pad "],
    "i": [-(2**63), 2**63 - 1, 0, -1, None, 42, 7, 1],
    "f": [0.1, -2.5e-300, 1.7976931348623157e308, 1e20, None, 3.0, -0.5, 2.0],
    "n": ["12345678901234567890.5", "0.000000000000000001", "-1.50", "0", None, "3", "-99999999999999999999", "1e-5"],
    "b": [True, False, None, True, False, True, False, True],
    "d": ["0001-01-01", "9999-12-31", "2024-02-29", None, "1970-01-01", "2000-01-01", "1999-12-31", "2024-01-01"],
    "ts": [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.500000Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        None,
        "1970-01-01T00:00:00.000001Z",
        "2024-02-29T12:00:00Z",
        "2000-01-01T00:00:00Z",
    ],
    "j": [{"a": [1, 2.5, "x", None, True], "ü": '"q"'}, [], "text", 12, None, {"n": {"deep": [1]}}, False, 1.5],
    "u": ["12345678-1234-5678-1234-567812345678", None, str(uuid.UUID(int=0)), str(uuid.UUID(int=2**128 - 1))]
    + [None] * 4,
}
ROW_COUNT = 8
RECORDS: list[dict[str, Any]] = [{"k": k, **{c: _COLUMNS[c][k] for c in TYPES}} for k in range(ROW_COUNT)]


def expected(column: str) -> list[Any]:
    """The column's values as typed Python values, in key order (None for null)."""
    convert = {
        "n": Decimal,
        "d": dt.date.fromisoformat,
        "ts": dt.datetime.fromisoformat,
        "u": uuid.UUID,
    }.get(column)
    values = _COLUMNS[column]
    return [None if v is None or convert is None else convert(v) for v in values] if convert else list(values)
