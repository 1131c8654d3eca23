"""Least-cost paths over a subgraph fetched from Neo4j (Community has no GDS plugin).

Dijkstra over (node, hops) states, so a cheaper path with more hops wins while it stays within
`max_depth` — the same search as the in-memory adapter, so both agree on which edges are ever
looked at (a bad weight is only an error when the search follows that edge).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from datainfra.domain.algorithms import Step
from datainfra.domain.errors import InvalidInput

Number = Decimal | float | int

__all__ = ["Step", "least_cost"]


def least_cost(
    adjacency: Mapping[str, Sequence[Step]], source: str, target: str, weight_name: str, max_depth: int
) -> tuple[list[Step], Number] | None:
    start: tuple[Any, int, int, str] = (0, 0, 0, source)
    queue = [start]
    parent: dict[tuple[str, int], tuple[Step, tuple[str, int]] | None] = {(source, 0): None}
    best: dict[tuple[str, int], Any] = {(source, 0): 0}
    settled_hops: dict[str, int] = {}
    counter = 0
    while queue:
        cost, hops, _order_no, node = heapq.heappop(queue)
        if best.get((node, hops)) != cost or settled_hops.get(node, max_depth + 1) <= hops:
            continue
        settled_hops[node] = hops
        if node == target:
            return _unwind(parent, (node, hops)), cost
        if hops == max_depth:
            continue
        for step in adjacency.get(node, ()):
            amount = _weight(step, weight_name)
            if amount is None:
                continue
            total = _add(cost, amount)
            state = (step.far, hops + 1)
            if state not in best or total < best[state]:
                best[state] = total
                parent[state] = (step, (node, hops))
                counter += 1
                heapq.heappush(queue, (total, hops + 1, counter, step.far))
    return None


def _unwind(
    parent: Mapping[tuple[str, int], tuple[Step, tuple[str, int]] | None], state: tuple[str, int]
) -> list[Step]:
    steps: list[Step] = []
    while (link := parent[state]) is not None:
        step, previous = link
        steps.append(step)
        state = previous
    return steps[::-1]


def _weight(step: Step, name: str) -> Number | None:
    value = step.weight
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidInput(f"edge {step.edge_id!r}: weight {name!r} is not a number", field="weight", key=step.edge_id)
    if value < 0:
        raise InvalidInput(f"edge {step.edge_id!r}: weight {name!r} is negative", field="weight", key=step.edge_id)
    number: Number = value
    return number


def _add(a: Number, b: Number) -> Number:
    if isinstance(a, float) or isinstance(b, float):
        return float(a) + float(b)
    return a + b
