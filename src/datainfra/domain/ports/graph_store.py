"""GraphStore: where the nodes and relationships of graph datasets live."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from datainfra.domain.algorithms import Projection
from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import Direction, Edge, Node, Path, Subgraph
from datainfra.domain.model import Dataset
from datainfra.domain.query import RecordQuery
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.domain.types import FieldValue


@dataclass(frozen=True, slots=True)
class NodePage:
    items: list[Node]
    has_more: bool
    total: int | None = None


@dataclass(frozen=True, slots=True)
class EdgePage:
    items: list[Edge]
    has_more: bool
    total: int | None = None


@dataclass(frozen=True, slots=True)
class NodeUpdate:
    """Set (merge) these properties on node `id`; a None value removes the property. `labels`, when
    given, replaces the node's labels."""

    id: str
    properties: dict[str, FieldValue]
    labels: tuple[str, ...] | None = None


class GraphStore(Protocol):
    """Nodes and relationships of graph datasets. Every dataset is its own isolated graph: nothing
    reads, matches or links across datasets.

    Contract (every adapter, checked by tests/contract/test_graph_store_contract.py):
    - Node ids are the client's keys (text), unique within a dataset; edge ids likewise (the service
      assigns one when the client gives none). Edges are directed; a property may be named "id" like
      any other (the key is apart from the properties); a property whose value would be null is absent.
    - Property values in and out are the typed values of `domain.types`; lists of scalars allowed.
    - `write` stores nodes first, then edges, all-or-nothing. A node or edge id that exists (or
      repeats in the request) under ERROR raises `Conflict` naming the id; UPDATE replaces labels and
      merges properties; IGNORE skips it. An edge whose source or target is not in the dataset (after
      this request's nodes) raises `InvalidInput` with index = the edge's position and
      field = "edges[i].source" or "edges[i].target". UPDATE on an existing edge id merges its
      properties; an edge's endpoints and type never change (a different source, target or type
      raises `InvalidInput` for that edge, field "edges[i]").
    - Declared unique property indexes are enforced: a duplicate value raises `Conflict`.
    - Filters compare values of the condition's type; whether a value of another type matches is
      unspecified (stores differ), so clients should keep a property's type consistent.
    - Filters (domain.filters) apply to node properties and to "id" (text, the key: a property named
      "id" is not filterable); for edges to properties and "id", "source", "target" (text, likewise).
      A condition on an absent property is false, except `is:null`. Sort as for records (NULLs last
      ascending, first descending; the service appends id).
    - `neighbors`: the nodes reachable from `node_id` in 1..depth hops along edges of `types` (all
      when empty) in `direction`, excluding the start node, ordered by hop distance then id, at most
      `limit`; the edges are every edge of those types, followable in that direction, whose tail
      (for `both`: either end) is the start or a returned node at distance < depth and whose other
      end is the start or a returned node, ordered by id. `NotFound` when the start node is absent.
    - `shortest_path`: unweighted = fewest hops; with `weight`, the least total of that numeric edge
      property (edges lacking it are not traversable; a negative weight raises InvalidInput). Paths
      longer than `max_depth` hops are not considered. None when there is no path (or when source
      or target is absent: the service checks those first). Ties may be broken either way.
    - `all_shortest_paths`: every minimal path (same rules as `shortest_path`; weighted, those that
      repeat no node), as `domain.algorithms.all_shortest_paths` defines and orders them: by the
      sequence of node ids, then of edge ids. At most `limit`; empty when there is none. Adapters
      fetch the edges around the source and run that shared function, so stores agree exactly.
    - `project`: the input of the graph algorithms (PageRank, components, degrees, which run in
      `domain.algorithms`, identically for every store): every node id of the dataset and every
      edge of `types` (all when empty) with the raw value of its `weight` property (None when
      absent or not asked for). When the dataset has more than `max_nodes` nodes or more than
      `max_edges` such edges, raises `PayloadTooLarge` (via `algorithms.check_projection_size`)
      before fetching them; the rest is fetched in bounded batches.
    - Deleting one node or edge by id is `delete_nodes_where` / `delete_edges_where` with the
      condition id eq that id (they return 0 when it is absent).
    - Raises `StoreUnavailable` when the server cannot be reached, `StoreTimeout` past its limit.
    """

    async def create_graph(self, dataset: Dataset) -> None:
        """Prepare the dataset's namespace: key constraint and declared property indexes."""
        ...

    async def migrate_graph(self, before: Dataset, after: Dataset) -> None:
        """Apply a schema change: index changes; under a strict schema, existing data must conform
        (else InvalidInput and nothing changes)."""
        ...

    async def drop_graph(self, dataset: Dataset) -> None:
        """Delete every node and edge of the dataset, in bounded batches. Idempotent."""
        ...

    async def write(
        self, dataset: Dataset, nodes: Sequence[Node], edges: Sequence[Edge], on_conflict: OnConflict
    ) -> WriteResult: ...

    async def update_nodes(self, dataset: Dataset, updates: Sequence[NodeUpdate]) -> int:
        """All-or-nothing; an id that is absent raises InvalidInput with the update's index."""
        ...

    async def update_nodes_where(
        self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec, changes: dict[str, FieldValue]
    ) -> int:
        """Merge `changes` into every node carrying all `labels` and matching `filter`."""
        ...

    async def delete_nodes_where(self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec) -> int:
        """Delete matching nodes and their edges; returns the nodes deleted."""
        ...

    async def delete_edges_where(self, dataset: Dataset, types: tuple[str, ...], filter: FilterSpec) -> int: ...

    async def find_nodes(self, dataset: Dataset, labels: tuple[str, ...], query: RecordQuery) -> NodePage:
        """Nodes carrying every label in `labels`, filtered, sorted and paged as `query` says."""
        ...

    async def get_node(self, dataset: Dataset, node_id: str) -> Node | None: ...

    async def neighbors(
        self,
        dataset: Dataset,
        node_id: str,
        *,
        direction: Direction,
        types: tuple[str, ...],
        depth: int,
        limit: int,
    ) -> Subgraph: ...

    async def find_edges(self, dataset: Dataset, types: tuple[str, ...], query: RecordQuery) -> EdgePage: ...

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
    ) -> Path | None: ...

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
    ) -> list[Path]: ...

    async def project(
        self, dataset: Dataset, *, types: tuple[str, ...], weight: str | None, max_nodes: int, max_edges: int
    ) -> Projection: ...

    async def count_nodes(self, dataset: Dataset) -> int: ...

    async def ping(self) -> None: ...
