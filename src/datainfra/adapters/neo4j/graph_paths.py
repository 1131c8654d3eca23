"""Path searches of the Neo4j graph store. Unweighted shortest paths use Cypher `shortestPath`;
weighted ones and every shortest path fetch the edges around the source hop by hop (bounded by
`max_weighted_edges`), then search them in Python with `domain.algorithms`, the very search the
in-memory store runs, so both stores find the same paths in the same order. Neo4j Community has
no GDS plugin to do this server-side."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from datainfra.adapters.neo4j.graph_rows import ARROWS, EDGE_RETURN, edge_from, edge_out, fetch_nodes, node_out
from datainfra.adapters.neo4j.graph_transactions import TransactionRunner, Tx
from datainfra.adapters.neo4j.namespacing import Q_KEY, Q_TYPE, Namespace, quote
from datainfra.adapters.neo4j.values import decode_value
from datainfra.domain import algorithms
from datainfra.domain.algorithms import Step, least_cost
from datainfra.domain.errors import PayloadTooLarge
from datainfra.domain.graph import MAX_PATH_DEPTH, Direction, Edge, Node, Path
from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.model import Dataset
from datainfra.domain.names import validate_name


async def shortest_path(
    runner: TransactionRunner,
    dataset: Dataset,
    source: str,
    target: str,
    *,
    direction: Direction,
    types: tuple[str, ...],
    weight: str | None,
    max_depth: int,
    max_edges: int,
) -> Path | None:
    ns = Namespace.of(dataset.id)
    schema = dataset.graph_schema
    max_depth = max(0, min(int(max_depth), MAX_PATH_DEPTH))

    if weight is None and source != target and max_depth >= 1:
        # The common case in one statement: both ends matched, the walk and every node's and edge's
        # properties on the path, in one round trip.
        return await _fewest_hops(runner, ns, schema, source, target, direction, types, max_depth)

    async def work(tx: Tx) -> Path | None:
        ends = await fetch_nodes(tx, ns, schema, list(dict.fromkeys([source, target])))
        if source not in ends or target not in ends:
            return None
        if source == target:
            return Path(nodes=(ends[source],), edges=(), cost=None if weight is None else 0)
        if max_depth < 1 or weight is None:
            return None
        return await _least_cost(tx, ns, schema, source, target, direction, types, weight, max_depth, max_edges)

    return await runner.read(work)


async def _least_cost(
    tx: Tx,
    ns: Namespace,
    schema: GraphSchema,
    source: str,
    target: str,
    direction: Direction,
    types: tuple[str, ...],
    weight: str,
    max_depth: int,
    max_edges: int,
) -> Path | None:
    """Fetch the subgraph within `max_depth` hops (bounded by `max_edges`), then
    Dijkstra in Python."""
    adjacency = await _ball(tx, ns, schema, source, target, direction, types, weight, max_depth, max_edges)
    for steps in adjacency.values():
        steps.sort(key=lambda s: s.edge_id)
    found = least_cost(lambda node: adjacency.get(node, ()), source, target, weight, max_depth)
    if found is None:
        return None
    steps, cost = found
    return await _assemble_path(tx, ns, schema, source, [s.edge_id for s in steps], [s.far for s in steps], cost)


async def all_shortest_paths(
    runner: TransactionRunner,
    dataset: Dataset,
    source: str,
    target: str,
    *,
    direction: Direction,
    types: tuple[str, ...],
    weight: str | None,
    max_depth: int,
    limit: int,
    max_edges: int,
) -> list[Path]:
    """Fetch the edges around the source (as `_ball` says), then the shared search of
    `domain.algorithms`, so the paths and their order are the in-memory adapter's."""
    ns = Namespace.of(dataset.id)
    schema = dataset.graph_schema
    max_depth = max(0, min(int(max_depth), MAX_PATH_DEPTH))

    async def work(tx: Tx) -> list[Path]:
        ends = await fetch_nodes(tx, ns, schema, list(dict.fromkeys([source, target])))
        if source not in ends or target not in ends:
            return []
        adjacency = await _ball(tx, ns, schema, source, target, direction, types, weight, max_depth, max_edges)
        found = algorithms.all_shortest_paths(
            adjacency, source, target, weight=weight, max_depth=max_depth, limit=limit
        )
        return await _assemble_paths(runner, tx, ns, schema, found)

    return await runner.read(work)


