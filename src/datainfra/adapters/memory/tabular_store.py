"""In-memory TabularStore: PostgreSQL's behaviour (keys, unique indexes, NULLs, casts, order) over
Python dicts, so services and HTTP tests run without a server yet see what the real store does.

Every write stages a copy of the table, checks it, and only then swaps it in: a raise leaves nothing.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from datainfra.adapters.memory.semantics import (
    after_key,
    compare_nullable,
    float_avg,
    float_sum,
    larger,
    matches,
    numeric_div,
    numeric_sum,
    order_records,
    smaller,
)
from datainfra.domain.errors import Conflict, InvalidInput, NotFound
from datainfra.domain.filters import FilterSpec
from datainfra.domain.model import Dataset, Session
from datainfra.domain.ports.tabular_store import TabularStore
from datainfra.domain.queries import QueryLimits, QueryResult
from datainfra.domain.query import RecordPage, RecordQuery
from datainfra.domain.records import OnConflict, Record, WriteResult
from datainfra.domain.structured import (
    AggregateFn,
    ColumnRef,
    JoinType,
    OutputColumn,
    PlanAggregate,
    PlanOrder,
    StructuredPlan,
)
from datainfra.domain.tabular_schema import Column, MigrationPlan, TabularSchema
from datainfra.domain.types import INT64_MAX, INT64_MIN, BadValue, FieldType, parse_text
from datainfra.domain.value_text import cast_text

Row = dict[str, Any]
EXPORT_BATCH = 1000
"""Rows per batch of an export's row stream."""


@dataclass
class _Table:
    schema: TabularSchema
    rows: list[Row] = field(default_factory=list)
    next_id: int = 1


class _Stage:
    """A working copy of a table with its key and unique-index lookups, applied only on success."""

    def __init__(self, table: _Table) -> None:
        self.schema = table.schema
        self.rows: list[Row] = list(table.rows)
        self.next_id = table.next_id
        self.constraints: list[tuple[str, ...]] = [self.schema.primary_key] + [
            ix.columns for ix in self.schema.indexes if ix.unique and ix.columns != self.schema.primary_key
        ]
        self.lookups: list[dict[tuple[Any, ...], int]] = [{} for _ in self.constraints]
        for position, row in enumerate(self.rows):
            for lookup, columns in zip(self.lookups, self.constraints, strict=True):
                key = _constraint_key(row, columns)
                if key is not None:
                    lookup[key] = position

    def clashes(self, row: Row, ignore: int | None = None) -> list[tuple[tuple[str, ...], int]]:
        """The (constraint, position) pairs of other rows this row would duplicate."""
        found = []
        for lookup, columns in zip(self.lookups, self.constraints, strict=True):
            key = _constraint_key(row, columns)
            if key is not None and key in lookup and lookup[key] != ignore:
                found.append((columns, lookup[key]))
        return found

    def add(self, row: Row) -> None:
        self.rows.append(row)
        self._index(row, len(self.rows) - 1)

    def replace(self, position: int, row: Row) -> None:
        self._unindex(self.rows[position], position)
        self.rows[position] = row
        self._index(row, position)

    def _index(self, row: Row, position: int) -> None:
        for lookup, columns in zip(self.lookups, self.constraints, strict=True):
            key = _constraint_key(row, columns)
            if key is not None:
                lookup[key] = position

    def _unindex(self, row: Row, position: int) -> None:
        for lookup, columns in zip(self.lookups, self.constraints, strict=True):
            key = _constraint_key(row, columns)
            if key is not None and lookup.get(key) == position:
                del lookup[key]

    def commit(self, table: _Table) -> None:
        table.rows = self.rows
        table.next_id = self.next_id


