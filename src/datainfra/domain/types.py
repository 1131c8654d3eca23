"""Field types and how client values become typed values.

Two entry points, because values reach us in two shapes:
- `coerce_json` takes a value decoded from a JSON body (numbers arrive as int or Decimal, so that
  `numeric` stays exact) and returns the typed Python value every adapter stores;
- `parse_text` takes a value written as text (a query parameter, a CSV cell) and returns the same.

Both refuse what PostgreSQL would refuse (NUL characters in text, integers beyond 64 bits, numbers
beyond a float's range where a float is expected, numerics past numeric's digit limits, dates outside
years 1-9999), so the in-memory stores reject exactly what the real ones reject, and every bad value
is a BadValue, never another exception (tests/unit/test_typed_values.py holds them to that).

NaN, infinities and dates Python cannot hold are read-only: PostgreSQL can hold them (written with
SQL) and reads show them as PostgreSQL's JSON text ("NaN", "infinity", see `is_read_only_form`),
but writes refuse them, saying so.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import re
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import NoReturn, TypeAlias, cast

from datainfra.domain.json_depth import json_depth_exceeds
from datainfra.domain.json_value import JsonValue

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


FieldValue: TypeAlias = "bool | int | float | Decimal | str | dt.date | dt.datetime | uuid.UUID | JsonValue | None"
"""A typed value as `coerce_json` / `parse_text` return it and the stores give it back (a json field
holds any JSON value; a value only PostgreSQL can hold is read back as its text)."""


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


NUMERIC_MAX_INTEGER_DIGITS = 131072
"""PostgreSQL's numeric: at most this many digits before the decimal point ..."""
NUMERIC_MAX_FRACTION_DIGITS = 16383
"""... and this many after it."""
_NOT_WRITTEN = (
    'NaN and infinities can be read (as the strings "NaN", "Infinity", "-Infinity") but are not '
    "accepted in writes; store them with SQL if you need them"
)

_INFINITE_DATES = frozenset({"infinity", "-infinity"})
_INFINITE_NOT_WRITTEN = (
    'infinite dates and timestamps can be read (as the strings "infinity", "-infinity") but are not '
    "accepted in writes; store them with SQL if you need them"
)


def _check_float(value: float) -> float:
    if value - value != 0.0:  # NaN or an infinity
        raise BadValue(f"float must be finite: {_NOT_WRITTEN}")
    return value


