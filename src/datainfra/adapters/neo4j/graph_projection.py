"""The Neo4j graph store's projection: the whole graph as node ids and weighted edges, the input of
the graph algorithms (`domain.algorithms`: PageRank, components, degrees), read in key order in
bounded batches, each in a short transaction of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from datainfra.adapters.neo4j.graph_rows import single
from datainfra.adapters.neo4j.graph_transactions import TransactionRunner, Tx
from datainfra.adapters.neo4j.namespacing import Q_KEY, Q_TYPE, Namespace, quote
from datainfra.adapters.neo4j.values import decode_value
from datainfra.domain.algorithms import ProjectedEdge, Projection, check_projection_size
from datainfra.domain.model import Dataset
from datainfra.domain.names import validate_name
from datainfra.domain.types import FieldType


async def project(
    runner: TransactionRunner,
    dataset: Dataset,
    *,
    types: tuple[str, ...],
    weight: str | None,
    max_nodes: int,
    max_edges: int,
    batch_rows: int,
) -> Projection:
    """Count first (refusing an oversized graph before reading it), then read node ids and edges
    in key order, `batch_rows` rows per statement, each collected into one list (far
    cheaper for the driver than a record per row) and each in its own short transaction, so
    no single transaction runs into the timeout however big the graph. An edge created
    meanwhile may name a node the node scan missed: its ends join the node ids."""
    ns = Namespace.of(dataset.id)
    schema = dataset.graph_schema
    type_test = f"r.{Q_TYPE} IN $types" if types else "true"
    weight_value = "null"
    if weight is not None:
        weight_value = f"r.{quote(validate_name(weight, what='weight property', field='weight'))}"
    limits = {"max_nodes": max_nodes, "max_edges": max_edges}

    async def counts(tx: Tx) -> tuple[int, int]:
        nodes = await single(tx, f"MATCH (n:{ns.n}) RETURN count(n) AS c", {}, "c")
        text = f"MATCH ()-[r:{ns.r}]->() WHERE {type_test} RETURN count(r) AS c"
        return nodes, await single(tx, text, {"types": list(types)}, "c")

    check_projection_size(*await runner.read(counts), **limits)
    node_ids: list[str] = []
    node_text = (
        f"MATCH (n:{ns.n}) WHERE n.{Q_KEY} > $after WITH n ORDER BY n.{Q_KEY} LIMIT $batch "
        f"RETURN collect(n.{Q_KEY}) AS rows"
    )
    async for batch in _key_ordered(runner, node_text, {}, batch_rows):
        node_ids.extend(batch)
        check_projection_size(len(node_ids), 0, **limits)
    edges: list[ProjectedEdge] = []
    weight_types: dict[str, FieldType | None] = {}
    edge_text = (
        f"MATCH (a)-[r:{ns.r}]->(b) WHERE r.{Q_KEY} > $after AND {type_test} "
        f"WITH r, a, b ORDER BY r.{Q_KEY} LIMIT $batch "
        f"RETURN collect([r.{Q_KEY}, a.{Q_KEY}, b.{Q_KEY}, r.{Q_TYPE}, {weight_value}]) AS rows"
    )
    async for batch in _key_ordered(runner, edge_text, {"types": list(types)}, batch_rows):
        for edge_id, source, target, rel_type, value in batch:
            if value is not None and weight is not None:
                if rel_type not in weight_types:
                    weight_types[rel_type] = schema.edge_property_types((rel_type,)).get(weight)
                value = decode_value(value, weight_types[rel_type])
            edges.append(ProjectedEdge(edge_id, source, target, value))
        check_projection_size(0, len(edges), **limits)
    known = set(node_ids)
    for edge in edges:
        for end in (edge.source, edge.target):
            if end not in known:
                known.add(end)
                node_ids.append(end)
    return Projection(tuple(node_ids), tuple(edges))


async def _key_ordered(
    runner: TransactionRunner, text: str, params: Mapping[str, Any], batch_rows: int
) -> AsyncIterator[list[Any]]:
    """Run a keyset-paged statement (parameters $after, $batch; one row `rows` whose items
    start with the key) until it returns an empty list."""
    after = ""
    while True:
        values = {**params, "after": after, "batch": batch_rows}

        async def page(tx: Tx, values: Mapping[str, Any] = values) -> list[Any]:
            return list(await single(tx, text, values, "rows"))

        rows = await runner.read(page)
        if not rows:
            return
        yield rows
        last = rows[-1]
        after = last[0] if isinstance(last, list) else last
