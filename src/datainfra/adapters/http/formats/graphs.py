"""Graph exports as node-link JSON and NDJSON, and both read back.

Node-link JSON is networkx's format, read by the pinned networkx's defaults
(`networkx.node_link_graph(data)`, whose `edges="edges"` is the key written here): a directed
multigraph whose attributes follow formats/graph_attributes.py — properties flat beside `id`, the
labels as `:labels` (":Person:Admin"), an edge's key as `key` (and its `id` attribute), its type
as `:type`; a property named `id` (`source`, `target`, `key` on an edge) as `property:id`.

Graph NDJSON is our own lossless shape: every node ({"kind": "node", "id", "labels", "properties"})
then every edge ({"kind": "edge", "id", "source", "target", "type", "properties"}), one per line;
POST .../records with Content-Type application/x-ndjson reads exactly those lines back."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any

from datainfra.adapters.http.encoding import encode_json
from datainfra.adapters.http.formats.graph_attributes import (
    EDGE_ID,
    EDGE_RESERVED,
    FORMAT,
    FORMAT_VERSION,
    LABELS,
    NODE_RESERVED,
    TYPE,
    escaped,
    labels_of,
    labels_text,
    property_of,
)
from datainfra.adapters.http.formats.jsonlines import TARGET_CHUNK, encoded_lines
from datainfra.domain.errors import InvalidInput, InvalidRequest
from datainfra.domain.graph import Edge, Node
from datainfra.services.exports import ExportCounts

DEFAULT_EDGE_TYPE = "RELATED_TO"
"""The relationship type of an imported edge that names none (plain networkx graphs have no types)."""
NODE_LINK_MARKERS = ("directed", "multigraph", "graph", "links")
DIRECTED_PARAM = "directed"


def node_link_node(node: Node) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": node.id}
    labels = labels_text(node.labels)
    if labels is not None:
        doc[LABELS] = labels
    doc.update(escaped(node.properties, NODE_RESERVED))
    return doc


def node_link_edge(edge: Edge) -> dict[str, Any]:
    return {
        "source": edge.source,
        "target": edge.target,
        "key": edge.id,
        EDGE_ID: edge.id,
        TYPE: edge.type,
        **escaped(edge.properties, EDGE_RESERVED),
    }


async def _counted(pages: AsyncIterable[list[Any]], counts: ExportCounts, attr: str) -> AsyncIterator[list[Any]]:
    async for page in pages:
        setattr(counts, attr, getattr(counts, attr) + len(page))
        yield page


async def node_link_json(
    name: str, nodes: AsyncIterable[list[Node]], edges: AsyncIterable[list[Edge]], counts: ExportCounts
) -> AsyncIterator[bytes]:
    graph = encode_json({"name": name, FORMAT: FORMAT_VERSION})
    yield b'{"directed": true, "multigraph": true, "graph": ' + graph + b', "nodes": ['
    first = True
    for section, pages, doc, attr in (
        (b"", nodes, node_link_node, "nodes"),
        (b'], "edges": [', edges, node_link_edge, "edges"),
    ):
        if section:
            yield section
            first = True
        buffer = bytearray()
        async for page in _counted(pages, counts, attr):
            for item in page:
                buffer += b"\n" if first else b",\n"
                buffer += encode_json(doc(item))
                first = False
            if len(buffer) >= TARGET_CHUNK:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)
    yield b"]}\n"


def graph_ndjson(
    nodes: AsyncIterable[list[Node]], edges: AsyncIterable[list[Edge]], counts: ExportCounts
) -> AsyncIterator[bytes]:
    """Every node ({"kind": "node", ...}), then every edge ({"kind": "edge", ...}), one per line."""

    async def lines() -> AsyncIterator[bytes]:
        async for chunk in encoded_lines(_counted(nodes, counts, "nodes"), _ndjson_node):
            yield chunk
        async for chunk in encoded_lines(_counted(edges, counts, "edges"), _ndjson_edge):
            yield chunk

    return lines()


def _ndjson_node(node: Node) -> dict[str, Any]:
    return {"kind": "node", "id": node.id, "labels": list(node.labels), "properties": node.properties}


def _ndjson_edge(edge: Edge) -> dict[str, Any]:
    return {
        "kind": "edge",
        "id": edge.id,
        "source": edge.source,
        "target": edge.target,
        "type": edge.type,
        "properties": edge.properties,
    }


# -- reading --------------------------------------------------------------------------------------


def require_direction(directed: bool, chosen: bool | None, what: str) -> None:
    """The store holds directed graphs. An undirected input is refused unless the import chose
    directed=false (each undirected edge is then stored once, source → target as the input lists
    it); directed=false on a directed input is refused too, as it says the sender expected
    something else."""
    if not directed and chosen is not False:
        raise InvalidRequest(
            f"the {what} is an undirected graph, and graphs are stored directed; send directed=false to store "
            "each undirected edge once, from source to target as listed (query them with direction=both)",
            parameter=DIRECTED_PARAM,
        )
    if directed and chosen is False:
        raise InvalidRequest(f"directed=false was given, but the {what} is a directed graph", parameter=DIRECTED_PARAM)


def is_node_link(document: Any) -> bool:
    """A JSON body is node-link (rather than {"nodes", "edges"}) when it carries node-link's keys."""
    return isinstance(document, Mapping) and any(marker in document for marker in NODE_LINK_MARKERS)


