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

`parse_structured_query` checks the shape (errors name the JSON path: `join[0].on`, `order_by[2]`);
`resolve_structured` checks it against the session's datasets and types every value.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import And, Condition, FilterNode, FilterSpec, Not, Or
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.names import is_valid_name
from datainfra.domain.queries import MAX_MAX_ROWS, ResultColumn, optional_int
from datainfra.domain.types import INT64_MAX, FieldType
from datainfra.domain.where import parse_where

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


_NUMBERS = frozenset({FieldType.INTEGER, FieldType.FLOAT, FieldType.NUMERIC})
_ORDERED = frozenset(
    {FieldType.TEXT, FieldType.INTEGER, FieldType.FLOAT, FieldType.NUMERIC, FieldType.DATE, FieldType.TIMESTAMP}
)
_ACCEPTS: dict[AggregateFn, frozenset[FieldType]] = {
    AggregateFn.COUNT: frozenset(FieldType),
    AggregateFn.COUNT_DISTINCT: frozenset(FieldType) - {FieldType.JSON},
    AggregateFn.SUM: _NUMBERS,
    AggregateFn.AVG: _NUMBERS,
    AggregateFn.MIN: _ORDERED,
    AggregateFn.MAX: _ORDERED,
}


def aggregate_type(fn: AggregateFn, field_type: FieldType | None) -> FieldType:
    """The result type of an aggregate (PostgreSQL's)."""
    if fn in (AggregateFn.COUNT, AggregateFn.COUNT_DISTINCT):
        return FieldType.INTEGER
    assert field_type is not None
    if fn in (AggregateFn.SUM, AggregateFn.AVG):
        return FieldType.FLOAT if field_type is FieldType.FLOAT else FieldType.NUMERIC
    return field_type


# -- the query as written -------------------------------------------------------------------------


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
    where: Mapping[str, Any] | None = None
    group_by: tuple[FieldItem, ...] = ()
    aggregates: tuple[AggregateItem, ...] = ()
    joins: tuple[JoinItem, ...] = ()
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int = 0


def parse_structured_query(body: Mapping[str, Any]) -> StructuredQuery:
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
    _name(source, "from", "a dataset name")
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


