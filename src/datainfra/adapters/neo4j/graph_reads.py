"""Reads of the Neo4j graph store: node and edge searches (filtered, sorted, keyset or offset
paged), one node, the node count, and the neighbourhood of a node walked hop by hop."""

from __future__ import annotations

from collections.abc import Mapping

from datainfra.adapters.neo4j import cypher_filters
from datainfra.adapters.neo4j.graph_rows import (
    ARROWS,
    EDGE_RETURN,
    EDGE_RETURN_R,
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
    hop = (
        f"UNWIND $frontier AS k MATCH (a:{ns.n} {{{Q_KEY}: k}}){left}[r:{ns.r}]{right}(b) "
        f"WHERE {type_test} RETURN DISTINCT b.{Q_KEY} AS id"
    )
    links = (
        f"UNWIND $tails AS k MATCH (a:{ns.n} {{{Q_KEY}: k}}){left}[r:{ns.r}]{right}(b) "
        f"WHERE {type_test} AND b.{Q_KEY} IN $kept "
        f"WITH DISTINCT r RETURN {EDGE_RETURN_R}"
    )

    async def work(tx: Tx) -> Subgraph:
        start = await fetch_nodes(tx, ns, schema, [node_id])
        if node_id not in start:
            raise NotFound(f"node {node_id!r} does not exist", key=node_id)
        distance = {node_id: 0}
        frontier = [node_id]
        for step in range(1, depth + 1):
            if not frontier or len(distance) - 1 >= limit:
                break
            result = await tx.run(hop, frontier=frontier, types=list(types))
            found = sorted({record["id"] for record in await result.data()} - distance.keys())
            for far in found:
                distance[far] = step
            frontier = found
        reached = sorted((d, n) for n, d in distance.items() if n != node_id)[:limit]
        kept = {node_id: 0} | {n: d for d, n in reached}
        tails = [n for n, d in kept.items() if d < depth]
        edges: dict[str, Edge] = {}
        if tails:
            result = await tx.run(links, tails=tails, kept=list(kept), types=list(types))
            for record in await result.data():
                edge = edge_out(record, schema)
                edges[edge.id] = edge
        fetched = await fetch_nodes(tx, ns, schema, [n for _d, n in reached])
        return Subgraph(
            nodes=tuple(fetched[n] for _d, n in reached),
            edges=tuple(edges[k] for k in sorted(edges)),
        )

    return await runner.read(work)


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
