"""Neo4jGraphStore: graph datasets in one shared Neo4j (Community) database.

The store composes the parts, each a module of functions over one `TransactionRunner`
(`graph_transactions`: one transaction per call of work, bounded in time, driver errors translated):
`graph_lifecycle` (schema objects, strict-schema checks, dropping), `graph_writes` (planned by
`graph_write_plan`), `graph_reads` (searches and neighbourhoods), `graph_paths` (shortest paths) and
`graph_projection` (the algorithms' input). Isolation and naming are described in `namespacing`;
value storage in `values`; filters in `cypher_filters`. Every statement is a fixed template: user-chosen
labels and property names reach it only validated and backtick-quoted, values only as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import neo4j

from datainfra.adapters.neo4j import graph_lifecycle, graph_paths, graph_projection, graph_reads, graph_writes
from datainfra.adapters.neo4j.graph_transactions import TransactionRunner
from datainfra.domain.algorithms import Projection
from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import Direction, Edge, Node, Path, Subgraph
from datainfra.domain.model import Dataset
from datainfra.domain.ports.graph_bookmarks import GraphBookmarks
from datainfra.domain.ports.graph_store import EdgePage, GraphStore, NodePage, NodeUpdate
from datainfra.domain.query import RecordQuery
from datainfra.domain.records import OnConflict, WriteResult

DEFAULT_BATCH_SIZE = 10_000
MAX_WEIGHTED_EDGES = 200_000
"""The most edges a path search (weighted, or all shortest paths) fetches before giving up."""
PROJECTION_BATCH = 20_000
"""Rows per statement when projecting a graph for the algorithms."""


class Neo4jGraphStore(GraphStore):
    def __init__(
        self,
        driver: neo4j.AsyncDriver,
        *,
        database: str = "neo4j",
        transaction_timeout: float | None = 60.0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_weighted_edges: int = MAX_WEIGHTED_EDGES,
        projection_batch: int = PROJECTION_BATCH,
        bookmarks: GraphBookmarks | None = None,
    ) -> None:
        self._runner = TransactionRunner(
            driver,
            database=database,
            transaction_timeout=transaction_timeout,
            batch_size=batch_size,
            bookmarks=bookmarks,
        )
        self._bookmarks = bookmarks
        self._max_weighted_edges = max_weighted_edges
        self._projection_batch = projection_batch

    @property
    def driver(self) -> neo4j.AsyncDriver:
        """The driver, shared with the Cypher query runner (one pool of Bolt connections)."""
        return self._runner.driver

    @property
    def bookmarks(self) -> GraphBookmarks | None:
        """Where each dataset's bookmarks are kept (shared with the Cypher query runner), or None."""
        return self._bookmarks

    # -- lifecycle --------------------------------------------------------------------------------

    async def ping(self) -> None:
        await self._runner.ping()

    async def create_graph(self, dataset: Dataset) -> None:
        await graph_lifecycle.create_graph(self._runner.for_dataset(dataset.id), dataset)

    async def migrate_graph(self, before: Dataset, after: Dataset) -> None:
        await graph_lifecycle.migrate_graph(self._runner.for_dataset(after.id), before, after)

    async def drop_graph(self, dataset: Dataset) -> None:
        await graph_lifecycle.drop_graph(self._runner.for_dataset(dataset.id), dataset)
        if self._bookmarks is not None:
            await self._bookmarks.forget(dataset.id)

    # -- writes -----------------------------------------------------------------------------------

    async def write(
        self, dataset: Dataset, nodes: Sequence[Node], edges: Sequence[Edge], on_conflict: OnConflict
    ) -> WriteResult:
        return await graph_writes.write(self._runner.for_dataset(dataset.id), dataset, nodes, edges, on_conflict)

    async def update_nodes(self, dataset: Dataset, updates: Sequence[NodeUpdate]) -> int:
        return await graph_writes.update_nodes(self._runner.for_dataset(dataset.id), dataset, updates)

    async def update_nodes_where(
        self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec, changes: dict[str, Any]
    ) -> int:
        return await graph_writes.update_nodes_where(
            self._runner.for_dataset(dataset.id), dataset, labels, filter, changes
        )

    async def delete_nodes_where(self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec) -> int:
        return await graph_writes.delete_nodes_where(self._runner.for_dataset(dataset.id), dataset, labels, filter)

    async def delete_edges_where(self, dataset: Dataset, types: tuple[str, ...], filter: FilterSpec) -> int:
        return await graph_writes.delete_edges_where(self._runner.for_dataset(dataset.id), dataset, types, filter)

    # -- reads ------------------------------------------------------------------------------------

    async def find_nodes(self, dataset: Dataset, labels: tuple[str, ...], query: RecordQuery) -> NodePage:
        return await graph_reads.find_nodes(self._runner.for_dataset(dataset.id), dataset, labels, query)

    async def get_node(self, dataset: Dataset, node_id: str) -> Node | None:
        return await graph_reads.get_node(self._runner.for_dataset(dataset.id), dataset, node_id)

    async def find_edges(self, dataset: Dataset, types: tuple[str, ...], query: RecordQuery) -> EdgePage:
        return await graph_reads.find_edges(self._runner.for_dataset(dataset.id), dataset, types, query)

    async def count_nodes(self, dataset: Dataset) -> int:
        return await graph_reads.count_nodes(self._runner.for_dataset(dataset.id), dataset)

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
        return await graph_reads.neighbors(
            self._runner.for_dataset(dataset.id),
            dataset,
            node_id,
            direction=direction,
            types=types,
            depth=depth,
            limit=limit,
        )

    # -- paths ------------------------------------------------------------------------------------

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
        return await graph_paths.shortest_path(
            self._runner.for_dataset(dataset.id),
            dataset,
            source,
            target,
            direction=direction,
            types=types,
            weight=weight,
            max_depth=max_depth,
            max_edges=self._max_weighted_edges,
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
        return await graph_paths.all_shortest_paths(
            self._runner.for_dataset(dataset.id),
            dataset,
            source,
            target,
            direction=direction,
            types=types,
            weight=weight,
            max_depth=max_depth,
            limit=limit,
            max_edges=self._max_weighted_edges,
        )

    # -- algorithms -------------------------------------------------------------------------------

    async def project(
        self, dataset: Dataset, *, types: tuple[str, ...], weight: str | None, max_nodes: int, max_edges: int
    ) -> Projection:
        return await graph_projection.project(
            self._runner.for_dataset(dataset.id),
            dataset,
            types=types,
            weight=weight,
            max_nodes=max_nodes,
            max_edges=max_edges,
            batch_rows=self._projection_batch,
        )
