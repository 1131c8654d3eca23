"""Graph exports as node-link JSON and NDJSON, and node-link JSON read back.

Node-link JSON is networkx's format (`networkx.node_link_graph(data, edges="edges")` reads it): a
directed multigraph whose nodes are {"id", "labels", "properties"} and whose edges are {"source",
"target", "key" (the edge id), "type", "properties"}. Properties stay nested so that no property
name (an edge may have a property called "source") can collide with the format's own keys."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any

from datainfra.adapters.http.encoding import encode_json
from datainfra.adapters.http.formats.jsonlines import TARGET_CHUNK, encoded_lines
from datainfra.domain.errors import InvalidInput, InvalidRequest
from datainfra.domain.graph import Edge, Node
from datainfra.services.exports import ExportCounts

DEFAULT_EDGE_TYPE = "RELATED_TO"
"""The relationship type of an imported edge that names none (plain networkx graphs have no types)."""
NODE_LINK_MARKERS = ("directed", "multigraph", "graph", "links")


def node_link_node(node: Node) -> dict[str, Any]:
    return {"id": node.id, "labels": list(node.labels), "properties": node.properties}


def node_link_edge(edge: Edge) -> dict[str, Any]:
    return {
        "source": edge.source,
        "target": edge.target,
        "key": edge.id,
        "type": edge.type,
        "properties": edge.properties,
    }


async def _counted(pages: AsyncIterable[list[Any]], counts: ExportCounts, attr: str) -> AsyncIterator[list[Any]]:
    async for page in pages:
        setattr(counts, attr, getattr(counts, attr) + len(page))
        yield page


async def node_link_json(
    name: str, nodes: AsyncIterable[list[Node]], edges: AsyncIterable[list[Edge]], counts: ExportCounts
) -> AsyncIterator[bytes]:
    yield b'{"directed": true, "multigraph": true, "graph": ' + encode_json({"name": name}) + b', "nodes": ['
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


def is_node_link(document: Any) -> bool:
    """A JSON body is node-link (rather than {"nodes", "edges"}) when it carries node-link's keys."""
    return isinstance(document, Mapping) and any(marker in document for marker in NODE_LINK_MARKERS)


def read_node_link(document: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Node-link JSON → raw nodes and edges. Ours round-trip exactly; a networkx-made document works
    too: attributes beside id/labels/properties become properties, an edge without a type gets
    RELATED_TO, the edge key (or "id") becomes the edge id."""
    if not isinstance(document, Mapping):
        raise InvalidRequest("a node-link document must be a JSON object")
    raw_nodes = document.get("nodes", [])
    raw_edges = document.get("edges", document.get("links", []))
    if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
        raise InvalidRequest("nodes and edges of a node-link document must be lists")
    nodes = [_node(item, i) for i, item in enumerate(raw_nodes)]
    edges = [_edge(item, i) for i, item in enumerate(raw_edges)]
    return nodes, edges


def _node(item: Any, i: int) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise InvalidInput("a node must be an object", index=i, field=f"nodes[{i}]")
    properties = _properties(item, {"id", "labels", "properties"}, f"nodes[{i}]", i)
    return {"id": item.get("id"), "labels": item.get("labels") or [], "properties": properties}


def _edge(item: Any, i: int) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise InvalidInput("an edge must be an object", index=i, field=f"edges[{i}]")
    properties = _properties(item, {"id", "key", "source", "target", "type", "properties"}, f"edges[{i}]", i)
    edge_id = item.get("key", item.get("id"))
    return {
        "id": edge_id,
        "source": item.get("source"),
        "target": item.get("target"),
        "type": item.get("type") or DEFAULT_EDGE_TYPE,
        "properties": properties,
    }


def _properties(item: Mapping[str, Any], known: set[str], where: str, i: int) -> dict[str, Any]:
    nested = item.get("properties") or {}
    if not isinstance(nested, Mapping):
        raise InvalidInput("properties must be an object", index=i, field=f"{where}.properties")
    extra = {k: v for k, v in item.items() if k not in known}
    return {**extra, **nested}
