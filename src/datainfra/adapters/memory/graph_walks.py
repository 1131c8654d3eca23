"""Walks over one in-memory graph: the neighbourhood of a node, and shortest paths. Weighted and
all-shortest-path searches run `domain.algorithms` over the edges around the source gathered as the
Neo4j adapter fetches them (`_ball`), so both stores find the same paths in the same order."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from datainfra.adapters.memory.graph_state import Graph, edge_out, node_out
from datainfra.domain import algorithms
from datainfra.domain.algorithms import Step, least_cost
from datainfra.domain.errors import NotFound
from datainfra.domain.graph import Direction, Edge, Path, Subgraph


def neighbors(
    graph: Graph,
    node_id: str,
    *,
    direction: Direction,
    types: tuple[str, ...],
    depth: int,
    limit: int,
) -> Subgraph:
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
        nodes=tuple(node_out(graph, n) for _d, n in reached),
        edges=tuple(edge_out(edges[k]) for k in sorted(edges)),
    )


def shortest_path(
    graph: Graph,
    source: str,
    target: str,
    *,
    direction: Direction,
    types: tuple[str, ...],
    weight: str | None,
    max_depth: int,
) -> Path | None:
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
        nodes=tuple(node_out(graph, n) for n in nodes),
        edges=tuple(edge_out(edge) for edge, _far in steps),
        cost=cost,
    )


def all_shortest_paths(
    graph: Graph,
    source: str,
    target: str,
    *,
    direction: Direction,
    types: tuple[str, ...],
    weight: str | None,
    max_depth: int,
    limit: int,
) -> list[Path]:
    if source not in graph.nodes or target not in graph.nodes:
        return []
    adjacency = _ball(graph, source, target, direction, types, weight, max_depth)
    found = algorithms.all_shortest_paths(adjacency, source, target, weight=weight, max_depth=max_depth, limit=limit)
    return [
        Path(
            nodes=tuple(node_out(graph, n) for n in path.nodes),
            edges=tuple(edge_out(graph.edges[e]) for e in path.edges),
            cost=path.cost,
        )
        for path in found
    ]


_Step = tuple[Edge, str]


def _fewest_hops(
    graph: Graph, source: str, target: str, direction: Direction, types: tuple[str, ...], max_depth: int
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
    graph: Graph,
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
