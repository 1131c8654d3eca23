"""What the Neo4j graph store's reads, writes and path searches share: the MATCH clauses of a
dataset's nodes and edges (filters compiled by `cypher`), and stored nodes and relationships turned
back into domain `Node`s and `Edge`s (values decoded by `values`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datainfra.adapters.neo4j import cypher_filters
from datainfra.adapters.neo4j.graph_transactions import Tx
from datainfra.adapters.neo4j.namespacing import KEY, LABELS, Q_KEY, Q_TYPE, TYPE, Namespace
from datainfra.adapters.neo4j.values import decode_properties
from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import Direction, Edge, Node
from datainfra.domain.graph_schema import GraphSchema

EDGE_RETURN = f"properties(r) AS p, a.{Q_KEY} AS s, b.{Q_KEY} AS t"
EDGE_RETURN_R = f"properties(r) AS p, startNode(r).{Q_KEY} AS s, endNode(r).{Q_KEY} AS t"
ARROWS = {Direction.OUT: ("-", "->"), Direction.IN: ("<-", "-"), Direction.BOTH: ("-", "-")}
"""The two halves of a relationship pattern followed in a direction: `(a){left}[r]{right}(b)`."""


def node_match(ns: Namespace, labels: tuple[str, ...], spec: FilterSpec, params: cypher_filters.Params) -> str:
    """`MATCH (n...) WHERE ...` for the dataset's nodes with every label of `labels`; the namespaced
    client labels alone already pin the dataset, so the planner may scan the smallest label."""
    pattern = f"(n{ns.labels(labels)})" if labels else f"(n:{ns.n})"
    conditions = cypher_filters.where(spec, cypher_filters.node_field("n"), params)
    return f"MATCH {pattern} WHERE " + " AND ".join(["true", *conditions])


def edge_match(ns: Namespace, types: tuple[str, ...], spec: FilterSpec, params: cypher_filters.Params) -> str:
    conditions = cypher_filters.where(spec, cypher_filters.edge_field("r", "a", "b"), params)
    if types:
        conditions.insert(0, f"r.{Q_TYPE} IN {params.add(list(types))}")
    return f"MATCH (a)-[r:{ns.r}]->(b) WHERE " + " AND ".join(["true", *conditions])


async def single(tx: Tx, text: str, params: Mapping[str, Any], key: str) -> Any:
    result = await tx.run(text, dict(params))
    record = await result.single(strict=True)
    return record[key]


async def fetch_nodes(tx: Tx, ns: Namespace, schema: GraphSchema, ids: list[str]) -> dict[str, Node]:
    result = await tx.run(f"UNWIND $ids AS k MATCH (n:{ns.n} {{{Q_KEY}: k}}) RETURN properties(n) AS p", ids=ids)
    nodes = [node_out(record["p"], schema) for record in await result.data()]
    return {node.id: node for node in nodes}


def node_out(stored: Mapping[str, Any], schema: GraphSchema) -> Node:
    labels = tuple(stored.get(LABELS) or ())
    return Node(id=stored[KEY], labels=labels, properties=decode_properties(stored, schema.node_property_types(labels)))


def edge_out(record: Mapping[str, Any], schema: GraphSchema) -> Edge:
    return edge_from(record["p"], record["s"], record["t"], schema)


def edge_from(stored: Mapping[str, Any], source: str, target: str, schema: GraphSchema) -> Edge:
    rel_type = stored[TYPE]
    return Edge(
        id=stored[KEY],
        source=source,
        target=target,
        type=rel_type,
        properties=decode_properties(stored, schema.edge_property_types((rel_type,))),
    )
