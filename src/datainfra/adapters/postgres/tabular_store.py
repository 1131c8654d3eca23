"""PostgresTabularStore: one PostgreSQL schema per session, one table per tabular dataset.

The store holds the connections and transactions; each job has a module of its own: table DDL and
migrations (table_ddl), bulk writes and updates (row_writes), pages and counts (row_reads), exports
(row_exports: the typed row stream, and COPY as the native text fast path). User-chosen names are
validated and quoted (sql.Identifier); values are bound parameters or COPY data.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres import csv_copy, row_exports, row_writes, table_ddl
from datainfra.adapters.postgres.citus import DISTRIBUTE_NEW_SCHEMA, citus_in_use
from datainfra.adapters.postgres.column_extents import column_extents
from datainfra.adapters.postgres.identifiers import (
    primary_key_name,
    session_schema_name,
    table_identifier,
    user_role_name,
)
from datainfra.adapters.postgres.pool import answer_timeout_for, answer_within, connection
from datainfra.adapters.postgres.row_reads import fetch_by_key, fetch_page, page_statement, row_out, total, value_out
from datainfra.adapters.postgres.sql_filters import Compiled, column, compile_filter
from datainfra.adapters.postgres.structured_sql import compile_structured
from datainfra.adapters.postgres.table_ddl import column_definition, create_index
from datainfra.domain.csv_records import typed_csv_records
from datainfra.domain.errors import Conflict, InvalidRequest, NotFound
from datainfra.domain.filters import FilterSpec
from datainfra.domain.model import Dataset, Session
from datainfra.domain.ports import UserRoles
from datainfra.domain.ports.tabular_store import ColumnExtent, NativeColumnarText, NativeTextExport, TabularStore
from datainfra.domain.queries import QueryLimits, QueryResult
from datainfra.domain.query import RecordPage, RecordQuery
from datainfra.domain.record_versions import IfMatch, RecordChange, RecordKey
from datainfra.domain.records import OnConflict, Record, RecordRows, WriteResult
from datainfra.domain.structured_plan import StructuredPlan
from datainfra.domain.tabular_schema import MigrationPlan
from datainfra.domain.types import FieldType

_TABLE_PRIVILEGES = sql.SQL("SELECT, INSERT, UPDATE, DELETE")


class PostgresTabularStore(TabularStore, NativeTextExport, NativeColumnarText):
    """TabularStore over a psycopg pool. `batch_size` records go to the server per COPY; a count
    asked as `estimated` uses the planner's estimate once that reaches `exact_count_threshold`
    rows (below it an exact count is cheap, so it is given)."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        roles: UserRoles,
        *,
        batch_size: int = 5000,
        exact_count_threshold: int = 100_000,
    ) -> None:
        self._pool = pool
        self._roles = roles
        """Each session's schema and tables are granted to its owner's role, made through this."""
        self._batch_size = max(1, batch_size)
        self._exact_count_threshold = exact_count_threshold
        self._unicode_ilike = False
        """Whether ILIKE can fold case over all of Unicode (the pg_c_utf8 collation, PostgreSQL 17+)."""
        self._citus: bool | None = None
        """Whether the database is a Citus coordinator (asked once, at the first session made or write)."""

    # -- sessions and tables ---------------------------------------------------------------------

    async def create_session_space(self, session: Session) -> None:
        await self._roles.ensure_role(session.owner_id)  # the schema is granted to it
        schema = sql.Identifier(session_schema_name(session.id))
        async with self._conn() as conn, conn.transaction():
            if await self._on_citus(conn):
                await conn.execute(DISTRIBUTE_NEW_SCHEMA)  # placed whole on one worker
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
        parts = [column_definition(dataset, c) for c in schema.columns]
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
                await conn.execute(create_index(dataset, ix))
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
        async with self._conn() as conn, conn.transaction():
            await table_ddl.migrate_table(conn, dataset, plan)

    # -- writes -----------------------------------------------------------------------------------

    async def insert_records(
        self, dataset: Dataset, records: AsyncIterable[Record | RecordRows], on_conflict: OnConflict
    ) -> WriteResult:
        async with self._conn() as conn, conn.transaction():
            writer = row_writes.BulkWriter(conn, dataset, on_conflict, staged=await self._on_citus(conn))
            try:
                await self._write_all(writer, records, on_conflict)
            except BaseException as exc:
                await writer.abandon(exc)
                raise
            return writer.result

    async def _write_all(
        self, writer: row_writes.BulkWriter, records: AsyncIterable[Record | RecordRows], on_conflict: OnConflict
    ) -> None:
        batch: list[Record] = []
        async for item in records:
            if isinstance(item, RecordRows):
                if on_conflict is OnConflict.ERROR:  # plain inserts: the rows go as they are
                    if batch:
                        await writer.write(batch)
                        batch = []
                    await writer.write_rows(item)
                    continue
                batch.extend(item.records())
            else:
                batch.append(item)
            if len(batch) >= self._batch_size:
                await writer.write(batch)
                batch = []
        if batch:
            await writer.write(batch)
        await writer.finish()

    async def insert_csv(self, dataset: Dataset, body: AsyncIterable[bytes], on_conflict: OnConflict) -> WriteResult:
        chunks = aiter(body)
        header, eol, head, rest = await csv_copy.split_header(chunks)
        if header is None:
            raise InvalidRequest("the CSV body has no header row")
        schema = dataset.tabular_schema
        if not csv_copy.copies(schema, header):
            records = typed_csv_records(schema, csv_copy.replay(head + rest, chunks))
            return await self.insert_records(dataset, records, on_conflict)
        async with self._conn() as conn, conn.transaction():
            staged = await self._on_citus(conn)
            return await csv_copy.copy_csv(conn, dataset, header, eol, rest, chunks, on_conflict, staged=staged)

    async def update_by_key(self, dataset: Dataset, records: Sequence[Record]) -> int:
        async with self._conn() as conn, conn.transaction():
            return await row_writes.update_by_key(conn, dataset, records)

    async def get_by_key(self, dataset: Dataset, key: RecordKey) -> Record | None:
        async with self._conn() as conn:
            return await fetch_by_key(conn, dataset, key)

    async def update_record(
        self, dataset: Dataset, key: RecordKey, change: RecordChange, expected: IfMatch | None
    ) -> Record:
        async with self._conn() as conn, conn.transaction():
            return await row_writes.update_record(conn, dataset, key, change, expected)

    async def delete_record(self, dataset: Dataset, key: RecordKey, expected: IfMatch | None) -> None:
        async with self._conn() as conn, conn.transaction():
            await row_writes.delete_record(conn, dataset, key, expected)

    async def update_where(self, dataset: Dataset, filter: FilterSpec, changes: Record) -> int:
        async with self._conn() as conn, conn.transaction():
            compiled = self._compile(filter, dataset.tabular_schema.field_types)
            return await row_writes.update_where(conn, dataset, compiled, changes)

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
        async with self._conn() as conn:
            if query.count is None:  # one statement: one round trip on the autocommit connection
                rows, counted = await fetch_page(conn, statement, params), None
            else:  # the page and its count from one snapshot, so they agree
                async with conn.transaction():
                    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    rows = await fetch_page(conn, statement, params)
                    compiled = self._compile(query.filter, types)
                    table = table_identifier(dataset)
                    counted = await total(conn, table, compiled, query.count, self._exact_count_threshold)
        has_more = len(rows) > query.limit
        items = [row_out(row, names) for row in rows[: query.limit]]
        return RecordPage(items=items, has_more=has_more, total=counted)

    def page_statement(self, dataset: Dataset, query: RecordQuery) -> tuple[sql.Composed, list[Any], tuple[str, ...]]:
        """The SELECT of one page, its parameters and the columns it returns (row_reads). Public so
        tests can EXPLAIN exactly what runs."""
        return page_statement(dataset, query, self._compile(query.filter, dataset.tabular_schema.field_types))

    async def count(self, dataset: Dataset) -> int:
        async with self._conn() as conn:
            cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table_identifier(dataset)))
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.execute("SELECT 1")

    # -- exports ----------------------------------------------------------------------------------

    async def stream_rows(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """A server-side cursor in one read-only transaction (row_exports.stream_rows)."""
        async with self._conn() as conn, conn.transaction():
            await row_exports.begin_export(conn)
            compiled = self._compile(query.filter, dataset.tabular_schema.field_types)
            async with contextlib.aclosing(row_exports.stream_rows(conn, dataset, query, compiled)) as batches:
                async for batch in batches:
                    yield batch

    def copy_out_csv(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[bytes]:
        return self._copy_out(dataset, query, ndjson=False)

    def copy_out_ndjson(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[bytes]:
        return self._copy_out(dataset, query, ndjson=True)

    async def columnar_csv(
        self, dataset: Dataset, query: RecordQuery
    ) -> AsyncIterator[tuple[ColumnExtent, ...] | bytes]:
        """The extents (column_extents), then copy_out_csv's bytes, in one read-only snapshot."""
        async with self._conn() as conn, conn.transaction():
            await row_exports.begin_export(conn, snapshot=True)
            types = dataset.tabular_schema.field_types
            compiled = compile_filter(
                query.filter, types, unicode_ilike=self._unicode_ilike, field_sql=row_exports.row_column
            )
            yield await column_extents(conn, dataset, query, compiled)
            statement, params = row_exports.export_statement(dataset, query, compiled, ndjson=False)
            async with contextlib.aclosing(row_exports.copy_out(conn, statement, params)) as chunks:
                async for chunk in chunks:
                    yield chunk

    async def _copy_out(self, dataset: Dataset, query: RecordQuery, *, ndjson: bool) -> AsyncIterator[bytes]:
        """COPY in one read-only transaction (row_exports.copy_out). Closing the generator early
        closes the COPY first, then the transaction rolls back and the connection goes back to the
        pool."""
        async with self._conn() as conn, conn.transaction():
            await row_exports.begin_export(conn)
            types = dataset.tabular_schema.field_types
            compiled = compile_filter(
                query.filter, types, unicode_ilike=self._unicode_ilike, field_sql=row_exports.row_column
            )
            statement, params = row_exports.export_statement(dataset, query, compiled, ndjson=ndjson)
            async with contextlib.aclosing(row_exports.copy_out(conn, statement, params)) as chunks:
                async for chunk in chunks:
                    yield chunk

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
        out = [[value_out(value) for value in row] for row in rows[: limits.max_rows]]
        return QueryResult(columns=plan.result_columns, rows=out, truncated=truncated)

    # -- plumbing ---------------------------------------------------------------------------------

    async def _on_citus(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        if self._citus is None:
            self._citus = await citus_in_use(conn)
        return self._citus

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
