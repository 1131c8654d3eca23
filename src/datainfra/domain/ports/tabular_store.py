"""TabularStore: where the rows of tabular datasets live."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from datainfra.domain.filters import FilterSpec
from datainfra.domain.model import Dataset, Session
from datainfra.domain.queries import QueryLimits, QueryResult
from datainfra.domain.query import RecordPage, RecordQuery
from datainfra.domain.record_versions import IfMatch, RecordChange, RecordKey
from datainfra.domain.records import OnConflict, Record, RecordRows, WriteResult
from datainfra.domain.structured_plan import StructuredPlan
from datainfra.domain.tabular_schema import MigrationPlan


class TabularStore(Protocol):
    """Rows of tabular datasets, one table per dataset, one namespace per session.

    Contract (every adapter, checked by tests/contract/test_tabular_store_contract.py):
    - Values in and out are the typed values of `domain.types` (int, float, Decimal, bool, str,
      date, aware UTC datetime, UUID, JSON values with Decimal numbers). Text compares by code point.
    - Writes are all-or-nothing: when a call raises, nothing it did is visible.
    - `insert_records` consumes the stream once; a `RecordRows` item in it stands for its records, in
      order (`RecordRows.records()`), however the store writes them. Records hold every column except possibly the
      generated `id`, which the store fills when absent (and keeps when given, moving its counter past
      it). The stream may raise a DomainError (a bad record found while streaming): the store lets it
      propagate and keeps nothing. Key or unique-index clashes: `Conflict` naming the key, under
      ERROR (also for two records of the same request), its `key` a mapping of column → value of the
      violated key or unique index; UPDATE overwrites every given column (a key repeated within one
      request is applied in order: the last record wins); IGNORE skips the record. A NOT NULL
      violation is `InvalidInput` with the record index.
    - `query` orders by `query.sort` (which the service already completed with the key columns):
      ascending puts NULLs last, descending first. `after` (keyset) returns rows strictly after
      that sort-key tuple; `offset` skips rows. It returns at most `limit` items and `has_more`
      says whether another row follows; `total` is set when `count` asks for it (`estimated` may be
      approximate, `exact` is exact). `select` limits the columns returned (else every column).
      The names in `select` and `sort` were checked where the domain built the query
      (domain.query.check_select / check_sort): stores trust them.
    - Filters follow SQL semantics as documented in domain.filters.
    - Raises `StoreUnavailable` when the server cannot be reached, `StoreTimeout` past its statement
      time limit.
    """

    async def create_session_space(self, session: Session) -> None:
        """Make room for a new session's tables (a PostgreSQL schema). Idempotent."""
        ...

    async def drop_session_space(self, session: Session) -> None:
        """Drop every table of the session and its namespace. Idempotent."""
        ...

    async def create_table(self, dataset: Dataset) -> None:
        """Create the dataset's table with its columns, key and indexes."""
        ...

    async def migrate_table(self, dataset: Dataset, plan: MigrationPlan) -> None:
        """Apply `plan` (dataset holds the new schema) in one transaction. A type change casts the
        existing values; a value that does not cast, a NOT NULL over existing NULLs, or a unique
        index over duplicate values raises `InvalidInput` naming the column and changes nothing."""
        ...

    async def drop_table(self, dataset: Dataset) -> None:
        """Drop the dataset's table. Idempotent."""
        ...

    async def insert_records(
        self, dataset: Dataset, records: AsyncIterable[Record | RecordRows], on_conflict: OnConflict
    ) -> WriteResult: ...

    async def insert_csv(self, dataset: Dataset, body: AsyncIterable[bytes], on_conflict: OnConflict) -> WriteResult:
        """A CSV body (the dialect of `domain.csv_records`: UTF-8, a header row, RFC 4180, an unquoted
        empty cell is NULL) written exactly as `insert_records` writes `typed_csv_records(schema, body)`:
        the same values (each cell read by `domain.types.parse_text`, nothing more lenient), the same
        results and errors (malformed CSV: InvalidRequest; a bad cell: InvalidInput naming the data
        row's 0-based index and the field; an unknown header column: InvalidInput naming it at index
        0), all-or-nothing, and memory bounded whatever the body's size. (PostgreSQL streams the body
        into COPY, checking only what its own grammar would read differently.)"""
        ...

    async def update_by_key(self, dataset: Dataset, records: Sequence[Record]) -> int:
        """Each record holds the full key plus the columns to set. A key that matches no row raises
        `InvalidInput` with that record's index (and nothing changes). Returns the rows updated."""
        ...

    async def get_by_key(self, dataset: Dataset, key: RecordKey) -> Record | None:
        """The record with this full primary key (every column, typed), or None."""
        ...

    async def update_record(
        self, dataset: Dataset, key: RecordKey, change: RecordChange, expected: IfMatch | None
    ) -> Record:
        """Atomically: read the record with `key`, call `domain.record_versions.check_current` on it
        (absent → NotFound, or PreconditionFailed under a condition; a tag that does not match →
        PreconditionFailed and nothing written), then set the assignments `change(record)` returns
        (non-key columns only) and return the record as stored. Two calls with the same
        expected tag: exactly one writes, the other gets PreconditionFailed (PostgreSQL: the row is
        locked from the read to the write; memory: under the store's lock). NOT NULL and unique
        index violations as `update_by_key` (InvalidInput / Conflict, no index)."""
        ...

    async def delete_record(self, dataset: Dataset, key: RecordKey, expected: IfMatch | None) -> None:
        """Atomically check the record as `update_record` does, then delete it."""
        ...

    async def update_where(self, dataset: Dataset, filter: FilterSpec, changes: Record) -> int:
        """Set `changes` on every row matching `filter` (an empty filter matches every row)."""
        ...

    async def delete_where(self, dataset: Dataset, filter: FilterSpec) -> int:
        """Delete every row matching `filter` (an empty filter matches every row)."""
        ...

    async def query(self, dataset: Dataset, query: RecordQuery) -> RecordPage: ...

    async def count(self, dataset: Dataset) -> int:
        """The exact number of rows."""
        ...

    async def run_structured(self, plan: StructuredPlan, limits: QueryLimits) -> QueryResult:
        """Run a resolved structured query (domain.structured_plan; checked by
        tests/contract/test_structured_contract.py). Contract:
        - always read-only, whatever `limits.read_only` says; one consistent snapshot;
        - rows: `plan.sources[0]` joined in order with each later source (inner: only matching
          rows; left: unmatched rows kept with NULLs; NULL keys never match), kept by `plan.filter`
          (SQL semantics, fields named `dataset.column`), grouped when `plan.grouped` (no group_by:
          exactly one row, even over no rows; NULL group keys group together), in `plan.order`
          (ascending NULLs last, descending NULLs first, text by code point), then `offset`, `limit`;
        - aggregates are PostgreSQL's: NULLs ignored; count(*) counts rows, count(field) non-NULL
          values; sum/avg of integer and numeric are exact Decimals (avg at the scale PostgreSQL's
          numeric division picks), of float floats added in row order (an infinite result from
          finite values is `InvalidInput`); min/max return a value of the field; over no value
          sum/avg/min/max are NULL and counts 0;
        - values are the typed values of `domain.types`, one list per row in `plan.columns` order;
          `columns` are `plan.result_columns`;
        - at most `limits.max_rows` rows; `truncated` is True when more rows (within `plan.limit`)
          were there;
        - a statement running longer than `limits.timeout_ms` is cancelled (`StoreTimeout`); a table
          that no longer exists is `NotFound`."""
        ...

    def stream_rows(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """Every row matching `query.filter`, ordered by `query.sort`, each row the typed values of
        the columns `query.select` (else every column, in schema order), handed over in batches:
        what an export writes (the HTTP edge formats it as CSV or NDJSON). `limit`, `offset`,
        `after` and `count` are ignored. One consistent snapshot; memory stays bounded by a batch
        whatever the size; no statement time limit applies (the reader paces it). A value the
        store holds but Python's types cannot (PostgreSQL: NaN, infinity, a date after year 9999)
        comes as its row_to_json text. Closing the iterator early stops the work and frees what
        it holds (connection, transaction)."""
        ...

    async def ping(self) -> None:
        """Return when the store answers; raise StoreUnavailable otherwise."""
        ...


@runtime_checkable
class NativeTextExport(Protocol):
    """What a TabularStore may offer besides the port: the export text written by the store itself,
    because there it is much faster (PostgreSQL's `COPY ... TO STDOUT` writes 200,000 rows of every
    field type about ten times as fast as formatting the typed rows in Python). The bytes are
    exactly those the HTTP edge's writers (adapters/http/formats/tabular.py) make from
    `stream_rows` over the same rows, which tests/integration/postgres/test_native_export.py
    holds; everything else is as `stream_rows`."""

    def copy_out_csv(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[bytes]:
        """The rows as CSV with a header row, streamed in chunks."""
        ...

    def copy_out_ndjson(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[bytes]:
        """The rows as NDJSON, one object per line, streamed in chunks."""
        ...


@dataclass(frozen=True, slots=True)
class ColumnExtent:
    """What a typed columnar export (Parquet, Arrow) must know of one exported column's values
    before its first byte, since its schema leads the file: a numeric's widest scale and integer
    part (the decimal type is chosen from them), and the text of a value no columnar type holds
    (numeric NaN or infinity, an infinite date or timestamp, one before year 1 or after 9999)."""

    name: str
    max_scale: int = 0
    max_integer_digits: int = 0
    unrepresentable: str | None = None


@runtime_checkable
class NativeColumnarText(Protocol):
    """What a TabularStore may offer besides the port for a columnar export: the extents of the
    exported columns and the export's CSV text (exactly `NativeTextExport.copy_out_csv`'s bytes)
    read in one snapshot, so the file's schema, chosen from the extents, fits every row."""

    def columnar_csv(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[tuple[ColumnExtent, ...] | bytes]:
        """First the extents (one per exported numeric, date or timestamp column), then the CSV
        chunks. Closing the iterator early stops the work and frees what it holds."""
        ...
