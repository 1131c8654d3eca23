"""Writing rows of a tabular dataset's table: bulk inserts and upserts through COPY, updates by key.

Values are bound parameters or COPY data, never SQL text. Every function runs inside the caller's
transaction, so a raise leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from psycopg import AsyncCopy, sql
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from datainfra.adapters.postgres.errors import (
    column_of,
    conflict_from,
    copy_line,
    is_limit,
    limit_exceeded,
    relayed,
)
from datainfra.adapters.postgres.identifiers import sequence_name, session_schema_name, table_identifier
from datainfra.adapters.postgres.row_reads import fetch_by_key, key_condition, key_values, row_out
from datainfra.adapters.postgres.sql_filters import Compiled, column
from datainfra.adapters.postgres.sql_types import COPY_TYPE, param
from datainfra.adapters.postgres.staging import ORDINAL, STAGING, create_staging, insert_staged
from datainfra.domain.errors import InvalidInput
from datainfra.domain.model import Dataset
from datainfra.domain.record_versions import IfMatch, RecordChange, RecordKey, check_current
from datainfra.domain.records import OnConflict, Record, RecordRows, WriteResult
from datainfra.domain.tabular_schema import Column, TabularSchema
from datainfra.domain.types import FieldType

_UPSERT_LOCK = 0x64_61_74_61  # "data": the advisory-lock class of upserts, the dataset's id hashed beside it


@dataclass(frozen=True, slots=True)
class _RecordShape:
    """What the writer checks records against. Records normally name every column (the service
    fills defaults), the generated key aside: those take a fast path that skips per-field lookups."""

    generated: Column | None
    all_names: tuple[str, ...]
    all_set: frozenset[str]
    given_names: tuple[str, ...]
    """Every column but the generated key."""
    given_set: frozenset[str]
    not_null: tuple[str, ...]
    """The NOT NULL columns a record must give a value for."""
    not_null_values: Callable[[Record], Sequence[Any]]
    """A record's values of `not_null`, in one C call (checked for None at once, by identity: `==`
    would ask each value's type)."""
    nones: tuple[None, ...]

    @classmethod
    def of(cls, schema: TabularSchema) -> _RecordShape:
        generated = next((c for c in schema.columns if c.generated), None)
        names = schema.column_names
        given = tuple(n for n in names if generated is None or n != generated.name)
        not_null = tuple(c.name for c in schema.columns if not c.nullable and not c.generated)
        values: Callable[[Record], Sequence[Any]]
        if len(not_null) > 1:
            values = operator.itemgetter(*not_null)
        else:
            values = lambda record: tuple(record[n] for n in not_null)  # noqa: E731
        return cls(
            generated, names, frozenset(names), given, frozenset(given), not_null, values, (None,) * len(not_null)
        )


@dataclass(slots=True)
class _OpenCopy:
    """A COPY `write_rows` keeps open: its columns and the request index of its first row."""

    columns: tuple[str, ...]
    first: int
    manager: AbstractAsyncContextManager[AsyncCopy]
    copy: AsyncCopy


