"""One attribute convention for the graph interchange formats (node-link JSON and GraphML), so that
networkx sees the same graph whichever of the two it reads, and igraph and Gephi keep what they can.

- Properties are attributes under their own names. Property names are identifiers, so a name with
  a colon is never a property: the formats' own attributes are `:labels` (a node's labels as one
  string, ":Person:Admin", Neo4j's export convention; no list, so `networkx.write_graphml` can
  write the graph) and `:type` (an edge's relationship type).
- An edge carries its key as `key` (networkx's multigraph key in node-link) and as the attribute
  `id` (what `networkx.read_graphml` and igraph's `Read_GraphML` call an edge's id).
- A property whose name a reader reserves (a node's `id`; an edge's `id`, `source`, `target`,
  `key`) is written as `property:<name>` and read back under its own name.
- The node-link graph attribute `:format` marks a document written by this convention; a node-link
  document without it is read the lenient way older exports and plain networkx graphs need.
  (GraphML carries no such mark: its keys are all `for="node"` or `for="edge"`, as Gephi expects,
  and its reader needs none.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from datainfra.domain.errors import InvalidInput

LABELS = ":labels"
TYPE = ":type"
EDGE_ID = "id"
"""The edge attribute holding the edge key (networkx's and igraph's edge id)."""
ESCAPE = "property:"
NODE_RESERVED = frozenset({"id"})
EDGE_RESERVED = frozenset({"id", "source", "target", "key"})
FORMAT = ":format"
FORMAT_VERSION = "datainfra-graph-2"


def labels_text(labels: Iterable[str]) -> str | None:
    """(Person, Admin) → ":Person:Admin"; no labels → None (the attribute is left out)."""
    names = list(labels)
    return ":" + ":".join(names) if names else None


def labels_of(value: Any, *, index: int, field: str) -> list[str]:
    """`:labels` read back: ":A:B" (also "A:B"), or a list of names as older documents hold them."""
    if value is None:
        return []
    if isinstance(value, str):
        return [label for label in value.split(":") if label]
    if isinstance(value, list):
        return value
    raise InvalidInput("labels must be a string like ':Person:Admin' or a list of names", index=index, field=field)


def attribute_of(name: str, reserved: frozenset[str]) -> str:
    """The attribute a property is written as."""
    return ESCAPE + name if name in reserved else name


def property_of(attribute: str) -> str:
    """The property an attribute holds (an escaped name loses its `property:`)."""
    return attribute.removeprefix(ESCAPE)


def escaped(properties: Mapping[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
    return {attribute_of(name, reserved): value for name, value in properties.items()}