async def _ball(
    tx: Tx,
    ns: Namespace,
    schema: GraphSchema,
    source: str,
    target: str,
    direction: Direction,
    types: tuple[str, ...],
    weight: str | None,
    max_depth: int,
    max_edges: int,
) -> dict[str, list[Step]]:
    """The followable steps of every node within max_depth - 1 hops of the source, hop by hop;
    unweighted the walk stops once the target is reached (no shortest path goes further);
    weighted it only follows edges that have the weight. At most `max_edges` steps,
    else PayloadTooLarge."""
    left, right = ARROWS[direction]
    type_test = f"r.{Q_TYPE} IN $types" if types else "true"
    declared = schema.edge_property_types()
    if weight is None:
        weight_test, weight_value = "", "null"
    else:
        stored = quote(validate_name(weight, what="weight property", field="weight"))
        weight_test, weight_value = f" AND r.{stored} IS NOT NULL", f"r.{stored}"
    hop = (
        f"UNWIND $frontier AS k MATCH (a:{ns.n} {{{Q_KEY}: k}}){left}[r:{ns.r}]{right}(b) "
        f"WHERE {type_test}{weight_test} "
        f"RETURN k AS tail, r.{Q_KEY} AS id, b.{Q_KEY} AS far, r.{Q_TYPE} AS type, {weight_value} AS w"
    )
    adjacency: dict[str, list[Step]] = {}
    seen = {source}
    frontier = [source]
    fetched = 0
    for _hop in range(max_depth):
        if not frontier or (weight is None and target in seen):
            break
        result = await tx.run(hop, frontier=frontier, types=list(types))
        following: list[str] = []
        async for record in result:
            fetched += 1
            if fetched > max_edges:
                raise PayloadTooLarge(
                    f"a path search may look at most {max_edges} edges; narrow it with types or max_depth",
                    field="weight" if weight is not None else "max_depth",
                )
            value = None
            if weight is not None:
                edge_types = schema.edge_property_types((record["type"],)) if declared else {}
                value = decode_value(record["w"], edge_types.get(weight))
            adjacency.setdefault(record["tail"], []).append(Step(record["id"], record["far"], value))
            if record["far"] not in seen:
                seen.add(record["far"])
                following.append(record["far"])
        frontier = following
    return adjacency


async def _assemble_paths(
    runner: TransactionRunner, tx: Tx, ns: Namespace, schema: GraphSchema, found: Sequence[algorithms.FoundPath]
) -> list[Path]:
    """Paths of ids to paths of nodes and edges, each node and edge read once."""
    node_ids = list(dict.fromkeys(n for path in found for n in path.nodes))
    edge_ids = list(dict.fromkeys(e for path in found for e in path.edges))
    nodes: dict[str, Node] = {}
    for batch in runner.batches(node_ids):
        nodes.update(await fetch_nodes(tx, ns, schema, list(batch)))
    edges: dict[str, Edge] = {}
    text = f"UNWIND $ids AS k MATCH (a)-[r:{ns.r} {{{Q_KEY}: k}}]->(b) RETURN {EDGE_RETURN}"
    for batch in runner.batches(edge_ids):
        result = await tx.run(text, ids=list(batch))
        for record in await result.data():
            edge = edge_out(record, schema)
            edges[edge.id] = edge
    return [
        Path(
            nodes=tuple(nodes[n] for n in path.nodes),
            edges=tuple(edges[e] for e in path.edges),
            cost=path.cost,
        )
        for path in found
    ]


async def _fewest_hops(
    runner: TransactionRunner,
    ns: Namespace,
    schema: GraphSchema,
    source: str,
    target: str,
    direction: Direction,
    types: tuple[str, ...],
    max_depth: int,
) -> Path | None:
    """Both ends, `shortestPath` and the path's nodes and edges (with each edge's own start and end,
    whichever way it was walked) in one statement; no row when an end is missing or no path exists."""
    records = await runner.read_records(
        _fewest_hops_text(ns, direction, bool(types), max_depth),
        {"source": source, "target": target, "types": list(types)},
    )
    if not records:
        return None
    stored_nodes, stored_edges = records[0].values()
    return Path(
        nodes=tuple(node_out(stored, schema) for stored in stored_nodes),
        edges=tuple(edge_from(stored, s, t, schema) for stored, s, t in stored_edges),
        cost=None,
    )


@functools.lru_cache(maxsize=1024)
def _fewest_hops_text(ns: Namespace, direction: Direction, typed: bool, max_depth: int) -> str:
    left, right = ARROWS[direction]
    type_test = f"WHERE all(r IN relationships(p) WHERE r.{Q_TYPE} IN $types) " if typed else ""
    return (
        f"MATCH (a:{ns.n} {{{Q_KEY}: $source}}) MATCH (b:{ns.n} {{{Q_KEY}: $target}}) "
        f"MATCH p = shortestPath((a){left}[:{ns.r}*1..{max_depth:d}]{right}(b)) {type_test}"
        "RETURN [n IN nodes(p) | properties(n)] AS nodes, "
        f"[r IN relationships(p) | [properties(r), startNode(r).{Q_KEY}, endNode(r).{Q_KEY}]] AS edges LIMIT 1"
    )


async def _assemble_path(
    tx: Tx,
    ns: Namespace,
    schema: GraphSchema,
    source: str,
    edge_ids: list[str],
    far_ends: list[str],
    cost: Any,
) -> Path:
    node_ids = [source, *far_ends]
    nodes = await fetch_nodes(tx, ns, schema, list(dict.fromkeys(node_ids)))
    result = await tx.run(
        f"UNWIND $ids AS k MATCH (a)-[r:{ns.r} {{{Q_KEY}: k}}]->(b) RETURN {EDGE_RETURN}", ids=edge_ids
    )
    edges = {edge.id: edge for edge in (edge_out(record, schema) for record in await result.data())}
    return Path(
        nodes=tuple(nodes[n] for n in node_ids),
        edges=tuple(edges[e] for e in edge_ids),
        cost=cost,
    )
