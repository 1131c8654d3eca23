"""The state of the in-memory graph store: one `Graph` per dataset (nodes, edges, and the edge
indexes by endpoint that traversals follow), and how values go in and out of it. Values are
deep-copied both ways so callers never share state with the store; a null property is an absent
one and a change merges as Neo4j's `SET n += $changes` does."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from datainfra.adapters.memory.semantics import after_key, matches, order_records
from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import Direction, Edge, Node
from datainfra.domain.graph_schema import NODE_KEY
from datainfra.domain.query import RecordQuery


@dataclass(slots=True)
class NodeState:
    labels: tuple[str, ...]
    properties: dict[str, Any]


@dataclass(slots=True)
class Graph:
    """One dataset's graph. `out_edges`/`in_edges` index edge ids by endpoint for traversals."""

    nodes: dict[str, NodeState] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)
    out_edges: dict[str, set[str]] = field(default_factory=dict)
    in_edges: dict[str, set[str]] = field(default_factory=dict)

    def add_edge(self, edge: Edge) -> None:
        self.edges[edge.id] = edge
        self.out_edges.setdefault(edge.source, set()).add(edge.id)
        self.in_edges.setdefault(edge.target, set()).add(edge.id)

    def remove_edge(self, edge_id: str) -> None:
        edge = self.edges.pop(edge_id)
        self.out_edges.get(edge.source, set()).discard(edge_id)
        self.in_edges.get(edge.target, set()).discard(edge_id)

    def remove_node(self, node_id: str) -> None:
        """Detach delete: the node and every edge touching it."""
        for edge_id in self.out_edges.get(node_id, set()) | self.in_edges.get(node_id, set()):
            if edge_id in self.edges:
                self.remove_edge(edge_id)
        self.out_edges.pop(node_id, None)
        self.in_edges.pop(node_id, None)
        del self.nodes[node_id]

    def steps(self, node_id: str, direction: Direction, types: tuple[str, ...]) -> Iterator[tuple[Edge, str]]:
        """(edge, far end) for every edge followable from `node_id`, in edge-id order."""
        ids: set[str] = set()
        if direction in (Direction.OUT, Direction.BOTH):
            ids |= self.out_edges.get(node_id, set())
        if direction in (Direction.IN, Direction.BOTH):
            ids |= self.in_edges.get(node_id, set())
        for edge_id in sorted(ids):
            edge = self.edges[edge_id]
            if types and edge.type not in types:
                continue
            if edge.source == node_id and direction is not Direction.IN:
                yield edge, edge.target
            elif edge.target == node_id and direction is not Direction.OUT:
                yield edge, edge.source


# -- values ---------------------------------------------------------------------------------------


def copied(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, list | dict) else value


def unique_labels(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(labels))


def clean(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A null property is an absent one (a property named "id" is one like any other)."""
    return {k: copy.deepcopy(v) for k, v in properties.items() if v is not None}


def merged(old: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Neo4j's `SET n += $changes`: a null value removes the property."""
    result = dict(old)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = copy.deepcopy(value)
    return result


def stored_edge(edge: Edge, old_properties: Mapping[str, Any]) -> Edge:
    properties = merged(old_properties, edge.properties)
    return Edge(id=edge.id, source=edge.source, target=edge.target, type=edge.type, properties=properties)


def node_out(graph: Graph, node_id: str) -> Node:
    state = graph.nodes[node_id]
    return Node(id=node_id, labels=state.labels, properties=copy.deepcopy(state.properties))


def edge_out(edge: Edge) -> Edge:
    return Edge(edge.id, edge.source, edge.target, edge.type, copy.deepcopy(edge.properties))


def node_record(node_id: str, state: NodeState) -> dict[str, Any]:
    return {**state.properties, NODE_KEY: node_id}


def edge_record(edge: Edge) -> dict[str, Any]:
    return {**edge.properties, "id": edge.id, "source": edge.source, "target": edge.target}


# -- filters and order ----------------------------------------------------------------------------


def node_matches(graph: Graph, node_id: str, labels: tuple[str, ...], spec: FilterSpec) -> bool:
    state = graph.nodes[node_id]
    return all(label in state.labels for label in labels) and matches(node_record(node_id, state), spec)


def edge_matches(edge: Edge, types: tuple[str, ...], spec: FilterSpec) -> bool:
    return (not types or edge.type in types) and matches(edge_record(edge), spec)


def paged(records: list[dict[str, Any]], query: RecordQuery) -> tuple[list[dict[str, Any]], bool, int | None]:
    chosen = [r for r in records if matches(r, query.filter)]
    total = len(chosen) if query.count is not None else None
    ordered = order_records(chosen, query.sort)
    if query.after is not None:
        after = query.after
        ordered = [r for r in ordered if after_key(r, query.sort, after)]
    window = ordered[query.offset : query.offset + query.limit + 1]
    return window[: query.limit], len(window) > query.limit, total