def _constraint_key(row: Mapping[str, Any], columns: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The row's values for a unique constraint, or None when one is NULL (NULLs are distinct)."""
    key = tuple(row.get(name) for name in columns)
    return None if any(value is None for value in key) else key


def _conflict(row: Mapping[str, Any], columns: tuple[str, ...], index: int | None = None) -> Conflict:
    key = {name: row.get(name) for name in columns}
    shown = ", ".join(f"{name}={value}" for name, value in key.items())
    return Conflict(f"a record with {shown} already exists", key=key, index=index)


def _check_unique(
    schema: TabularSchema, rows: Sequence[Row], error: Callable[[tuple[str, ...], Row], Exception]
) -> None:
    constraints = [schema.primary_key] + [ix.columns for ix in schema.indexes if ix.unique]
    for columns in constraints:
        seen: set[tuple[Any, ...]] = set()
        for row in rows:
            key = _constraint_key(row, columns)
            if key is None:
                continue
            if key in seen:
                raise error(columns, row)
            seen.add(key)


class InMemoryTabularStore(TabularStore):
    """One dict of tables per session namespace; tables keyed by dataset id."""

    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, _Table]] = {}
        self._lock = asyncio.Lock()

    # -- namespaces and tables ------------------------------------------------------------------

    async def ensure_user_role(self, user_id: str) -> None:
        """Nothing to prepare: in memory there are no database roles."""

    async def create_session_space(self, session: Session) -> None:
        async with self._lock:
            self._spaces.setdefault(session.id, {})

    async def drop_session_space(self, session: Session) -> None:
        async with self._lock:
            self._spaces.pop(session.id, None)

    async def create_table(self, dataset: Dataset) -> None:
        async with self._lock:
            space = self._spaces.get(dataset.session_id)
            if space is None:
                raise NotFound("the dataset's session has no storage space")
            if dataset.id in space:
                raise Conflict("the dataset's table already exists", key=dataset.id)
            space[dataset.id] = _Table(dataset.tabular_schema)

    async def drop_table(self, dataset: Dataset) -> None:
        async with self._lock:
            space = self._spaces.get(dataset.session_id)
            if space is not None:
                space.pop(dataset.id, None)

    def _table(self, dataset: Dataset) -> _Table:
        table = self._spaces.get(dataset.session_id, {}).get(dataset.id)
        if table is None:
            raise NotFound("the dataset's table does not exist")
        return table

    async def migrate_table(self, dataset: Dataset, plan: MigrationPlan) -> None:
        async with self._lock:
            table = self._table(dataset)
            rows = _migrate_rows(table.rows, plan)
            after = dataset.tabular_schema

            def duplicate(columns: tuple[str, ...], row: Row) -> Exception:
                return InvalidInput(
                    f"existing rows repeat values of the unique column(s) {', '.join(columns)}", field=columns[0]
                )

            _check_unique(after, rows, duplicate)
            table.schema = after
            table.rows = rows

    # -- writes ---------------------------------------------------------------------------------

    async def insert_records(
        self, dataset: Dataset, records: AsyncIterable[Record], on_conflict: OnConflict
    ) -> WriteResult:
        async with self._lock:
            on_conflict = OnConflict(on_conflict)
            table = self._table(dataset)
            stage = _Stage(table)
            inserted = updated = ignored = 0
            index = 0
            async for record in records:
                row = self._new_row(stage, record, index)
                clashes = stage.clashes(row)
                if not clashes:
                    stage.add(row)
                    inserted += 1
                elif on_conflict is OnConflict.IGNORE:
                    ignored += 1
                elif on_conflict is OnConflict.UPDATE and clashes[0][0] == stage.schema.primary_key:
                    position = clashes[0][1]
                    merged = {**stage.rows[position], **{name: row[name] for name in record if name in row}}
                    others = stage.clashes(merged, ignore=position)
                    if others:
                        raise _conflict(merged, others[0][0], index)
                    stage.replace(position, merged)
                    updated += 1
                else:
                    raise _conflict(row, clashes[0][0], index)
                index += 1
            stage.commit(table)
            return WriteResult(inserted=inserted, updated=updated, ignored=ignored)

    def _new_row(self, stage: _Stage, record: Record, index: int) -> Row:
        """The full row an INSERT of `record` proposes: defaults filled, generated id assigned."""
        schema = stage.schema
        _check_known(schema, record, index)
        row: Row = {}
        for column in schema.columns:
            if column.generated:
                value = record.get(column.name)
                if value is None:
                    value = stage.next_id
                    stage.next_id += 1
                else:
                    stage.next_id = max(stage.next_id, value + 1)
                row[column.name] = value
                continue
            value = _normalise(copy.deepcopy(record[column.name]), column) if column.name in record else column.default
            if value is None and not column.nullable:
                raise InvalidInput(f"field {column.name!r} must not be null", index=index, field=column.name)
            row[column.name] = value
        return row

    async def update_by_key(self, dataset: Dataset, records: Sequence[Record]) -> int:
        async with self._lock:
            table = self._table(dataset)
            schema = table.schema
            stage = _Stage(table)
            positions: dict[tuple[Any, ...], int] = {
                key: position for position, row in enumerate(table.rows) for key in [schema.key_of(row)]
            }
            for index, record in enumerate(records):
                _check_known(schema, record, index)
                for name in schema.primary_key:
                    if record.get(name) is None:
                        raise InvalidInput(f"the key field {name!r} is required", index=index, field=name)
                changes = _changes(schema, record, index)
                key = schema.key_of(changes)
                position = positions.get(key)
                if position is None:
                    raise InvalidInput("no record has this key", index=index, field=schema.primary_key[0])
                merged = {**stage.rows[position], **changes}
                others = stage.clashes(merged, ignore=position)
                if others:
                    raise _conflict(merged, others[0][0], index)
                stage.replace(position, merged)
            stage.commit(table)
            return len(records)

    async def update_where(self, dataset: Dataset, filter: FilterSpec, changes: Record) -> int:
        async with self._lock:
            table = self._table(dataset)
            typed = _changes(table.schema, changes, None)
            rows = [dict(row) for row in table.rows]
            count = 0
            for row in rows:
                if matches(row, filter):
                    row.update(copy.deepcopy(typed))
                    count += 1
            _check_unique(table.schema, rows, lambda columns, row: _conflict(row, columns))
            table.rows = rows
            return count

    async def delete_where(self, dataset: Dataset, filter: FilterSpec) -> int:
        async with self._lock:
            table = self._table(dataset)
            kept = [row for row in table.rows if not matches(row, filter)]
            count = len(table.rows) - len(kept)
            table.rows = kept
            return count

    # -- reads ----------------------------------------------------------------------------------

    async def query(self, dataset: Dataset, query: RecordQuery) -> RecordPage:
        table = self._table(dataset)
        found = [row for row in table.rows if matches(row, query.filter)]
        total = len(found) if query.count is not None else None
        ordered = order_records(found, query.sort)
        if query.after is not None and query.sort:
            ordered = [row for row in ordered if after_key(row, query.sort, query.after)]
        window = ordered[query.offset : query.offset + query.limit]
        names = query.select or table.schema.column_names
        items = [{name: copy.deepcopy(row.get(name)) for name in names} for row in window]
        return RecordPage(items=items, has_more=len(ordered) > query.offset + query.limit, total=total)

    async def count(self, dataset: Dataset) -> int:
        return len(self._table(dataset).rows)

    # -- structured queries -----------------------------------------------------------------------

    async def run_structured(self, plan: StructuredPlan, limits: QueryLimits) -> QueryResult:
        """The plan evaluated over the tables as they are now (reads never interleave with a write:
        writes swap whole row lists in). No time limit applies in memory."""
        tables = [self._table(dataset) for dataset in plan.sources]
        keys = [[f"{d.name}.{c.name}" for c in d.tabular_schema.columns] for d in plan.sources]
        first = tables[0]
        rows: list[Row] = [
            {key: row.get(c) for key, c in zip(keys[0], first.schema.column_names, strict=True)} for row in first.rows
        ]
        for number, join in enumerate(plan.joins, start=1):
            rows = _join(rows, tables[number], keys[number], join.type, join.on)
        rows = [row for row in rows if matches(row, plan.filter)]
        if plan.grouped:
            groups: dict[tuple[Any, ...], list[Row]] = {}
            for row in rows:
                groups.setdefault(tuple(row[ref.key] for ref in plan.group_by), []).append(row)
            if not plan.group_by and not groups:
                groups[()] = []
            out = [
                [_output(column, members[0] if members else {}, members) for column in plan.columns]
                for members in groups.values()
            ]
            order_rows: list[Row] = [members[0] if members else {} for members in groups.values()]
        else:
            out = [[_output(column, row, []) for column in plan.columns] for row in rows]
            order_rows = rows
        keyed = sorted(
            range(len(out)),
            key=lambda i: tuple(_SortItem(_order_value(o, out[i], order_rows[i]), o) for o in plan.order),
        )
        ordered = [out[i] for i in keyed][plan.offset :]
        wanted = len(ordered) if plan.limit is None else min(plan.limit, len(ordered))
        truncated = wanted > limits.max_rows
        result = [[copy.deepcopy(v) for v in row] for row in ordered[: min(wanted, limits.max_rows)]]
        return QueryResult(columns=plan.result_columns, rows=result, truncated=truncated)

    # -- streaming exports ------------------------------------------------------------------------

    async def stream_rows(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """A snapshot: writes replace a table's row list (and changed rows) rather than mutating them."""
        table = self._table(dataset)
        names = query.select if query.select is not None else table.schema.column_names
        found = order_records((row for row in table.rows if matches(row, query.filter)), query.sort)
        for start in range(0, len(found), EXPORT_BATCH):
            yield [tuple(copy.deepcopy(row.get(name)) for name in names) for row in found[start : start + EXPORT_BATCH]]

    async def ping(self) -> None:
        return None


# -- structured queries ---------------------------------------------------------------------------


def _join(
    rows: list[Row],
    table: _Table,
    keys: list[str],
    join_type: JoinType,
    on: tuple[tuple[ColumnRef, ColumnRef], ...],
) -> list[Row]:
    """Rows joined with `table` on equal, non-NULL key pairs; LEFT keeps unmatched rows with NULLs.
    Matches come in the table's row order, for each left row in turn."""
    names = table.schema.column_names
    right_rows = [{key: row.get(c) for key, c in zip(keys, names, strict=True)} for row in table.rows]
    index: dict[tuple[Any, ...], list[Row]] = {}
    for right in right_rows:
        key = tuple(right[r.key] for _, r in on)
        if all(v is not None for v in key):
            index.setdefault(key, []).append(right)
    empty = dict.fromkeys(keys)
    joined: list[Row] = []
    for row in rows:
        key = tuple(row[left.key] for left, _ in on)
        found = index.get(key, []) if all(v is not None for v in key) else []
        for right in found:
            joined.append({**row, **right})
        if not found and join_type is JoinType.LEFT:
            joined.append({**row, **empty})
    return joined


def _output(column: OutputColumn, row: Row, members: list[Row]) -> Any:
    if isinstance(column.value, ColumnRef):
        return row.get(column.value.key)
    return _aggregate(column.value, members)


def _aggregate(aggregate: PlanAggregate, rows: list[Row]) -> Any:
    fn, arg = aggregate.fn, aggregate.arg
    if arg is None:
        return len(rows)  # count(*)
    values = [row[arg.key] for row in rows if row[arg.key] is not None]
    if fn is AggregateFn.COUNT:
        return len(values)
    if fn is AggregateFn.COUNT_DISTINCT:
        return len(set(values))
    if not values:
        return None
    if fn is AggregateFn.SUM:
        return float_sum(values) if arg.type is FieldType.FLOAT else numeric_sum(values)
    if fn is AggregateFn.AVG:
        if arg.type is FieldType.FLOAT:
            return float_avg(values)
        total = numeric_sum(values)
        assert total is not None
        return numeric_div(total, len(values))
    step = smaller if fn is AggregateFn.MIN else larger
    result = values[0]
    for value in values[1:]:
        result = step(result, value)
    return result


def _order_value(order: PlanOrder, out: list[Any], row: Row) -> Any:
    if isinstance(order.target, int):
        return out[order.target]
    return row.get(order.target.key)


class _SortItem:
    """One ORDER BY item's value: NULLs last ascending, first descending."""

    __slots__ = ("descending", "value")

    def __init__(self, value: Any, order: PlanOrder) -> None:
        self.value = value
        self.descending = order.descending

    def __lt__(self, other: _SortItem) -> bool:
        return compare_nullable(self.value, other.value, descending=self.descending) < 0

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _SortItem) and compare_nullable(self.value, other.value, descending=self.descending) == 0
        )

    __hash__ = None  # type: ignore[assignment]


