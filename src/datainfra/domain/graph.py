"""Values of a graph dataset as the API sees them. Node ids are the client's own keys (text)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from datainfra.domain.types import FieldValue


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    labels: tuple[str, ...] = ()
    properties: dict[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Edge:
    id: str
    source: str
    target: str
    type: str
    properties: dict[str, FieldValue] = field(default_factory=dict)


class Direction(enum.StrEnum):
    OUT = "out"
    IN = "in"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Subgraph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


@dataclass(frozen=True, slots=True)
class Path:
    """A path from source to target: `nodes` in order, `edges` between them (len(nodes) - 1)."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    cost: Decimal | float | int | None = None

    @property
    def length(self) -> int:
        return len(self.edges)


MAX_TRAVERSAL_DEPTH = 10
MAX_PATH_DEPTH = 50
