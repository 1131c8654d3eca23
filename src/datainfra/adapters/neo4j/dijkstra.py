"""Least-cost paths over a subgraph fetched from Neo4j (Community has no GDS plugin): the search itself
is the domain's `least_cost`, the same one the in-memory store runs."""

from __future__ import annotations

from datainfra.domain.algorithms import Step, least_cost

__all__ = ["Step", "least_cost"]