class BulkWriter:
    """Writes batches of records in one transaction: COPY straight into the table under ERROR,
    COPY into a temporary staging table then one INSERT ... SELECT ... ON CONFLICT otherwise.
    A batch is split into runs of consecutive records naming the same columns (columns a record
    leaves out take their defaults).

    Concurrent upserts of overlapping keys must never deadlock (issue 10). Within one statement rows
    go in key order, so single-batch upserts lock rows in one order and only need a *shared* lock on
    the dataset (`_UPSERT_LOCK`). An upsert of several batches cannot order its row locks across
    batches, so it holds the dataset's lock *exclusively* from before its first row lock to commit:
    it waits for single-batch upserts in flight and they for it, but no two ever hold rows the other
    wants. The first batch's runs are therefore held back until the second arrives (or the end).
    Plain inserts (ERROR) take no lock: a clash there is the client's 409.

    `staged` (Citus): plain inserts COPY into the staging table instead, and consecutive runs naming
    the same columns go into the table in one INSERT ... SELECT when the columns change or the write
    ends (`staging.insert_staged`, which names a refused row by its index)."""

    def __init__(
        self, conn: psycopg.AsyncConnection[Any], dataset: Dataset, on_conflict: OnConflict, *, staged: bool = False
    ) -> None:
        self.conn = conn
        self.dataset = dataset
        self.schema: TabularSchema = dataset.tabular_schema
        self.table = table_identifier(dataset)
        self.on_conflict = on_conflict
        self.result = WriteResult()
        self.next_index = 0
        self.max_explicit_id: int | None = None
        self.staging_ready = False
        self.shape = _RecordShape.of(self.schema)
        self.held_back: list[tuple[tuple[str, ...], int, list[Record]]] | None = None
        self.locked = False
        self.copying: _OpenCopy | None = None
        self.staged = staged and on_conflict is OnConflict.ERROR
        self.pending: tuple[tuple[str, ...], int] | None = None
        """Staged rows not yet in the table (`staged`): their columns and their first record's index."""
        self.staged_before = False
        """Rows were moved out of the staging table, which is to be emptied before it takes more."""

    async def write(self, batch: list[Record]) -> None:
        await self._end_copy()
        start = self.next_index
        self.next_index += len(batch)
        runs = self._one_run(batch, start)
        if runs is None:
            runs = []
            for offset, raw in enumerate(batch):
                record, columns = self._complete(raw, start + offset)
                if runs and runs[-1][0] == columns:
                    runs[-1][2].append(record)
                else:
                    runs.append((columns, start + offset, [record]))
        if self.on_conflict is OnConflict.ERROR:
            for columns, first, records in runs:
                await self._copy_into_table(columns, first, records)
            return
        if not self.locked:
            if self.held_back is None:  # the first batch: wait to see whether another follows
                self.held_back = runs
                return
            await self._lock_upserts(exclusive=True)
            runs = self.held_back + runs
            self.held_back = None
        for columns, first, records in runs:
            await self._upsert(columns, first, records)

    async def write_rows(self, batch: RecordRows) -> None:
        """Rows of a plain insert (ERROR), copied as they are (no dict per record). Their producer
        has checked them (`RecordRows`: NOT NULL included); the table's NOT NULL constraints stay the
        backstop, a violation named by its row and column as COPY reports them. Consecutive calls
        naming the same columns write into one COPY, left open between them: PostgreSQL stores one
        batch while the next is decoded (the caller ends it with `finish`, or `abandon` on failure)."""
        if batch.columns != self.shape.all_names:
            await self.write(batch.records())
            return
        columns, rows = batch.columns, batch.rows
        generated = self.shape.generated
        if generated is not None:
            at = columns.index(generated.name)
            given = list(map(operator.is_not, map(operator.itemgetter(at), rows), itertools.repeat(None)))
            if not any(given):  # the store numbers every row
                columns = self.shape.given_names
                rows = _without(rows, at)
            elif not all(given):  # some numbered, some not: record by record
                await self.write(batch.records())
                return
            else:
                top = max(map(operator.itemgetter(at), rows))
                if self.max_explicit_id is None or top > self.max_explicit_id:
                    self.max_explicit_id = cast("int", top)  # a generated key is an integer
        start = self.next_index
        self.next_index += len(rows)
        if self.copying is not None and self.copying.columns != columns:
            await self._end_copy()
        if self.copying is None:
            target = await self._stage(columns, start) if self.staged else self.table
            statement, copy_types = self._copy_statement(target, columns, ordinal=False)
            manager = self.conn.cursor().copy(statement)
            copy = await manager.__aenter__()
            copy.set_types(copy_types)
            self.copying = _OpenCopy(columns, start, manager, copy)
        await self._send(self.copying.copy, columns, start, rows, ordinal=False)
        self.result += WriteResult(inserted=len(rows))

    async def _lock_upserts(self, *, exclusive: bool) -> None:
        """The dataset's upsert lock (see the class docstring), held to the end of the transaction."""
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        await self.conn.execute(
            sql.SQL("SELECT {}(%s, hashtext(%s))").format(sql.Identifier(function)),
            [_UPSERT_LOCK, self.dataset.id],
        )
        self.locked = True

    def _one_run(self, batch: list[Record], start: int) -> list[tuple[tuple[str, ...], int, list[Record]]] | None:
        """The batch as one run, checked in a few C-speed passes, when every record names every
        column (or every column but the generated key) and gives every NOT NULL column a value:
        what `_complete` would conclude one record at a time. None: let `_complete` decide."""
        shape = self.shape
        if shape.generated is None:
            names, keys = shape.all_names, shape.all_set
        else:
            names, keys = shape.given_names, shape.given_set
        if not all(map(operator.eq, map(dict.keys, batch), itertools.repeat(keys))):
            return None
        values = itertools.chain.from_iterable(map(shape.not_null_values, batch))
        if any(map(operator.is_, values, itertools.repeat(None))):
            return None
        return [(names, start, batch)]

    def _complete(self, record: Record, index: int) -> tuple[Record, tuple[str, ...]]:
        """The checked record and the columns it names, in schema order."""
        keys = record.keys()
        if keys != self.shape.all_set and keys != self.shape.given_set:
            record = self._checked(record, index)
            return record, tuple(c.name for c in self.schema.columns if c.name in record)
        columns = self.shape.all_names
        if self.shape.generated is not None:
            value = cast("int | None", record.get(self.shape.generated.name))  # a generated key is an integer
            if value is None:
                if self.shape.generated.name in record:
                    record = {k: v for k, v in record.items() if k != self.shape.generated.name}
                columns = self.shape.given_names
            elif self.max_explicit_id is None or value > self.max_explicit_id:
                self.max_explicit_id = value
        if any(map(operator.is_, self.shape.not_null_values(record), self.shape.nones)):
            name = next(n for n in self.shape.not_null if record[n] is None)
            raise InvalidInput(f"field {name!r} must not be null", index=index, field=name)
        return record, columns

    def _checked(self, record: Record, index: int) -> Record:
        check_known(self.schema, record, index)
        if self.shape.generated is not None:
            value = cast("int | None", record.get(self.shape.generated.name))  # a generated key is an integer
            if value is None:
                record = {k: v for k, v in record.items() if k != self.shape.generated.name}
            elif self.max_explicit_id is None or value > self.max_explicit_id:
                self.max_explicit_id = value
        for col in self.schema.columns:
            if col.nullable or col.generated:
                continue
            if record.get(col.name) is None and (col.name in record or col.default is None):
                raise InvalidInput(f"field {col.name!r} must not be null", index=index, field=col.name)
        return record

    def _copy_statement(
        self, target: sql.Composable, columns: tuple[str, ...], ordinal: bool
    ) -> tuple[sql.Composed, list[str]]:
        """COPY of `columns` (and with `ordinal` each row's index in the request) into `target`, and
        the columns' COPY types. Text format where a numeric column is written: psycopg's binary
        numeric from a Decimal costs the client about half as much again as the whole text row, and
        PostgreSQL reads either at about the same cost (bench figures in the docs); binary otherwise."""
        types = self.schema.field_types
        names = [column(n) for n in columns] + ([sql.Identifier(ORDINAL)] if ordinal else [])
        copy_types = [COPY_TYPE[types[n]] for n in columns] + (["int8"] if ordinal else [])
        text = any(types[n] is FieldType.NUMERIC for n in columns)
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT {})").format(
            target, sql.SQL(", ").join(names), sql.SQL("TEXT" if text else "BINARY")
        )
        return statement, copy_types

    async def _send(
        self, copy: AsyncCopy, columns: tuple[str, ...], first: int, rows: Sequence[tuple[Any, ...]], ordinal: bool
    ) -> None:
        """Write `rows` (each the values of `columns`, in order) into an open COPY; with `ordinal`,
        each row's index in the request too."""
        types = self.schema.field_types
        # Without json values (which need wrapping) a row is the record's values as they are.
        plain = all(types[n] is not FieldType.JSON for n in columns)
        field_types = [types[n] for n in columns]
        index = first
        try:
            if plain and not ordinal:
                # The rows formatted in one C loop; the buffer goes out each time it fills.
                try:
                    for data in map(copy.formatter.write_row, rows):
                        if data:
                            await copy.write(data)
                except UnicodeEncodeError:
                    index = _unencodable(rows, first)
                    raise
                return
            for index, values in enumerate(rows, start=first):
                if plain:
                    await copy.write_row((*values, index))
                    continue
                row = list(map(adapt, values, field_types))
                if ordinal:
                    row.append(index)
                await copy.write_row(row)
        except UnicodeEncodeError:
            raise InvalidInput("text must be valid Unicode (no lone surrogates)", index=index) from None

    def _copy_failure(self, exc: psycopg.Error, first: int) -> Exception:
        """The domain's error for a COPY's failure (its line counted from request index `first`), or
        `exc` itself when it is not the input's fault."""
        exc = relayed(exc)
        line = copy_line(exc)
        at = first + line - 1 if line else None
        if isinstance(exc, pg_errors.UniqueViolation):
            return conflict_from(exc, self.schema, self.dataset.name, index=at)
        if isinstance(exc, pg_errors.IntegrityError | pg_errors.DataError):
            return InvalidInput(str(exc.diag.message_primary or exc), index=at, field=column_of(exc))
        if isinstance(exc, psycopg.OperationalError) and is_limit(exc):
            # COPY names the line of an index entry that failed, but a row too big is found when a
            # batch of rows is flushed: the line it names is not that row's.
            if "row is too big" in (exc.diag.message_primary or ""):
                at = None
            return limit_exceeded(exc, self.schema, self.dataset.name, index=at)
        return exc

    async def _copy_rows(
        self,
        target: sql.Composable,
        columns: tuple[str, ...],
        first: int,
        rows: Sequence[tuple[Any, ...]],
        ordinal: bool,
    ) -> None:
        """One COPY of `rows` (each the values of `columns`, in order) into `target`."""
        statement, copy_types = self._copy_statement(target, columns, ordinal)
        try:
            async with self.conn.cursor().copy(statement) as copy:
                copy.set_types(copy_types)
                await self._send(copy, columns, first, rows, ordinal)
        except psycopg.Error as exc:
            failure = self._copy_failure(exc, first)
            if failure is exc:
                raise
            raise failure from None

    async def _end_copy(self) -> None:
        """End the COPY `write_rows` left open (PostgreSQL reports a bad row by then at the latest)."""
        copying, self.copying = self.copying, None
        if copying is None:
            return
        try:
            await copying.manager.__aexit__(None, None, None)
        except psycopg.Error as exc:
            failure = self._copy_failure(exc, copying.first)
            if failure is exc:
                raise
            raise failure from None

    async def abandon(self, exc: BaseException) -> None:
        """Fail a COPY left open (the write is failing: the transaction rolls back), so that the
        connection can go on."""
        copying, self.copying = self.copying, None
        if copying is not None:
            with contextlib.suppress(psycopg.Error):
                await copying.manager.__aexit__(type(exc), exc, exc.__traceback__)

    async def _copy_into_table(self, columns: tuple[str, ...], first: int, records: list[Record]) -> None:
        target = await self._stage(columns, first) if self.staged else self.table
        await self._copy_rows(target, columns, first, _values(records, columns), ordinal=False)
        self.result += WriteResult(inserted=len(records))

    async def _stage(self, columns: tuple[str, ...], first: int) -> sql.Composable:
        """The staging table, ready for rows of `columns` from request index `first` on: staged rows of
        other columns are moved into the table first (a COPY appends to the rows staged before it)."""
        if self.pending is not None and self.pending[0] != columns:
            await self._insert_staged()
        if not self.staging_ready:
            await create_staging(self.conn, self.schema, ordered=False)
            self.staging_ready = True
        if self.pending is None:
            if self.staged_before:
                await self.conn.execute(sql.SQL("TRUNCATE {}").format(STAGING))
            self.pending = (columns, first)
        return STAGING

    async def _insert_staged(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            await insert_staged(self.conn, self.dataset, *pending)
            self.staged_before = True

    async def _ensure_staging(self) -> None:
        if self.staging_ready:
            return
        await create_staging(self.conn, self.schema)
        self.staging_ready = True

    async def _upsert(self, columns: tuple[str, ...], first: int, records: list[Record]) -> None:
        await self._ensure_staging()
        await self._copy_rows(STAGING, columns, first, _values(records, columns), ordinal=True)
        inserted = await upsert_from_staging(self.conn, self.dataset, columns, self.on_conflict)
        await self.conn.execute(sql.SQL("TRUNCATE {}").format(STAGING))
        if self.on_conflict is OnConflict.IGNORE:
            self.result += WriteResult(inserted=inserted, ignored=len(records) - inserted)
        else:
            self.result += WriteResult(inserted=inserted, updated=len(records) - inserted)

    async def finish(self) -> None:
        """End an open COPY; write a held-back single batch; move the generated key's sequence past
        explicit ids written."""
        await self._end_copy()
        await self._insert_staged()
        if self.held_back is not None:
            await self._lock_upserts(exclusive=False)
            for columns, first, records in self.held_back:
                await self._upsert(columns, first, records)
            self.held_back = None
        if self.shape.generated is None or self.max_explicit_id is None:
            return
        seq = sql.Identifier(session_schema_name(self.dataset.session_id), sequence_name(self.dataset.name))
        await self.conn.execute(
            sql.SQL(
                "SELECT setval(%s::regclass, %s) FROM {} "
                "WHERE %s > (CASE WHEN is_called THEN last_value ELSE last_value - 1 END)"
            ).format(seq),
            [seq.as_string(self.conn), self.max_explicit_id, self.max_explicit_id],
        )


async def upsert_from_staging(
    conn: psycopg.AsyncConnection[Any], dataset: Dataset, columns: tuple[str, ...], on_conflict: OnConflict
) -> int:
    """One INSERT ... SELECT ... ON CONFLICT of the staging table's rows (`STAGING`, with their
    order in `ORDINAL`) into the dataset's table; the number of rows inserted (the rest were
    updated, or ignored)."""
    schema = dataset.tabular_schema
    key = schema.primary_key
    cols = sql.SQL(", ").join(column(n) for n in columns)
    ordinal = sql.Identifier(ORDINAL)
    has_key = all(n in columns for n in key)
    key_cols = sql.SQL(", ").join(column(n) for n in key)
    # Rows go in key order wherever the key is given, so concurrent upserts of overlapping keys take
    # their row locks in one order and never deadlock one another.
    if on_conflict is OnConflict.IGNORE:
        order = sql.SQL(", ").join([column(n) for n in key] + [ordinal]) if has_key else ordinal
        source: sql.Composed = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(cols, STAGING, order)
        action: sql.Composable = sql.SQL("ON CONFLICT DO NOTHING")
    else:
        if has_key:
            # Two records of one run with the same key: the later one wins, as if applied in turn.
            source = sql.SQL("SELECT DISTINCT ON ({}) {} FROM {} ORDER BY {}, {} DESC").format(
                key_cols, cols, STAGING, key_cols, ordinal
            )
        else:
            source = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(cols, STAGING, ordinal)
        given = [n for n in columns if n not in key] or list(key[:1])
        action = sql.SQL("ON CONFLICT ({}) DO UPDATE SET {}").format(
            key_cols,
            sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(column(n), column(n)) for n in given),
        )
    statement = sql.SQL(
        "WITH written AS (INSERT INTO {} ({}) {} {} RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted) FROM written"
    ).format(table_identifier(dataset), cols, source, action)
    try:
        try:
            cur = await conn.execute(statement)
        except psycopg.Error as exc:
            raise relayed(exc) from None  # Citus: the worker's error, relayed
    except pg_errors.UniqueViolation as exc:
        raise conflict_from(exc, schema, dataset.name) from None
    except (pg_errors.IntegrityError, pg_errors.DataError) as exc:
        raise InvalidInput(str(exc.diag.message_primary or exc), field=column_of(exc)) from None
    except psycopg.OperationalError as exc:
        if is_limit(exc):
            raise limit_exceeded(exc, schema, dataset.name) from None
        raise
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def update_by_key(conn: psycopg.AsyncConnection[Any], dataset: Dataset, records: Sequence[Record]) -> int:
    """Each record's key row updated in turn, inside the caller's transaction."""
    schema = dataset.tabular_schema
    table = table_identifier(dataset)
    types = schema.field_types
    updated = 0
    for index, record in enumerate(records):
        check_known(schema, record, index)
        for name in schema.primary_key:
            if record.get(name) is None:
                raise InvalidInput(f"the key field {name!r} is required", index=index, field=name)
        changes = {n: v for n, v in record.items() if n not in schema.primary_key}
        check_not_null(schema, changes, index)
        key_where = sql.SQL(" AND ").join(column(n) + sql.SQL(" = ") + param(types[n]) for n in schema.primary_key)
        key_values = [adapt(record[n], types[n]) for n in schema.primary_key]
        if changes:
            assignments = sql.SQL(", ").join(column(n) + sql.SQL(" = ") + param(types[n]) for n in changes)
            statement = sql.SQL("UPDATE {} SET {} WHERE {}").format(table, assignments, key_where)
            values = [adapt(v, types[n]) for n, v in changes.items()]
        else:
            statement = sql.SQL("SELECT 1 FROM {} WHERE {}").format(table, key_where)
            values = []
        try:
            cur = await conn.execute(statement, [*values, *key_values])
        except pg_errors.UniqueViolation as exc:
            raise conflict_from(exc, schema, dataset.name, index=index) from None
        except (pg_errors.IntegrityError, pg_errors.DataError) as exc:
            raise InvalidInput(str(exc.diag.message_primary), index=index, field=column_of(exc)) from None
        except psycopg.OperationalError as exc:
            if is_limit(exc):
                raise limit_exceeded(exc, schema, dataset.name, index=index) from None
            raise
        if cur.rowcount < 1:
            raise InvalidInput("no record has this key", index=index, field=schema.primary_key[0])
        updated += 1
    return updated


