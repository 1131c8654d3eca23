"""Graph algorithms over a whole graph dataset (PageRank, weakly connected components, degrees): the
store projects the graph (refusing one past the size limits), `domain.algorithms` computes off the
event loop, and the ranked result is served a page at a time."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from datainfra.domain import algorithms
from datainfra.domain.algorithms import MAX_PROJECTED_EDGES, MAX_PROJECTED_NODES, Membership, Projection
from datainfra.domain.errors import InvalidInput
from datainfra.domain.graph import Direction
from datainfra.domain.json_value import JsonValue
from datainfra.domain.model import Dataset
from datainfra.domain.names import validate_name
from datainfra.domain.query import PageRequest, page_limit, page_offset
from datainfra.services.graph_requests import GraphUseCases, direction_of, name_list, require_graph
from datainfra.services.paging import PageResult

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AlgorithmPage(Generic[T]):
    """One page of an algorithm's ranked result, and facts about the whole run (e.g. convergence)."""

    page: PageResult[T]
    facts: dict[str, JsonValue] = field(default_factory=dict)


class GraphAlgorithms(GraphUseCases):
    max_projected_nodes = MAX_PROJECTED_NODES
    max_projected_edges = MAX_PROJECTED_EDGES

    async def pagerank(
        self,
        dataset: Dataset,
        page: PageRequest,
        *,
        types: list[str] | None = None,
        direction: str | None = None,
        damping: float | None = None,
        iterations: int | None = None,
        tolerance: float | None = None,
        weight: str | None = None,
    ) -> AlgorithmPage[tuple[str, float]]:
        require_graph(dataset)
        limit, offset = _algorithm_paging(page)
        alpha = algorithms.DEFAULT_DAMPING if damping is None else damping
        if not (math.isfinite(alpha) and 0 <= alpha < 1):
            raise InvalidInput("damping must be at least 0 and below 1", field="damping")
        rounds = algorithms.DEFAULT_ITERATIONS if iterations is None else iterations
        if not 1 <= rounds <= algorithms.MAX_ITERATIONS:
            raise InvalidInput(f"iterations must be 1..{algorithms.MAX_ITERATIONS}", field="iterations")
        tol = algorithms.DEFAULT_TOLERANCE if tolerance is None else tolerance
        if not (math.isfinite(tol) and 0 < tol < 1):
            raise InvalidInput("tolerance must be above 0 and below 1", field="tolerance")
        if weight is not None:
            validate_name(weight, what="weight property", field="weight")
        way = direction_of(direction, Direction.OUT, field="direction")
        projection = await self._project(dataset, types, weight)
        result = await asyncio.to_thread(
            algorithms.pagerank,
            projection,
            direction=way,
            damping=alpha,
            max_iterations=rounds,
            tolerance=tol,
            weight=weight,
        )
        facts: dict[str, JsonValue] = {"iterations": result.iterations, "converged": result.converged}
        return AlgorithmPage(_slice(result.ranking, page, limit, offset), facts)

    async def connected_components(
        self, dataset: Dataset, page: PageRequest, *, types: list[str] | None = None
    ) -> AlgorithmPage[Membership]:
        require_graph(dataset)
        limit, offset = _algorithm_paging(page)
        projection = await self._project(dataset, types, None)
        members, count = await asyncio.to_thread(algorithms.weak_components, projection)
        return AlgorithmPage(_slice(members, page, limit, offset), {"components": count})

    async def degree(
        self, dataset: Dataset, page: PageRequest, *, types: list[str] | None = None, direction: str | None = None
    ) -> AlgorithmPage[tuple[str, int]]:
        require_graph(dataset)
        limit, offset = _algorithm_paging(page)
        way = direction_of(direction, Direction.BOTH, field="direction")
        projection = await self._project(dataset, types, None)
        ranking = await asyncio.to_thread(algorithms.degrees, projection, way)
        return AlgorithmPage(_slice(ranking, page, limit, offset))

    async def _project(self, dataset: Dataset, types: list[str] | None, weight: str | None) -> Projection:
        return await self._graph.project(
            dataset,
            types=name_list(types, "relationship type", "types"),
            weight=weight,
            max_nodes=self.max_projected_nodes,
            max_edges=self.max_projected_edges,
        )


def _algorithm_paging(page: PageRequest) -> tuple[int, int]:
    """An algorithm's result pages by limit and offset only (a ranked list has no fields to filter
    or sort by); the HTTP edge takes no other parameter."""
    return page_limit(page.limit), page_offset(page.offset)


def _slice(ranked: Sequence[T], page: PageRequest, limit: int, offset: int) -> PageResult[T]:
    """A page of a ranked result; `next` pages by offset while items remain."""
    following = None
    if limit and offset + limit < len(ranked):
        following = PageRequest(limit=page.limit, offset=offset + limit)
    return PageResult(list(ranked[offset : offset + limit]), limit, offset, len(ranked), following)
