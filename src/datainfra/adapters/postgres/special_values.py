"""Loading the values PostgreSQL holds that Python's types cannot carry into JSON.

float8/float4/numeric can be NaN, Infinity or -Infinity; date/timestamp/timestamptz can be
infinity or -infinity, before year 1 (BC) or after year 9999. Python's float keeps NaN but JSON
cannot (msgspec would write null), Decimal keeps them but cannot be a JSON number, and datetime
cannot hold the dates at all (psycopg raises DataError). Each such value is loaded as the string
PostgreSQL's own JSON output (row_to_json, what the NDJSON export streams) writes for it, so a
query result, a record GET and an export show it the same: "NaN", "Infinity", "-Infinity",
"infinity", "-infinity", "0044-03-15 BC"; a timestamptz in the API's one timestamp form
(`value_text.timestamp_rfc3339`: "12000-01-01T10:00:00Z", "0044-03-15T05:00:00.500000Z BC"), a
timestamp without time zone as row_to_json writes it ("12000-01-01T10:00:00"). Every other value
loads as before.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import abc, pq
from psycopg.adapt import Loader

from datainfra.domain.types import non_finite_text
from datainfra.domain.value_text import timestamp_rfc3339_of_text

_OFFSET = re.compile(r"([+-][0-9]{2})((?::[0-9]{2}){0,2})(?= BC$|$)")


def timestamp_json(raw: bytes) -> str:
    """A timestamp's text (ISO DateStyle) → row_to_json's form: `T` between date and time, a UTC
    offset written +HH:MM ("0044-03-15 05:00:00+00 BC" → "0044-03-15T05:00:00+00:00 BC")."""
    text = raw.decode()
    if text in ("infinity", "-infinity"):
        return text
    text = text.replace(" ", "T", 1)
    return _OFFSET.sub(lambda m: m.group(1) + (m.group(2) or ":00"), text, count=1)


class _Wrapping(Loader):
    """Delegates to the loader psycopg would use (often its C one, which cannot be subclassed)."""

    base: type[abc.Loader]

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._base = self.base(oid, context)

    def load(self, data: Any) -> Any:
        return self._base.load(data)


class _NumberLoader(_Wrapping):
    def load(self, data: Any) -> Any:
        value = self._base.load(data)
        if isinstance(value, float | Decimal):
            return non_finite_text(value) or value
        return value


class _DateLoader(_Wrapping):
    def load(self, data: Any) -> Any:
        try:
            return self._base.load(data)
        except psycopg.DataError:
            return bytes(data).decode()  # a date's text is its JSON form: infinity, 0044-03-15 BC, 12000-01-01


class _TimestampLoader(_Wrapping):
    def load(self, data: Any) -> Any:
        try:
            return self._base.load(data)
        except psycopg.DataError:
            return timestamp_json(bytes(data))


class _TimestamptzLoader(_Wrapping):
    def load(self, data: Any) -> Any:
        try:
            return self._base.load(data)
        except psycopg.DataError:
            return timestamp_rfc3339_of_text(bytes(data).decode())


_KINDS: dict[str, type[_Wrapping]] = {
    "float4": _NumberLoader,
    "float8": _NumberLoader,
    "numeric": _NumberLoader,
    "date": _DateLoader,
    "timestamp": _TimestampLoader,
    "timestamptz": _TimestamptzLoader,
}
_made: dict[tuple[type[_Wrapping], type[abc.Loader]], type[_Wrapping]] = {}


def load_special_values(conn: psycopg.AsyncConnection[Any]) -> None:
    """Make `conn` (text-format results) load the values above as their JSON strings."""
    for name, kind in _KINDS.items():
        info = conn.adapters.types.get(name)
        if info is None:
            continue
        base = conn.adapters.get_loader(info.oid, pq.Format.TEXT)
        if base is None or issubclass(base, _Wrapping):
            continue
        loader = _made.get((kind, base))
        if loader is None:
            loader = _made[(kind, base)] = type(f"{kind.__name__}Over{base.__name__}", (kind,), {"base": base})
        conn.adapters.register_loader(info.oid, loader)
