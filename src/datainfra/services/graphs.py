"""GraphService: every use case of graph datasets, composed of one class per kind of use case —
`graph_writes` (nodes and edges in, updates, deletes), `graph_reads` (searches, neighbourhoods,
shortest paths) and `graph_algorithms` (PageRank, components, degrees) — over the same ports."""

from __future__ import annotations

from datainfra.services.graph_algorithms import GraphAlgorithms
from datainfra.services.graph_reads import GraphReads
from datainfra.services.graph_writes import GraphWrites


class GraphService(GraphWrites, GraphReads, GraphAlgorithms):
    """What the HTTP adapter and the archive import call for graph datasets."""


__all__ = ["GraphService"]