async def update_record(
    conn: psycopg.AsyncConnection[Any], dataset: Dataset, key: RecordKey, change: RecordChange, expected: IfMatch | None
) -> Record:
    """The port's `update_record` inside the caller's transaction: the row is read FOR UPDATE, so
    a concurrent writer waits here and then sees the new row (and its new tag)."""
    schema = dataset.tabular_schema
    current = await fetch_by_key(conn, dataset, key, for_update=True)
    check_current(schema, key, current, expected)
    assert current is not None
    changes = {n: v for n, v in change(current).items() if n not in schema.primary_key}
    check_known(schema, changes, None)
    check_not_null(schema, changes, None)
    if not changes:
        return current
    types = schema.field_types
    names = schema.column_names
    assignments = sql.SQL(", ").join(column(n) + sql.SQL(" = ") + param(types[n]) for n in changes)
    statement = (
        sql.SQL("UPDATE {} SET {} WHERE ").format(table_identifier(dataset), assignments)
        + key_condition(dataset)
        + sql.SQL(" RETURNING {}").format(sql.SQL(", ").join(column(n) for n in names))
    )
    cur = conn.cursor(row_factory=dict_row)
    try:
        await cur.execute(statement, [*(adapt(v, types[n]) for n, v in changes.items()), *key_values(dataset, key)])
    except pg_errors.UniqueViolation as exc:
        raise conflict_from(exc, schema, dataset.name) from None
    except (pg_errors.IntegrityError, pg_errors.DataError) as exc:
        raise InvalidInput(str(exc.diag.message_primary), field=column_of(exc)) from None
    except psycopg.OperationalError as exc:
        if is_limit(exc):
            raise limit_exceeded(exc, schema, dataset.name) from None
        raise
    row = await cur.fetchone()
    assert row is not None  # the row is locked: it is still there
    return row_out(row, names)