# -- values ---------------------------------------------------------------------------------------


def _check_known(schema: TabularSchema, record: Mapping[str, Any], index: int | None) -> None:
    for name in record:
        if schema.column(name) is None:
            raise InvalidInput(f"unknown field {name!r}", index=index, field=name)


def _changes(schema: TabularSchema, record: Mapping[str, Any], index: int | None) -> Row:
    """Typed column → value assignments of an UPDATE, refusing NULL in NOT NULL columns."""
    _check_known(schema, record, index)
    changes: Row = {}
    for name, value in record.items():
        column = schema.column(name)
        assert column is not None
        if value is None and not column.nullable:
            raise InvalidInput(f"field {name!r} must not be null", index=index, field=name)
        changes[name] = _normalise(copy.deepcopy(value), column)
    return changes


def _normalise(value: Any, column: Column) -> Any:
    """What the store hands back for a stored value: timestamps in UTC."""
    if column.type is FieldType.TIMESTAMP and isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value


# -- migrations -----------------------------------------------------------------------------------


def _migrate_rows(rows: Sequence[Row], plan: MigrationPlan) -> list[Row]:
    """The rows after `plan`, in PostgreSQL's order: renames, drops, adds, changes. Raises
    InvalidInput naming the column when a value does not fit; the input rows are never touched."""
    renames = dict(plan.renames)
    dropped = {c.name for c in plan.dropped}
    migrated: list[Row] = [
        {renames.get(name, name): value for name, value in row.items() if name not in dropped} for row in rows
    ]
    for column in plan.added:
        if rows and column.default is None and not column.nullable:
            raise InvalidInput(
                f"column {column.name!r} is NOT NULL without a default but the table has rows", field=column.name
            )
        for row in migrated:
            row[column.name] = copy.deepcopy(column.default)
    for change in plan.changed:
        name = change.after.name
        if change.type_changed:
            for row in migrated:
                row[name] = cast_value(row.get(name), change.before.type, change.after.type, name)
        if not change.after.nullable and any(row.get(name) is None for row in migrated):
            raise InvalidInput(f"column {name!r} holds NULL values, so it cannot be NOT NULL", field=name)
    order = [c.name for c in plan.after.columns]
    return [{name: row.get(name) for name in order} for row in migrated]


