"""Query answers in the TCK's comparable form (tests/tck/values.py): the Neo4j driver's values (the raw
half) and the query endpoint's JSON (the endpoint half, read by its documented representation).

Temporal values have no literal in the TCK: its tables hold the text Neo4j's `toString()` gives them
(`'12:00'`, `'2020-01-02T03:04:05.5+01:00[Europe/Stockholm]'`), seconds left out when they and the
fraction are zero, the fraction without trailing zeros. Both halves are brought to that text; the
endpoint's documented forms (seconds always written, UTC `Z` for zoned date-times) are read back
into it where they carry the same value."""

from __future__ import annotations

import math
import re
from typing import Any

from neo4j.graph import Node, Path, Relationship
from neo4j.spatial import Point
from neo4j.time import Date, DateTime, Duration, Time

from tests.tck.values import NULL, Value, number

__all__ = ["from_driver", "from_json", "to_driver", "to_json"]


# -- the raw half: driver values ------------------------------------------------------------------


def _fraction(nanosecond: int) -> str:
    return f".{nanosecond:09d}".rstrip("0") if nanosecond else ""


def _clock(hour: int, minute: int, second: int, nanosecond: int) -> str:
    text = f"{hour:02d}:{minute:02d}"
    if second or nanosecond:
        text += f":{second:02d}{_fraction(nanosecond)}"
    return text


def _offset(seconds: int) -> str:
    if seconds == 0:
        return "Z"
    sign = "+" if seconds > 0 else "-"
    seconds = abs(seconds)
    text = f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
    return text + (f":{seconds % 60:02d}" if seconds % 60 else "")


def _date(value: Date | DateTime) -> str:
    year = value.year
    text = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+05d}"
    return f"{text}-{value.month:02d}-{value.day:02d}"


def _zone_name(tzinfo: Any) -> str | None:
    name = getattr(tzinfo, "key", None) or getattr(tzinfo, "zone", None)
    return name if isinstance(name, str) and "/" in name else None  # a region id; UTC is printed `Z`


def temporal_text(value: Any) -> str:
    """Neo4j's toString() of a driver temporal value."""
    if isinstance(value, DateTime):
        text = f"{_date(value)}T{_clock(value.hour, value.minute, int(value.second), value.nanosecond)}"
        if value.tzinfo is None:
            return text
        offset = value.utcoffset()
        text += _offset(int(offset.total_seconds())) if offset is not None else ""
        zone = _zone_name(value.tzinfo)
        return text + (f"[{zone}]" if zone else "")
    if isinstance(value, Date):
        return _date(value)
    if isinstance(value, Time):
        text = _clock(value.hour, value.minute, int(value.second), value.nanosecond)
        offset = value.utc_offset()
        return text if offset is None else text + _offset(int(offset.total_seconds()))
    if isinstance(value, Duration):
        return str(value.iso_format())
    raise TypeError(type(value).__name__)


def _point(value: Point) -> Value:
    coordinates = dict(zip(("x", "y", "z"), value, strict=False))
    return (
        "map",
        tuple(sorted({"srid": ("int", value.srid), **{k: number(v) for k, v in coordinates.items()}}.items())),
    )


def _properties(items: Any) -> Value:
    return ("map", tuple(sorted((k, from_driver(v)) for k, v in items)))


def from_driver(value: Any) -> Value:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return number(value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, Date | DateTime | Time | Duration):  # before tuples: a Duration is one
        return ("str", temporal_text(value))
    if isinstance(value, Point):  # a tuple too
        return _point(value)
    if isinstance(value, list | tuple):
        return ("list", tuple(from_driver(v) for v in value))
    if isinstance(value, dict):
        return _properties(value.items())
    if isinstance(value, Node):
        return ("node", tuple(sorted(value.labels)), _properties(value.items()))
    if isinstance(value, Relationship):
        return ("rel", value.type, _properties(value.items()))
    if isinstance(value, Path):
        items: list[Any] = [from_driver(value.nodes[0])]
        for i, rel in enumerate(value.relationships):
            start = rel.start_node
            forward = start is not None and start.element_id == value.nodes[i].element_id
            items.append(("->" if forward else "<-", from_driver(rel)))
            items.append(from_driver(value.nodes[i + 1]))
        return ("path", tuple(items))
    return ("other", repr(value))


