"""PostgresTabularStore: one PostgreSQL schema per session, one table per tabular dataset.

User-chosen names are validated and quoted (sql.Identifier); values are bound parameters or COPY
data. The only literals composed into SQL text are column defaults in DDL (which cannot take
parameters), rendered by psycopg's own quoting (sql.Literal) and cast to the column type.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import operator
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.errors import column_of, conflict_from, copy_line, is_limit, limit_exceeded
from datainfra.adapters.postgres.identifiers import (
    checked,
    index_name,
    primary_key_name,
    sequence_name,
    session_schema_name,
    table_identifier,
    user_role_name,
)
from datainfra.adapters.postgres.pool import answer_timeout_for, answer_within, connection, load_json
from datainfra.adapters.postgres.sql_filters import Compiled, column, compile_filter, keyset_condition, order_by
from datainfra.adapters.postgres.sql_types import COPY_TYPE, cast_type, column_type, param
from datainfra.adapters.postgres.structured_sql import compile_structured
from datainfra.domain.errors import Conflict, InvalidInput, InvalidRequest, NotFound
from datainfra.domain.filters import FilterSpec
from datainfra.domain.model import Dataset, Session
from datainfra.domain.queries import QueryLimits, QueryResult
from datainfra.domain.query import CountMode, RecordPage, RecordQuery
from datainfra.domain.records import OnConflict, Record, WriteResult
from datainfra.domain.structured import StructuredPlan
from datainfra.domain.tabular_schema import Column, Index, MigrationPlan, TabularSchema
from datainfra.domain.types import FieldType

_TABLE_PRIVILEGES = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
_STAGING = sql.Identifier("pg_temp", "datainfra$staging")
_ORDINAL = "$i"
EXPORT_CHUNK = 64 * 1024
"""Bytes gathered from COPY's per-row messages before a chunk of an export is handed on."""
EXPORT_BATCH = 2000
"""Rows fetched from an export's server-side cursor at a time."""
"""Staging column holding each record's index in the request (user names cannot contain `$`)."""

# Casts PostgreSQL does directly with the semantics the domain expects (rounding, time zone);
# every other type change goes through the text form, as `value::text::target`.
_DIRECT_CASTS = {
    (FieldType.FLOAT, FieldType.INTEGER),
    (FieldType.NUMERIC, FieldType.INTEGER),
    (FieldType.INTEGER, FieldType.FLOAT),
    (FieldType.NUMERIC, FieldType.FLOAT),
    (FieldType.INTEGER, FieldType.NUMERIC),
    (FieldType.FLOAT, FieldType.NUMERIC),
    (FieldType.TIMESTAMP, FieldType.DATE),
    (FieldType.DATE, FieldType.TIMESTAMP),
}


