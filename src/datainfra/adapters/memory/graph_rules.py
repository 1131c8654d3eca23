"""The schema rules the in-memory graph store enforces as Neo4j does: a strict schema over
existing data (first offender in key order, as the Neo4j adapter streams it), and unique property
indexes."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from datainfra.adapters.memory.graph_state import Graph, NodeState
from datainfra.adapters.memory.semantics import kind_of
from datainfra.domain.errors import Conflict, DomainError, InvalidInput
from datainfra.domain.graph_schema import GraphSchema


def check_conforms(schema: GraphSchema, graph: Graph) -> None:
    """A strict schema over existing data: every label, type and property must be declared and typed."""
    for node_id in sorted(graph.nodes):
        state = graph.nodes[node_id]
        try:
            schema.coerce_node_properties(state.labels, state.properties, 0)
        except DomainError as exc:
            raise InvalidInput(f"node {node_id!r} does not fit the schema: {exc.detail}", field="schema") from None
    for edge_id in sorted(graph.edges):
        edge = graph.edges[edge_id]
        try:
            schema.coerce_edge_properties(edge.type, edge.properties, 0)
        except DomainError as exc:
            raise InvalidInput(f"edge {edge_id!r} does not fit the schema: {exc.detail}", field="schema") from None


def check_unique(
    schema: GraphSchema, graph: Graph, changed: Mapping[str, NodeState], error: type[DomainError] = Conflict
) -> None:
    """Unique property indexes as Neo4j enforces them: among nodes of the label holding every
    indexed property, no two share the values. `changed` overlays the graph's nodes; only clashes
    involving a changed node count (the rest was checked when it was written)."""
    indexes = [(label.name, ix.properties) for label in schema.node_labels for ix in label.indexes if ix.unique]
    if not indexes or not changed:
        return
    view = ChainMap(dict(changed), graph.nodes)
    for label, properties in indexes:
        seen: dict[tuple[Any, ...], str] = {}
        for node_id, state in view.items():
            if label not in state.labels or any(p not in state.properties for p in properties):
                continue
            values = tuple(_hashable(state.properties[p]) for p in properties)
            other = seen.setdefault(values, node_id)
            if other != node_id and (node_id in changed or other in changed):
                raise error(
                    f"another {label} node already has these values of ({', '.join(properties)})",
                    key={p: state.properties[p] for p in properties},
                    field=f"properties.{properties[0]}",
                )


def _hashable(value: Any) -> Any:
    """A dict key that keeps kinds apart (True is not 1 to Neo4j) and accepts lists."""
    if isinstance(value, list):
        return ("list", tuple(_hashable(v) for v in value))
    return (kind_of(value), value)
