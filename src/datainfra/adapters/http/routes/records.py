"""Records: bulk writes (JSON, CSV, NDJSON), filtered pages, searches with a JSON `where`, updates
and deletes.

For graph datasets the records are nodes: GET lists nodes, POST takes {"nodes", "edges"}, PUT
updates nodes, DELETE deletes nodes (and their edges), POST .../search searches nodes.

A search (POST .../records/search, POST .../nodes/search) takes in its body what GET takes in its
query string (select, sort, limit, offset, cursor, count; label for nodes) plus `where`, a JSON
filter tree (domain.where). It answers the same page document, except that `next` is the body to
POST for the following page (the same search with `cursor` or `offset` moved on)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Controller, Request, Response, delete, get, post, put

from datainfra.adapters.http.bodies import typed_ndjson_rows
from datainfra.adapters.http.body_limit import body_limit, read_body
from datainfra.adapters.http.conventions import LINK_DOC, LOCATION_DOC, created, page_response
from datainfra.adapters.http.dependencies import Graphs, PathDataset, Records
from datainfra.adapters.http.encoding import convert, decode_json, decode_struct, json_response
from datainfra.adapters.http.formats.columnar_reads import ARROW_STREAM, PARQUET, columnar_rows
from datainfra.adapters.http.graph_bodies import GRAPH_MEDIA_TYPES, write_graph_body
from datainfra.adapters.http.presenters import node_doc, page_doc
from datainfra.adapters.http.problems import UnsupportedMediaType
from datainfra.adapters.http.query_strings import (
    GraphWriteQuery,
    NodeFilterQuery,
    NodePageQuery,
    RecordFilterQuery,
    RecordPageQuery,
    SearchQuery,
    WriteQuery,
    names,
    page_request,
    query_of,
    repeated,
    selection,
)
from datainfra.adapters.http.requests import (
    NodeSearch,
    RecordSearch,
    next_search,
    read_search,
    search_labels,
    search_request,
)
from datainfra.adapters.http.schemas import (
    ArrowStreamBody,
    CsvBody,
    DeletedOut,
    GraphmlBody,
    GraphWriteBody,
    NdjsonBody,
    NodeLinkBody,
    ParquetBody,
    RecordListBody,
    RecordPageOut,
    RecordsUpdate,
    RecordsUpdateBody,
    RecordsWrite,
    RecordsWriteBody,
    SearchBody,
    SearchPageOut,
    UpdatedOut,
    WriteResultOut,
)
from datainfra.adapters.http.typed_records import Declined, typed_json
from datainfra.domain.errors import DomainError, InvalidRequest
from datainfra.domain.graph import Node
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.services.graphs import GraphService
from datainfra.services.paging import PageResult
from datainfra.services.records import parse_on_conflict

S = TypeVar("S", bound=RecordSearch)

CSV = "text/csv"
NDJSON = "application/x-ndjson"
JSON = "application/json"
GRAPHML = "application/graphml+xml"

WRITE_DOC = (
    'Tabular: {"records": [{...}], "on_conflict": "error"|"update"|"ignore"} or a bare JSON array; or a '
    "text/csv body (header row; unquoted empty cell = NULL) or an application/x-ndjson body, streamed; or an "
    "application/vnd.apache.parquet file or application/vnd.apache.arrow.stream body (columns matched to the "
    "schema by name; an unknown column, a missing required one or a type that does not convert is a 422 "
    "naming it); on_conflict then comes from the query string. "
    'Graph: {"nodes": [{"id", "labels", "properties"}], "edges": [{"source", "target", "type", '
    '"properties", "id"?}], "on_conflict"?}; or a networkx node-link JSON document (as GET .../export?format=json '
    "writes it), or an application/graphml+xml body (as format=graphml writes it), on_conflict then from "
    "the query string, and directed=false to store an undirected input graph (each edge once, as listed); or an "
    "application/x-ndjson body of the lines format=ndjson writes (nodes, then edges), streamed."
)
WRITE_BODY = {
    JSON: (RecordsWriteBody, RecordListBody, GraphWriteBody, NodeLinkBody),
    CSV: CsvBody,
    NDJSON: NdjsonBody,
    GRAPHML: GraphmlBody,
    PARQUET: ParquetBody,
    ARROW_STREAM: ArrowStreamBody,
}
SEARCH_DOC = (
    "Optional. What GET takes as query parameters (select, sort, limit, offset, cursor, count; label for graph "
    "datasets), plus where. The answer is the page GET gives, with `next` the body to POST for the following page."
)


async def run_search(
    request: Request[Any, Any, Any],
    shape: type[S],
    find: Callable[[S], Awaitable[PageResult[Any]]],
    present: Callable[[Any], Any],
) -> Response[SearchPageOut]:
    """Read the search body and run the search; a problem with a member names it as a body field,
    and `next` is the body of the following page."""
    query_of(request, SearchQuery)
    body = read_search(await request.body(), shape)
    try:
        page = await find(body)
    except DomainError as exc:
        if exc.parameter is not None and exc.field is None:
            exc.field, exc.parameter = exc.parameter, None
        raise
    doc: dict[str, Any] = {"items": [present(item) for item in page.items], "limit": page.limit, "offset": page.offset}
    if page.total is not None:
        doc["total"] = page.total
    if page.next is not None:
        doc["next"] = next_search(body, page.next)
    return json_response(doc)


def search_nodes(graphs: GraphService, dataset: Dataset) -> Callable[[NodeSearch], Awaitable[PageResult[Node]]]:
    return lambda body: graphs.find_nodes(dataset, search_labels(body), search_request(body))


def on_conflict_of(request: Request[Any, Any, Any]) -> OnConflict:
    """on_conflict from the query string (bodies that are not JSON documents of records)."""
    query, _ = query_of(request, WriteQuery)
    return parse_on_conflict(query.on_conflict)


def _media_type(request: Request[Any, Any, Any]) -> str:
    return (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()


def _write_result(dataset: Dataset, result: WriteResult) -> Response[WriteResultOut]:
    """201, with Location: the dataset's records (a bulk write creates no single addressable thing)."""
    body = {"inserted": result.inserted, "updated": result.updated, "ignored": result.ignored}
    return created(json_response(body, 201), f"/sessions/{dataset.session_id}/datasets/{dataset.id}/records")