def read_node_link(document: Any, directed: bool | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Node-link JSON → raw nodes and edges. Ours (marked `:format` in its graph attributes) reads
    back exactly; any other (a plain networkx graph, or an export older than the flat convention) is
    read leniently: attributes and a nested `properties` object become properties, `labels` (a list)
    and `type` are the labels and the type, an edge without a type gets RELATED_TO, the edge key
    (else its `id`) becomes the edge id. `"directed": false` needs `directed` (require_direction)."""
    if not isinstance(document, Mapping):
        raise InvalidRequest("a node-link document must be a JSON object")
    require_direction(document.get("directed") is not False, directed, "node-link document")
    raw_nodes = document.get("nodes", [])
    raw_edges = document.get("edges", document.get("links", []))
    if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
        raise InvalidRequest("nodes and edges of a node-link document must be lists")
    graph = document.get("graph")
    ours = isinstance(graph, Mapping) and graph.get(FORMAT) == FORMAT_VERSION
    nodes = [_node(item, i, ours) for i, item in enumerate(raw_nodes)]
    edges = [_edge(item, i, ours) for i, item in enumerate(raw_edges)]
    return nodes, edges


_OURS_NODE = frozenset({"id", LABELS})
_OURS_EDGE = frozenset({"source", "target", "key", EDGE_ID, TYPE})
_LENIENT_NODE = _OURS_NODE | {"labels", "properties"}
_LENIENT_EDGE = _OURS_EDGE | {"type", "properties"}


def _node(item: Any, i: int, ours: bool) -> dict[str, Any]:
    where = f"nodes[{i}]"
    if not isinstance(item, Mapping):
        raise InvalidInput("a node must be an object", index=i, field=where)
    properties = _properties(item, _OURS_NODE if ours else _LENIENT_NODE, where, i, nested=not ours)
    raw_labels = item.get(LABELS) if ours or LABELS in item else item.get("labels")
    labels = labels_of(raw_labels, index=i, field=f"{where}.labels")
    return {"id": item.get("id"), "labels": labels, "properties": properties}


def _edge(item: Any, i: int, ours: bool) -> dict[str, Any]:
    where = f"edges[{i}]"
    if not isinstance(item, Mapping):
        raise InvalidInput("an edge must be an object", index=i, field=where)
    properties = _properties(item, _OURS_EDGE if ours else _LENIENT_EDGE, where, i, nested=not ours)
    key, edge_id = item.get("key"), item.get(EDGE_ID)
    if key is not None and edge_id is not None and key != edge_id:
        raise InvalidInput(
            f"the edge's key {key!r} and its id {edge_id!r} differ; they name the same thing",
            index=i,
            field=f"{where}.{EDGE_ID}",
        )
    rel_type = item.get(TYPE) if ours or TYPE in item else item.get("type")
    return {
        "id": edge_id if key is None else key,
        "source": item.get("source"),
        "target": item.get("target"),
        "type": rel_type or DEFAULT_EDGE_TYPE,
        "properties": properties,
    }


def _properties(item: Mapping[str, Any], known: frozenset[str], where: str, i: int, *, nested: bool) -> dict[str, Any]:
    flat = {property_of(k): v for k, v in item.items() if k not in known}
    if not nested:
        return flat
    inner = item.get("properties") or {}
    if not isinstance(inner, Mapping):
        raise InvalidInput("properties must be an object", index=i, field=f"{where}.properties")
    return {**flat, **inner}


# -- graph NDJSON read back -------------------------------------------------------------------------


RawGraph = tuple[list[dict[str, Any]], list[dict[str, Any]]]


async def read_graph_ndjson(lines: AsyncIterable[Mapping[str, Any]]) -> RawGraph:
    """The lines graph_ndjson writes → raw nodes and edges. Every node line comes before the first
    edge line; a problem names the line (its number, from 1, and `index` from 0)."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    index = 0
    async for line in lines:
        kind = line.get("kind")
        where = f"line {index + 1}"
        fields = _NDJSON_FIELDS.get(kind) if isinstance(kind, str) else None
        if fields is None:
            raise InvalidInput(f'{where}: kind must be "node" or "edge"', index=index, field=f"{where}.kind")
        unknown = sorted(set(line) - fields)
        if unknown:
            raise InvalidInput(f"{where}: unknown {kind} field {unknown[0]!r}", index=index, field=where)
        if kind == "node" and edges:
            raise InvalidInput(
                f"{where}: a node after the first edge; send nodes, then edges", index=index, field=where
            )
        (nodes if kind == "node" else edges).append({k: v for k, v in line.items() if k != "kind"})
        index += 1
    return nodes, edges


_NDJSON_FIELDS = {
    "node": frozenset({"kind", "id", "labels", "properties"}),
    "edge": frozenset({"kind", "id", "source", "target", "type", "properties"}),
}
