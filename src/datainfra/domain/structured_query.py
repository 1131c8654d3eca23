"""Structured queries: a JSON description of a read over the session's tabular datasets, for
clients that do not write SQL. The stores compile a resolved plan (parameterised SQL, or Python).

    {"language": "structured",
     "from": "orders",
     "join": [{"dataset": "customers", "type": "left", "on": {"customer_id": "id"}}],
     "where": {"status": "paid", "customers.country": {"in": ["FR", "DE"]}},
     "group_by": ["customers.country"],
     "aggregates": [{"fn": "count", "as": "orders"}, {"fn": "sum", "field": "total", "as": "revenue"}],
     "order_by": ["-revenue"], "limit": 10, "offset": 0}

Rules (the parts SQL leaves open are decided here, once, for every store):
- Field references: `column` or `dataset.column` (names never contain dots, so one dot splits them).
  A bare name is the `from` dataset's column when it has one, else the column of the single joined
  dataset that has it (two joined datasets having it and `from` not: ambiguous, qualify it).
- `join`: each `{"dataset", "type": "inner"|"left" (default inner), "on": {"<left>": "<right>"}}`; the
  left field is one of the datasets before it (bare: resolved as above among those), the right field
  one of the joined dataset. The pairs AND together; NULL keys never match. Key types must be equal
  (integer and numeric may meet; json never). A dataset appears once per query (no self-joins).
- `where` is the JSON filter of `domain.where`, keyed by field references, applied before grouping.
- `aggregates`: `{"fn", "field"?, "as"}`. count (without field: every row; with one: its non-NULL
  values), count_distinct (non-NULL distinct values), sum and avg (integer, float, numeric), min
  and max (text, integer, float, numeric, date, timestamp). NULLs are ignored; over no value, sum,
  avg, min and max are NULL and counts 0. Result types (PostgreSQL's): counts integer; sum of integer
  numeric, of float float, of numeric numeric; avg of integer or numeric numeric (exact, the scale
  PostgreSQL's numeric division picks), of float float; min/max the field's type.
- Grouping: with `group_by` or any aggregate, every selected field must be grouped; without
  `group_by`, aggregates give exactly one row. json fields cannot be grouped, joined on or ordered.
- Result columns: the `select` fields (`"ref"` or `{"field": "ref", "as": "name"}`), then the
  aggregates. A field's column is named by its column name (not the dataset), or by `as`; names must
  be unique. Without `select`: when grouping, the group_by fields; otherwise every column of every
  dataset in query order, a name shared by several datasets written `dataset.column`.
- `order_by`: `["name", "-age"]` or `[{"field": "age", "desc": true}]`. A name is a result column
  (an aggregate's `as`, a select alias) when one has that name, else a field reference (when
  grouping, a grouped one). Ascending puts NULLs last, descending first; text is in code-point
  order. The order is then completed with every other result column (ascending, json ones aside), so
  every store returns the same rows in the same order and `offset` pages are stable.
- `limit`: 0..MAX_MAX_ROWS (absent: no limit); `offset` >= 0. The run's row cap
  (`QueryLimits.max_rows`) applies on top: a result cut by it has `truncated` set.

`parse_structured_query` (here) checks the shape (errors name the JSON path: `join[0].on`,
`order_by[2]`); `structured_plan.resolve_structured` checks it against the session's datasets, types
every value and builds the plan a store runs.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.json_value import JsonValue
from datainfra.domain.names import is_valid_name
from datainfra.domain.queries import MAX_MAX_ROWS, optional_int
from datainfra.domain.types import INT64_MAX

QUERY_MEMBERS = frozenset({"from", "select", "where", "group_by", "aggregates", "join", "order_by", "limit", "offset"})
ENVELOPE_MEMBERS = frozenset({"language", "read_only", "timeout_ms", "max_rows", "parameters"})
"""Members of the request that belong to the query endpoint, not to the structured query."""

MAX_JOINS = 8
MAX_ITEMS = 256
"""At most this many select items, group_by fields, aggregates or order_by items each."""


class AggregateFn(enum.StrEnum):
    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"


class JoinType(enum.StrEnum):
    INNER = "inner"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class FieldItem:
    """A field reference as written (`column` or `dataset.column`) and where it was written."""

    ref: str
    path: str


@dataclass(frozen=True, slots=True)
class SelectItem:
    field: FieldItem
    alias: str | None
    path: str


@dataclass(frozen=True, slots=True)
class AggregateItem:
    fn: AggregateFn
    field: FieldItem | None
    alias: str
    path: str


@dataclass(frozen=True, slots=True)
class JoinItem:
    dataset: str
    type: JoinType
    on: tuple[tuple[FieldItem, FieldItem], ...]
    path: str


@dataclass(frozen=True, slots=True)
class OrderItem:
    ref: str
    descending: bool
    path: str


@dataclass(frozen=True, slots=True)
class StructuredQuery:
    """A structured query, checked for shape only. `where` is still JSON (it is typed against the
    datasets by `resolve_structured`)."""

    source: str
    select: tuple[SelectItem, ...] | None = None
    where: Mapping[str, JsonValue] | None = None
    group_by: tuple[FieldItem, ...] = ()
    aggregates: tuple[AggregateItem, ...] = ()
    joins: tuple[JoinItem, ...] = ()
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int = 0


def parse_structured_query(body: Mapping[str, object]) -> StructuredQuery:
    """The structured query in a request body. Members of the query endpoint itself (language,
    read_only, timeout_ms, max_rows, parameters) are ignored; any other unknown member is refused."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("a structured query is a JSON object")
    for key in body:
        if key not in QUERY_MEMBERS and key not in ENVELOPE_MEMBERS:
            known = ", ".join(sorted(QUERY_MEMBERS))
            raise InvalidRequest(f"unknown member {key!r}; a structured query takes {known}", field=str(key))
    source = body.get("from")
    if source is None:
        raise InvalidRequest("from must name the dataset to read", field="from")
    source = _name(source, "from", "a dataset name")
    where = body.get("where")
    if where is not None and not isinstance(where, Mapping):
        raise InvalidRequest("where must be a JSON object of fields and operators", field="where")
    select = body.get("select")
    return StructuredQuery(
        source=source,
        select=None
        if select is None
        else tuple(_select_item(item, f"select[{i}]") for i, item in _items(select, "select")),
        where=where,
        group_by=tuple(_field(item, f"group_by[{i}]") for i, item in _items(body.get("group_by"), "group_by")),
        aggregates=tuple(
            _aggregate(item, f"aggregates[{i}]") for i, item in _items(body.get("aggregates"), "aggregates")
        ),
        joins=tuple(_join(item, f"join[{i}]") for i, item in _items(body.get("join"), "join", MAX_JOINS)),
        order_by=tuple(_order(item, f"order_by[{i}]") for i, item in _items(body.get("order_by"), "order_by")),
        limit=optional_int(body.get("limit"), "limit", 0, MAX_MAX_ROWS),
        offset=optional_int(body.get("offset"), "offset", 0, INT64_MAX) or 0,
    )


