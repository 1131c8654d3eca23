"""Records: bulk writes (JSON, CSV, NDJSON), filtered pages, updates and deletes.

For graph datasets the records are nodes: GET lists nodes, POST takes {"nodes", "edges"}, PUT
updates nodes, DELETE deletes nodes (and their edges)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.openapi.spec import OpenAPIMediaType, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath

from datainfra.adapters.http.bodies import csv_rows, ndjson_rows
from datainfra.adapters.http.dependencies import CurrentUser, Datasets, Graphs, Records, query_pairs
from datainfra.adapters.http.encoding import convert, decode_json, decode_struct, json_response
from datainfra.adapters.http.formats.graphml import read_graphml
from datainfra.adapters.http.formats.graphs import is_node_link, read_node_link
from datainfra.adapters.http.presenters import node_doc, page_doc
from datainfra.adapters.http.problems import UnsupportedMediaType
from datainfra.adapters.http.schemas import (
    DeletedOut,
    GraphWrite,
    RecordPageOut,
    RecordsUpdate,
    RecordsWrite,
    UpdatedOut,
    WriteResultOut,
)
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.records import WriteResult
from datainfra.services.records import parse_on_conflict

CSV = "text/csv"
NDJSON = "application/x-ndjson"
JSON = "application/json"
GRAPHML = "application/graphml+xml"

WRITE_BODY = RequestBody(
    required=True,
    description=(
        'Tabular: {"records": [{...}], "on_conflict": "error"|"update"|"ignore"} or a bare JSON array; or a '
        "text/csv body (header row; unquoted empty cell = NULL) or an application/x-ndjson body, streamed; "
        "on_conflict then comes from the query string. "
        'Graph: {"nodes": [{"id", "labels", "properties"}], "edges": [{"source", "target", "type", '
        '"properties", "id"?}], "on_conflict"?}; or a networkx node-link JSON document (as GET .../export?format=json '
        "writes it), or an application/graphml+xml body (as format=graphml writes it), on_conflict then from "
        "the query string."
    ),
    content={
        JSON: OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT)),
        CSV: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
        NDJSON: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
        GRAPHML: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
    },
)
UPDATE_BODY = RequestBody(
    required=True,
    description='{"records": [...]} updates by primary key (node id for graphs); {"set": {...}} updates every '
    "record matching the query-string filters (all=true to update every record).",
    content={JSON: OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT))},
)


def _media_type(request: Request[Any, Any, Any]) -> str:
    return (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()


def _write_result(result: WriteResult) -> Response[WriteResultOut]:
    body = {"inserted": result.inserted, "updated": result.updated, "ignored": result.ignored}
    return json_response(body, 201)


class RecordRoutes(Controller):
    path = "/sessions/{session_id:str}/datasets/{dataset_id:str}/records"
    tags = ["records"]

    @post(
        "/",
        summary="Write records (all-or-nothing)",
        status_code=201,
        request_max_body_size=None,
        opt={"request_body": WRITE_BODY},
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
                return _write_result(await graphs.write(dataset, nodes, edges, on_conflict))
            raw = await request.body()
            document = decode_json(raw)
            if is_node_link(document):
                nodes, edges = read_node_link(document)
                on_conflict = parse_on_conflict(request.query_params.get("on_conflict"))
                return _write_result(await graphs.write(dataset, nodes, edges, on_conflict))
            body = decode_struct(raw, GraphWrite)
            result = await graphs.write(dataset, body.nodes, body.edges, parse_on_conflict(body.on_conflict))
            return _write_result(result)
        _require(media_type, (JSON, CSV, NDJSON))
        if media_type == JSON:
            return _write_result(await self._write_json(dataset, await request.body(), records))
        on_conflict = parse_on_conflict(request.query_params.get("on_conflict"))
        rows: Any = csv_rows(request.stream()) if media_type == CSV else ndjson_rows(request.stream())
        result = await records.insert(dataset, rows, on_conflict, text_values=media_type == CSV)
        return _write_result(result)

    @staticmethod
    async def _write_json(dataset: Dataset, body: bytes, records: Records) -> WriteResult:
        document = decode_json(body)
        if isinstance(document, list):
            return await records.insert(dataset, document, parse_on_conflict(None))
        parsed = convert(document, RecordsWrite)
        return await records.insert(dataset, parsed.records, parse_on_conflict(parsed.on_conflict))

    @get("/", summary="Filter, sort and page records (nodes for graph datasets)")
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
            return json_response(page_doc(nodes, request.url.path, [node_doc(n) for n in nodes.items]))
        page = await records.query(dataset, params)
        return json_response(page_doc(page, request.url.path, page.items))

    @put("/", summary="Update records by key, or every record matching the filters", opt={"request_body": UPDATE_BODY})
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
