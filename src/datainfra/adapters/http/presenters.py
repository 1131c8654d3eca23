"""Domain values → the JSON documents clients see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datainfra.adapters.http.query_strings import page_url
from datainfra.domain.algorithms import Membership
from datainfra.domain.graph import Edge, Node, Path, Subgraph
from datainfra.domain.graph_schema import GraphSchema, graph_schema_document
from datainfra.domain.model import Dataset, Session
from datainfra.domain.tabular_schema import TabularSchema, tabular_schema_document
from datainfra.domain.types import non_finite_text
from datainfra.domain.value_text import timestamp_rfc3339
from datainfra.services.graph_algorithms import AlgorithmPage
from datainfra.services.graph_reads import PathSet
from datainfra.services.paging import PageResult


def timestamp(value: Any) -> str:
    return timestamp_rfc3339(value)


def session_doc(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "name": session.name,
        "description": session.description,
        "created_at": timestamp(session.created_at),
        "updated_at": timestamp(session.updated_at),
    }


def schema_doc(schema: TabularSchema | GraphSchema) -> dict[str, Any]:
    if isinstance(schema, TabularSchema):
        return tabular_schema_document(schema)
    return graph_schema_document(schema)


def dataset_doc(dataset: Dataset, record_count: int | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": dataset.id,
        "session_id": dataset.session_id,
        "name": dataset.name,
        "kind": dataset.kind.value,
        "schema": schema_doc(dataset.schema),
        "created_at": timestamp(dataset.created_at),
        "updated_at": timestamp(dataset.updated_at),
    }
    if record_count is not None:
        doc["record_count"] = record_count
    return doc


def node_doc(node: Node) -> dict[str, Any]:
    return {"id": node.id, "labels": list(node.labels), "properties": node.properties}


def edge_doc(edge: Edge) -> dict[str, Any]:
    return {
        "id": edge.id,
        "source": edge.source,
        "target": edge.target,
        "type": edge.type,
        "properties": edge.properties,
    }


def subgraph_doc(subgraph: Subgraph) -> dict[str, Any]:
    return {"nodes": [node_doc(n) for n in subgraph.nodes], "edges": [edge_doc(e) for e in subgraph.edges]}


def path_doc(path: Path | None, weighted: bool) -> dict[str, Any]:
    if path is None:
        return {"found": False, "length": None, "nodes": [], "edges": []}
    doc: dict[str, Any] = {"found": True, "length": path.length}
    if weighted:
        doc["cost"] = _number(path.cost)
    doc["nodes"] = [node_doc(n) for n in path.nodes]
    doc["edges"] = [edge_doc(e) for e in path.edges]
    return doc


def paths_doc(found: PathSet, weighted: bool) -> dict[str, Any]:
    if not found.paths:
        return {"found": False, "length": None, "truncated": False, "paths": []}
    doc: dict[str, Any] = {"found": True, "length": min(p.length for p in found.paths)}
    if weighted:
        doc["cost"] = _number(found.paths[0].cost)
    doc["truncated"] = found.truncated
    doc["paths"] = [path_item_doc(p) for p in found.paths]
    return doc


def _number(value: Any) -> Any:
    """A computed number as JSON carries it: a float sum past the float range is "Infinity"
    (msgspec would write null), as stored non-finite numbers read everywhere."""
    if isinstance(value, float):
        return non_finite_text(value) or value
    return value


def path_item_doc(path: Path) -> dict[str, Any]:
    """One path among several (all shortest paths, a query result): its length, nodes and edges."""
    return {
        "length": path.length,
        "nodes": [node_doc(n) for n in path.nodes],
        "edges": [edge_doc(e) for e in path.edges],
    }


def score_doc(item: tuple[str, float]) -> dict[str, Any]:
    return {"id": item[0], "score": item[1]}


def membership_doc(item: Membership) -> dict[str, Any]:
    return {"id": item.id, "component": item.component, "size": item.size}


def degree_doc(item: tuple[str, int]) -> dict[str, Any]:
    return {"id": item[0], "degree": item[1]}


def algorithm_doc(result: AlgorithmPage[Any], path: str, items: Sequence[Any]) -> dict[str, Any]:
    """A page of a ranked algorithm result (items, limit, offset, total, next) plus the run's facts."""
    return {**page_doc(result.page, path, items), **result.facts}


def page_doc(
    page: PageResult[Any], path: str, items: Sequence[Any], scope: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    """A page (items, limit, offset, total, next); `next` is the URL of the following page, `scope`
    the parameters beside its PageRequest that stay (label, type)."""
    doc: dict[str, Any] = {"items": list(items), "limit": page.limit, "offset": page.offset}
    if page.total is not None:
        doc["total"] = page.total
    if page.next is not None:
        doc["next"] = page_url(path, page.next, scope)
    return doc
