"""An in-memory GraphStore with Neo4j's semantics: one isolated graph per dataset.

First-class code, not a mock: the contract suite runs the same tests against it and against Neo4j.
Values are deep-copied in and out so callers never share state with the store (`graph_state`); a
write's changes are checked in full before any is applied (all-or-nothing), under one lock. Walks
and path searches are `graph_walks`; schema rules (strict schemas, unique indexes) `graph_rules`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from datainfra.adapters.memory import graph_walks
from datainfra.adapters.memory.graph_rules import check_conforms, check_unique
from datainfra.adapters.memory.graph_state import (
    Graph,
    NodeState,
    clean,
    copied,
    edge_matches,
    edge_out,
    edge_record,
    merged,
    node_matches,
    node_out,
    node_record,
    paged,
    stored_edge,
    unique_labels,
)
from datainfra.domain.algorithms import ProjectedEdge, Projection, check_projection_size
from datainfra.domain.errors import Conflict, InvalidInput
from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import Direction, Edge, Node, Path, Subgraph
from datainfra.domain.graph_schema import NODE_KEY
from datainfra.domain.model import Dataset
from datainfra.domain.ports.graph_store import EdgePage, GraphStore, NodePage, NodeUpdate
from datainfra.domain.query import RecordQuery
from datainfra.domain.records import OnConflict, WriteResult


class InMemoryGraphStore(GraphStore):
    def __init__(self) -> None:
        self._graphs: dict[str, Graph] = {}
        self._lock = asyncio.Lock()

    # -- lifecycle --------------------------------------------------------------------------------

    async def create_graph(self, dataset: Dataset) -> None:
        async with self._lock:
            self._graphs.setdefault(dataset.id, Graph())

    async def migrate_graph(self, before: Dataset, after: Dataset) -> None:
        async with self._lock:
            graph = self._graphs.get(after.id)
            if graph is None:
                return
            schema = after.graph_schema
            if schema.strict:
                check_conforms(schema, graph)
            check_unique(schema, graph, graph.nodes, error=InvalidInput)

    async def drop_graph(self, dataset: Dataset) -> None:
        async with self._lock:
            self._graphs.pop(dataset.id, None)

    async def ping(self) -> None:
        return None

    # -- writes -----------------------------------------------------------------------------------

    async def write(
        self, dataset: Dataset, nodes: Sequence[Node], edges: Sequence[Edge], on_conflict: OnConflict
    ) -> WriteResult:
        async with self._lock:
            graph = self._graphs.get(dataset.id, Graph())
            # the request's changes, checked in full before any is applied (all-or-nothing)
            new_nodes: dict[str, NodeState] = {}
            new_edges: dict[str, Edge] = {}
            inserted = updated = ignored = 0
            for node in nodes:
                existing = new_nodes.get(node.id) or graph.nodes.get(node.id)
                if existing is None:
                    new_nodes[node.id] = NodeState(unique_labels(node.labels), clean(node.properties))
                    inserted += 1
                elif on_conflict is OnConflict.ERROR:
                    raise Conflict(f"node {node.id!r} already exists", key=node.id)
                elif on_conflict is OnConflict.UPDATE:
                    new_nodes[node.id] = NodeState(
                        unique_labels(node.labels), merged(existing.properties, node.properties)
                    )
                    updated += 1
                else:
                    ignored += 1
            for i, edge in enumerate(edges):
                for end in ("source", "target"):
                    end_id = getattr(edge, end)
                    if end_id not in new_nodes and end_id not in graph.nodes:
                        raise InvalidInput(
                            f"edge {edge.id!r}: {end} node {end_id!r} does not exist",
                            index=i,
                            field=f"edges[{i}].{end}",
                        )
                old = new_edges.get(edge.id) or graph.edges.get(edge.id)
                if old is None:
                    new_edges[edge.id] = stored_edge(edge, {})
                    inserted += 1
                elif on_conflict is OnConflict.ERROR:
                    raise Conflict(f"edge {edge.id!r} already exists", key=edge.id)
                elif on_conflict is OnConflict.UPDATE:
                    if (old.source, old.target, old.type) != (edge.source, edge.target, edge.type):
                        raise InvalidInput(
                            f"edge {edge.id!r}: an edge's source, target and type cannot change; "
                            "delete it and create a new one",
                            index=i,
                            field=f"edges[{i}]",
                        )
                    new_edges[edge.id] = stored_edge(edge, old.properties)
                    updated += 1
                else:
                    ignored += 1
            check_unique(dataset.graph_schema, graph, new_nodes)
            graph.nodes.update(new_nodes)
            for edge_id, stored in new_edges.items():
                if edge_id in graph.edges:
                    graph.remove_edge(edge_id)
                graph.add_edge(stored)
            self._graphs.setdefault(dataset.id, graph)
            return WriteResult(inserted=inserted, updated=updated, ignored=ignored)

    async def update_nodes(self, dataset: Dataset, updates: Sequence[NodeUpdate]) -> int:
        async with self._lock:
            graph = self._graphs.get(dataset.id, Graph())
            changed: dict[str, NodeState] = {}
            for i, update in enumerate(updates):
                state = changed.get(update.id) or graph.nodes.get(update.id)
                if state is None:
                    raise InvalidInput(f"node {update.id!r} does not exist", index=i, field="id")
                labels = state.labels if update.labels is None else unique_labels(update.labels)
                changed[update.id] = NodeState(labels, merged(state.properties, update.properties))
            check_unique(dataset.graph_schema, graph, changed)
            graph.nodes.update(changed)
            return len(updates)

    async def update_nodes_where(
        self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec, changes: dict[str, Any]
    ) -> int:
        async with self._lock:
            graph = self._graphs.get(dataset.id, Graph())
            changed = {
                node_id: NodeState(state.labels, merged(state.properties, changes))
                for node_id, state in graph.nodes.items()
                if node_matches(graph, node_id, labels, filter)
            }
            check_unique(dataset.graph_schema, graph, changed)
            graph.nodes.update(changed)
            return len(changed)

    async def delete_nodes_where(self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec) -> int:
        async with self._lock:
            graph = self._graphs.get(dataset.id)
            if graph is None:
                return 0
            chosen = [node_id for node_id in graph.nodes if node_matches(graph, node_id, labels, filter)]
            for node_id in chosen:
                graph.remove_node(node_id)
            return len(chosen)

    async def delete_edges_where(self, dataset: Dataset, types: tuple[str, ...], filter: FilterSpec) -> int:
        async with self._lock:
            graph = self._graphs.get(dataset.id)
            if graph is None:
                return 0
            chosen = [e.id for e in graph.edges.values() if edge_matches(e, types, filter)]
            for edge_id in chosen:
                graph.remove_edge(edge_id)
            return len(chosen)

    # -- reads ------------------------------------------------------------------------------------

    async def find_nodes(self, dataset: Dataset, labels: tuple[str, ...], query: RecordQuery) -> NodePage:
        graph = self._graphs.get(dataset.id, Graph())
        records = [
            node_record(node_id, state)
            for node_id, state in graph.nodes.items()
            if all(label in state.labels for label in labels)
        ]
        page, has_more, total = paged(records, query)
        return NodePage([node_out(graph, str(r[NODE_KEY])) for r in page], has_more, total)

    async def get_node(self, dataset: Dataset, node_id: str) -> Node | None:
        graph = self._graphs.get(dataset.id, Graph())
        return node_out(graph, node_id) if node_id in graph.nodes else None

    async def find_edges(self, dataset: Dataset, types: tuple[str, ...], query: RecordQuery) -> EdgePage:
        graph = self._graphs.get(dataset.id, Graph())
        records = [edge_record(e) for e in graph.edges.values() if not types or e.type in types]
        page, has_more, total = paged(records, query)
        return EdgePage([edge_out(graph.edges[str(r["id"])]) for r in page], has_more, total)

    async def count_nodes(self, dataset: Dataset) -> int:
        return len(self._graphs.get(dataset.id, Graph()).nodes)

    async def neighbors(
        self,
        dataset: Dataset,
        node_id: str,
        *,
        direction: Direction,
        types: tuple[str, ...],
        depth: int,
        limit: int,
    ) -> Subgraph:
        graph = self._graphs.get(dataset.id, Graph())
        return graph_walks.neighbors(graph, node_id, direction=direction, types=types, depth=depth, limit=limit)

    async def shortest_path(
        self,
        dataset: Dataset,
        source: str,
        target: str,
        *,
        direction: Direction,
        types: tuple[str, ...],
        weight: str | None,
        max_depth: int,
    ) -> Path | None:
        graph = self._graphs.get(dataset.id, Graph())
        return graph_walks.shortest_path(
            graph, source, target, direction=direction, types=types, weight=weight, max_depth=max_depth
        )

    async def all_shortest_paths(
        self,
        dataset: Dataset,
        source: str,
        target: str,
        *,
        direction: Direction,
        types: tuple[str, ...],
        weight: str | None,
        max_depth: int,
        limit: int,
    ) -> list[Path]:
        graph = self._graphs.get(dataset.id, Graph())
        return graph_walks.all_shortest_paths(
            graph, source, target, direction=direction, types=types, weight=weight, max_depth=max_depth, limit=limit
        )

    async def project(
        self, dataset: Dataset, *, types: tuple[str, ...], weight: str | None, max_nodes: int, max_edges: int
    ) -> Projection:
        graph = self._graphs.get(dataset.id, Graph())
        chosen = [e for e in graph.edges.values() if not types or e.type in types]
        check_projection_size(len(graph.nodes), len(chosen), max_nodes=max_nodes, max_edges=max_edges)
        return Projection(
            node_ids=tuple(graph.nodes),
            edges=tuple(
                ProjectedEdge(e.id, e.source, e.target, None if weight is None else copied(e.properties.get(weight)))
                for e in chosen
            ),
        )
