"""An in-memory GraphStore with Neo4j's semantics: one isolated graph per dataset.

First-class code, not a mock: the contract suite runs the same tests against it and against Neo4j.
Values are deep-copied in and out so callers never share state with the store; a write's
changes are checked in full before any is applied (all-or-nothing), under one lock.
"""

from __future__ import annotations

import asyncio
import copy
from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from datainfra.adapters.memory.semantics import after_key, kind_of, matches, order_records
from datainfra.domain import algorithms
from datainfra.domain.algorithms import ProjectedEdge, Projection, Step, check_projection_size, least_cost
from datainfra.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import Direction, Edge, Node, Path, Subgraph
from datainfra.domain.graph_schema import NODE_KEY, GraphSchema
from datainfra.domain.model import Dataset
from datainfra.domain.ports.graph_store import EdgePage, GraphStore, NodePage, NodeUpdate
from datainfra.domain.query import RecordQuery
from datainfra.domain.records import OnConflict, WriteResult

EDGE_FIELDS = ("id", "source", "target")


@dataclass(slots=True)
class _NodeState:
    labels: tuple[str, ...]
    properties: dict[str, Any]


@dataclass(slots=True)
class _Graph:
    """One dataset's graph. `out_edges`/`in_edges` index edge ids by endpoint for traversals."""

    nodes: dict[str, _NodeState] = field(default_factory=dict)
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


