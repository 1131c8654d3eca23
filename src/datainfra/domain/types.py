"""Field types and how client values become typed values.

Two entry points, because values reach us in two shapes:
- `coerce_json` takes a value decoded from a JSON body (numbers arrive as int or Decimal, so that
  `numeric` stays exact) and returns the typed Python value every adapter stores;
- `parse_text` takes a value written as text (a query parameter, a CSV cell) and returns the same.

Both refuse what PostgreSQL would refuse (NUL characters in text, integers beyond 64 bits, non-finite
numbers), so the in-memory stores reject exactly what the real ones reject.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_TRUE_TEXT = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE_TEXT = frozenset({"false", "f", "no", "n", "off", "0"})


class FieldType(enum.StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    NUMERIC = "numeric"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    JSON = "json"
    UUID = "uuid"

    @property
    def orderable(self) -> bool:
        return self is not FieldType.JSON

    @property
    def textual(self) -> bool:
        return self is FieldType.TEXT


class BadValue(Exception):
    """A value that does not fit its type; callers turn it into a located DomainError."""


def _check_text(value: str) -> str:
    if "\x00" in value:
        raise BadValue("text must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadValue("text must be valid Unicode (no lone surrogates)") from None
    return value


def _check_int(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadValue("integer out of the 64-bit range")
    return value


def _check_float(value: float) -> float:
    if value != value or value in (float("inf"), float("-inf")):
        raise BadValue("float must be finite")
    return value


def _check_decimal(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise BadValue("numeric must be finite")
    return value


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _check_json(value: Any, depth: int = 0) -> Any:
    """JSON values keep their shape; strings inside must not hold NUL (PostgreSQL jsonb refuses it)."""
    if depth > 64:
        raise BadValue("json nested deeper than 64 levels")
    if isinstance(value, str):
        return _check_text(value)
    if isinstance(value, float):
        return Decimal(repr(_check_float(value)))
    if value is None or isinstance(value, bool | int | Decimal):
        return value
    if isinstance(value, list):
        return [_check_json(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_check_text(str(k)): _check_json(v, depth + 1) for k, v in value.items()}
    raise BadValue(f"not a JSON value: {type(value).__name__}")


def coerce_json(value: Any, field_type: FieldType) -> Any:
    """A JSON-decoded value → the typed value for `field_type`. None passes through (nullability is
    checked by the schema). Raises BadValue with a client-facing reason."""
    if value is None:
        return None
    match field_type:
        case FieldType.TEXT:
            if isinstance(value, str):
                return _check_text(value)
        case FieldType.INTEGER:
            if isinstance(value, int) and not isinstance(value, bool):
                return _check_int(value)
            if isinstance(value, Decimal) and value == value.to_integral_value() and "." not in str(value):
                return _check_int(int(value))
        case FieldType.FLOAT:
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                return _check_float(float(value))
        case FieldType.NUMERIC:
            if isinstance(value, int) and not isinstance(value, bool):
                return Decimal(value)
            if isinstance(value, Decimal):
                return _check_decimal(value)
            if isinstance(value, float):
                return _check_decimal(Decimal(repr(_check_float(value))))
            if isinstance(value, str):
                return parse_text(value, field_type)
        case FieldType.BOOLEAN:
            if isinstance(value, bool):
                return value
        case FieldType.DATE | FieldType.TIMESTAMP | FieldType.UUID:
            if isinstance(value, str):
                return parse_text(value, field_type)
            if field_type is FieldType.DATE and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return value
            if field_type is FieldType.TIMESTAMP and isinstance(value, dt.datetime):
                return _as_utc(value)
            if field_type is FieldType.UUID and isinstance(value, uuid.UUID):
                return value
        case FieldType.JSON:
            return _check_json(value)
    raise BadValue(f"expected {field_type.value}, got {_json_kind(value)}")


def parse_text(text: str, field_type: FieldType) -> Any:
    """A value written as text → the typed value. Raises BadValue with a client-facing reason."""
    stripped = text.strip()
    try:
        match field_type:
            case FieldType.TEXT:
                return _check_text(text)
            case FieldType.INTEGER:
                if _INT_TEXT.fullmatch(stripped):
                    return _check_int(int(stripped))
            case FieldType.FLOAT:
                if _FLOAT_TEXT.fullmatch(stripped):
                    return _check_float(float(stripped))
            case FieldType.NUMERIC:
                if _FLOAT_TEXT.fullmatch(stripped):
                    return _check_decimal(Decimal(stripped))
            case FieldType.BOOLEAN:
                lowered = stripped.lower()
                if lowered in _TRUE_TEXT:
                    return True
                if lowered in _FALSE_TEXT:
                    return False
            case FieldType.DATE:
                if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", stripped):
                    return dt.date.fromisoformat(stripped)
            case FieldType.TIMESTAMP:
                if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.,]+([Zz]|[+-][0-9:]+)?)?", stripped):
                    return _as_utc(dt.datetime.fromisoformat(stripped.replace(" ", "T", 1)))
            case FieldType.UUID:
                return uuid.UUID(stripped)
            case FieldType.JSON:
                return _check_json(json.loads(text, parse_float=Decimal, parse_constant=_no_constant))
    except (ValueError, InvalidOperation, OverflowError, RecursionError) as exc:
        if isinstance(exc, BadValue):
            raise
        raise BadValue(f"{text!r} is not a valid {field_type.value}") from None
    raise BadValue(f"{text!r} is not a valid {field_type.value}")


def _no_constant(name: str) -> Any:
    raise BadValue(f"{name} is not a JSON value")


def render_text(value: Any, field_type: FieldType) -> str:
    """The canonical text form of a typed value (the inverse of `parse_text`)."""
    if field_type is FieldType.BOOLEAN:
        return "true" if value else "false"
    if field_type is FieldType.TIMESTAMP:
        return str(_as_utc(value).isoformat())
    if field_type is FieldType.FLOAT:
        return repr(float(value))
    return str(value)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