def _items(value: object, path: str, most: int = MAX_ITEMS) -> list[tuple[int, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest(f"{path} must be a JSON array", field=path)
    if len(value) > most:
        raise InvalidRequest(f"{path} takes at most {most} items", field=path)
    return list(enumerate(value))


def _name(value: object, path: str, what: str) -> str:
    if not isinstance(value, str) or not is_valid_name(value):
        raise InvalidRequest(f"{path} must be {what} (letters, digits and _, not starting with a digit)", field=path)
    return value


def _field(value: object, path: str) -> FieldItem:
    if not isinstance(value, str):
        raise InvalidRequest("a field is written as a string: column or dataset.column", field=path)
    parts = value.split(".")
    if len(parts) > 2 or not all(is_valid_name(part) for part in parts):
        raise InvalidRequest(f"{value!r} is not a field reference (column or dataset.column)", field=path)
    return FieldItem(value, path)


def _members(value: object, path: str, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"expected an object with {', '.join(sorted(allowed))}", field=path)
    for key in value:
        if key not in allowed:
            raise InvalidRequest(f"unknown member {key!r}; use {', '.join(sorted(allowed))}", field=f"{path}.{key}")
    for key in sorted(required):
        if value.get(key) is None:
            raise InvalidRequest(f"{key} is required", field=f"{path}.{key}")
    return value


def _select_item(value: object, path: str) -> SelectItem:
    if isinstance(value, str):
        return SelectItem(_field(value, path), None, path)
    item = _members(value, path, {"field", "as"}, {"field"})
    alias = item.get("as")
    return SelectItem(
        _field(item["field"], f"{path}.field"),
        None if alias is None else _name(alias, f"{path}.as", "a column name"),
        path,
    )


def _aggregate(value: object, path: str) -> AggregateItem:
    item = _members(value, path, {"fn", "field", "as"}, {"fn", "as"})
    try:
        fn = AggregateFn(item["fn"])
    except (ValueError, TypeError):
        names = ", ".join(f.value for f in AggregateFn)
        raise InvalidRequest(f"fn must be one of {names}", field=f"{path}.fn") from None
    field = item.get("field")
    if field is None and fn is not AggregateFn.COUNT:
        raise InvalidRequest(f"{fn.value} needs a field", field=f"{path}.field")
    return AggregateItem(
        fn,
        None if field is None else _field(field, f"{path}.field"),
        _name(item["as"], f"{path}.as", "a column name"),
        path,
    )


def _join(value: object, path: str) -> JoinItem:
    item = _members(value, path, {"dataset", "type", "on"}, {"dataset", "on"})
    dataset = _name(item["dataset"], f"{path}.dataset", "a dataset name")
    try:
        join_type = JoinType(item.get("type") or JoinType.INNER)
    except ValueError:
        raise InvalidRequest("type must be inner or left", field=f"{path}.type") from None
    on = item["on"]
    if not isinstance(on, Mapping) or not on:
        raise InvalidRequest('on must be an object {"<left field>": "<right field>", ...}', field=f"{path}.on")
    if len(on) > MAX_ITEMS:
        raise InvalidRequest(f"on takes at most {MAX_ITEMS} pairs", field=f"{path}.on")
    pairs = tuple((_field(left, f"{path}.on"), _field(right, f"{path}.on.{left}")) for left, right in on.items())
    return JoinItem(dataset, join_type, pairs, path)


def _order(value: object, path: str) -> OrderItem:
    if isinstance(value, str):
        descending = value.startswith("-")
        ref = value[1:] if descending else value
    else:
        item = _members(value, path, {"field", "desc"}, {"field"})
        ref, descending = item["field"], item.get("desc", False)
        if not isinstance(descending, bool):
            raise InvalidRequest("desc must be true or false", field=f"{path}.desc")
    _field(ref, path)
    return OrderItem(ref, descending, path)