def _to_float(value: int | Decimal) -> float:
    """A JSON number as a float; a number beyond the float range (about ±1.8e308) is refused, not
    rounded to an infinity (and an integer too large for float() is no OverflowError)."""
    if isinstance(value, Decimal) and not value.is_finite():  # NaN, sNaN (float() raises on it), infinities
        raise BadValue(f"float must be finite: {_NOT_WRITTEN}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if number - number != 0.0:
        raise BadValue("number out of the float range (at most about ±1.8e308)")
    return number


def _check_decimal(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise BadValue(f"numeric must be finite: {_NOT_WRITTEN}")
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if digits != (0,) and value.adjusted() >= NUMERIC_MAX_INTEGER_DIGITS:
        raise BadValue(f"numeric out of range: at most {NUMERIC_MAX_INTEGER_DIGITS} digits before the decimal point")
    if -exponent > NUMERIC_MAX_FRACTION_DIGITS:
        raise BadValue(f"numeric out of range: at most {NUMERIC_MAX_FRACTION_DIGITS} digits after the decimal point")
    return value


def _check_json_number(value: int | Decimal) -> int | Decimal:
    """A number inside a json value: jsonb keeps it as a numeric, so numeric's range applies."""
    if isinstance(value, int):
        if value.bit_length() > 435_000:  # surely more than 131072 digits; fewer are checked exactly
            raise BadValue(f"numeric out of range: at most {NUMERIC_MAX_INTEGER_DIGITS} digits before the point")
        if value.bit_length() > 64:
            _check_decimal(Decimal(value))
        return value
    return _check_decimal(value)


NON_FINITE_TEXTS = frozenset({"NaN", "Infinity", "-Infinity"})
"""How a non-finite float or numeric reads in the API (PostgreSQL's own JSON output writes them so):
JSON has no number for them."""


def non_finite_text(value: float | Decimal) -> str | None:
    """ "NaN", "Infinity" or "-Infinity" for a non-finite number, None for a finite one."""
    if isinstance(value, Decimal):
        if value.is_finite():
            return None
        return "NaN" if value.is_nan() else "-Infinity" if value.is_signed() else "Infinity"
    if value - value == 0.0:
        return None
    return "NaN" if value != value else "-Infinity" if value < 0 else "Infinity"


_BEYOND_PYTHON_DATE = re.compile(
    r"-?infinity"  # infinite
    r"|[0-9]{4,}-[0-9]{2}-[0-9]{2}([T ][^ ]*)? BC"  # before year 1
    r"|[0-9]{5,}-[0-9]{2}-[0-9]{2}([T ].*)?"  # after year 9999
)


def is_read_only_form(text: str, field_type: FieldType) -> bool:
    """Whether `text` is how the API shows a stored value that writes do not accept: a non-finite
    float or numeric, or a date or timestamp that is infinite, BC or after year 9999 (PostgreSQL
    holds them; they can only come from SQL). Such a value may come back in a paging cursor."""
    if field_type in (FieldType.FLOAT, FieldType.NUMERIC):
        return text in NON_FINITE_TEXTS
    if field_type in (FieldType.DATE, FieldType.TIMESTAMP):
        return _BEYOND_PYTHON_DATE.fullmatch(text) is not None
    return False


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


MAX_JSON_VALUE_DEPTH = 64
"""Nested arrays and objects in one json value (a column, a property); JSON text is measured before
it is decoded (`json_depth_exceeds`), decoded values as they are checked."""


def _check_json(value: object, depth: int = 0) -> JsonValue:
    """JSON values keep their shape; strings inside must not hold NUL (PostgreSQL jsonb refuses it)."""
    if depth > MAX_JSON_VALUE_DEPTH:
        raise BadValue(f"json nested deeper than {MAX_JSON_VALUE_DEPTH} levels")
    if isinstance(value, str):
        return _check_text(value)
    if isinstance(value, float):
        return Decimal(repr(_check_float(value)))
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        return _check_json_number(value)
    if isinstance(value, list):
        return [_check_json(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_check_text(str(k)): _check_json(v, depth + 1) for k, v in value.items()}
    raise BadValue(f"not a JSON value: {type(value).__name__}")


def coerce_json(value: object, field_type: FieldType) -> FieldValue:
    """A JSON-decoded value → the typed value for `field_type`. None passes through (nullability is
    checked by the schema). Raises BadValue with a client-facing reason."""
    if value is None:
        return None
    return JSON_COERCERS[field_type](value)


def parse_text(text: str, field_type: FieldType) -> FieldValue:
    """A value written as text → the typed value. Raises BadValue with a client-facing reason."""
    return TEXT_PARSERS[field_type](text)


# -- one converter per type (bulk loads look them up once per column, not once per value) -----------


def _mismatch(value: object, field_type: FieldType) -> BadValue:
    return BadValue(f"expected {field_type.value}, got {_json_kind(value)}")


def _invalid(text: str, field_type: FieldType) -> BadValue:
    return BadValue(f"{text!r} is not a valid {field_type.value}")


def _json_text(value: object) -> FieldValue:
    if isinstance(value, str):
        return _check_text(value)
    raise _mismatch(value, FieldType.TEXT)


def _json_integer(value: object) -> FieldValue:
    if type(value) is int:
        return _check_int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _check_int(value)
    integral = isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()
    if integral and isinstance(value, Decimal) and "." not in str(value):
        if value.adjusted() > 19:  # far outside 64 bits: int() of it could take a long time
            raise BadValue("integer out of the 64-bit range")
        return _check_int(int(value))
    raise _mismatch(value, FieldType.INTEGER)


def _json_float(value: object) -> FieldValue:
    if type(value) is Decimal or type(value) is int:  # JSON numbers as the body decoder gives them
        return _to_float(value)
    if isinstance(value, float):
        return _check_float(value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return _to_float(value)
    if isinstance(value, str) and value in NON_FINITE_TEXTS:
        raise BadValue(f"float must be finite: {_NOT_WRITTEN}")
    raise _mismatch(value, FieldType.FLOAT)


def _json_numeric(value: object) -> FieldValue:
    if isinstance(value, int) and not isinstance(value, bool):
        _check_json_number(value)
        return Decimal(value)
    if isinstance(value, Decimal):
        return _check_decimal(value)
    if isinstance(value, float):
        return _check_decimal(Decimal(repr(_check_float(value))))
    if isinstance(value, str):
        return _text_numeric(value)
    raise _mismatch(value, FieldType.NUMERIC)


def _json_boolean(value: object) -> FieldValue:
    if isinstance(value, bool):
        return value
    raise _mismatch(value, FieldType.BOOLEAN)


def _json_date(value: object) -> FieldValue:
    if isinstance(value, str):
        return _text_date(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise _mismatch(value, FieldType.DATE)


def _json_timestamp(value: object) -> FieldValue:
    if isinstance(value, str):
        return _text_timestamp(value)
    if isinstance(value, dt.datetime):
        return _as_utc(value)
    raise _mismatch(value, FieldType.TIMESTAMP)


def _json_uuid(value: object) -> FieldValue:
    if isinstance(value, str):
        return _text_uuid(value)
    if isinstance(value, uuid.UUID):
        return value
    raise _mismatch(value, FieldType.UUID)


_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.,]+([Zz]|[+-][0-9:]+)?)?")
_BOOL_TEXT = dict.fromkeys(_TRUE_TEXT, True) | dict.fromkeys(_FALSE_TEXT, False)
_PARSE_ERRORS = (ValueError, InvalidOperation, OverflowError)


def _text_integer(text: str) -> FieldValue:
    try:
        if text.isascii() and text.isdigit():  # the common case: plain digits, nothing to strip
            return _check_int(int(text))
        stripped = text.strip()
        if _INT_TEXT.fullmatch(stripped):
            return _check_int(int(stripped))
    except _PARSE_ERRORS:  # e.g. more digits than int() converts
        pass
    raise _invalid(text, FieldType.INTEGER)


def _text_float(text: str) -> FieldValue:
    if text.isascii() and "_" not in text:
        # The common case: float() takes the text and the value is finite. Beyond the pattern,
        # float() takes only underscores and nan/inf spellings (non-finite: they go the long way).
        try:
            value = float(text)
        except ValueError:
            pass
        else:
            if value - value == 0.0:  # finite
                return value
    stripped = text.strip()
    if stripped in NON_FINITE_TEXTS:
        raise BadValue(f"float must be finite: {_NOT_WRITTEN}")
    if _FLOAT_TEXT.fullmatch(stripped):
        value = float(stripped)  # never raises for text of this pattern, however long
        if value - value == 0.0:
            return value
        raise BadValue(f"{text!r} is out of the float range (at most about ±1.8e308)")
    raise _invalid(text, FieldType.FLOAT)


def _text_numeric(text: str) -> FieldValue:
    stripped = text.strip()
    if stripped in NON_FINITE_TEXTS:
        raise BadValue(f"numeric must be finite: {_NOT_WRITTEN}")
    if _FLOAT_TEXT.fullmatch(stripped):
        try:
            return _check_decimal(Decimal(stripped))
        except _PARSE_ERRORS:
            pass
    raise _invalid(text, FieldType.NUMERIC)


def _text_boolean(text: str) -> FieldValue:
    value = _BOOL_TEXT.get(text.strip().lower())
    if value is None:
        raise _invalid(text, FieldType.BOOLEAN)
    return value


def _text_date(text: str) -> FieldValue:
    stripped = text.strip()
    if stripped in _INFINITE_DATES:
        raise BadValue(_INFINITE_NOT_WRITTEN)
    if _DATE_TEXT.fullmatch(stripped):
        try:
            return dt.date.fromisoformat(stripped)
        except _PARSE_ERRORS:
            pass
    raise _invalid(text, FieldType.DATE)


def _text_timestamp(text: str) -> FieldValue:
    stripped = text.strip()
    if stripped in _INFINITE_DATES:
        raise BadValue(_INFINITE_NOT_WRITTEN)
    if _TIMESTAMP_TEXT.fullmatch(stripped):
        try:
            return _as_utc(dt.datetime.fromisoformat(stripped.replace(" ", "T", 1)))
        except _PARSE_ERRORS:
            pass
    raise _invalid(text, FieldType.TIMESTAMP)


def _text_uuid(text: str) -> FieldValue:
    try:
        return uuid.UUID(text.strip())
    except _PARSE_ERRORS:
        raise _invalid(text, FieldType.UUID) from None


def _text_json(text: str) -> FieldValue:
    if json_depth_exceeds(text, MAX_JSON_VALUE_DEPTH):
        raise BadValue(f"json nested deeper than {MAX_JSON_VALUE_DEPTH} levels")
    try:
        decoded = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except _PARSE_ERRORS:
        raise _invalid(text, FieldType.JSON) from None
    try:
        return _check_json(decoded)
    except _PARSE_ERRORS:
        raise _invalid(text, FieldType.JSON) from None


JSON_COERCERS: dict[FieldType, Callable[[object], FieldValue]] = {
    FieldType.TEXT: _json_text,
    FieldType.INTEGER: _json_integer,
    FieldType.FLOAT: _json_float,
    FieldType.NUMERIC: _json_numeric,
    FieldType.BOOLEAN: _json_boolean,
    FieldType.DATE: _json_date,
    FieldType.TIMESTAMP: _json_timestamp,
    FieldType.JSON: _check_json,
    FieldType.UUID: _json_uuid,
}
"""`coerce_json` per type, for a non-None value."""

TEXT_PARSERS: dict[FieldType, Callable[[str], FieldValue]] = {
    FieldType.TEXT: _check_text,
    FieldType.INTEGER: _text_integer,
    FieldType.FLOAT: _text_float,
    FieldType.NUMERIC: _text_numeric,
    FieldType.BOOLEAN: _text_boolean,
    FieldType.DATE: _text_date,
    FieldType.TIMESTAMP: _text_timestamp,
    FieldType.JSON: _text_json,
    FieldType.UUID: _text_uuid,
}
"""`parse_text` per type."""


def _no_constant(name: str) -> NoReturn:
    raise BadValue(f"{name} is not a JSON value")


def render_text(value: FieldValue, field_type: FieldType) -> str:
    """The canonical text form of a typed value (the inverse of `parse_text`). A value read from
    PostgreSQL that Python's types cannot hold (see `is_read_only_form`) is already its text."""
    if isinstance(value, str):
        return value
    if field_type is FieldType.BOOLEAN:
        return "true" if value else "false"
    if field_type is FieldType.TIMESTAMP:
        return str(_as_utc(cast(dt.datetime, value)).isoformat())  # the field type says which
    if field_type is FieldType.FLOAT:
        return repr(float(cast(float | int | Decimal, value)))
    return str(value)


def _json_kind(value: object) -> str:
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
