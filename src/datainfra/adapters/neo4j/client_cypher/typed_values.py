"""Typed query parameters: a value JSON cannot carry, sent back as `{"$type": <type>, "value": <JSON form>}`.

`<type>` is the name a result column gives the value's type, `<JSON form>` what a result holds for
it, so anything a query returns can be sent back and compares equal:
`{"$type": "datetime", "value": "2015-07-21T21:40:32.142000+01:00[Europe/Stockholm]"}`,
`{"$type": "duration", "value": "P1DT2H"}`, `{"$type": "point", "value": {"srid": 7203, "x": 1, "y": 2}}`,
`{"$type": "float", "value": "NaN"}`, `{"$type": "integer", "value": "9223372036854775807"}` (for clients
whose JSON numbers are doubles). Typed values may stand anywhere in a parameter (in lists, in maps).
An object with exactly the members `$type` and `value` is always read as one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from neo4j.spatial import CartesianPoint, WGS84Point

from datainfra.adapters.neo4j.temporal_text import TEMPORAL_TYPES, parse_temporal
from datainfra.domain.errors import InvalidRequest

TYPE_KEY = "$type"
VALUE_KEY = "value"
_INT64 = (-(2**63), 2**63 - 1)
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_POINTS: dict[int, tuple[type[Any], int]] = {
    7203: (CartesianPoint, 2),
    9157: (CartesianPoint, 3),
    4326: (WGS84Point, 2),
    4979: (WGS84Point, 3),
}
TYPES = ("integer", "float", "string", "boolean", *TEMPORAL_TYPES, "point")
"""The type names a typed parameter may give."""


def is_typed(value: Mapping[str, Any]) -> bool:
    return len(value) == 2 and TYPE_KEY in value and VALUE_KEY in value


def typed_value(value: Mapping[str, Any], where: str) -> Any:
    """The driver value of a typed parameter; a 400 naming `where` when it is not one."""
    kind, given = value[TYPE_KEY], value[VALUE_KEY]
    if kind not in TYPES:
        raise InvalidRequest(f"$type must be one of {', '.join(TYPES)} (a result column's type)", field=where)
    try:
        return _convert(kind, given)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidRequest(f"not a {kind}: {exc}", field=where) from None


def _convert(kind: str, given: Any) -> Any:
    if kind in TEMPORAL_TYPES:
        if not isinstance(given, str):
            raise ValueError("the value must be its text, as a result writes it")
        return parse_temporal(kind, given)
    if kind == "point":
        return _point(given)
    if kind == "integer":
        return _integer(given)
    if kind == "float":
        return _float(given)
    expected = str if kind == "string" else bool
    if not isinstance(given, expected):
        raise ValueError(f"the value must be a JSON {'string' if kind == 'string' else 'true or false'}")
    return given


def _integer(given: Any) -> int:
    if isinstance(given, str) and given.strip() == given and given.lstrip("-").isdigit() and given.isascii():
        given = int(given)
    if isinstance(given, bool) or not isinstance(given, int):
        raise ValueError("the value must be an integer, as a JSON number or its decimal text")
    if not _INT64[0] <= given <= _INT64[1]:
        raise ValueError("an integer must fit in 64 bits")
    return given


def _float(given: Any) -> float:
    if isinstance(given, str) and given in _NON_FINITE:
        return _NON_FINITE[given]
    if isinstance(given, bool) or not isinstance(given, int | float | Decimal):
        raise ValueError('the value must be a number, "NaN", "Infinity" or "-Infinity"')
    number = float(given)
    if not math.isfinite(number):
        raise ValueError("the number does not fit in a 64-bit float")
    return number


def _point(given: Any) -> Any:
    if not isinstance(given, Mapping) or not isinstance(given.get("srid"), int) or given["srid"] not in _POINTS:
        srids = ", ".join(map(str, _POINTS))
        raise ValueError(f'the value must be {{"srid": …, "x": …, "y": …}} (and "z" in 3D) with srid one of {srids}')
    cls, dimensions = _POINTS[given["srid"]]
    names = ("x", "y", "z")[:dimensions]
    if set(given) != {"srid", *names}:
        raise ValueError(f"srid {given['srid']} needs exactly the coordinates {', '.join(names)}")
    return cls(tuple(_float(given[name]) for name in names))