class RecordRoutes(Controller):
    path = "/sessions/{session_id:str}/datasets/{dataset_id:str}/records"
    tags = ["records"]

    @post(
        "/",
        summary="Write records (all-or-nothing)",
        status_code=201,
        response_headers=LOCATION_DOC,
        request_max_body_size=None,
        opt={
            "body": WRITE_BODY,
            "body_description": WRITE_DOC,
            "errors": (415,),
            "query": (WriteQuery, GraphWriteQuery),
        },
    )
    async def write(
        self, request: Request[Any, Any, Any], dataset: PathDataset, records: Records, graphs: Graphs
    ) -> Response[WriteResultOut]:
        media_type = _media_type(request)
        if dataset.kind is DatasetKind.GRAPH:
            _require(media_type, GRAPH_MEDIA_TYPES)
            return _write_result(dataset, await write_graph_body(request, dataset, graphs, media_type))
        _require(media_type, (JSON, CSV, NDJSON, PARQUET, ARROW_STREAM))
        if media_type == JSON:
            return _write_result(dataset, await self._write_json(dataset, await read_body(request), records))
        on_conflict = on_conflict_of(request)
        if media_type in (PARQUET, ARROW_STREAM):
            columns = columnar_rows(dataset.tabular_schema, request.stream(), media_type, body_limit(request))
            return _write_result(dataset, await records.insert_typed(dataset, columns, on_conflict))
        if media_type == CSV:
            return _write_result(dataset, await records.insert_csv(dataset, request.stream(), on_conflict))
        rows = typed_ndjson_rows(dataset.tabular_schema, request.stream())
        result = await records.insert_typed(dataset, rows, on_conflict)
        return _write_result(dataset, result)

    @staticmethod
    async def _write_json(dataset: Dataset, body: bytes, records: Records) -> WriteResult:
        typed = typed_json(dataset.tabular_schema, body)
        if typed is not None:
            try:
                return await records.insert_typed(dataset, typed[0], parse_on_conflict(typed[1]))
            except Declined:
                pass  # a value the generic path must judge: that write kept nothing
        document = decode_json(body)
        if isinstance(document, list):
            return await records.insert(dataset, document, parse_on_conflict(None))
        parsed = convert(document, RecordsWrite)
        return await records.insert(dataset, parsed.records, parse_on_conflict(parsed.on_conflict))

    @get(
        "/",
        summary="Filter, sort and page records (nodes for graph datasets)",
        response_headers=LINK_DOC,
        opt={"query": (RecordPageQuery, NodePageQuery)},
    )
    async def query(
        self, request: Request[Any, Any, Any], dataset: PathDataset, records: Records, graphs: Graphs
    ) -> Response[RecordPageOut]:
        if dataset.kind is DatasetKind.GRAPH:
            return await node_page(request, dataset, graphs)
        query, filters = query_of(request, RecordPageQuery)
        page = await records.query(dataset, page_request(query, filters))
        return page_response(page_doc(page, request.url.path, page.items))

    @post(
        "/search",
        summary="Search records (nodes for graph datasets) with a JSON where",
        status_code=200,
        opt={"body": {JSON: SearchBody}, "body_required": False, "body_description": SEARCH_DOC, "query": SearchQuery},
    )
    async def search(
        self, request: Request[Any, Any, Any], dataset: PathDataset, records: Records, graphs: Graphs
    ) -> Response[SearchPageOut]:
        if dataset.kind is DatasetKind.GRAPH:
            return await run_search(request, NodeSearch, search_nodes(graphs, dataset), node_doc)
        return await run_search(
            request, RecordSearch, lambda body: records.query(dataset, search_request(body)), lambda r: r
        )

    @put(
        "/",
        summary="Update records by key, or every record matching the filters",
        opt={"body": {JSON: RecordsUpdateBody}, "errors": (415,), "query": (RecordFilterQuery, NodeFilterQuery)},
    )
    async def update(
        self, request: Request[Any, Any, Any], dataset: PathDataset, records: Records, graphs: Graphs
    ) -> Response[UpdatedOut]:
        _require(_media_type(request), (JSON,))
        body = decode_struct(await request.body(), RecordsUpdate)
        if (body.records is None) == (body.set is None):
            raise InvalidRequest('send either {"records": [...]} or {"set": {...}} with filters')
        graph = dataset.kind is DatasetKind.GRAPH
        if body.records is not None:
            count = await (graphs.update_nodes if graph else records.update_by_key)(dataset, body.records)
        elif graph:
            nodes, filters = query_of(request, NodeFilterQuery)
            count = await graphs.update_nodes_where(
                dataset, names(nodes.label, "label"), selection(nodes, filters), body.set or {}
            )
        else:
            rows, filters = query_of(request, RecordFilterQuery)
            count = await records.update_where(dataset, selection(rows, filters), body.set or {})
        return json_response({"updated": count})

    @delete(
        "/",
        summary="Delete the records matching the filters (all=true for every record)",
        status_code=200,
        opt={"query": (RecordFilterQuery, NodeFilterQuery)},
    )
    async def remove(
        self, request: Request[Any, Any, Any], dataset: PathDataset, records: Records, graphs: Graphs
    ) -> Response[DeletedOut]:
        if dataset.kind is DatasetKind.GRAPH:
            return await delete_nodes(request, dataset, graphs)
        rows, filters = query_of(request, RecordFilterQuery)
        return json_response({"deleted": await records.delete_where(dataset, selection(rows, filters))})


async def node_page(request: Request[Any, Any, Any], dataset: Dataset, graphs: GraphService) -> Response[Any]:
    """GET .../nodes (and GET .../records of a graph dataset)."""
    query, filters = query_of(request, NodePageQuery)
    page = await graphs.find_nodes(dataset, names(query.label, "label"), page_request(query, filters))
    items = [node_doc(n) for n in page.items]
    return page_response(page_doc(page, request.url.path, items, repeated("label", query.label)))


async def delete_nodes(request: Request[Any, Any, Any], dataset: Dataset, graphs: GraphService) -> Response[Any]:
    """DELETE .../records of a graph dataset."""
    query, filters = query_of(request, NodeFilterQuery)
    count = await graphs.delete_nodes_where(dataset, names(query.label, "label"), selection(query, filters))
    return json_response({"deleted": count})


def _require(media_type: str, allowed: tuple[str, ...]) -> None:
    if media_type not in allowed:
        raise UnsupportedMediaType(f"Content-Type {media_type!r} is not accepted here; use {', '.join(allowed)}")
