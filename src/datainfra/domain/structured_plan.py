"""Structured queries resolved: `resolve_structured` checks a parsed `StructuredQuery` (see
`structured_query`, which states the language's rules) against the session's datasets, types every
value, and builds the `StructuredPlan` a store runs (as parameterised SQL, or in Python). Every
problem is an InvalidRequest naming the JSON path of the culprit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import And, Condition, FilterNode, FilterSpec, Not, Or
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.queries import ResultColumn
from datainfra.domain.structured_query import AggregateFn, JoinType, OrderItem, StructuredQuery
from datainfra.domain.types import FieldType
from datainfra.domain.where import parse_where

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


AVG_MIN_SCALE = 6
"""avg of a numeric column is rounded (half away from zero) to this many fractional digits, or to
the largest scale among the averaged values when that is larger: 2.250000, 23.333333, never
PostgreSQL's 16 significant digits (23.3333333333333333)."""


def aggregate_type(fn: AggregateFn, field_type: FieldType | None) -> FieldType:
    """The result type of an aggregate: PostgreSQL's, except avg of integers, which is a float
    (double precision: the exact average, correctly rounded) rather than a 16-digit numeric.
    avg of numeric stays numeric at the scale of `AVG_MIN_SCALE`."""
    if fn in (AggregateFn.COUNT, AggregateFn.COUNT_DISTINCT):
        return FieldType.INTEGER
    assert field_type is not None
    if fn is AggregateFn.AVG and field_type is FieldType.INTEGER:
        return FieldType.FLOAT
    if fn in (AggregateFn.SUM, AggregateFn.AVG):
        return FieldType.FLOAT if field_type is FieldType.FLOAT else FieldType.NUMERIC
    return field_type


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
