"""In-memory TabularStore: PostgreSQL's behaviour (keys, unique indexes, NULLs, casts, order) over
Python dicts, so services and HTTP tests run without a server yet see what the real store does.
Filters and order are memory/semantics.py's; structured queries and migration casts, where the
emulation of PostgreSQL goes further, are memory/postgres_semantics.py's.

Every write stages a copy of the table, checks it, and only then swaps it in: a raise leaves nothing.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from datainfra.adapters.memory.postgres_semantics import evaluate_structured, migrate_rows
from datainfra.adapters.memory.semantics import after_key, matches, order_records
from datainfra.domain.csv_records import typed_csv_records
from datainfra.domain.errors import Conflict, InvalidInput, NotFound
from datainfra.domain.filters import FilterSpec
from datainfra.domain.model import Dataset, Session
from datainfra.domain.ports.tabular_store import TabularStore
from datainfra.domain.queries import QueryLimits, QueryResult
from datainfra.domain.query import RecordPage, RecordQuery
from datainfra.domain.record_versions import IfMatch, RecordChange, RecordKey, check_current
from datainfra.domain.records import OnConflict, Record, RecordRows, WriteResult
from datainfra.domain.structured_plan import StructuredPlan
from datainfra.domain.tabular_schema import Column, MigrationPlan, TabularSchema
from datainfra.domain.types import FieldType

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
            rows = migrate_rows(table.rows, plan)
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
        self, dataset: Dataset, records: AsyncIterable[Record | RecordRows], on_conflict: OnConflict
    ) -> WriteResult:
        async with self._lock:
            on_conflict = OnConflict(on_conflict)
            table = self._table(dataset)
            stage = _Stage(table)
            inserted = updated = ignored = 0
            index = 0
            async for record in _each_record(records):
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
                    stage.next_id = max(stage.next_id, cast(int, value) + 1)  # a generated key is an integer
                row[column.name] = value
                continue
            value = _normalise(copy.deepcopy(record[column.name]), column) if column.name in record else column.default
            if value is None and not column.nullable:
                raise InvalidInput(f"field {column.name!r} must not be null", index=index, field=column.name)
            row[column.name] = value
        return row

    async def insert_csv(self, dataset: Dataset, body: AsyncIterable[bytes], on_conflict: OnConflict) -> WriteResult:
        return await self.insert_records(dataset, typed_csv_records(dataset.tabular_schema, body), on_conflict)

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

    async def get_by_key(self, dataset: Dataset, key: RecordKey) -> Record | None:
        table = self._table(dataset)
        position = _position(table, key)
        return None if position is None else copy.deepcopy(table.rows[position])

    async def update_record(
        self, dataset: Dataset, key: RecordKey, change: RecordChange, expected: IfMatch | None
    ) -> Record:
        async with self._lock:
            table = self._table(dataset)
            position = _position(table, key)
            current = None if position is None else table.rows[position]
            check_current(table.schema, key, current, expected)
            assert position is not None and current is not None
            changes = _changes(table.schema, change(copy.deepcopy(current)), None)
            stage = _Stage(table)
            merged = {**current, **changes}
            others = stage.clashes(merged, ignore=position)
            if others:
                raise _conflict(merged, others[0][0])
            stage.replace(position, merged)
            stage.commit(table)
            return copy.deepcopy(merged)

    async def delete_record(self, dataset: Dataset, key: RecordKey, expected: IfMatch | None) -> None:
        async with self._lock:
            table = self._table(dataset)
            position = _position(table, key)
            check_current(table.schema, key, None if position is None else table.rows[position], expected)
            table.rows = table.rows[:position] + table.rows[position + 1 :] if position is not None else table.rows

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
        return evaluate_structured(plan, [(table.schema, table.rows) for table in tables], limits)

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


# -- values ---------------------------------------------------------------------------------------


def _position(table: _Table, key: RecordKey) -> int | None:
    wanted = tuple(key.get(name) for name in table.schema.primary_key)
    return next((i for i, row in enumerate(table.rows) if table.schema.key_of(row) == wanted), None)


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


async def _each_record(records: AsyncIterable[Record | RecordRows]) -> AsyncIterator[Record]:
    async for item in records:
        if isinstance(item, RecordRows):
            for record in item.records():
                yield record
        else:
            yield item