def to_driver(value: Value) -> Any:
    kind = value[0]
    if kind == "null":
        return None
    if kind in ("bool", "int", "str"):
        return value[1]
    if kind == "float":
        return math.nan if value[1] == "NaN" else value[1]
    if kind == "list":
        return [to_driver(v) for v in value[1]]
    if kind == "map":
        return {k: to_driver(v) for k, v in value[1]}
    raise ValueError(f"a {kind} cannot be a parameter")


# -- the endpoint half: its JSON ------------------------------------------------------------------

_CLOCK = r"(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
_TEMPORAL = re.compile(
    r"^(?P<date>[+-]?\d{4,}-\d{2}-\d{2}T)?" + _CLOCK + r"(?P<zone>Z|[+-]\d{2}:\d{2}(?::\d{2})?)?(?P<id>\[[^\]]+\])?$"
)
_NON_FINITE = {"NaN": ("float", "NaN"), "Infinity": ("float", math.inf), "-Infinity": ("float", -math.inf)}
_NODE_KEYS = {"id", "labels", "properties"}
_EDGE_KEYS = {"id", "source", "target", "type", "properties"}
_PATH_KEYS = {"length", "nodes", "edges"}


def neo4j_time_text(text: str) -> str:
    """The endpoint's temporal text (`12:00:00`, `2020-01-02T03:04:05.500000Z`) as Neo4j writes it
    (`12:00`, `2020-01-02T03:04:05.5Z`); any other text unchanged."""
    match = _TEMPORAL.match(text)
    if match is None:
        return text
    hour, minute, second, fraction = match.group(2, 3, 4, 5)
    fraction = (fraction or "").rstrip("0").rstrip(".")
    clock = f"{hour}:{minute}" + (f":{second}{fraction}" if second != "00" or fraction else "")
    return (match.group("date") or "") + clock + (match.group("zone") or "") + (match.group("id") or "")


def from_json(value: Any, column_type: str = "any") -> Value:
    """An endpoint result cell in the comparable form. `column_type` is the column's declared kind:
    text in a string column is taken as it is; elsewhere the documented texts of values JSON lacks
    (`"NaN"`, temporals) are read back as those values."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return number(value)
    if isinstance(value, str):
        if column_type == "string":
            return ("str", value)
        if value in _NON_FINITE:
            return _NON_FINITE[value]
        return ("str", neo4j_time_text(value))
    if isinstance(value, list):
        inner = column_type[5:-1] if column_type.startswith("list<") else column_type  # list<T>: items are T
        return ("list", tuple(from_json(v, inner) for v in value))
    if isinstance(value, dict):
        keys = set(value)
        if keys == _NODE_KEYS and column_type != "map":
            return ("node", tuple(sorted(value["labels"])), _json_properties(value["properties"], column_type))
        if keys == _EDGE_KEYS and column_type != "map":
            return ("rel", value["type"], _json_properties(value["properties"], column_type))
        if keys == _PATH_KEYS and column_type != "map":
            return _json_path(value, column_type)
        return _json_properties(value, column_type)
    return ("other", repr(value))


def _json_properties(value: dict[str, Any], column_type: str) -> Value:
    return ("map", tuple(sorted((k, from_json(v, column_type)) for k, v in value.items())))


def _json_path(value: dict[str, Any], column_type: str) -> Value:
    nodes, edges = value["nodes"], value["edges"]
    items: list[Any] = [from_json(nodes[0], column_type)]
    for i, edge in enumerate(edges):
        items.append(("->" if edge["source"] == nodes[i]["id"] else "<-", from_json(edge, column_type)))
        items.append(from_json(nodes[i + 1], column_type))
    return ("path", tuple(items))


def to_json(value: Value) -> Any:
    kind = value[0]
    if kind == "null":
        return None
    if kind in ("bool", "int", "str"):
        return value[1]
    if kind == "float":
        return "NaN" if value[1] == "NaN" else value[1]
    if kind == "list":
        return [to_json(v) for v in value[1]]
    if kind == "map":
        return {k: to_json(v) for k, v in value[1]}
    raise ValueError(f"a {kind} cannot be a parameter")