def _items(value: Any, path: str, most: int = MAX_ITEMS) -> list[tuple[int, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest(f"{path} must be a JSON array", field=path)
    if len(value) > most:
        raise InvalidRequest(f"{path} takes at most {most} items", field=path)
    return list(enumerate(value))


def _name(value: Any, path: str, what: str) -> str:
    if not isinstance(value, str) or not is_valid_name(value):
        raise InvalidRequest(f"{path} must be {what} (letters, digits and _, not starting with a digit)", field=path)
    return value


def _field(value: Any, path: str) -> FieldItem:
    if not isinstance(value, str):
        raise InvalidRequest("a field is written as a string: column or dataset.column", field=path)
    parts = value.split(".")
    if len(parts) > 2 or not all(is_valid_name(part) for part in parts):
        raise InvalidRequest(f"{value!r} is not a field reference (column or dataset.column)", field=path)
    return FieldItem(value, path)


def _members(value: Any, path: str, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"expected an object with {', '.join(sorted(allowed))}", field=path)
    for key in value:
        if key not in allowed:
            raise InvalidRequest(f"unknown member {key!r}; use {', '.join(sorted(allowed))}", field=f"{path}.{key}")
    for key in sorted(required):
        if value.get(key) is None:
            raise InvalidRequest(f"{key} is required", field=f"{path}.{key}")
    return value


def _select_item(value: Any, path: str) -> SelectItem:
    if isinstance(value, str):
        return SelectItem(_field(value, path), None, path)
    item = _members(value, path, {"field", "as"}, {"field"})
    alias = item.get("as")
    return SelectItem(
        _field(item["field"], f"{path}.field"),
        None if alias is None else _name(alias, f"{path}.as", "a column name"),
        path,
    )


def _aggregate(value: Any, path: str) -> AggregateItem:
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


def _join(value: Any, path: str) -> JoinItem:
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


def _order(value: Any, path: str) -> OrderItem:
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


# -- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """A column of one of the plan's datasets: `source` indexes `StructuredPlan.sources`; `key`
    (`dataset.column`) is how the plan's filter names it."""

    source: int
    column: str
    type: FieldType
    key: str


@dataclass(frozen=True, slots=True)
class PlanJoin:
    """Joins `StructuredPlan.sources[i + 1]` (for `joins[i]`): pairs of (earlier column, its column)."""

    type: JoinType
    on: tuple[tuple[ColumnRef, ColumnRef], ...]


@dataclass(frozen=True, slots=True)
class PlanAggregate:
    fn: AggregateFn
    arg: ColumnRef | None
    """None only for count(*)."""


@dataclass(frozen=True, slots=True)
class OutputColumn:
    name: str
    type: FieldType
    value: ColumnRef | PlanAggregate


@dataclass(frozen=True, slots=True)
class PlanOrder:
    """An output column (its index) or a dataset column, in one direction."""

    target: int | ColumnRef
    descending: bool = False


@dataclass(frozen=True, slots=True)
class StructuredPlan:
    """A structured query resolved against the session's datasets: what a store runs.

    Rows come from `sources[0]` joined, in order, with each later source (`joins`); `filter` (whose
    conditions name fields by `ColumnRef.key`, typed by `fields`) keeps some; when `grouped`, rows
    are grouped by `group_by` (no group_by: one group of every row, even none) and the aggregates
    computed per group; `columns` are produced; `order` sorts them (it is complete: it names every
    orderable output column); then `offset` and `limit` apply."""

    sources: tuple[Dataset, ...]
    joins: tuple[PlanJoin, ...]
    filter: FilterSpec
    fields: Mapping[str, ColumnRef]
    grouped: bool
    group_by: tuple[ColumnRef, ...]
    columns: tuple[OutputColumn, ...]
    order: tuple[PlanOrder, ...]
    limit: int | None
    offset: int

    @property
    def result_columns(self) -> tuple[ResultColumn, ...]:
        return tuple(ResultColumn(c.name, c.type.value) for c in self.columns)

    @property
    def field_types(self) -> dict[str, FieldType]:
        """The filter's field keys and their types."""
        return {key: ref.type for key, ref in self.fields.items()}


class _Scope:
    """The datasets of a query and how references resolve among them."""

    def __init__(self, sources: list[Dataset]) -> None:
        self.sources = sources

    def ref(self, source: int, column: str) -> ColumnRef:
        dataset = self.sources[source]
        col = dataset.tabular_schema.column(column)
        assert col is not None
        return ColumnRef(source, column, col.type, f"{dataset.name}.{column}")

    def resolve(self, ref: str, path: str, visible: range | None = None) -> ColumnRef:
        """`ref` among the sources in `visible` (all by default): qualified, or bare (from first)."""
        chosen = visible if visible is not None else range(len(self.sources))
        dataset_name, dot, column = ref.rpartition(".")
        if dot:
            for i in chosen:
                if self.sources[i].name == dataset_name:
                    if self.sources[i].tabular_schema.column(column) is None:
                        raise InvalidRequest(f"dataset {dataset_name!r} has no field {column!r}", field=path)
                    return self.ref(i, column)
            where = "" if visible is None else " at this point (a join's left field names an earlier dataset)"
            raise InvalidRequest(f"{dataset_name!r} is not a dataset of this query{where}", field=path)
        having = [i for i in chosen if self.sources[i].tabular_schema.column(column) is not None]
        if not having:
            raise InvalidRequest(f"unknown field {column!r}", field=path)
        if having[0] == 0 or len(having) == 1:
            return self.ref(having[0], column)
        names = " or ".join(f"{self.sources[i].name}.{column}" for i in having)
        raise InvalidRequest(f"field {column!r} is ambiguous: write {names}", field=path)

    def spellings(self) -> dict[str, ColumnRef]:
        """Every way a field can be written in this query (qualified, and bare where unambiguous)."""
        found: dict[str, ColumnRef] = {}
        for i, dataset in enumerate(self.sources):
            for col in dataset.tabular_schema.columns:
                found[f"{dataset.name}.{col.name}"] = self.ref(i, col.name)
        for dataset in self.sources:
            for col in dataset.tabular_schema.columns:
                if col.name not in found:
                    try:
                        found[col.name] = self.resolve(col.name, "")
                    except InvalidRequest:
                        continue
        return found


def _dataset(datasets: Mapping[str, Dataset], name: str, path: str) -> Dataset:
    dataset = datasets.get(name)
    if dataset is None:
        raise InvalidRequest(f"this session has no tabular dataset {name!r}", field=path)
    if dataset.kind is not DatasetKind.TABULAR:
        raise InvalidRequest(
            f"dataset {name!r} is a graph: structured queries read tabular datasets (use Cypher for graphs)",
            field=path,
        )
    return dataset


def _joinable(left: FieldType, right: FieldType) -> bool:
    if FieldType.JSON in (left, right):
        return False
    return left is right or {left, right} == {FieldType.INTEGER, FieldType.NUMERIC}


def resolve_structured(query: StructuredQuery, datasets: Mapping[str, Dataset]) -> StructuredPlan:
    """Check `query` against the session's datasets (by name) and build the plan a store runs.
    Every problem is an InvalidRequest naming the JSON path of the culprit."""
    sources = [_dataset(datasets, query.source, "from")]
    for join in query.joins:
        dataset = _dataset(datasets, join.dataset, f"{join.path}.dataset")
        if dataset.session_id != sources[0].session_id:
            raise InvalidRequest(f"dataset {dataset.name!r} is not in this session", field=f"{join.path}.dataset")
        if any(s.name == dataset.name for s in sources):
            raise InvalidRequest(
                f"dataset {dataset.name!r} is already in this query; a dataset can be used once (no self-joins)",
                field=f"{join.path}.dataset",
            )
        sources.append(dataset)
    scope = _Scope(sources)

    joins: list[PlanJoin] = []
    for number, join in enumerate(query.joins, start=1):
        pairs: list[tuple[ColumnRef, ColumnRef]] = []
        for left_item, right_item in join.on:
            left = scope.resolve(left_item.ref, left_item.path, range(number))
            right = scope.resolve(right_item.ref, right_item.path, range(number, number + 1))
            if not _joinable(left.type, right.type):
                raise InvalidRequest(
                    f"cannot join {left.key} ({left.type.value}) with {right.key} ({right.type.value}): "
                    "join fields must have the same type (integer and numeric may meet; json never)",
                    field=right_item.path,
                )
            pairs.append((left, right))
        joins.append(PlanJoin(join.type, tuple(pairs)))

    spellings = scope.spellings()
    where = parse_where(query.where, {name: ref.type for name, ref in spellings.items()}, path="where")
    fields: dict[str, ColumnRef] = {}
    if where is not None:
        where = _rekeyed(where, spellings, fields)

    group_by: list[ColumnRef] = []
    for item in query.group_by:
        ref = scope.resolve(item.ref, item.path)
        if ref.type is FieldType.JSON:
            raise InvalidRequest(f"json field {ref.key} cannot be grouped", field=item.path)
        if ref in group_by:
            raise InvalidRequest(f"group_by names {ref.key} twice", field=item.path)
        group_by.append(ref)
    grouped = bool(group_by) or bool(query.aggregates)

    columns: list[OutputColumn] = []
    paths: list[str] = []
    if query.select is None:
        refs = (
            group_by
            if grouped
            else [scope.ref(i, c.name) for i, d in enumerate(sources) for c in d.tabular_schema.columns]
        )
        counts: dict[str, int] = {}
        for ref in refs:
            counts[ref.column] = counts.get(ref.column, 0) + 1
        for ref in refs:
            columns.append(OutputColumn(ref.key if counts[ref.column] > 1 else ref.column, ref.type, ref))
            paths.append("select")
    else:
        for select in query.select:
            ref = scope.resolve(select.field.ref, select.field.path)
            if grouped and ref not in group_by:
                raise InvalidRequest(
                    f"{select.field.ref!r} is neither in group_by nor aggregated", field=select.field.path
                )
            columns.append(OutputColumn(select.alias or ref.column, ref.type, ref))
            paths.append(select.path)
    for aggregate in query.aggregates:
        arg = None
        if aggregate.field is not None:
            arg = scope.resolve(aggregate.field.ref, aggregate.field.path)
            if arg.type not in _ACCEPTS[aggregate.fn]:
                raise InvalidRequest(
                    f"{aggregate.fn.value} does not apply to {arg.key}, a {arg.type.value} field",
                    field=aggregate.field.path,
                )
        result_type = aggregate_type(aggregate.fn, arg.type if arg else None)
        columns.append(OutputColumn(aggregate.alias, result_type, PlanAggregate(aggregate.fn, arg)))
        paths.append(f"{aggregate.path}.as")
    if not columns:
        raise InvalidRequest("the query selects no column", field="select")
    seen: set[str] = set()
    for column, path in zip(columns, paths, strict=True):
        if column.name in seen:
            raise InvalidRequest(f"two result columns are named {column.name!r}; rename one with as", field=path)
        seen.add(column.name)

    order = _order_plan(query.order_by, columns, scope, group_by if grouped else None)
    return StructuredPlan(
        sources=tuple(sources),
        joins=tuple(joins),
        filter=FilterSpec(where=where),
        fields=fields,
        grouped=grouped,
        group_by=tuple(group_by),
        columns=tuple(columns),
        order=order,
        limit=query.limit,
        offset=query.offset,
    )


def _rekeyed(node: FilterNode, spellings: Mapping[str, ColumnRef], fields: dict[str, ColumnRef]) -> FilterNode:
    """The tree with every field written as its `dataset.column` key (collected into `fields`)."""
    if isinstance(node, Condition):
        ref = spellings[node.field]
        fields[ref.key] = ref
        return replace(node, field=ref.key)
    if isinstance(node, Not):
        return Not(_rekeyed(node.child, spellings, fields))
    children = tuple(_rekeyed(child, spellings, fields) for child in node.children)
    return And(children) if isinstance(node, And) else Or(children)


def _order_plan(
    items: tuple[OrderItem, ...],
    columns: list[OutputColumn],
    scope: _Scope,
    group_by: list[ColumnRef] | None,
) -> tuple[PlanOrder, ...]:
    by_name = {column.name: i for i, column in enumerate(columns)}
    order: list[PlanOrder] = []
    for item in items:
        target: int | ColumnRef
        if item.ref in by_name:
            target = by_name[item.ref]
            field_type = columns[target].type
        else:
            ref = scope.resolve(item.ref, item.path)
            if group_by is not None and ref not in group_by:
                raise InvalidRequest(f"{item.ref!r} is neither a result column nor grouped", field=item.path)
            same = [i for i, c in enumerate(columns) if c.value == ref]
            target = same[0] if same else ref
            field_type = ref.type
        if field_type is FieldType.JSON:
            raise InvalidRequest(f"json values cannot be ordered ({item.ref!r})", field=item.path)
        order.append(PlanOrder(target, item.descending))
    named = {o.target for o in order if isinstance(o.target, int)}
    for i, column in enumerate(columns):
        if i not in named and column.type is not FieldType.JSON:
            order.append(PlanOrder(i))
    return tuple(order)
