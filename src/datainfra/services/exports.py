"""Exports: which formats fit which dataset, which rows an export holds and in what order, the
graph read in keyset pages, and the manifest of a session archive. A tabular export is the store's
typed row stream (or the text a store writes natively, `NativeTextExport`); the bytes are the HTTP
adapter's format writers' (CSV, NDJSON, graphs, ZIP)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from datainfra.domain.errors import InvalidInput, InvalidRequest, NotFound
from datainfra.domain.graph import Edge, Node
from datainfra.domain.graph_schema import NODE_KEY, graph_schema_document
from datainfra.domain.model import Dataset, DatasetKind, Session, User
from datainfra.domain.ports import (
    Catalog,
    Clock,
    ColumnExtent,
    GraphStore,
    NativeColumnarText,
    NativeTextExport,
    TabularStore,
)
from datainfra.domain.query import PageRequest, RecordQuery, SortKey, with_tiebreak
from datainfra.domain.tabular_schema import tabular_schema_document
from datainfra.domain.types import FieldType, FieldValue
from datainfra.domain.value_text import timestamp_rfc3339
from datainfra.services.paging import parse_tabular_query
from datainfra.services.records import require_tabular

FORMAT_PARAM = "format"
TABULAR_FORMATS = ("csv", "json", "ndjson", "parquet", "arrow")
COLUMNAR_FORMATS = ("parquet", "arrow")
GRAPH_FORMATS = ("json", "graphml", "ndjson")
DEFAULT_FORMAT = {DatasetKind.TABULAR: "csv", DatasetKind.GRAPH: "json"}
GRAPH_PAGE = 1000
"""Nodes or edges read per keyset page of a graph export: memory stays flat whatever the size."""
COLUMNAR_DECIMAL_DIGITS = 76
"""The most digits a numeric column of a columnar export can hold (Arrow's decimal256)."""
_EXTENT_TYPES = (FieldType.NUMERIC, FieldType.DATE, FieldType.TIMESTAMP)
ARCHIVE_FORMAT = "datainfra-session-export"
ARCHIVE_VERSION = 1
MANIFEST_FILE = "manifest.json"


def export_format(dataset: Dataset, text: str | None) -> str:
    """The asked format (else the kind's default); one that does not fit the kind is a 400 listing
    the valid ones."""
    valid = TABULAR_FORMATS if dataset.kind is DatasetKind.TABULAR else GRAPH_FORMATS
    chosen = DEFAULT_FORMAT[dataset.kind] if text is None else text
    if chosen not in valid:
        raise InvalidRequest(
            f"format {chosen!r} does not fit a {dataset.kind.value} dataset; use one of {', '.join(valid)}",
            parameter=FORMAT_PARAM,
            extra={"valid": list(valid)},
        )
    return chosen


def tabular_export_query(dataset: Dataset, request: PageRequest) -> RecordQuery:
    """The records route's filters, select and sort (completed with the key, so the order is total
    and stable); paging makes no sense for an export that streams every match."""
    schema = require_tabular(dataset)
    paging = {"limit": request.limit, "offset": request.offset, "cursor": request.cursor, "count": request.count}
    for name, value in paging.items():
        if value is not None:
            raise InvalidRequest(f"an export streams every matching record; {name} is not accepted", parameter=name)
    return parse_tabular_query(schema, request).query


def default_query(dataset: Dataset) -> RecordQuery:
    """Every row, in key order: what a session archive holds."""
    schema = dataset.tabular_schema
    return RecordQuery(sort=with_tiebreak((), schema.primary_key))


@dataclass(frozen=True, slots=True)
class ExportColumn:
    """One exported column: its name (the CSV header, the NDJSON key) and its type (how the export
    writers print its values)."""

    name: str
    type: FieldType


@dataclass(slots=True)
class ExportCounts:
    """What one archive file holds, counted while it was written."""

    records: int = 0
    nodes: int = 0
    edges: int = 0


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    dataset: Dataset
    file: str
    format: str
    counts: ExportCounts = field(default_factory=ExportCounts)


class ExportService:
    def __init__(self, catalog: Catalog, tabular: TabularStore, graph: GraphStore, clock: Clock) -> None:
        self._catalog = catalog
        self._tabular = tabular
        self._graph = graph
        self._clock = clock

    async def session(self, user: User, session_id: str) -> tuple[Session, list[Dataset]]:
        session = await self._catalog.get_session(user.id, session_id)
        if session is None:
            raise NotFound(f"no session {session_id!r}", parameter="session_id")
        return session, await self._catalog.list_datasets(user.id, session.id)

    def columns(self, dataset: Dataset, query: RecordQuery) -> tuple[ExportColumn, ...]:
        """The exported columns, in the order of the values of `rows`."""
        schema = dataset.tabular_schema
        types = schema.field_types
        names = query.select if query.select is not None else schema.column_names
        return tuple(ExportColumn(name, types[name]) for name in names)

    def rows(self, dataset: Dataset, query: RecordQuery) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """Every matching row as typed values, in batches (TabularStore.stream_rows)."""
        return self._tabular.stream_rows(dataset, query)

    def native_text(self, dataset: Dataset, query: RecordQuery, fmt: str) -> AsyncIterator[bytes] | None:
        """The export as the store writes it itself (csv or ndjson), when it can; else None."""
        if not isinstance(self._tabular, NativeTextExport):
            return None
        if fmt == "csv":
            return self._tabular.copy_out_csv(dataset, query)
        return self._tabular.copy_out_ndjson(dataset, query)

    async def columnar_source(
        self, dataset: Dataset, query: RecordQuery
    ) -> tuple[tuple[ColumnExtent, ...], AsyncIterator[bytes] | None]:
        """What a columnar export (parquet, arrow) is made from: the extents of its numeric, date
        and timestamp columns, and the store's CSV of the same snapshot where it writes it
        (`NativeColumnarText`; None: the caller writes the CSV from `rows`). A value no columnar
        type holds, or a numeric wider than `COLUMNAR_DECIMAL_DIGITS`, is a 422 naming its column,
        raised before any byte is sent."""
        columns = self.columns(dataset, query)
        chunks: AsyncIterator[bytes] | None = None
        if isinstance(self._tabular, NativeColumnarText):
            stream = self._tabular.columnar_csv(dataset, query)
            first = await anext(stream)
            if not isinstance(first, tuple):  # pragma: no cover - the capability's contract
                raise TypeError("columnar_csv must yield the extents first")
            extents = first
            chunks = _chunks_after_extents(stream)
        else:
            extents = await _scanned_extents(columns, self.rows(dataset, query))
        try:
            _check_extents(extents)
        except BaseException:
            if chunks is not None:
                await chunks.aclose()  # type: ignore[attr-defined]
            raise
        return extents, chunks

    async def nodes(self, dataset: Dataset) -> AsyncIterator[list[Node]]:
        """Every node, in id order, a keyset page at a time."""
        after: tuple[FieldValue, ...] | None = None
        while True:
            query = RecordQuery(sort=(SortKey(NODE_KEY),), limit=GRAPH_PAGE, after=after)
            page = await self._graph.find_nodes(dataset, (), query)
            if page.items:
                yield page.items
                after = (page.items[-1].id,)
            if not page.has_more or not page.items:
                return

    async def edges(self, dataset: Dataset) -> AsyncIterator[list[Edge]]:
        """Every edge, in id order, a keyset page at a time."""
        after: tuple[FieldValue, ...] | None = None
        while True:
            query = RecordQuery(sort=(SortKey("id"),), limit=GRAPH_PAGE, after=after)
            page = await self._graph.find_edges(dataset, (), query)
            if page.items:
                yield page.items
                after = (page.items[-1].id,)
            if not page.has_more or not page.items:
                return

    def manifest(self, session: Session, entries: Sequence[ArchiveEntry]) -> dict[str, Any]:
        """What a session archive holds; the import reads it back (schemas, files, counts)."""
        return {
            "format": ARCHIVE_FORMAT,
            "format_version": ARCHIVE_VERSION,
            "exported_at": timestamp_rfc3339(self._clock.now()),
            "session": {"id": session.id, "name": session.name, "description": session.description},
            "datasets": [_manifest_entry(entry) for entry in entries],
        }


def archive_file(dataset: Dataset, fmt: str) -> str:
    """Dataset names are identifiers ([A-Za-z_][A-Za-z0-9_]*), so they are safe file names."""
    return f"{dataset.name}.{fmt}"


def _manifest_entry(entry: ArchiveEntry) -> dict[str, Any]:
    dataset = entry.dataset
    document: dict[str, Any] = {
        "name": dataset.name,
        "kind": dataset.kind.value,
        "file": entry.file,
        "format": entry.format,
    }
    if dataset.kind is DatasetKind.TABULAR:
        document["schema"] = tabular_schema_document(dataset.tabular_schema)
        document["records"] = entry.counts.records
    else:
        document["schema"] = graph_schema_document(dataset.graph_schema)
        document["nodes"] = entry.counts.nodes
        document["edges"] = entry.counts.edges
    return document


async def _chunks_after_extents(stream: AsyncIterator[tuple[ColumnExtent, ...] | bytes]) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream:
            if isinstance(chunk, bytes):
                yield chunk
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


def _check_extents(extents: Sequence[ColumnExtent]) -> None:
    for extent in extents:
        if extent.unrepresentable is not None:
            raise InvalidInput(
                f"column {extent.name!r} holds {extent.unrepresentable!r}, which Parquet and Arrow cannot hold "
                "(numeric NaN or infinity; a date or timestamp that is infinite or outside years 1-9999); "
                "filter it out or export as csv or ndjson",
                field=extent.name,
                extra={"value": extent.unrepresentable},
            )
        if extent.max_integer_digits + extent.max_scale > COLUMNAR_DECIMAL_DIGITS:
            raise InvalidInput(
                f"column {extent.name!r} holds numerics of {extent.max_integer_digits} integer and "
                f"{extent.max_scale} fraction digits; a Parquet or Arrow decimal holds at most "
                f"{COLUMNAR_DECIMAL_DIGITS} digits in all: export as csv or ndjson",
                field=extent.name,
            )


async def _scanned_extents(
    columns: Sequence[ExportColumn], rows: AsyncIterator[Sequence[Sequence[Any]]]
) -> tuple[ColumnExtent, ...]:
    """The extents read from the typed rows (stores without `NativeColumnarText`): a value the store
    could only hand over as text (NaN, infinity, a far date) is unrepresentable."""
    wanted = [(i, c) for i, c in enumerate(columns) if c.type in _EXTENT_TYPES]
    scale = {c.name: 0 for _, c in wanted}
    digits = {c.name: 0 for _, c in wanted}
    bad: dict[str, str] = {}
    try:
        async for batch in rows:
            for row in batch:
                for i, column in wanted:
                    value = row[i]
                    if value is None or column.name in bad:
                        continue
                    if isinstance(value, str):
                        bad[column.name] = value
                    elif isinstance(value, Decimal):
                        exponent = value.as_tuple().exponent
                        assert isinstance(exponent, int)
                        scale[column.name] = max(scale[column.name], -exponent)
                        whole = len(str(abs(int(value)))) if abs(value) >= 1 else 0
                        digits[column.name] = max(digits[column.name], whole)
                    elif isinstance(value, dt.date) and value.year > 9999:  # pragma: no cover - Python's limit
                        bad[column.name] = value.isoformat()
    finally:
        close = getattr(rows, "aclose", None)
        if close is not None:
            await close()
    return tuple(ColumnExtent(c.name, max(scale[c.name], 0), digits[c.name], bad.get(c.name)) for _, c in wanted)