def cast_value(value: Any, source: FieldType, target: FieldType, column: str) -> Any:
    """`value::target` as PostgreSQL's USING cast does it; InvalidInput naming `column` otherwise."""
    if value is None or source is target:
        return value
    try:
        return _cast(value, source, target)
    except (BadValue, ValueError, InvalidOperation, OverflowError):
        shown = cast_text(value, source)
        raise InvalidInput(
            f"column {column!r}: the existing value {shown!r} cannot become {target.value}", field=column
        ) from None


def _cast(value: Any, source: FieldType, target: FieldType) -> Any:
    if target is FieldType.INTEGER and source is FieldType.FLOAT:
        return _int64(round(float(value)))  # round() on floats is half-to-even, as rint()
    if target is FieldType.INTEGER and source is FieldType.NUMERIC:
        return _int64(int(Decimal(value).to_integral_value(rounding=ROUND_HALF_UP)))
    if target is FieldType.FLOAT and source in (FieldType.INTEGER, FieldType.NUMERIC):
        result = float(value)
        if result in (float("inf"), float("-inf")):
            raise BadValue("out of range")
        return result
    if target is FieldType.NUMERIC and source is FieldType.FLOAT:
        return Decimal(format(float(value), ".15g"))  # float8 → numeric keeps DBL_DIG digits
    if target is FieldType.NUMERIC and source is FieldType.INTEGER:
        return Decimal(value)
    if target is FieldType.DATE and source is FieldType.TIMESTAMP:
        return value.astimezone(dt.UTC).date()
    if target is FieldType.JSON:
        return json.loads(cast_text(value, source), parse_float=Decimal)
    return parse_text(cast_text(value, source), target)


def _int64(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadValue("integer out of the 64-bit range")
    return value
