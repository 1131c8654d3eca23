"""Exports (one dataset in a chosen format; a whole session as a ZIP) and the session import.

Bodies are streamed: the response starts with the first chunk the store hands over, memory holds a
few chunks at most, and a client that disconnects stops the export (see formats/pump.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath
from litestar.response import Stream

from datainfra.adapters.http.body_limit import body_limit
from datainfra.adapters.http.conventions import HEAD_ONLY, LOCATION_DOC, created
from datainfra.adapters.http.dependencies import CurrentUser, Exports, Imports, PathDataset
from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.formats.archive import opened_archive, session_archive
from datainfra.adapters.http.formats.columnar import COLUMNAR_FORMATS, columnar_export
from datainfra.adapters.http.formats.columnar_reads import ARROW_STREAM, PARQUET
from datainfra.adapters.http.formats.graphml import graphml
from datainfra.adapters.http.formats.graphs import graph_ndjson, node_link_json
from datainfra.adapters.http.formats.jsonlines import ndjson_to_array
from datainfra.adapters.http.formats.pump import Pump
from datainfra.adapters.http.formats.tabular import tabular_text
from datainfra.adapters.http.problems import UnsupportedMediaType
from datainfra.adapters.http.query_strings import (
    ExportQuery,
    GraphExportQuery,
    ImportQuery,
    SessionExportQuery,
    export_request,
    query_of,
)
from datainfra.adapters.http.schemas import BinaryOut, ImportOut, NodeLinkOut, RecordArrayOut, TextOut, ZipBody
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.services.exports import ExportCounts, ExportService, export_format, tabular_export_query
from datainfra.services.imports import parse_renames

ZIP = "application/zip"
MEDIA_TYPES = {
    (DatasetKind.TABULAR, "csv"): "text/csv; charset=utf-8; header=present",
    (DatasetKind.TABULAR, "json"): "application/json",
    (DatasetKind.TABULAR, "ndjson"): "application/x-ndjson",
    (DatasetKind.TABULAR, "parquet"): PARQUET,
    (DatasetKind.TABULAR, "arrow"): ARROW_STREAM,
    (DatasetKind.GRAPH, "json"): "application/json",
    (DatasetKind.GRAPH, "graphml"): "application/graphml+xml",
    (DatasetKind.GRAPH, "ndjson"): "application/x-ndjson",
}


EXPORTS = {
    "text/csv": TextOut,
    "application/json": (RecordArrayOut, NodeLinkOut),
    "application/x-ndjson": TextOut,
    "application/graphml+xml": TextOut,
    PARQUET: BinaryOut,
    ARROW_STREAM: BinaryOut,
}
IMPORT_DOC = "A session archive made by GET /sessions/{id}/export (Content-Type: application/zip)."


def _disposition(filename: str) -> str:
    """attachment; an ASCII fallback name and the exact one (RFC 6266 / RFC 5987)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _nothing() -> AsyncIterator[bytes]:
    yield b""


async def _streamed(
    request: Request[Any, Any, Any], source: AsyncIterator[bytes], media_type: str, filename: str
) -> Stream:
    headers = {"Content-Disposition": _disposition(filename), "Cache-Control": "no-store"}
    if request.scope.get("state", {}).get(HEAD_ONLY):
        # HEAD: the checks ran (dataset, format, parameters) and the headers are known; the export
        # itself never starts (its generators are lazy and are closed unstarted).
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()
        return Stream(_nothing(), media_type=media_type, headers=headers)
    pump = Pump(source)
    await pump.start()
    return Stream(
        pump,
        media_type=media_type,
        headers=headers,
        background=BackgroundTask(pump.aclose),
    )


def _dataset_source(request: Request[Any, Any, Any], dataset: Dataset, exports: ExportService) -> tuple[str, Any]:
    """The export's format and its byte source (lazy: nothing is read before the first chunk)."""
    if dataset.kind is DatasetKind.TABULAR:
        rows, filters = query_of(request, ExportQuery)
        fmt = export_format(dataset, rows.format)
        query = tabular_export_query(dataset, export_request(rows, filters))
        if fmt in COLUMNAR_FORMATS:
            return fmt, columnar_export(exports, dataset, query, fmt)
        if fmt == "json":
            return fmt, ndjson_to_array(tabular_text(exports, dataset, query, "ndjson"))
        return fmt, tabular_text(exports, dataset, query, fmt)
    graph, _ = query_of(request, GraphExportQuery)
    fmt = export_format(dataset, graph.format)
    return fmt, _graph_source(dataset, fmt, exports)


