"""Reads of the Neo4j graph store: node and edge searches (filtered, sorted, keyset or offset
paged), one node, the node count, and the neighbourhood of a node walked hop by hop."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import neo4j

from datainfra.adapters.neo4j import cypher_filters
from datainfra.adapters.neo4j.graph_rows import (
    ARROWS,
    EDGE_RETURN,
    EDGE_RETURN_R,
    edge_from,
    edge_match,
    edge_out,
    fetch_nodes,
    node_match,
    node_out,
    single,
)
from datainfra.adapters.neo4j.graph_transactions import TransactionRunner, Tx
from datainfra.adapters.neo4j.namespacing import Q_KEY, Q_TYPE, Namespace
from datainfra.domain.errors import NotFound
from datainfra.domain.graph import MAX_TRAVERSAL_DEPTH, Direction, Edge, Node, Subgraph
from datainfra.domain.graph_schema import NODE_KEY
from datainfra.domain.model import Dataset
from datainfra.domain.ports.graph_store import EdgePage, NodePage
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.domain.types import FieldType


async def find_nodes(
    runner: TransactionRunner, dataset: Dataset, labels: tuple[str, ...], query: RecordQuery
) -> NodePage:
    ns = Namespace.of(dataset.id)
    schema = dataset.graph_schema
    declared = schema.node_property_types(labels or None)
    field = cypher_filters.node_field("n")

    async def work(tx: Tx) -> NodePage:
        params = cypher_filters.Params()
        match = node_match(ns, labels, query.filter, params)
        total = None
        if query.count is not None:
            total = await single(tx, f"{match} RETURN count(n) AS total", params.values, "total")
        page = _page_clause(query, field, declared, params)
        result = await tx.run(f"{match} {page.where} RETURN properties(n) AS p {page.tail}", params.values)
        rows = [node_out(record["p"], schema) for record in await result.fetch(query.limit + 1)]
        await result.consume()
        return NodePage(rows[: query.limit], len(rows) > query.limit, total)

    return await runner.read(work)


async def get_node(runner: TransactionRunner, dataset: Dataset, node_id: str) -> Node | None:
    ns = Namespace.of(dataset.id)
    found = await runner.read(lambda tx: fetch_nodes(tx, ns, dataset.graph_schema, [node_id]))
    return found.get(node_id)


async def find_edges(
    runner: TransactionRunner, dataset: Dataset, types: tuple[str, ...], query: RecordQuery
) -> EdgePage:
    ns = Namespace.of(dataset.id)
    schema = dataset.graph_schema
    declared = schema.edge_property_types(types or None)
    field = cypher_filters.edge_field("r", "a", "b")

    async def work(tx: Tx) -> EdgePage:
        params = cypher_filters.Params()
        match = edge_match(ns, types, query.filter, params)
        total = None
        if query.count is not None:
            total = await single(tx, f"{match} RETURN count(r) AS total", params.values, "total")
        page = _page_clause(query, field, declared, params)
        result = await tx.run(f"{match} {page.where} RETURN {EDGE_RETURN} {page.tail}", params.values)
        rows = [edge_out(record, schema) for record in await result.fetch(query.limit + 1)]
        await result.consume()
        return EdgePage(rows[: query.limit], len(rows) > query.limit, total)

    return await runner.read(work)


async def count_nodes(runner: TransactionRunner, dataset: Dataset) -> int:
    ns = Namespace.of(dataset.id)
    return await runner.read(lambda tx: single(tx, f"MATCH (n:{ns.n}) RETURN count(n) AS c", {}, "c"))


async def neighbors(
    runner: TransactionRunner,
    dataset: Dataset,
    node_id: str,
    *,
    direction: Direction,
    types: tuple[str, ...],
    depth: int,
    limit: int,
) -> Subgraph:
    ns = Namespace.of(dataset.id)
    schema = dataset.graph_schema
    depth = max(0, min(int(depth), MAX_TRAVERSAL_DEPTH))
    limit = max(0, int(limit))
    left, right = ARROWS[direction]
    type_test = f"r.{Q_TYPE} IN $types" if types else "true"
    links = (
        f"UNWIND $tails AS k MATCH (a:{ns.n} {{{Q_KEY}: k}}){left}[r:{ns.r}]{right}(b) "
        f"WHERE {type_test} AND b.{Q_KEY} IN $kept "
        f"WITH DISTINCT r RETURN {EDGE_RETURN_R}"
    )

    walk = _walk_text(ns, direction, bool(types), depth)
    walk_params = {"id": node_id, "types": list(types), "limit": limit}

    def reached_by(record: neo4j.Record | None) -> tuple[list[tuple[int, str]], Subgraph | None]:
        """The nodes reached (distance, id; cut at `limit`) and, when nothing was cut, the answer."""
        if record is None:
            raise NotFound(f"node {node_id!r} does not exist", key=node_id)
        layers, stored_nodes, stored_edges = record.values()
        distance = {node_id: 0}
        for step, layer in enumerate(layers, start=1):
            for far in layer:
                distance[far] = step
        reached = sorted((d, n) for n, d in distance.items() if n != node_id)[:limit]
        if stored_nodes is None:
            return reached, None
        # Nothing was cut by the limit: the walk's own statement brought every node and edge.
        nodes = {node.id: node for node in (node_out(stored, schema) for stored in stored_nodes)}
        walked = {edge.id: edge for edge in (edge_from(p, s, t, schema) for p, s, t in stored_edges)}
        answer = Subgraph(nodes=tuple(nodes[n] for _d, n in reached), edges=tuple(walked[k] for k in sorted(walked)))
        return reached, answer

    if depth >= 1:
        # The common case is the walk's statement alone; a walk cut by `limit` is read again below,
        # with the statements that complete it, in one transaction.
        records = await runner.read_records(walk, walk_params)
        _reached, answer = reached_by(records[0] if records else None)
        if answer is not None:
            return answer

    async def work(tx: Tx) -> Subgraph:
        if depth < 1:
            start = await fetch_nodes(tx, ns, schema, [node_id])
            if node_id not in start:
                raise NotFound(f"node {node_id!r} does not exist", key=node_id)
            return Subgraph(nodes=(), edges=())
        reached, answer = reached_by(await (await tx.run(walk, walk_params)).single())
        if answer is not None:
            return answer
        kept = {node_id: 0} | {n: d for d, n in reached}
        tails = [n for n, d in kept.items() if d < depth]
        edges: dict[str, Edge] = {}
        if tails:
            result = await tx.run(links, tails=tails, kept=list(kept), types=list(types))
            for row in await result.data():
                edge = edge_out(row, schema)
                edges[edge.id] = edge
        fetched = await fetch_nodes(tx, ns, schema, [n for _d, n in reached])
        return Subgraph(
            nodes=tuple(fetched[n] for _d, n in reached),
            edges=tuple(edges[k] for k in sorted(edges)),
        )

    return await runner.read(work)


@functools.lru_cache(maxsize=1024)
def _walk_text(ns: Namespace, direction: Direction, typed: bool, depth: int) -> str:
    """The breadth-first walk of `neighbors` in one statement: no row when the start node is missing;
    else `layers` (the ids first reached at each hop, each hop only while fewer than `$limit` nodes
    are reached, as the walk hop by hop would) and, when at most `$limit` nodes were reached (so none
    is cut), `nodes` (their properties) and `edges` (properties, start id, end id: every followable
    edge from a node nearer than `depth` to a reached node or the start); otherwise those two null."""
    left, right = ARROWS[direction]
    type_test = f"r.{Q_TYPE} IN $types" if typed else "true"
    layers = [f"f{i}" for i in range(depth + 1)]
    parts = [f"MATCH (s:{ns.n} {{{Q_KEY}: $id}}) WITH s, [s] AS seen, [s] AS f0"]
    for i in range(1, depth + 1):
        previous = ", ".join(layers[:i])
        parts.append(
            f"CALL {{ WITH seen, f{i - 1} WITH seen, f{i - 1} WHERE size(seen) <= $limit "
            f"UNWIND f{i - 1} AS a MATCH (a){left}[r:{ns.r}]{right}(b) WHERE {type_test} AND NOT b IN seen "
            f"RETURN collect(DISTINCT b) AS f{i} }} "
            f"WITH s, seen + f{i} AS seen, {previous}, f{i}"
        )
    tails = " + ".join(layers[:depth])
    parts.append(
        f"WITH s, seen, {', '.join(layers)}, size(seen) - 1 <= $limit AS whole "
        f"CALL {{ WITH seen, whole, {', '.join(layers[:depth])} WITH seen, {tails} AS tails WHERE whole "
        f"UNWIND tails AS a MATCH (a){left}[r:{ns.r}]{right}(b) WHERE {type_test} AND b IN seen "
        f"WITH DISTINCT r RETURN collect([properties(r), startNode(r).{Q_KEY}, endNode(r).{Q_KEY}]) AS edges }} "
        f"RETURN [{', '.join(f'[b IN {f} | b.{Q_KEY}]' for f in layers[1:])}] AS layers, "
        "CASE WHEN whole THEN [b IN seen[1..] | properties(b)] END AS nodes, "
        "CASE WHEN whole THEN edges END AS edges"
    )
    return " ".join(parts)


class _PageClause:
    def __init__(self, where: str, tail: str) -> None:
        self.where = where
        self.tail = tail


def _page_clause(
    query: RecordQuery,
    field: cypher_filters.FieldExpr,
    declared: Mapping[str, FieldType],
    params: cypher_filters.Params,
) -> _PageClause:
    """Keyset bound, ORDER BY (always ending with the key, so pages are stable), SKIP and LIMIT."""
    sort = tuple(query.sort)
    if not any(k.field == NODE_KEY for k in sort):
        sort = (*sort, SortKey(NODE_KEY))
    where = ""
    if query.after is not None:
        where = "AND " + cypher_filters.after(query.sort, query.after, field, declared, params)
    order = cypher_filters.order_by(sort, field, declared)
    tail = f"{order} SKIP {params.add(query.offset)} LIMIT {params.add(query.limit + 1)}"
    return _PageClause(where, tail)
