"""Closed-loop load: N clients each send their next request as soon as the last one answers, for a
fixed time after a short warm-up; and latency samples of one call at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

Operation = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class LoadResult:
    clients: int
    requests: int
    seconds: float
    latencies: tuple[float, ...]
    """Seconds, sorted."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), int(q * len(sorted_values) + 0.999999)))
    return sorted_values[rank - 1]


async def closed_loop(operations: Sequence[Operation], seconds: float, warmup: float) -> LoadResult:
    """Run one client per operation; count what completes inside the measured window."""
    start_at = time.perf_counter() + warmup
    stop_at = start_at + seconds
    latencies: list[float] = []

    async def client(operation: Operation) -> None:
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                return
            await operation()
            ended = time.perf_counter()
            if began >= start_at and ended <= stop_at:
                latencies.append(ended - began)

    await asyncio.gather(*(client(op) for op in operations))
    latencies.sort()
    return LoadResult(clients=len(operations), requests=len(latencies), seconds=seconds, latencies=tuple(latencies))


async def sample(operation: Callable[[int], Awaitable[object]], count: int, warmup: int = 3) -> LoadResult:
    """`count` calls one after another (after `warmup` unmeasured ones); the i-th gets i."""
    for i in range(warmup):
        await operation(-1 - i)
    latencies: list[float] = []
    began = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        await operation(i)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - began
    latencies.sort()
    return LoadResult(clients=1, requests=count, seconds=elapsed, latencies=tuple(latencies))
