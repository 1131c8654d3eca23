"""The text form of stored values: what a column cast to text holds, and what the CSV and NDJSON
exports write for each typed value.

The forms are PostgreSQL's output functions in a UTC session (the real store is the reference:
its `COPY` fast path writes them itself and an integration test holds the two equal), written here
once so the export writers at the HTTP edge and the in-memory store's casts share them:
booleans true/false, shortest round-trip floats (1e+20, 1.5e-07), numerics with their scale,
timestamps as `2026-01-02 03:04:05.5+00` (`::text`), jsonb text (`{"a": [1, "x"]}`, keys by length
then bytes), lowercase UUIDs.

One exception, on purpose: an exported timestamp (CSV and NDJSON alike) is written the one way the
API writes timestamps everywhere, RFC 3339 in UTC with `Z` and the fraction either omitted (when
zero) or exactly 6 digits: `2026-01-02T03:04:05Z`, `2026-01-02T03:04:05.500000Z` (what msgspec
writes for a UTC datetime in every JSON answer). The COPY fast path selects the same text with
`TIMESTAMP_SQL`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import cast

from datainfra.domain.types import FieldType, FieldValue

_TEXT_FORM = re.compile(
    r"^(-?[0-9]+-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?[+-]00(?::00)?( BC)?$"
)


def float_text(value: float) -> str:
    """float8out: the shortest round-tripping digits, exponent form below 1e-4 or from 1e15."""
    if value != value or value in (float("inf"), float("-inf")):
        return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exponent += len(digits) - len(text)
    point = len(text) + exponent - 1  # the decimal exponent of the first digit
    prefix = "-" if sign else ""
    if point < -4 or point >= 15:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if point < 0 else '+'}{abs(point):02d}"
    if point < 0:
        return f"{prefix}0.{'0' * (-point - 1)}{text}"
    if point + 1 >= len(text):
        return prefix + text + "0" * (point + 1 - len(text))
    return f"{prefix}{text[: point + 1]}.{text[point + 1 :]}"


def numeric_text(value: int | Decimal) -> str:
    """numeric_out: plain digits at the value's own scale (1.50 stays 1.50)."""
    return format(Decimal(value), "f")


def timestamp_text(value: dt.datetime) -> str:
    """timestamptz_out in a UTC session: '2026-01-02 03:04:05.5+00' (fraction without trailing zeros)."""
    v = value.astimezone(dt.UTC)
    text = f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    if v.microsecond:
        text += "." + f"{v.microsecond:06d}".rstrip("0")
    return text + "+00"


def timestamp_rfc3339(value: dt.datetime) -> str:
    """The API's one timestamp text: RFC 3339, UTC, `Z`, no fraction when it is zero, else exactly
    6 digits ('2026-01-02T03:04:05Z', '2026-01-02T03:04:05.500000Z'), as msgspec writes it."""
    v = value.astimezone(dt.UTC)
    text = f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    if v.microsecond:
        text += f".{v.microsecond:06d}"
    return text + "Z"


def timestamp_rfc3339_of_text(text: str) -> str:
    """A timestamptz Python cannot hold, from PostgreSQL's text for it (UTC session), in the form of
    `timestamp_rfc3339`: '12000-01-01 10:00:00.5+00' → '12000-01-01T10:00:00.500000Z', '0044-03-15
    05:00:00+00 BC' → '0044-03-15T05:00:00Z BC'; 'infinity' and '-infinity' stay as they are."""
    match = _TEXT_FORM.match(text)
    if match is None:
        return text
    date, time, fraction, era = match.groups()
    fraction = f".{fraction.ljust(6, '0')}" if fraction and fraction.strip("0") else ""
    return f"{date}T{time}{fraction}Z{era or ''}"


def json_text(value: object) -> str:
    """jsonb's text form: ", " and ": " separators, object keys by length then bytes."""
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda item: (len(item[0].encode()), item[0].encode()))
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {json_text(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(json_text(item) for item in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def cast_text(value: FieldValue, field_type: FieldType) -> str:
    """`value::text` of a non-null typed value: booleans true/false, the forms above otherwise."""
    if field_type is FieldType.BOOLEAN:
        return "true" if value else "false"
    if field_type is FieldType.FLOAT:
        return float_text(float(cast(float | int | Decimal, value)))  # the field type says which
    if field_type is FieldType.NUMERIC:
        return numeric_text(cast(int | Decimal, value))
    if field_type is FieldType.TIMESTAMP:
        return timestamp_text(cast(dt.datetime, value))
    if field_type is FieldType.JSON:
        return json_text(value)
    if field_type is FieldType.UUID:
        return str(uuid.UUID(str(value)))
    return str(value)
