"""Graph write bodies, by content type, into one all-or-nothing GraphService.write: JSON (our
{"nodes", "edges"} body or a networkx node-link document), GraphML, and graph NDJSON (the lines
GET .../export?format=ndjson writes). Each is read as it arrives and bounded by the body limit;
`directed` (the query string) is the import's choice for an undirected input graph."""

from __future__ import annotations

from typing import Any

from datainfra.adapters.http.bodies import ndjson_rows
from datainfra.adapters.http.body_limit import body_limit, bounded, read_body
from datainfra.adapters.http.encoding import decode_json, decode_struct
from datainfra.adapters.http.formats.graphml import read_graphml
from datainfra.adapters.http.formats.graphs import DIRECTED_PARAM, is_node_link, read_graph_ndjson, read_node_link
from datainfra.adapters.http.query_strings import GraphWriteQuery, query_of
from datainfra.adapters.http.schemas import GraphWrite
from datainfra.domain.errors import InvalidInput, InvalidRequest
from datainfra.domain.model import Dataset
from datainfra.domain.records import WriteResult
from datainfra.services.graphs import GraphService
from datainfra.services.records import parse_on_conflict

JSON = "application/json"
GRAPHML = "application/graphml+xml"
NDJSON = "application/x-ndjson"
GRAPH_MEDIA_TYPES = (JSON, GRAPHML, NDJSON)


async def write_graph_body(request: Any, dataset: Dataset, graphs: GraphService, media_type: str) -> WriteResult:
    query, _ = query_of(request, GraphWriteQuery)
    on_conflict = parse_on_conflict(query.on_conflict)
    limit = body_limit(request)
    if media_type == GRAPHML:
        nodes, edges = await read_graphml(request.stream(), limit, query.directed)
        return await graphs.write(dataset, nodes, edges, on_conflict)
    if media_type == NDJSON:
        _refuse_directed(query.directed, "graph NDJSON")
        nodes, edges = await read_graph_ndjson(ndjson_rows(bounded(request.stream(), limit)))
        try:
            return await graphs.write(dataset, nodes, edges, on_conflict)
        except InvalidInput as exc:
            raise _on_line(exc, len(nodes)) from None
    raw = await read_body(request)
    body = graph_write(raw)
    if body is None:
        nodes, edges = read_node_link(decode_json(raw), query.directed)
        return await graphs.write(dataset, nodes, edges, on_conflict)
    _refuse_directed(query.directed, '{"nodes", "edges"} body')
    return await graphs.write(dataset, body.nodes, body.edges, parse_on_conflict(body.on_conflict))


def graph_write(raw: bytes) -> GraphWrite | None:
    """A graph body as {"nodes", "edges", "on_conflict"?}, or None for a node-link document. The
    common body is decoded once; any other (node-link, or one that fails) is decoded again the
    way that tells the two apart, so a problem is reported exactly as before."""
    try:
        body: GraphWrite = decode_struct(raw, GraphWrite)  # node-link's keys are unknown fields here
        return body
    except InvalidRequest:
        if is_node_link(decode_json(raw)):
            return None
        raise


def _refuse_directed(directed: bool | None, what: str) -> None:
    if directed is not None:
        raise InvalidRequest(
            f"directed applies to node-link JSON and GraphML; a {what} is directed", parameter=DIRECTED_PARAM
        )


def _on_line(exc: InvalidInput, nodes: int) -> InvalidInput:
    """A problem the graph write found in nodes[i] or edges[i], renamed to the NDJSON line it came from."""
    field = exc.field or ""
    for prefix, offset in (("nodes[", 0), ("edges[", nodes)):
        if field.startswith(prefix):
            position, _, rest = field[len(prefix) :].partition("]")
            if position.isdigit():
                line = offset + int(position)
                exc.index, exc.field = line, f"line {line + 1}{rest}"
                exc.detail = f"line {line + 1}: {exc.detail}"
                exc.args = (exc.detail,)
    return exc