async def delete_record(
    conn: psycopg.AsyncConnection[Any], dataset: Dataset, key: RecordKey, expected: IfMatch | None
) -> None:
    """The port's `delete_record` inside the caller's transaction (read FOR UPDATE, check, delete)."""
    current = await fetch_by_key(conn, dataset, key, for_update=True)
    check_current(dataset.tabular_schema, key, current, expected)
    statement = sql.SQL("DELETE FROM {} WHERE ").format(table_identifier(dataset)) + key_condition(dataset)
    await conn.execute(statement, key_values(dataset, key))


async def update_where(
    conn: psycopg.AsyncConnection[Any], dataset: Dataset, compiled: Compiled, changes: Record
) -> int:
    """Set `changes` on every row `compiled` matches; no changes: count them."""
    schema = dataset.tabular_schema
    types = schema.field_types
    check_known(schema, changes, None)
    check_not_null(schema, changes, None)
    table = table_identifier(dataset)
    if not changes:
        cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table) + compiled.where(), compiled.params)
        row = await cur.fetchone()
        return int(row[0]) if row else 0
    assignments = sql.SQL(", ").join(column(n) + sql.SQL(" = ") + param(types[n]) for n in changes)
    statement = sql.SQL("UPDATE {} SET {}").format(table, assignments) + compiled.where()
    values = [adapt(v, types[n]) for n, v in changes.items()]
    try:
        cur = await conn.execute(statement, [*values, *compiled.params])
    except pg_errors.UniqueViolation as exc:
        raise conflict_from(exc, schema, dataset.name) from None
    except psycopg.OperationalError as exc:
        if is_limit(exc):
            raise limit_exceeded(exc, schema, dataset.name) from None
        raise
    return cur.rowcount


