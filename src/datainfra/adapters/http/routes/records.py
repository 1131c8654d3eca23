"""Records: bulk writes (JSON, CSV, NDJSON), filtered pages, searches with a JSON `where`, updates
and deletes.

For graph datasets the records are nodes: GET lists nodes, POST takes {"nodes", "edges"}, PUT
updates nodes, DELETE deletes nodes (and their edges), POST .../search searches nodes.

A search (POST .../records/search, POST .../nodes/search) takes in its body what GET takes in its
query string (select, sort, limit, offset, cursor, count; label for nodes) plus `where`, a JSON
filter tree (domain.where). It answers the same page document, except that `next` is the body to
POST for the following page (the same search with `cursor` or `offset` moved on)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath

from datainfra.adapters.http.bodies import csv_rows, ndjson_rows
from datainfra.adapters.http.conventions import LINK_DOC, LOCATION_DOC, created, page_response
from datainfra.adapters.http.dependencies import CurrentUser, Datasets, Graphs, Records, query_pairs
from datainfra.adapters.http.encoding import convert, decode_json, decode_struct, json_response
from datainfra.adapters.http.formats.graphml import read_graphml
from datainfra.adapters.http.formats.graphs import is_node_link, read_node_link
from datainfra.adapters.http.presenters import node_doc, page_doc
from datainfra.adapters.http.problems import UnsupportedMediaType
from datainfra.adapters.http.schemas import (
    CsvBody,
    DeletedOut,
    GraphmlBody,
    GraphWrite,
    GraphWriteBody,
    NdjsonBody,
    NodeLinkBody,
    RecordListBody,
    RecordPageOut,
    RecordsQuery,
    RecordsUpdate,
    RecordsUpdateBody,
    RecordsWrite,
    RecordsWriteBody,
    SearchBody,
    SearchPageOut,
    UpdatedOut,
    WriteResultOut,
)
from datainfra.domain.errors import DomainError, InvalidRequest
from datainfra.domain.filters import quote_list
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.records import WriteResult
from datainfra.services.paging import PageResult, Params
from datainfra.services.records import parse_on_conflict

CSV = "text/csv"
NDJSON = "application/x-ndjson"
JSON = "application/json"
GRAPHML = "application/graphml+xml"

WRITE_DOC = (
    'Tabular: {"records": [{...}], "on_conflict": "error"|"update"|"ignore"} or a bare JSON array; or a '
    "text/csv body (header row; unquoted empty cell = NULL) or an application/x-ndjson body, streamed; "
    "on_conflict then comes from the query string. "
    'Graph: {"nodes": [{"id", "labels", "properties"}], "edges": [{"source", "target", "type", '
    '"properties", "id"?}], "on_conflict"?}; or a networkx node-link JSON document (as GET .../export?format=json '
    "writes it), or an application/graphml+xml body (as format=graphml writes it), on_conflict then from "
    "the query string."
)
WRITE_BODY = {
    JSON: (RecordsWriteBody, RecordListBody, GraphWriteBody, NodeLinkBody),
    CSV: CsvBody,
    NDJSON: NdjsonBody,
    GRAPHML: GraphmlBody,
}
SEARCH_DOC = (
    "Optional. What GET takes as query parameters (select, sort, limit, offset, cursor, count; label for graph "
    "datasets), plus where. The answer is the page GET gives, with `next` the body to POST for the following page."
)


SEARCH_MEMBERS = frozenset({"where", "select", "sort", "limit", "offset", "cursor", "count"})
NODE_SEARCH_MEMBERS = SEARCH_MEMBERS | {"label"}


async def search_request(request: Request[Any, Any, Any], members: frozenset[str]) -> tuple[dict[str, Any], Params]:
    """A search body (empty = every default) and the query parameters it stands for."""
    for name in request.query_params:
        raise InvalidRequest("a search takes its parameters in the JSON body, not the query string", parameter=name)
    raw = await request.body()
    body = decode_json(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise InvalidRequest("a search body is a JSON object", field=None)
    params: list[tuple[str, str]] = []
    for key, value in body.items():
        if key not in members:
            raise InvalidRequest(f"unknown member {key!r}; a search takes {', '.join(sorted(members))}", field=key)
        if key == "where" or value is None:
            continue
        if key in ("select", "sort", "label"):
            params.append((key, _joined(value, key)))
        elif key in ("limit", "offset"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidRequest(f"{key} must be a non-negative integer", field=key)
            params.append((key, str(value)))
        else:
            if not isinstance(value, str):
                raise InvalidRequest(f"{key} must be a string", field=key)
            params.append((key, value))
    return body, params


def _joined(value: Any, key: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return quote_list(value) if key == "label" else ",".join(value)
    raise InvalidRequest(f"{key} must be a string or an array of strings", field=key)


async def run_search(
    body: Mapping[str, Any], find: Callable[[], Awaitable[PageResult[Any]]], present: Callable[[Any], Any]
) -> Response[SearchPageOut]:
    """Run a search; a problem with a member names it as a body field, and `next` is a body."""
    try:
        page = await find()
    except DomainError as exc:
        if exc.parameter is not None and exc.field is None:
            exc.field, exc.parameter = exc.parameter, None
        raise
    doc: dict[str, Any] = {"items": [present(item) for item in page.items], "limit": page.limit, "offset": page.offset}
    if page.total is not None:
        doc["total"] = page.total
    if page.next_params is not None:
        following = {k: v for k, v in body.items() if k not in ("cursor", "offset")}
        for key, value in page.next_params:
            if key == "cursor":
                following["cursor"] = value
            elif key == "offset":
                following["offset"] = int(value)
        doc["next"] = following
    return json_response(doc)


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
        opt={"body": WRITE_BODY, "body_description": WRITE_DOC, "errors": (415,)},
    )
    async def write(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        datasets: Datasets,
        records: Records,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[WriteResultOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        media_type = _media_type(request)
        if dataset.kind is DatasetKind.GRAPH:
            _require(media_type, (JSON, GRAPHML))
            if media_type == GRAPHML:
                nodes, edges = await read_graphml(request.stream(), request.app.request_max_body_size)
                on_conflict = parse_on_conflict(request.query_params.get("on_conflict"))
                return _write_result(dataset, await graphs.write(dataset, nodes, edges, on_conflict))
            raw = await request.body()
            document = decode_json(raw)
            if is_node_link(document):
                nodes, edges = read_node_link(document)
                on_conflict = parse_on_conflict(request.query_params.get("on_conflict"))
                return _write_result(dataset, await graphs.write(dataset, nodes, edges, on_conflict))
            body = decode_struct(raw, GraphWrite)
            result = await graphs.write(dataset, body.nodes, body.edges, parse_on_conflict(body.on_conflict))
            return _write_result(dataset, result)
        _require(media_type, (JSON, CSV, NDJSON))
        if media_type == JSON:
            return _write_result(dataset, await self._write_json(dataset, await request.body(), records))
        on_conflict = parse_on_conflict(request.query_params.get("on_conflict"))
        rows: Any = csv_rows(request.stream()) if media_type == CSV else ndjson_rows(request.stream())
        result = await records.insert(dataset, rows, on_conflict, text_values=media_type == CSV)
        return _write_result(dataset, result)

    @staticmethod
    async def _write_json(dataset: Dataset, body: bytes, records: Records) -> WriteResult:
        document = decode_json(body)
        if isinstance(document, list):
            return await records.insert(dataset, document, parse_on_conflict(None))
        parsed = convert(document, RecordsWrite)
        return await records.insert(dataset, parsed.records, parse_on_conflict(parsed.on_conflict))

    @get(
        "/",
        summary="Filter, sort and page records (nodes for graph datasets)",
        response_headers=LINK_DOC,
        opt={"query": RecordsQuery},
    )
    async def query(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        datasets: Datasets,
        records: Records,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[RecordPageOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        params = query_pairs(request)
        if dataset.kind is DatasetKind.GRAPH:
            nodes = await graphs.find_nodes(dataset, params)
            return page_response(page_doc(nodes, request.url.path, [node_doc(n) for n in nodes.items]))
        page = await records.query(dataset, params)
        return page_response(page_doc(page, request.url.path, page.items))

    @post(
        "/search",
        summary="Search records (nodes for graph datasets) with a JSON where",
        status_code=200,
        opt={"body": {JSON: SearchBody}, "body_required": False, "body_description": SEARCH_DOC},
    )
    async def search(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        datasets: Datasets,
        records: Records,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[SearchPageOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        if dataset.kind is DatasetKind.GRAPH:
            body, params = await search_request(request, NODE_SEARCH_MEMBERS)
            return await run_search(body, lambda: graphs.find_nodes(dataset, params, where=body.get("where")), node_doc)
        body, params = await search_request(request, SEARCH_MEMBERS)
        return await run_search(body, lambda: records.query(dataset, params, where=body.get("where")), lambda r: r)

    @put(
        "/",
        summary="Update records by key, or every record matching the filters",
        opt={"body": {JSON: RecordsUpdateBody}, "errors": (415,)},
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        datasets: Datasets,
        records: Records,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[UpdatedOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        _require(_media_type(request), (JSON,))
        body = decode_struct(await request.body(), RecordsUpdate)
        if (body.records is None) == (body.set is None):
            raise InvalidRequest('send either {"records": [...]} or {"set": {...}} with filters')
        graph = dataset.kind is DatasetKind.GRAPH
        if body.records is not None:
            count = await (graphs.update_nodes if graph else records.update_by_key)(dataset, body.records)
        else:
            params = query_pairs(request)
            count = await (graphs.update_nodes_where if graph else records.update_where)(dataset, params, body.set)
        return json_response({"updated": count})

    @delete("/", summary="Delete the records matching the filters (all=true for every record)", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        datasets: Datasets,
        records: Records,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[DeletedOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        params = query_pairs(request)
        if dataset.kind is DatasetKind.GRAPH:
            count = await graphs.delete_nodes_where(dataset, params)
        else:
            count = await records.delete_where(dataset, params)
        return json_response({"deleted": count})


def _require(media_type: str, allowed: tuple[str, ...]) -> None:
    if media_type not in allowed:
        raise UnsupportedMediaType(f"Content-Type {media_type!r} is not accepted here; use {', '.join(allowed)}")
