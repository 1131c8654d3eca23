"""Prometheus metrics in the text exposition format (summed over the workers of a run)."""

from __future__ import annotations

import inspect
from typing import Any

from litestar import Response, get
from litestar.datastructures import State

from datainfra.adapters.http.observability import Metrics, PoolStats

TEXT_FORMAT = "text/plain; version=0.0.4"
"""Prometheus' classic text exposition format (Litestar adds the charset)."""


@get("/metrics", tags=["health"], summary="Prometheus metrics (text format)", media_type=TEXT_FORMAT)
async def metrics(state: State) -> Response[bytes]:
    collected: Metrics = state.metrics
    collected.pool.latest = await _pool_stats(state.container)
    return Response(content=collected.exposition(), media_type=TEXT_FORMAT)


async def _pool_stats(container: Any) -> PoolStats | None:
    """The PostgreSQL pool's numbers now; None when there is no pool (in-memory stores) or it failed."""
    provider = container.postgres_pool
    if getattr(provider, "initialized", True) is False and not getattr(provider, "overridden", ()):
        return None  # never start a store from a scrape
    try:
        pool = provider()
        if inspect.isawaitable(pool):
            pool = await pool
    except Exception:  # a scrape reports what it can; /ready says why a store is missing
        return None
    if pool is None or not hasattr(pool, "get_stats"):
        return None
    return PoolStats.of(pool)