class PostgresTabularStore:
    """TabularStore over a psycopg pool. `batch_size` records go to the server per COPY; a count
    asked as `estimated` uses the planner's estimate once that reaches `exact_count_threshold`
    rows (below it an exact count is cheap, so it is given)."""

    def __init__(
        self, pool: AsyncConnectionPool, *, batch_size: int = 5000, exact_count_threshold: int = 100_000
    ) -> None:
        self._pool = pool
        self._batch_size = max(1, batch_size)
        self._exact_count_threshold = exact_count_threshold
        self._unicode_ilike = False
        """Whether ILIKE can fold case over all of Unicode (the pg_c_utf8 collation, PostgreSQL 17+)."""

    # -- users, sessions and tables ---------------------------------------------------------------

    async def ensure_user_role(self, user_id: str) -> None:
        """The user's own role: LOGIN with a random password nobody keeps yet, NOINHERIT, no
        CREATEDB/CREATEROLE. It is granted only its own session schemas and tables."""
        role = user_role_name(user_id)
        async with self._conn() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (role,))
            cur = await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if await cur.fetchone() is None:
                await conn.execute(
                    sql.SQL(
                        "CREATE ROLE {} WITH LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                        "NOBYPASSRLS PASSWORD {}"
                    ).format(sql.Identifier(role), sql.Literal(secrets.token_urlsafe(32)))
                )

    async def create_session_space(self, session: Session) -> None:
        await self.ensure_user_role(session.owner_id)
        schema = sql.Identifier(session_schema_name(session.id))
        async with self._conn() as conn, conn.transaction():
            await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            await conn.execute(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    schema, sql.Identifier(user_role_name(session.owner_id))
                )
            )

    async def drop_session_space(self, session: Session) -> None:
        schema = sql.Identifier(session_schema_name(session.id))
        async with self._conn() as conn:
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))

    async def create_table(self, dataset: Dataset) -> None:
        schema = dataset.tabular_schema
        table = table_identifier(dataset)
        parts = [_column_definition(dataset, c) for c in schema.columns]
        parts.append(
            sql.SQL("CONSTRAINT {} PRIMARY KEY ({})").format(
                sql.Identifier(primary_key_name(dataset.name)),
                sql.SQL(", ").join(column(n) for n in schema.primary_key),
            )
        )
        async with self._conn() as conn, conn.transaction():
            try:
                await conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(parts)))
            except pg_errors.DuplicateTable:
                raise Conflict("the dataset's table already exists", key=dataset.name) from None
            except pg_errors.InvalidSchemaName:
                raise NotFound("the dataset's session has no storage space") from None
            for ix in schema.indexes:
                await conn.execute(_create_index(dataset, ix))
            await conn.execute(
                sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                    _TABLE_PRIVILEGES, table, sql.Identifier(user_role_name(dataset.owner_id))
                )
            )

    async def drop_table(self, dataset: Dataset) -> None:
        async with self._conn() as conn:
            await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table_identifier(dataset)))

    async def migrate_table(self, dataset: Dataset, plan: MigrationPlan) -> None:
        if plan.empty:
            return
        table = table_identifier(dataset)
        name = dataset.name
        schema_ident = sql.Identifier(session_schema_name(dataset.session_id))
        async with self._conn() as conn, conn.transaction():

            async def run(statement: sql.Composed, field: str | None) -> None:
                try:
                    await conn.execute(statement)
                except (
                    pg_errors.DataError,
                    pg_errors.IntegrityError,
                    pg_errors.CannotCoerce,
                    pg_errors.DatatypeMismatch,
                ) as exc:
                    raise InvalidInput(
                        f"column {field!r}: {exc.diag.message_primary or exc}" if field else str(exc), field=field
                    ) from None
                except psycopg.OperationalError as exc:
                    if is_limit(exc):
                        raise limit_exceeded(exc, plan.after, name) from None
                    raise

            alter = sql.SQL("ALTER TABLE {} ").format(table)
            # Renames go through temporary names so that swaps (a→b, b→a) work.
            for i, (old, _new) in enumerate(plan.renames):
                await run(alter + sql.SQL("RENAME COLUMN {} TO {}").format(column(old), sql.Identifier(f"$r{i}")), old)
            for i, (_old, new) in enumerate(plan.renames):
                await run(alter + sql.SQL("RENAME COLUMN {} TO {}").format(sql.Identifier(f"$r{i}"), column(new)), new)
            for dropped in plan.dropped:
                await run(alter + sql.SQL("DROP COLUMN {}").format(column(dropped.name)), dropped.name)
            for added in plan.added:
                definition = _column_definition(dataset, added)
                await run(alter + sql.SQL("ADD COLUMN ") + definition, added.name)
            for change in plan.changed:
                before, after = change.before, change.after
                col = column(after.name)
                if change.type_changed:
                    if before.default is not None:
                        await run(alter + sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(col), after.name)
                    await run(
                        alter
                        + sql.SQL("ALTER COLUMN {} TYPE {} USING {}").format(
                            col, column_type(after.type), _cast_expression(col, before.type, after.type)
                        ),
                        after.name,
                    )
                if change.type_changed or before.default != after.default:
                    if after.default is None:
                        await run(alter + sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(col), after.name)
                    else:
                        await run(
                            alter
                            + sql.SQL("ALTER COLUMN {} SET DEFAULT ").format(col)
                            + _literal(after.default, after.type),
                            after.name,
                        )
                if before.nullable != after.nullable:
                    word = "DROP" if after.nullable else "SET"
                    await run(alter + sql.SQL(f"ALTER COLUMN {{}} {word} NOT NULL").format(col), after.name)
            renames = dict(plan.renames)
            for ix in plan.dropped_indexes:
                ident = sql.Identifier(session_schema_name(dataset.session_id), index_name(name, ix.columns, ix.unique))
                await run(sql.SQL("DROP INDEX IF EXISTS {}").format(ident), None)
            for ix in plan.before.indexes:
                if ix in plan.dropped_indexes:
                    continue
                renamed = tuple(renames.get(c, c) for c in ix.columns)
                old_name = index_name(name, ix.columns, ix.unique)
                new_name = index_name(name, renamed, ix.unique)
                if old_name != new_name:
                    await run(
                        sql.SQL("ALTER INDEX IF EXISTS {}.{} RENAME TO {}").format(
                            schema_ident, sql.Identifier(old_name), sql.Identifier(new_name)
                        ),
                        None,
                    )
            for ix in plan.added_indexes:
                try:
                    await conn.execute(_create_index(dataset, ix))
                except pg_errors.UniqueViolation:
                    raise InvalidInput(
                        f"existing rows repeat values of the unique column(s) {', '.join(ix.columns)}",
                        field=ix.columns[0],
                    ) from None
                except psycopg.OperationalError as exc:
                    if is_limit(exc):
                        raise limit_exceeded(exc, plan.after, name) from None
                    raise

    # -- writes -----------------------------------------------------------------------------------

    async def insert_records(
        self, dataset: Dataset, records: AsyncIterable[Record], on_conflict: OnConflict
    ) -> WriteResult:
        async with self._conn() as conn, conn.transaction():
            writer = _BulkWriter(conn, dataset, on_conflict)
            batch: list[Record] = []
            async for record in records:
                batch.append(record)
                if len(batch) >= self._batch_size:
                    await writer.write(batch)
                    batch = []
            if batch:
                await writer.write(batch)
            await writer.finish()
            return writer.result

    async def update_by_key(self, dataset: Dataset, records: Sequence[Record]) -> int:
        schema = dataset.tabular_schema
        table = table_identifier(dataset)
        types = schema.field_types
        updated = 0
        async with self._conn() as conn, conn.transaction():
            for index, record in enumerate(records):
                _check_known(schema, record, index)
                for name in schema.primary_key:
                    if record.get(name) is None:
                        raise InvalidInput(f"the key field {name!r} is required", index=index, field=name)
                changes = {n: v for n, v in record.items() if n not in schema.primary_key}
                _check_not_null(schema, changes, index)
                key_where = sql.SQL(" AND ").join(
                    column(n) + sql.SQL(" = ") + param(types[n]) for n in schema.primary_key
                )
                key_values = [_adapt(record[n], types[n]) for n in schema.primary_key]
                if changes:
                    assignments = sql.SQL(", ").join(column(n) + sql.SQL(" = ") + param(types[n]) for n in changes)
                    statement = sql.SQL("UPDATE {} SET {} WHERE {}").format(table, assignments, key_where)
                    values = [_adapt(v, types[n]) for n, v in changes.items()]
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

    async def update_where(self, dataset: Dataset, filter: FilterSpec, changes: Record) -> int:
        schema = dataset.tabular_schema
        types = schema.field_types
        _check_known(schema, changes, None)
        _check_not_null(schema, changes, None)
        table = table_identifier(dataset)
        async with self._conn() as conn, conn.transaction():
            compiled = self._compile(filter, types)
            if not changes:
                cur = await conn.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(table) + compiled.where(), compiled.params
                )
                row = await cur.fetchone()
                return int(row[0]) if row else 0
            assignments = sql.SQL(", ").join(column(n) + sql.SQL(" = ") + param(types[n]) for n in changes)
            statement = sql.SQL("UPDATE {} SET {}").format(table, assignments) + compiled.where()
            values = [_adapt(v, types[n]) for n, v in changes.items()]
            try:
                cur = await conn.execute(statement, [*values, *compiled.params])
            except pg_errors.UniqueViolation as exc:
                raise conflict_from(exc, schema, dataset.name) from None
            except psycopg.OperationalError as exc:
                if is_limit(exc):
                    raise limit_exceeded(exc, schema, dataset.name) from None
                raise
            return cur.rowcount

    async def delete_where(self, dataset: Dataset, filter: FilterSpec) -> int:
        async with self._conn() as conn, conn.transaction():
            compiled = self._compile(filter, dataset.tabular_schema.field_types)
            statement = sql.SQL("DELETE FROM {}").format(table_identifier(dataset)) + compiled.where()
            cur = await conn.execute(statement, compiled.params)
            return cur.rowcount

    # -- reads ------------------------------------------------------------------------------------

    async def query(self, dataset: Dataset, query: RecordQuery) -> RecordPage:
        types = dataset.tabular_schema.field_types
        statement, params, names = self.page_statement(dataset, query)

        async def page(conn: Any) -> list[Any]:
            cur = conn.cursor(row_factory=dict_row)
            try:
                await cur.execute(statement, params)
            except pg_errors.InvalidEscapeSequence:
                raise InvalidRequest("a LIKE pattern must not end with a backslash") from None
            return list(await cur.fetchall())

        async with self._conn() as conn:
            if query.count is None:  # one statement: one round trip on the autocommit connection
                rows, total = await page(conn), None
            else:  # the page and its count from one snapshot, so they agree
                async with conn.transaction():
                    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    rows = await page(conn)
                    compiled = self._compile(query.filter, types)
                    total = await self._total(conn, table_identifier(dataset), compiled, query.count)
        has_more = len(rows) > query.limit
        items = [_row_out(row, names) for row in rows[: query.limit]]
        return RecordPage(items=items, has_more=has_more, total=total)

    def page_statement(self, dataset: Dataset, query: RecordQuery) -> tuple[sql.Composed, list[Any], tuple[str, ...]]:
        """The SELECT of one page (one row more than `limit`, to know whether more follow), its
        parameters and the columns it returns. Public so tests can EXPLAIN exactly what runs."""
        schema = dataset.tabular_schema
        types = schema.field_types
        names = query.select if query.select is not None else schema.column_names
        selected = sql.SQL(", ").join(column(n) for n in names) if names else sql.SQL("NULL")
        page = self._compile(query.filter, types)
        if query.after is not None and query.sort:
            part, params = keyset_condition(query.sort, query.after, types)
            page.add(part, *params)
        statement = (
            sql.SQL("SELECT {} FROM {}").format(selected, table_identifier(dataset))
            + page.where()
            + order_by(query.sort)
            + sql.SQL(" LIMIT %s OFFSET %s")
        )
        return statement, [*page.params, query.limit + 1, query.offset], tuple(names)

    # -- streaming exports ------------------------------------------------------------------------

    def copy_out_csv(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[bytes]:
        return self._copy_out(dataset, query, ndjson=False)

    def copy_out_ndjson(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[bytes]:
        return self._copy_out(dataset, query, ndjson=True)

    async def stream_rows(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """A server-side cursor in one read-only transaction (one snapshot), `EXPORT_BATCH` rows a
        fetch, no statement time limit but each fetch within the pool's answer deadline. Closing the
        generator early rolls the transaction back, which closes the cursor, and the connection goes
        back to the pool."""
        names = _names(dataset, query)
        compiled = self._compile(query.filter, dataset.tabular_schema.field_types)
        selected = sql.SQL(", ").join(column(n) for n in names)
        statement = (
            sql.SQL("SELECT {} FROM {}").format(selected, table_identifier(dataset))
            + compiled.where()
            + order_by(query.sort)
        )
        async with self._conn() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION READ ONLY")
            await conn.execute("SET LOCAL statement_timeout = 0")
            cur = conn.cursor(name="datainfra$export")
            try:
                await cur.execute(statement, compiled.params)
                while rows := await cur.fetchmany(EXPORT_BATCH):
                    yield [tuple(_value_out(value) for value in row) for row in rows]
            except pg_errors.InvalidEscapeSequence:
                raise InvalidRequest("a LIKE pattern must not end with a backslash") from None

    def export_statement(self, dataset: Dataset, query: RecordQuery, *, ndjson: bool) -> tuple[sql.Composed, list[Any]]:
        """`COPY (SELECT ...) TO STDOUT` of every matching row. NDJSON: one `row_to_json` per row, sent
        as CSV with quote and delimiter bytes that JSON text never holds (control characters are
        always escaped in it), so no line is ever quoted or escaped: each is the JSON text itself.
        Public so tests can see exactly what runs."""
        names = _names(dataset, query)
        compiled = self._compile(query.filter, dataset.tabular_schema.field_types)
        table = table_identifier(dataset)
        if ndjson:
            # Aliases hold `$`, which user column names cannot: a column never shadows them.
            row, obj = sql.Identifier("datainfra$row"), sql.Identifier("datainfra$obj")
            fields = sql.SQL(", ").join(sql.SQL("{}.{}").format(row, column(n)) for n in names)
            selected: sql.Composable = sql.SQL("(SELECT row_to_json({}) FROM (SELECT {}) AS {})").format(
                obj, fields, obj
            )
            source: sql.Composable = sql.SQL("{} AS {}").format(table, row)
            options = sql.SQL("FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'")
        else:
            selected = sql.SQL(", ").join(column(n) for n in names)
            source = table
            options = sql.SQL("FORMAT csv, HEADER")
        select = sql.SQL("SELECT {} FROM {}").format(selected, source) + compiled.where() + order_by(query.sort)
        return sql.SQL("COPY (") + select + sql.SQL(") TO STDOUT WITH (") + options + sql.SQL(")"), compiled.params

    async def _copy_out(self, dataset: Dataset, query: RecordQuery, *, ndjson: bool) -> AsyncIterator[bytes]:
        """One read-only transaction, no statement time limit (the client's reading paces it), but
        each chunk from the server must come within the pool's answer deadline (statement timeout +
        5 s), so a server that stops mid-stream ends the stream; the
        server's per-row messages are gathered into chunks of about `EXPORT_CHUNK` bytes. Closing
        the generator early leaves the COPY block with an exception: psycopg cancels the statement,
        the transaction rolls back and the connection goes back to the pool."""
        async with self._conn() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION READ ONLY")
            await conn.execute("SET LOCAL statement_timeout = 0")
            statement, params = self.export_statement(dataset, query, ndjson=ndjson)
            buffer = bytearray()
            cur = conn.cursor()
            try:
                async with cur.copy(statement, params or None) as copy:
                    async for data in copy:
                        buffer += data
                        if len(buffer) >= EXPORT_CHUNK:
                            yield bytes(buffer)
                            buffer.clear()
            except pg_errors.InvalidEscapeSequence:
                raise InvalidRequest("a LIKE pattern must not end with a backslash") from None
            if buffer:
                yield bytes(buffer)

    async def _total(
        self, conn: psycopg.AsyncConnection[Any], table: sql.Composable, compiled: Compiled, mode: CountMode | None
    ) -> int | None:
        if mode is None:
            return None
        if mode is CountMode.ESTIMATED:
            estimate = await _planner_estimate(conn, table, compiled)
            if estimate >= self._exact_count_threshold:
                return estimate
        cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table) + compiled.where(), compiled.params)
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def count(self, dataset: Dataset) -> int:
        async with self._conn() as conn:
            cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table_identifier(dataset)))
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.execute("SELECT 1")

    # -- structured queries -----------------------------------------------------------------------

    async def run_structured(self, plan: StructuredPlan, limits: QueryLimits) -> QueryResult:
        """One read-only transaction under the request's statement timeout (always read-only: a
        structured query only reads). The SELECT asks for at most max_rows + 1 rows."""
        async with self._conn() as conn, conn.transaction():
            statement, params = compile_structured(plan, limits.max_rows, unicode_ilike=self._unicode_ilike)
            # No parameters: one simple-protocol round trip for both settings; the timeout is an int.
            await conn.execute(
                sql.SQL("SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}").format(
                    sql.Literal(int(limits.timeout_ms))
                )
            )
            cur = conn.cursor()
            with answer_within(conn, answer_timeout_for(limits.timeout_ms)):
                try:
                    await cur.execute(statement, params)
                except pg_errors.InvalidEscapeSequence:
                    raise InvalidRequest("a LIKE pattern must not end with a backslash") from None
                rows = await cur.fetchall()
        truncated = len(rows) > limits.max_rows
        out = [[_value_out(value) for value in row] for row in rows[: limits.max_rows]]
        return QueryResult(columns=plan.result_columns, rows=out, truncated=truncated)

    # -- plumbing ---------------------------------------------------------------------------------

    def _compile(self, spec: FilterSpec, types: dict[str, FieldType]) -> Compiled:
        return compile_filter(spec, types, unicode_ilike=self._unicode_ilike)

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        with _missing_is_not_found():
            async with connection(self._pool) as conn:
                self._unicode_ilike = conn.info.server_version >= 170000
                yield conn


