"""How the Neo4j graph store decides what a write does before it sends any statement: item by item,
as the in-memory adapter stages it, so conflicts, counts and error indexes are the same in both
stores. Also the property rows the write statements UNWIND."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datainfra.adapters.neo4j.namespacing import KEY, TYPE, order_key
from datainfra.adapters.neo4j.values import encode_properties
from datainfra.domain.errors import Conflict, InvalidInput
from datainfra.domain.graph import Edge, Node
from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.records import OnConflict
from datainfra.domain.types import FieldType

EdgeIdentity = tuple[str, str, str]
"""(source, target, type) of a stored edge."""

NodeChanges = tuple[tuple[str, ...] | None, dict[str, Any]]
"""The labels that replace a node's (None: keep them) and the properties merged into it."""


class KeyRace(Exception):
    """A checked write created a key that another transaction committed after our read."""


class Shortfall(Exception):
    """An optimistic edge batch created fewer edges than asked: some endpoint is missing."""


class WritePlan:
    """Decides, request item by request item, what a write does (as the in-memory adapter stages it):
    repeats of an id within the request behave like a second write of it."""

    def __init__(self, on_conflict: OnConflict) -> None:
        self.on_conflict = on_conflict
        self.node_creates: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {}
        self.node_updates: dict[str, NodeChanges] = {}
        self.edge_creates: dict[str, Edge] = {}
        self.edge_updates: dict[str, Edge] = {}
        self.inserted = self.updated = self.ignored = 0

    def _conflict(self, what: str, key: str) -> bool:
        """True when the item is to be applied as an update."""
        if self.on_conflict is OnConflict.ERROR:
            raise Conflict(f"{what} {key!r} already exists", key=key)
        if self.on_conflict is OnConflict.UPDATE:
            self.updated += 1
            return True
        self.ignored += 1
        return False

    def node(self, node: Node, exists: bool) -> None:
        labels = tuple(dict.fromkeys(node.labels))
        changes = dict(node.properties)
        if node.id in self.node_creates:
            if self._conflict("node", node.id):
                _old, before = self.node_creates[node.id]
                self.node_creates[node.id] = (labels, _merged(before, changes))
        elif exists or node.id in self.node_updates:
            if self._conflict("node", node.id):
                _old_labels, before = self.node_updates.get(node.id, (None, {}))
                self.node_updates[node.id] = (labels, {**before, **changes})
        else:
            self.node_creates[node.id] = (labels, _merged({}, changes))
            self.inserted += 1

    def edge(self, index: int, edge: Edge, stored: EdgeIdentity | None) -> None:
        changes = dict(edge.properties)
        staged = self.edge_creates.get(edge.id) or self.edge_updates.get(edge.id)
        old = (staged.source, staged.target, staged.type) if staged else stored
        if old is None:
            # A new edge as it came (a bulk load's common case: no copy) unless it holds a null.
            clean = None not in changes.values()
            self.edge_creates[edge.id] = edge if clean else _moved(edge, _merged({}, changes))
            self.inserted += 1
            return
        if self.on_conflict is OnConflict.UPDATE and old != (edge.source, edge.target, edge.type):
            raise InvalidInput(
                f"edge {edge.id!r}: an edge's source, target and type cannot change; delete it and create a new one",
                index=index,
                field=f"edges[{index}]",
            )
        if not self._conflict("edge", edge.id):
            return
        if edge.id in self.edge_creates:
            self.edge_creates[edge.id] = _moved(edge, _merged(self.edge_creates[edge.id].properties, changes))
        else:
            prior = self.edge_updates.get(edge.id)
            self.edge_updates[edge.id] = _moved(edge, {**(prior.properties if prior else {}), **changes})


def _merged(old: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`SET n += changes` on a property map: a None value removes the property."""
    merged = dict(old)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _moved(edge: Edge, properties: dict[str, Any]) -> Edge:
    return Edge(edge.id, edge.source, edge.target, edge.type, properties)


def encoded_changes(changes: Mapping[str, Any], declared: Mapping[str, FieldType]) -> dict[str, Any]:
    """Property changes to `SET n += ...`: a changed property also drops a numeric order key it may
    have had (under another label its type may differ)."""
    encoded = encode_properties(changes, declared)
    for name in changes:
        encoded.setdefault(order_key(name), None)
    return encoded


class EdgeTypes:
    """Declared property types by relationship type, looked up once per type of a request."""

    def __init__(self, schema: GraphSchema) -> None:
        self._schema = schema
        self._found: dict[str, dict[str, FieldType]] = {}

    def __call__(self, rel_type: str) -> dict[str, FieldType]:
        found = self._found.get(rel_type)
        if found is None:
            found = self._found[rel_type] = self._schema.edge_property_types((rel_type,))
        return found


def edge_row(edge: Edge, declared: Mapping[str, FieldType], *, merge: bool = False) -> dict[str, Any]:
    """An update's row (`merge`): the edge's id and the changes; a create's: its ends and the whole
    property map (its id inside, once: every byte of a bulk load is sent and unpacked)."""
    if merge:
        return {"id": edge.id, "props": {KEY: edge.id, TYPE: edge.type, **encoded_changes(edge.properties, declared)}}
    props = {KEY: edge.id, TYPE: edge.type, **encode_properties(edge.properties, declared)}
    return {"source": edge.source, "target": edge.target, "props": {k: v for k, v in props.items() if v is not None}}