class InMemoryGraphStore(GraphStore):
    def __init__(self) -> None:
        self._graphs: dict[str, _Graph] = {}
        self._lock = asyncio.Lock()

    # -- lifecycle --------------------------------------------------------------------------------

    async def create_graph(self, dataset: Dataset) -> None:
        async with self._lock:
            self._graphs.setdefault(dataset.id, _Graph())

    async def migrate_graph(self, before: Dataset, after: Dataset) -> None:
        async with self._lock:
            graph = self._graphs.get(after.id)
            if graph is None:
                return
            schema = after.graph_schema
            if schema.strict:
                _check_conforms(schema, graph)
            _check_unique(schema, graph, graph.nodes, error=InvalidInput)

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
            graph = self._graphs.get(dataset.id, _Graph())
            # the request's changes, checked in full before any is applied (all-or-nothing)
            new_nodes: dict[str, _NodeState] = {}
            new_edges: dict[str, Edge] = {}
            inserted = updated = ignored = 0
            for node in nodes:
                existing = new_nodes.get(node.id) or graph.nodes.get(node.id)
                if existing is None:
                    new_nodes[node.id] = _NodeState(_labels(node.labels), _clean(node.properties))
                    inserted += 1
                elif on_conflict is OnConflict.ERROR:
                    raise Conflict(f"node {node.id!r} already exists", key=node.id)
                elif on_conflict is OnConflict.UPDATE:
                    new_nodes[node.id] = _NodeState(_labels(node.labels), _merge(existing.properties, node.properties))
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
                    new_edges[edge.id] = _stored_edge(edge, {})
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
                    new_edges[edge.id] = _stored_edge(edge, old.properties)
                    updated += 1
                else:
                    ignored += 1
            _check_unique(dataset.graph_schema, graph, new_nodes)
            graph.nodes.update(new_nodes)
            for edge_id, stored in new_edges.items():
                if edge_id in graph.edges:
                    graph.remove_edge(edge_id)
                graph.add_edge(stored)
            self._graphs.setdefault(dataset.id, graph)
            return WriteResult(inserted=inserted, updated=updated, ignored=ignored)

    async def update_nodes(self, dataset: Dataset, updates: Sequence[NodeUpdate]) -> int:
        async with self._lock:
            graph = self._graphs.get(dataset.id, _Graph())
            changed: dict[str, _NodeState] = {}
            for i, update in enumerate(updates):
                state = changed.get(update.id) or graph.nodes.get(update.id)
                if state is None:
                    raise InvalidInput(f"node {update.id!r} does not exist", index=i, field="id")
                labels = state.labels if update.labels is None else _labels(update.labels)
                changed[update.id] = _NodeState(labels, _merge(state.properties, update.properties))
            _check_unique(dataset.graph_schema, graph, changed)
            graph.nodes.update(changed)
            return len(updates)

    async def update_nodes_where(
        self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec, changes: dict[str, Any]
    ) -> int:
        async with self._lock:
            graph = self._graphs.get(dataset.id, _Graph())
            changed = {
                node_id: _NodeState(state.labels, _merge(state.properties, changes))
                for node_id, state in graph.nodes.items()
                if _node_matches(graph, node_id, labels, filter)
            }
            _check_unique(dataset.graph_schema, graph, changed)
            graph.nodes.update(changed)
            return len(changed)

    async def delete_nodes_where(self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec) -> int:
        async with self._lock:
            graph = self._graphs.get(dataset.id)
            if graph is None:
                return 0
            chosen = [node_id for node_id in graph.nodes if _node_matches(graph, node_id, labels, filter)]
            for node_id in chosen:
                graph.remove_node(node_id)
            return len(chosen)

    async def delete_edges_where(self, dataset: Dataset, types: tuple[str, ...], filter: FilterSpec) -> int:
        async with self._lock:
            graph = self._graphs.get(dataset.id)
            if graph is None:
                return 0
            chosen = [e.id for e in graph.edges.values() if _edge_matches(e, types, filter)]
            for edge_id in chosen:
                graph.remove_edge(edge_id)
            return len(chosen)

    # -- reads ------------------------------------------------------------------------------------

    async def find_nodes(self, dataset: Dataset, labels: tuple[str, ...], query: RecordQuery) -> NodePage:
        graph = self._graphs.get(dataset.id, _Graph())
        records = [
            _node_record(node_id, state)
            for node_id, state in graph.nodes.items()
            if all(label in state.labels for label in labels)
        ]
        page, has_more, total = _page(records, query)
        return NodePage([_node_out(graph, str(r[NODE_KEY])) for r in page], has_more, total)

    async def get_node(self, dataset: Dataset, node_id: str) -> Node | None:
        graph = self._graphs.get(dataset.id, _Graph())
        return _node_out(graph, node_id) if node_id in graph.nodes else None

    async def find_edges(self, dataset: Dataset, types: tuple[str, ...], query: RecordQuery) -> EdgePage:
        graph = self._graphs.get(dataset.id, _Graph())
        records = [_edge_record(e) for e in graph.edges.values() if not types or e.type in types]
        page, has_more, total = _page(records, query)
        return EdgePage([_edge_out(graph.edges[str(r["id"])]) for r in page], has_more, total)

    async def count_nodes(self, dataset: Dataset) -> int:
        return len(self._graphs.get(dataset.id, _Graph()).nodes)

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
        graph = self._graphs.get(dataset.id, _Graph())
        if node_id not in graph.nodes:
            raise NotFound(f"node {node_id!r} does not exist", key=node_id)
        distance = {node_id: 0}
        frontier = [node_id]
        for hop in range(1, depth + 1):
            following: list[str] = []
            for current in frontier:
                for _edge, far in graph.steps(current, direction, types):
                    if far not in distance:
                        distance[far] = hop
                        following.append(far)
            frontier = following
        reached = sorted((d, n) for n, d in distance.items() if n != node_id)[: max(limit, 0)]
        kept = {node_id: 0} | {n: d for d, n in reached}
        edges = {
            edge.id: edge
            for tail, hops in kept.items()
            if hops < depth
            for edge, far in graph.steps(tail, direction, types)
            if far in kept
        }
        return Subgraph(
            nodes=tuple(_node_out(graph, n) for _d, n in reached),
            edges=tuple(_edge_out(edges[k]) for k in sorted(edges)),
        )

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
        graph = self._graphs.get(dataset.id, _Graph())
        if source not in graph.nodes or target not in graph.nodes:
            return None
        if weight is None:
            steps = _fewest_hops(graph, source, target, direction, types, max_depth)
            cost: Decimal | float | int | None = None
        else:

            def neighbours(node: str) -> Iterator[Step]:
                for edge, far in graph.steps(node, direction, types):
                    yield Step(edge.id, far, edge.properties.get(weight))

            found = least_cost(neighbours, source, target, weight, max_depth)
            if found is None:
                return None
            path, cost = found
            steps = [(graph.edges[step.edge_id], step.far) for step in path]
        if steps is None:
            return None
        nodes = [source] + [far for _edge, far in steps]
        return Path(
            nodes=tuple(_node_out(graph, n) for n in nodes),
            edges=tuple(_edge_out(edge) for edge, _far in steps),
            cost=cost,
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
        graph = self._graphs.get(dataset.id, _Graph())
        if source not in graph.nodes or target not in graph.nodes:
            return []
        adjacency = _ball(graph, source, target, direction, types, weight, max_depth)
        found = algorithms.all_shortest_paths(
            adjacency, source, target, weight=weight, max_depth=max_depth, limit=limit
        )
        return [
            Path(
                nodes=tuple(_node_out(graph, n) for n in path.nodes),
                edges=tuple(_edge_out(graph.edges[e]) for e in path.edges),
                cost=path.cost,
            )
            for path in found
        ]

    async def project(
        self, dataset: Dataset, *, types: tuple[str, ...], weight: str | None, max_nodes: int, max_edges: int
    ) -> Projection:
        graph = self._graphs.get(dataset.id, _Graph())
        chosen = [e for e in graph.edges.values() if not types or e.type in types]
        check_projection_size(len(graph.nodes), len(chosen), max_nodes=max_nodes, max_edges=max_edges)
        return Projection(
            node_ids=tuple(graph.nodes),
            edges=tuple(
                ProjectedEdge(e.id, e.source, e.target, None if weight is None else _copied(e.properties.get(weight)))
                for e in chosen
            ),
        )


# -- values ---------------------------------------------------------------------------------------


def _copied(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, list | dict) else value


def _labels(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(labels))


def _clean(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A null property is an absent one; "id" is the key, never a node property."""
    return {k: copy.deepcopy(v) for k, v in properties.items() if v is not None and k != NODE_KEY}


def _merge(old: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Neo4j's `SET n += $changes`: a null value removes the property."""
    merged = dict(old)
    for name, value in changes.items():
        if name == NODE_KEY:
            continue
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = copy.deepcopy(value)
    return merged


def _stored_edge(edge: Edge, old_properties: Mapping[str, Any]) -> Edge:
    properties = _merge(old_properties, edge.properties)
    return Edge(id=edge.id, source=edge.source, target=edge.target, type=edge.type, properties=properties)


def _node_out(graph: _Graph, node_id: str) -> Node:
    state = graph.nodes[node_id]
    return Node(id=node_id, labels=state.labels, properties=copy.deepcopy(state.properties))


def _edge_out(edge: Edge) -> Edge:
    return Edge(edge.id, edge.source, edge.target, edge.type, copy.deepcopy(edge.properties))


def _node_record(node_id: str, state: _NodeState) -> dict[str, Any]:
    return {**state.properties, NODE_KEY: node_id}


def _edge_record(edge: Edge) -> dict[str, Any]:
    return {**edge.properties, "id": edge.id, "source": edge.source, "target": edge.target}


# -- filters and order ----------------------------------------------------------------------------


def _node_matches(graph: _Graph, node_id: str, labels: tuple[str, ...], spec: FilterSpec) -> bool:
    state = graph.nodes[node_id]
    return all(label in state.labels for label in labels) and matches(_node_record(node_id, state), spec)


def _edge_matches(edge: Edge, types: tuple[str, ...], spec: FilterSpec) -> bool:
    return (not types or edge.type in types) and matches(_edge_record(edge), spec)


def _page(records: list[dict[str, Any]], query: RecordQuery) -> tuple[list[dict[str, Any]], bool, int | None]:
    chosen = [r for r in records if matches(r, query.filter)]
    total = len(chosen) if query.count is not None else None
    ordered = order_records(chosen, query.sort)
    if query.after is not None:
        after = query.after
        ordered = [r for r in ordered if after_key(r, query.sort, after)]
    window = ordered[query.offset : query.offset + query.limit + 1]
    return window[: query.limit], len(window) > query.limit, total


# -- traversal ------------------------------------------------------------------------------------

_Step = tuple[Edge, str]


def _fewest_hops(
    graph: _Graph, source: str, target: str, direction: Direction, types: tuple[str, ...], max_depth: int
) -> list[_Step] | None:
    parent: dict[str, _Step | None] = {source: None}
    frontier = [source]
    for _hop in range(max_depth):
        if target in parent:
            break
        following: list[str] = []
        for current in frontier:
            for edge, far in graph.steps(current, direction, types):
                if far not in parent:
                    parent[far] = (edge, current)
                    following.append(far)
        frontier = following
    if target not in parent:
        return None
    steps: list[_Step] = []
    node = target
    while (link := parent[node]) is not None:
        edge, previous = link
        steps.append((edge, node))
        node = previous
    return steps[::-1]


def _ball(
    graph: _Graph,
    source: str,
    target: str,
    direction: Direction,
    types: tuple[str, ...],
    weight: str | None,
    max_depth: int,
) -> dict[str, list[Step]]:
    """The steps of every node within max_depth - 1 hops of the source (unweighted: until the
    target is reached; weighted: only over edges that have the weight), as the Neo4j adapter
    fetches them."""
    adjacency: dict[str, list[Step]] = {}
    seen = {source}
    frontier = [source]
    for _hop in range(max_depth):
        if not frontier or (weight is None and target in seen):
            break
        following: list[str] = []
        for tail in frontier:
            for edge, far in graph.steps(tail, direction, types):
                value = None if weight is None else edge.properties.get(weight)
                if weight is not None and value is None:
                    continue
                adjacency.setdefault(tail, []).append(Step(edge.id, far, value))
                if far not in seen:
                    seen.add(far)
                    following.append(far)
        frontier = following
    return adjacency


# -- schema rules ---------------------------------------------------------------------------------


def _check_conforms(schema: GraphSchema, graph: _Graph) -> None:
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


def _check_unique(
    schema: GraphSchema, graph: _Graph, changed: Mapping[str, _NodeState], error: type[DomainError] = Conflict
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