def _values(records: list[Record], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Each record's values of `columns`, in order."""
    if len(columns) == 1:
        name = columns[0]
        return [(record[name],) for record in records]
    return list(map(operator.itemgetter(*columns), records))


def _without(rows: list[tuple[Any, ...]], at: int) -> list[tuple[Any, ...]]:
    """The rows without their value at position `at`."""
    width = len(rows[0]) if rows else 0
    keep = [i for i in range(width) if i != at]
    if len(keep) == 1:
        only = keep[0]
        return [(row[only],) for row in rows]
    return list(map(operator.itemgetter(*keep), rows))


def _unencodable(rows: Sequence[tuple[Any, ...]], first: int) -> int:
    """The index of the first row holding text that is not valid Unicode (a lone surrogate)."""
    for index, row in enumerate(rows, start=first):
        for value in row:
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return index
    return first


def check_known(schema: TabularSchema, record: Record, index: int | None) -> None:
    for name in record:
        if schema.column(name) is None:
            raise InvalidInput(f"unknown field {name!r}", index=index, field=str(name))


def check_not_null(schema: TabularSchema, changes: Record, index: int | None) -> None:
    for name, value in changes.items():
        if value is None and schema.non_nullable(name):
            raise InvalidInput(f"field {name!r} must not be null", index=index, field=name)


def adapt(value: Any, field_type: FieldType) -> Any:
    if value is None:
        return None
    if field_type is FieldType.JSON:
        return Jsonb(value)
    return value