@contextlib.contextmanager
def _missing_is_not_found() -> Iterator[None]:
    try:
        yield
    except (pg_errors.UndefinedTable, pg_errors.InvalidSchemaName) as exc:
        raise NotFound("the dataset's table does not exist") from exc
    except pg_errors.UndefinedColumn as exc:
        raise InvalidRequest(f"unknown field: {exc.diag.message_primary}") from exc


async def _planner_estimate(conn: psycopg.AsyncConnection[Any], table: sql.Composable, compiled: Compiled) -> int:
    statement = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}").format(table) + compiled.where()
    cur = await conn.execute(statement, compiled.params)
    row = await cur.fetchone()
    plan = row[0] if row else None
    if isinstance(plan, str | bytes):
        plan = load_json(plan)
    try:
        return int(plan[0]["Plan"]["Plan Rows"])  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        return 0


def _names(dataset: Dataset, query: RecordQuery) -> tuple[str, ...]:
    """The selected columns (checked where the query was built), else every column."""
    return query.select if query.select is not None else dataset.tabular_schema.column_names


# -- bulk writes ----------------------------------------------------------------------------------


_UPSERT_LOCK = 0x64_61_74_61  # "data": the advisory-lock class of upserts, the dataset's id hashed beside it


class _BulkWriter:
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
    Plain inserts (ERROR) take no lock: a clash there is the client's 409."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], dataset: Dataset, on_conflict: OnConflict) -> None:
        self.conn = conn
        self.dataset = dataset
        self.schema: TabularSchema = dataset.tabular_schema
        self.table = table_identifier(dataset)
        self.on_conflict = on_conflict
        self.result = WriteResult()
        self.next_index = 0
        self.max_explicit_id: int | None = None
        self.staging_ready = False
        self.generated = next((c for c in self.schema.columns if c.generated), None)
        # Records normally name every column (the service fills defaults), the generated key aside:
        # those take a fast path that skips the per-field lookups.
        self.all_names = self.schema.column_names
        self.all_set = frozenset(self.all_names)
        self.given_names = tuple(n for n in self.all_names if self.generated is None or n != self.generated.name)
        self.given_set = frozenset(self.given_names)
        self.not_null = tuple(c.name for c in self.schema.columns if not c.nullable and not c.generated)
        self.held_back: list[tuple[tuple[str, ...], int, list[Record]]] | None = None
        self.locked = False

    async def write(self, batch: list[Record]) -> None:
        start = self.next_index
        self.next_index += len(batch)
        runs: list[tuple[tuple[str, ...], int, list[Record]]] = []
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

    async def _lock_upserts(self, *, exclusive: bool) -> None:
        """The dataset's upsert lock (see the class docstring), held to the end of the transaction."""
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        await self.conn.execute(
            sql.SQL("SELECT {}(%s, hashtext(%s))").format(sql.Identifier(function)),
            [_UPSERT_LOCK, self.dataset.id],
        )
        self.locked = True

    def _complete(self, record: Record, index: int) -> tuple[Record, tuple[str, ...]]:
        """The checked record and the columns it names, in schema order."""
        keys = record.keys()
        if keys != self.all_set and keys != self.given_set:
            record = self._checked(record, index)
            return record, tuple(c.name for c in self.schema.columns if c.name in record)
        columns = self.all_names
        if self.generated is not None:
            value = record.get(self.generated.name)
            if value is None:
                if self.generated.name in record:
                    record = {k: v for k, v in record.items() if k != self.generated.name}
                columns = self.given_names
            elif self.max_explicit_id is None or value > self.max_explicit_id:
                self.max_explicit_id = value
        for name in self.not_null:
            if record[name] is None:
                raise InvalidInput(f"field {name!r} must not be null", index=index, field=name)
        return record, columns

    def _checked(self, record: Record, index: int) -> Record:
        _check_known(self.schema, record, index)
        if self.generated is not None:
            value = record.get(self.generated.name)
            if value is None:
                record = {k: v for k, v in record.items() if k != self.generated.name}
            elif self.max_explicit_id is None or value > self.max_explicit_id:
                self.max_explicit_id = value
        for col in self.schema.columns:
            if col.nullable or col.generated:
                continue
            if record.get(col.name) is None and (col.name in record or col.default is None):
                raise InvalidInput(f"field {col.name!r} must not be null", index=index, field=col.name)
        return record

    async def _copy_rows(
        self, target: sql.Composable, columns: tuple[str, ...], first: int, records: list[Record], ordinal: bool
    ) -> None:
        types = self.schema.field_types
        names = [column(n) for n in columns] + ([sql.Identifier(_ORDINAL)] if ordinal else [])
        copy_types = [COPY_TYPE[types[n]] for n in columns] + (["int8"] if ordinal else [])
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(target, sql.SQL(", ").join(names))
        # Without json values (which need wrapping) a row is the record's values as they are.
        plain = len(columns) > 1 and all(types[n] is not FieldType.JSON for n in columns)
        values = operator.itemgetter(*columns)
        cur = self.conn.cursor()
        index = first
        try:
            async with cur.copy(statement) as copy:
                copy.set_types(copy_types)
                for index, record in enumerate(records, start=first):
                    if plain:
                        await copy.write_row((*values(record), index) if ordinal else values(record))
                        continue
                    row = [_adapt(record[n], types[n]) for n in columns]
                    if ordinal:
                        row.append(index)
                    await copy.write_row(row)
        except UnicodeEncodeError:
            raise InvalidInput("text must be valid Unicode (no lone surrogates)", index=index) from None
        except pg_errors.UniqueViolation as exc:
            line = copy_line(exc)
            raise conflict_from(exc, self.schema, self.dataset.name, index=first + line - 1 if line else None) from None
        except (pg_errors.IntegrityError, pg_errors.DataError) as exc:
            line = copy_line(exc)
            raise InvalidInput(
                str(exc.diag.message_primary or exc),
                index=first + line - 1 if line else None,
                field=column_of(exc),
            ) from None
        except psycopg.OperationalError as exc:
            if not is_limit(exc):
                raise
            # COPY names the line of an index entry that failed, but a row too big is found when a
            # batch of rows is flushed: the line it names is not that row's.
            line = None if "row is too big" in (exc.diag.message_primary or "") else copy_line(exc)
            at = first + line - 1 if line else None
            raise limit_exceeded(exc, self.schema, self.dataset.name, index=at) from None

    async def _copy_into_table(self, columns: tuple[str, ...], first: int, records: list[Record]) -> None:
        await self._copy_rows(self.table, columns, first, records, ordinal=False)
        self.result += WriteResult(inserted=len(records))

    async def _ensure_staging(self) -> None:
        if self.staging_ready:
            return
        definitions = [column(c.name) + sql.SQL(" ") + column_type(c.type) for c in self.schema.columns] + [
            sql.SQL("{} bigint NOT NULL").format(sql.Identifier(_ORDINAL))
        ]
        await self.conn.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(
                sql.Identifier("datainfra$staging"), sql.SQL(", ").join(definitions)
            )
        )
        self.staging_ready = True

    async def _upsert(self, columns: tuple[str, ...], first: int, records: list[Record]) -> None:
        await self._ensure_staging()
        await self._copy_rows(_STAGING, columns, first, records, ordinal=True)
        key = self.schema.primary_key
        cols = sql.SQL(", ").join(column(n) for n in columns)
        ordinal = sql.Identifier(_ORDINAL)
        has_key = all(n in columns for n in key)
        key_cols = sql.SQL(", ").join(column(n) for n in key)
        # Rows go in key order wherever the key is given, so concurrent upserts of overlapping keys take
        # their row locks in one order and never deadlock one another.
        if self.on_conflict is OnConflict.IGNORE:
            order = sql.SQL(", ").join([column(n) for n in key] + [ordinal]) if has_key else ordinal
            source: sql.Composed = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(cols, _STAGING, order)
            action: sql.Composable = sql.SQL("ON CONFLICT DO NOTHING")
        else:
            if has_key:
                # Two records of one run with the same key: the later one wins, as if applied in turn.
                source = sql.SQL("SELECT DISTINCT ON ({}) {} FROM {} ORDER BY {}, {} DESC").format(
                    key_cols, cols, _STAGING, key_cols, ordinal
                )
            else:
                source = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(cols, _STAGING, ordinal)
            given = [n for n in columns if n not in key] or list(key[:1])
            action = sql.SQL("ON CONFLICT ({}) DO UPDATE SET {}").format(
                key_cols,
                sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(column(n), column(n)) for n in given),
            )
        statement = sql.SQL(
            "WITH written AS (INSERT INTO {} ({}) {} {} RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"
        ).format(self.table, cols, source, action)
        try:
            cur = await self.conn.execute(statement)
        except pg_errors.UniqueViolation as exc:
            raise conflict_from(exc, self.schema, self.dataset.name) from None
        except (pg_errors.IntegrityError, pg_errors.DataError) as exc:
            raise InvalidInput(str(exc.diag.message_primary or exc), field=column_of(exc)) from None
        except psycopg.OperationalError as exc:
            if is_limit(exc):
                raise limit_exceeded(exc, self.schema, self.dataset.name) from None
            raise
        row = await cur.fetchone()
        inserted, updated = (int(row[0]), int(row[1])) if row else (0, 0)
        await self.conn.execute(sql.SQL("TRUNCATE {}").format(_STAGING))
        if self.on_conflict is OnConflict.IGNORE:
            self.result += WriteResult(inserted=inserted, ignored=len(records) - inserted)
        else:
            self.result += WriteResult(inserted=inserted, updated=len(records) - inserted)
            del updated

    async def finish(self) -> None:
        """Write a held-back single batch; move the generated key's sequence past explicit ids written."""
        if self.held_back is not None:
            await self._lock_upserts(exclusive=False)
            for columns, first, records in self.held_back:
                await self._upsert(columns, first, records)
            self.held_back = None
        if self.generated is None or self.max_explicit_id is None:
            return
        seq = sql.Identifier(session_schema_name(self.dataset.session_id), sequence_name(self.dataset.name))
        await self.conn.execute(
            sql.SQL(
                "SELECT setval(%s::regclass, %s) FROM {} "
                "WHERE %s > (CASE WHEN is_called THEN last_value ELSE last_value - 1 END)"
            ).format(seq),
            [seq.as_string(self.conn), self.max_explicit_id, self.max_explicit_id],
        )


