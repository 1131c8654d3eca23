"""Stand-ins for a store that is not configured on this machine: every call answers 503 with a
problem document that says how to get the store, instead of failing at start-up. One class per port,
each subclassing its Protocol, so mypy holds the stand-in to the port like any other adapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from datainfra.domain.algorithms import Projection
from datainfra.domain.errors import StoreUnavailable
from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import Direction, Edge, Node, Path, Subgraph
from datainfra.domain.model import Dataset, Session
from datainfra.domain.ports.graph_store import EdgePage, GraphStore, NodePage, NodeUpdate
from datainfra.domain.ports.query_runners import CypherQueryRunner, SqlQueryRunner
from datainfra.domain.queries import QueryLimits, QueryResult
from datainfra.domain.query import RecordQuery
from datainfra.domain.records import OnConflict, WriteResult

RETRY_AFTER_S = 3600


class Unavailable:
    """What every stand-in shares: `configured` is False (readiness reports `reason` instead of
    probing) and every call raises StoreUnavailable with the reason."""

    configured = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _refuse(self) -> NoReturn:
        raise StoreUnavailable(self.reason, retry_after=RETRY_AFTER_S)


class UnavailableGraphStore(Unavailable, GraphStore):
    async def create_graph(self, dataset: Dataset) -> None:
        self._refuse()

    async def migrate_graph(self, before: Dataset, after: Dataset) -> None:
        self._refuse()

    async def drop_graph(self, dataset: Dataset) -> None:
        self._refuse()

    async def write(
        self, dataset: Dataset, nodes: Sequence[Node], edges: Sequence[Edge], on_conflict: OnConflict
    ) -> WriteResult:
        self._refuse()

    async def update_nodes(self, dataset: Dataset, updates: Sequence[NodeUpdate]) -> int:
        self._refuse()

    async def update_nodes_where(
        self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec, changes: dict[str, Any]
    ) -> int:
        self._refuse()

    async def delete_nodes_where(self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec) -> int:
        self._refuse()

    async def delete_edges_where(self, dataset: Dataset, types: tuple[str, ...], filter: FilterSpec) -> int:
        self._refuse()

    async def find_nodes(self, dataset: Dataset, labels: tuple[str, ...], query: RecordQuery) -> NodePage:
        self._refuse()

    async def get_node(self, dataset: Dataset, node_id: str) -> Node | None:
        self._refuse()

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
        self._refuse()

    async def find_edges(self, dataset: Dataset, types: tuple[str, ...], query: RecordQuery) -> EdgePage:
        self._refuse()

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
        self._refuse()

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
        self._refuse()

    async def project(
        self, dataset: Dataset, *, types: tuple[str, ...], weight: str | None, max_nodes: int, max_edges: int
    ) -> Projection:
        self._refuse()

    async def count_nodes(self, dataset: Dataset) -> int:
        self._refuse()

    async def ping(self) -> None:
        self._refuse()


class UnavailableSqlRunner(Unavailable, SqlQueryRunner):
    async def run_sql(self, session: Session, text: str, parameters: Sequence[Any], limits: QueryLimits) -> QueryResult:
        self._refuse()


class UnavailableCypherRunner(Unavailable, CypherQueryRunner):
    async def run_cypher(
        self, dataset: Dataset, text: str, parameters: Mapping[str, Any], limits: QueryLimits
    ) -> QueryResult:
        self._refuse()
