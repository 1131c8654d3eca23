"""Graph writes: nodes and edges from request bodies (typed by the dataset's graph schema, keys
checked, edge ids assigned when the client gives none), node updates, and deletes by id or filter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from datainfra.domain.errors import InvalidInput, NotFound
from datainfra.domain.filters import Condition, FilterSpec, Operator, parse_filters
from datainfra.domain.graph import Edge, Node
from datainfra.domain.graph_schema import PropertyTyping
from datainfra.domain.json_value import JsonValue
from datainfra.domain.model import Dataset
from datainfra.domain.names import validate_name
from datainfra.domain.ports.graph_store import NodeUpdate
from datainfra.domain.query import Selection
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.domain.types import FieldType
from datainfra.services.graph_requests import (
    EDGE_FIELDS,
    GraphUseCases,
    declared_labels,
    label_names,
    node_filter,
    node_key,
    node_labels,
    require_graph,
    type_names,
)
from datainfra.services.records import guard_unfiltered


class GraphWrites(GraphUseCases):
    async def write(
        self,
        dataset: Dataset,
        raw_nodes: Sequence[JsonValue] | None,
        raw_edges: Sequence[JsonValue] | None,
        on_conflict: OnConflict,
    ) -> WriteResult:
        typing = PropertyTyping(require_graph(dataset))
        nodes = [self._node(typing, raw, i) for i, raw in enumerate(_list_of(raw_nodes, "nodes"))]
        edges = [self._edge(typing, raw, i) for i, raw in enumerate(_list_of(raw_edges, "edges"))]
        return await self._graph.write(dataset, nodes, edges, on_conflict)

    def _node(self, typing: PropertyTyping, raw: object, i: int) -> Node:
        where = f"nodes[{i}]"
        if not isinstance(raw, dict | Mapping):
            raise InvalidInput("a node must be an object", index=i, field=where)
        if not raw.keys() <= _NODE_FIELDS:
            unknown = set(raw) - _NODE_FIELDS
            raise InvalidInput(f"unknown node field {sorted(unknown)[0]!r}", index=i, field=where)
        if raw.get("id") is None:
            raise InvalidInput("a node needs an id", index=i, field=f"{where}.id")
        key = node_key(raw["id"], index=i, field=f"{where}.id")
        labels = node_labels(raw.get("labels"), f"{where}.labels", i)
        try:
            properties = typing.node_properties(labels, raw.get("properties"), i)
        except InvalidInput as exc:
            exc.field = f"{where}.{exc.field}" if exc.field else where
            raise
        return Node(key, labels, properties)

    def _edge(self, typing: PropertyTyping, raw: object, i: int) -> Edge:
        where = f"edges[{i}]"
        if not isinstance(raw, dict | Mapping):
            raise InvalidInput("an edge must be an object", index=i, field=where)
        if not raw.keys() <= _EDGE_FIELDS:
            unknown = set(raw) - _EDGE_FIELDS
            raise InvalidInput(f"unknown edge field {sorted(unknown)[0]!r}", index=i, field=where)
        for end in ("source", "target"):
            if raw.get(end) is None:
                raise InvalidInput(f"an edge needs a {end}", index=i, field=f"{where}.{end}")
        edge_id = self._ids.new_id() if raw.get("id") is None else node_key(raw["id"], index=i, field=f"{where}.id")
        rel_type = validate_name(raw.get("type"), what="relationship type", field=f"{where}.type")
        try:
            properties = typing.edge_properties(rel_type, raw.get("properties"), i)
        except InvalidInput as exc:
            exc.field = f"{where}.{exc.field}" if exc.field else where
            raise
        return Edge(
            edge_id,
            node_key(raw["source"], index=i, field=f"{where}.source"),
            node_key(raw["target"], index=i, field=f"{where}.target"),
            rel_type,
            properties,
        )

    async def update_nodes(self, dataset: Dataset, records: Sequence[JsonValue]) -> int:
        schema = require_graph(dataset)
        updates: list[NodeUpdate] = []
        for i, raw in enumerate(records):
            where = f"records[{i}]"
            if not isinstance(raw, Mapping) or set(raw) - {"id", "labels", "properties"}:
                raise InvalidInput('a node update is {"id", "labels"?, "properties"?}', index=i, field=where)
            if raw.get("id") is None:
                raise InvalidInput("a node update needs the node id", index=i, field=f"{where}.id")
            labels = None if raw.get("labels") is None else node_labels(raw["labels"], f"{where}.labels", i)
            props = raw.get("properties") or {}
            removed = {k: None for k, v in props.items() if v is None} if isinstance(props, Mapping) else {}
            typed = schema.coerce_node_properties(labels or declared_labels(schema), props, i)
            updates.append(NodeUpdate(node_key(raw["id"], index=i, field=f"{where}.id"), {**typed, **removed}, labels))
        return await self._graph.update_nodes(dataset, updates)

    async def update_nodes_where(
        self, dataset: Dataset, labels: Sequence[str], selection: Selection, changes: Mapping[str, JsonValue]
    ) -> int:
        """Set (null: remove) `changes` on every node carrying `labels` that matches the selection."""
        schema = require_graph(dataset)
        wanted = label_names(labels)
        spec = node_filter(schema, selection.filters, wanted)
        guard_unfiltered(selection, not spec.empty or bool(wanted))
        if not changes:
            raise InvalidInput("set must be an object naming at least one property", field="set")
        removed = {k: None for k, v in changes.items() if v is None}
        try:
            typed = schema.coerce_node_properties(wanted or declared_labels(schema), changes, 0)
        except InvalidInput as exc:
            exc.index, exc.field = None, f"set.{exc.field}" if exc.field else "set"
            raise
        return await self._graph.update_nodes_where(dataset, wanted, spec, {**typed, **removed})

    async def delete_nodes_where(self, dataset: Dataset, labels: Sequence[str], selection: Selection) -> int:
        """Delete every node carrying `labels` that matches the selection, and its edges."""
        schema = require_graph(dataset)
        wanted = label_names(labels)
        spec = node_filter(schema, selection.filters, wanted)
        guard_unfiltered(selection, not spec.empty or bool(wanted))
        return await self._graph.delete_nodes_where(dataset, wanted, spec)

    async def delete_node(self, dataset: Dataset, node_id: str) -> None:
        """Delete one node and every edge touching it; NotFound when there is no such node."""
        require_graph(dataset)
        key = node_key(node_id, index=None, field="node_id")
        if not await self._graph.delete_nodes_where(dataset, (), _id_is(key)):
            raise NotFound(f"no node {node_id!r} in this dataset", parameter="node_id")

    async def delete_edge(self, dataset: Dataset, edge_id: str) -> None:
        require_graph(dataset)
        key = node_key(edge_id, index=None, field="edge_id")
        if not await self._graph.delete_edges_where(dataset, (), _id_is(key)):
            raise NotFound(f"no edge {edge_id!r} in this dataset", parameter="edge_id")

    async def delete_edges_where(self, dataset: Dataset, types: Sequence[str], selection: Selection) -> int:
        """Edges of `types` matching the selection; neither given needs all=true, as for records."""
        schema = require_graph(dataset)
        types_filter = type_names(types)
        field_types = {**schema.edge_property_types(types_filter or None), **EDGE_FIELDS}
        spec = parse_filters(selection.filters, field_types, open_fields=not schema.strict)
        guard_unfiltered(selection, not spec.empty or bool(types_filter))
        return await self._graph.delete_edges_where(dataset, types_filter, spec)


_NODE_FIELDS = frozenset({"id", "labels", "properties"})
_EDGE_FIELDS = frozenset({"id", "source", "target", "type", "properties"})


def _id_is(key: str) -> FilterSpec:
    return FilterSpec((Condition("id", Operator.EQ, key, FieldType.TEXT),))


def _list_of(value: object, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{field} must be a list", field=field)
    return value