# -- helpers --------------------------------------------------------------------------------------


def _check_known(schema: TabularSchema, record: Record, index: int | None) -> None:
    for name in record:
        if schema.column(name) is None:
            raise InvalidInput(f"unknown field {name!r}", index=index, field=str(name))


def _check_not_null(schema: TabularSchema, changes: Record, index: int | None) -> None:
    for name, value in changes.items():
        if value is None and schema.non_nullable(name):
            raise InvalidInput(f"field {name!r} must not be null", index=index, field=name)


def _adapt(value: Any, field_type: FieldType) -> Any:
    if value is None:
        return None
    if field_type is FieldType.JSON:
        return Jsonb(value)
    return value


def _row_out(row: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = row[name]
        if isinstance(value, dt.datetime) and value.tzinfo is not dt.UTC:
            value = value.astimezone(dt.UTC)
        out[name] = value
    return out


def _value_out(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not dt.UTC:
        return value.astimezone(dt.UTC)
    return value


def _literal(value: Any, field_type: FieldType) -> sql.Composable:
    """A default in DDL (no parameters there): psycopg's quoting, cast to the column type."""
    return sql.SQL("(") + sql.Literal(_adapt(value, field_type)) + sql.SQL(")::") + cast_type(field_type)


def _column_definition(dataset: Dataset, col: Column) -> sql.Composable:
    parts: list[sql.Composable] = [checked(col.name, "column name"), column_type(col.type)]
    if col.generated:
        seq = sql.Identifier(session_schema_name(dataset.session_id), sequence_name(dataset.name))
        parts.append(sql.SQL("GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME {})").format(seq))
    if col.default is not None:
        parts.append(sql.SQL("DEFAULT ") + _literal(col.default, col.type))
    if not col.nullable:
        parts.append(sql.SQL("NOT NULL"))
    return sql.SQL(" ").join(parts)


def _create_index(dataset: Dataset, ix: Index) -> sql.Composed:
    return sql.SQL("CREATE {}INDEX {} ON {} ({})").format(
        sql.SQL("UNIQUE " if ix.unique else ""),
        sql.Identifier(index_name(dataset.name, ix.columns, ix.unique)),
        table_identifier(dataset),
        sql.SQL(", ").join(column(n) for n in ix.columns),
    )


def _cast_expression(col: sql.Composable, source: FieldType, target: FieldType) -> sql.Composable:
    if (source, target) in _DIRECT_CASTS:
        return col + sql.SQL("::") + cast_type(target)
    if target is FieldType.TEXT:
        return col + sql.SQL("::text")
    return col + sql.SQL("::text::") + cast_type(target)
