"""Typed values to Neo4j property values and back.

Neo4j has native integers, floats, booleans, strings, dates, zoned datetimes and lists; the other
types of `domain.types` are stored as strings and read back by the schema's declared type:
- numeric (Decimal) keeps its exact text in the property and an order key in the hidden
  property ``#o:<name>``: a string whose code-point order is the numeric order (1.0 and 1.00 share
  one key), so filters and sorts compare numbers, not texts;
- uuid is its canonical lowercase text (its text order is PostgreSQL's uuid order);
- json is JSON text (numbers kept exact).

Values a client can store only through Cypher read back as JSON values, the same on every read path
(graph routes, exports, Cypher results), full precision kept (issue 11):
- a date: a date (`2020-01-02`);
- a date-time with an offset or a zone id: its text with both kept, nanoseconds too
  (`2015-07-21T21:40:32.142000+01:00[Europe/Stockholm]`; in UTC it is the API's timestamp form,
  issue 13), except in a property the schema declares a `timestamp`: that reads as the API's
  timestamp, a UTC datetime;
- a local date-time, local time or time with offset: Neo4j's text, nanoseconds kept and trailing
  fraction zeros dropped (`2020-01-02T03:04:05.123456789`, `12:00:00`, `12:00:00+01:00`, `…Z` at 0);
- a duration: ISO 8601 as Neo4j prints it (`P1DT2H`);
- a point: a map `{"srid": …, "x": …, "y": …}` (and `"z"` in 3D).
The texts are `temporal_text`'s, which also reads them back (typed query parameters).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from neo4j.spatial import Point
from neo4j.time import Date as NeoDate
from neo4j.time import DateTime as NeoDateTime
from neo4j.time import Duration as NeoDuration
from neo4j.time import Time as NeoTime

from datainfra.adapters.neo4j.namespacing import INTERNAL_PREFIX, order_key
from datainfra.adapters.neo4j.temporal_text import (
    duration_text,
    local_datetime_text,
    time_of_day_text,
    zoned_datetime_text,
)
from datainfra.domain.json_depth import MAX_JSON_DEPTH, json_depth_exceeds
from datainfra.domain.types import FieldType, non_finite_text

_EXP_OFFSET = 10**19
_EXP_WIDTH = 20


def decimal_order_key(value: Decimal) -> str:
    """A text whose code-point order is the numeric order of finite decimals, equal for equal values.

    zero → "1"; positive → "2" + biased exponent + digits; negative → "0" + inverted exponent +
    nines' complement of the digits + "~" (so a shorter mantissa sorts after a longer one)."""
    if value.is_zero():
        return "1"
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits)).lstrip("0")
    stripped = mantissa.rstrip("0")
    exponent += len(mantissa) - len(stripped)
    mantissa = stripped
    magnitude = exponent + len(mantissa)  # value = 0.mantissa * 10**magnitude
    if not sign:
        return "2" + str(magnitude + _EXP_OFFSET).zfill(_EXP_WIDTH) + mantissa
    inverted = "".join(str(9 - int(d)) for d in mantissa)
    return "0" + str(_EXP_OFFSET - magnitude).zfill(_EXP_WIDTH) + inverted + "~"


def condition_value(value: Any, field_type: FieldType) -> Any:
    """A filter's typed value as the stored form it is compared with."""
    if field_type is FieldType.NUMERIC and isinstance(value, Decimal):
        return decimal_order_key(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return value


def encode_properties(properties: Mapping[str, Any], declared: Mapping[str, FieldType]) -> dict[str, Any]:
    """Typed properties → the property map to `SET n += ...`. A None value (remove) also removes
    the hidden order key of a numeric property."""
    out: dict[str, Any] = {}
    for name, value in properties.items():
        field_type = declared.get(name)
        if value is None:
            out[name] = None
            if field_type is FieldType.NUMERIC:
                out[order_key(name)] = None
            continue
        if field_type is FieldType.NUMERIC and isinstance(value, Decimal):
            out[name] = str(value)
            out[order_key(name)] = decimal_order_key(value)
            continue
        if field_type is FieldType.JSON:
            out[name] = dump_json(value)
            continue
        out[name] = _scalar_out(value)
        if field_type is FieldType.NUMERIC:
            out[order_key(name)] = None
    return out


def _scalar_out(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_scalar_out(item) for item in value]
    return value


def decode_properties(stored: Mapping[str, Any], declared: Mapping[str, FieldType]) -> dict[str, Any]:
    """A stored property map → typed properties (internal properties dropped)."""
    out: dict[str, Any] = {}
    for name, value in stored.items():
        if name.startswith(INTERNAL_PREFIX) or value is None:
            continue
        out[name] = decode_value(value, declared.get(name))
    return out


def decode_value(value: Any, field_type: FieldType | None) -> Any:
    if isinstance(value, str):
        try:
            if field_type is FieldType.NUMERIC:
                return Decimal(value)
            if field_type is FieldType.UUID:
                return uuid.UUID(value)
            if field_type is FieldType.JSON and not json_depth_exceeds(value, MAX_JSON_DEPTH):
                return json.loads(value, parse_float=Decimal)
        except ValueError:  # text that is not what its type says (Cypher wrote it) stays text
            return value
        return value
    if isinstance(value, NeoDateTime):
        if value.tzinfo is None:
            return local_datetime_text(value)
        if field_type is FieldType.TIMESTAMP:
            return value.to_native().astimezone(dt.UTC)
        return zoned_datetime_text(value)
    if isinstance(value, NeoDate):
        return value.to_native()
    if isinstance(value, NeoTime):
        return time_of_day_text(value)
    if isinstance(value, NeoDuration):
        return duration_text(value)
    if isinstance(value, Point):
        return {"srid": value.srid, **dict(zip(("x", "y", "z"), value, strict=False))}
    if isinstance(value, list):
        return [decode_value(item, None) for item in value]
    if isinstance(value, float):
        return non_finite_text(value) or value  # NaN and infinities: JSON has no number for them
    return value


def dump_json(value: Any) -> str:
    """JSON text with Decimals written exactly (json.dumps cannot write them)."""
    return "".join(_json_parts(value))


def _json_parts(value: Any) -> list[str]:
    if isinstance(value, Decimal):
        return [str(value) if value.is_finite() else "null"]
    if isinstance(value, bool) or value is None or isinstance(value, int | float | str):
        return [json.dumps(value, ensure_ascii=False)]
    if isinstance(value, list | tuple):
        parts = ["["]
        for i, item in enumerate(value):
            if i:
                parts.append(",")
            parts.extend(_json_parts(item))
        parts.append("]")
        return parts
    if isinstance(value, Mapping):
        parts = ["{"]
        for i, (key, item) in enumerate(value.items()):
            if i:
                parts.append(",")
            parts.append(json.dumps(str(key), ensure_ascii=False))
            parts.append(":")
            parts.extend(_json_parts(item))
        parts.append("}")
        return parts
    return [json.dumps(str(value), ensure_ascii=False)]