def _graph_source(dataset: Dataset, fmt: str, exports: ExportService) -> Any:
    counts = ExportCounts()
    if fmt == "graphml":
        return graphml(dataset.name, lambda: exports.nodes(dataset), lambda: exports.edges(dataset), counts)
    if fmt == "ndjson":
        return graph_ndjson(exports.nodes(dataset), exports.edges(dataset), counts)
    return node_link_json(dataset.name, exports.nodes(dataset), exports.edges(dataset), counts)


class ExportRoutes(Controller):
    path = "/sessions/{session_id:str}"
    tags = ["export"]

    @get(
        "/datasets/{dataset_id:str}/export",
        summary="Export a dataset (tabular: csv, json, ndjson, parquet, arrow; graph: json node-link, graphml, ndjson)",
        description=(
            "Streams every matching record. Tabular datasets take the record filters, select and sort of "
            "the records route (default order: the key); CSV is PostgreSQL's COPY output (RFC 4180, header "
            "row, unquoted empty = NULL). Parquet (application/vnd.apache.parquet, a row group per ~4 MiB of "
            "CSV) and Arrow IPC stream (application/vnd.apache.arrow.stream) are typed: integer int64, float "
            "float64, numeric decimal128(38, S) or decimal256(76, S) with S the most fraction digits exported, "
            "boolean, date date32, timestamp timestamp[us, UTC], text, json and uuid strings; a value no "
            "columnar type holds (numeric NaN/infinity, an infinite or BC date) is a 422 naming its column. "
            "Graph exports hold the whole graph. An unknown or unfitting format "
            "is a 400 listing the valid ones."
        ),
        opt={"query": (ExportQuery, GraphExportQuery), "response": EXPORTS, "errors": (422,)},
    )
    async def export_dataset(self, request: Request[Any, Any, Any], dataset: PathDataset, exports: Exports) -> Stream:
        fmt, source = _dataset_source(request, dataset, exports)
        return await _streamed(request, source, MEDIA_TYPES[(dataset.kind, fmt)], f"{dataset.name}.{fmt}")

    @get(
        "/export",
        summary="Export a whole session as a ZIP archive (streamed)",
        description=(
            "One file per dataset in its default format (tabular: <name>.csv, graph: <name>.json node-link), "
            "rows in key order, then manifest.json: session, datasets with kinds, schemas and counts, and the "
            "format version. POST /sessions/{id}/import reads it back."
        ),
        opt={"query": SessionExportQuery, "response": {ZIP: ZipBody}},
    )
    async def export_session(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        exports: Exports,
        user: CurrentUser,
    ) -> Stream:
        query_of(request, SessionExportQuery)
        session, datasets = await exports.session(user, session_id)
        return await _streamed(request, session_archive(session, datasets, exports), ZIP, f"{session.name}.zip")

    @post(
        "/import",
        summary="Import a session archive: recreate its datasets (schemas and data) in this session",
        description=(
            "The body is a ZIP made by GET /sessions/{id}/export. A dataset name the session already holds "
            "is a 409 unless renamed: repeat rename=old:new. All-or-nothing: a failure leaves no imported "
            "dataset behind."
        ),
        status_code=201,
        response_headers=LOCATION_DOC,
        request_max_body_size=None,
        opt={
            "body": {ZIP: ZipBody},
            "body_description": IMPORT_DOC,
            "response": {"application/json": ImportOut},
            "errors": (409, 415),
            "query": ImportQuery,
        },
    )
    async def import_session(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        imports: Imports,
        user: CurrentUser,
    ) -> Response[Any]:
        media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if media_type != ZIP:
            raise UnsupportedMediaType(f"Content-Type {media_type or 'none'!r} is not accepted here; use {ZIP}")
        query, _ = query_of(request, ImportQuery)
        renames = parse_renames(query.rename or [])
        await imports.session(user, session_id)  # 404 before the body is read
        async with opened_archive(request.stream(), body_limit(request)) as archive:
            imported = await imports.import_archive(user, session_id, archive.manifest(), renames, archive)
        body = {
            "session_id": session_id,
            "datasets": [
                {"id": item.dataset.id, "name": item.dataset.name, "kind": item.dataset.kind.value, **item.counts}
                for item in imported
            ],
        }
        return created(json_response(body, 201), f"/sessions/{session_id}/datasets")
