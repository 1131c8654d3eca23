"""Graph datasets: writing nodes and edges, searching, walking neighbours, finding paths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from datainfra.domain.errors import InvalidInput, InvalidRequest, NotFound
from datainfra.domain.filters import split_list
from datainfra.domain.graph import MAX_PATH_DEPTH, MAX_TRAVERSAL_DEPTH, Direction, Edge, Node, Path, Subgraph
from datainfra.domain.graph_schema import NODE_KEY, GraphSchema
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.names import validate_name
from datainfra.domain.ports import GraphStore, IdGenerator
from datainfra.domain.ports.graph_store import NodeUpdate
from datainfra.domain.query import MAX_LIMIT, parse_limit
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.domain.types import FieldType
from datainfra.services.paging import PageResult, Params, next_params, parse_filter_only, parse_query, single
from datainfra.services.records import UNFILTERED_GUARD, guard_unfiltered

MAX_KEY_LENGTH = 512
NODE_PARAMS = frozenset({"label", UNFILTERED_GUARD})
EDGE_PARAMS = frozenset({"type"})
EDGE_FIELDS = {"id": FieldType.TEXT, "source": FieldType.TEXT, "target": FieldType.TEXT}


def require_graph(dataset: Dataset) -> GraphSchema:
    if dataset.kind is not DatasetKind.GRAPH:
        raise InvalidRequest(f"dataset {dataset.name!r} is tabular; this operation is for graph datasets")
    return dataset.graph_schema


def node_key(value: Any, *, index: int | None, field: str) -> str:
    """Node and edge keys are text; integers are accepted and kept as their decimal text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput("a key must be a string or an integer", index=index, field=field)
    text = str(value)
    if not text or len(text) > MAX_KEY_LENGTH or "\x00" in text or "/" in text:
        raise InvalidInput(
            f"a key must be 1-{MAX_KEY_LENGTH} characters without NUL or '/' (it must be addressable in a URL)",
            index=index,
            field=field,
        )
    return text


def _names(values: Any, what: str, field: str, index: int | None = None) -> tuple[str, ...]:
    if values is None:
        return ()
    if not isinstance(values, list):
        raise InvalidInput(f"{what}s must be a list", index=index, field=field)
    try:
        names = tuple(validate_name(v, what=what, field=field) for v in values)
    except InvalidInput as exc:
        raise exc.located(index=index) from None
    return tuple(dict.fromkeys(names))


def _labels_param(params: Params) -> tuple[str, ...]:
    labels: list[str] = []
    for key, value in params:
        if key == "label":
            for label in split_list(value, "label"):
                try:
                    labels.append(validate_name(label, what="label", field="label"))
                except InvalidInput as exc:
                    raise InvalidRequest(exc.detail, parameter="label") from None
    return tuple(dict.fromkeys(labels))


def _types_param(params: Params, name: str = "type") -> tuple[str, ...]:
    types: list[str] = []
    for key, value in params:
        if key == name:
            for item in split_list(value, name):
                try:
                    types.append(validate_name(item, what="relationship type", field=name))
                except InvalidInput as exc:
                    raise InvalidRequest(exc.detail, parameter=name) from None
    return tuple(dict.fromkeys(types))


class GraphService:
    def __init__(self, graph: GraphStore, ids: IdGenerator) -> None:
        self._graph = graph
        self._ids = ids

    # -- writes --------------------------------------------------------------------------------

    async def write(self, dataset: Dataset, raw_nodes: Any, raw_edges: Any, on_conflict: OnConflict) -> WriteResult:
        schema = require_graph(dataset)
        nodes = [self._node(schema, raw, i) for i, raw in enumerate(_list(raw_nodes, "nodes"))]
        edges = [self._edge(schema, raw, i) for i, raw in enumerate(_list(raw_edges, "edges"))]
        return await self._graph.write(dataset, nodes, edges, on_conflict)

    def _node(self, schema: GraphSchema, raw: Any, i: int) -> Node:
        where = f"nodes[{i}]"
        if not isinstance(raw, Mapping):
            raise InvalidInput("a node must be an object", index=i, field=where)
        unknown = set(raw) - {"id", "labels", "properties"}
        if unknown:
            raise InvalidInput(f"unknown node field {sorted(unknown)[0]!r}", index=i, field=where)
        if raw.get("id") is None:
            raise InvalidInput("a node needs an id", index=i, field=f"{where}.id")
        key = node_key(raw["id"], index=i, field=f"{where}.id")
        labels = _names(raw.get("labels"), "label", f"{where}.labels", i)
        try:
            properties = schema.coerce_node_properties(labels, raw.get("properties"), i)
        except InvalidInput as exc:
            exc.field = f"{where}.{exc.field}" if exc.field else where
            raise
        return Node(key, labels, properties)

    def _edge(self, schema: GraphSchema, raw: Any, i: int) -> Edge:
        where = f"edges[{i}]"
        if not isinstance(raw, Mapping):
            raise InvalidInput("an edge must be an object", index=i, field=where)
        unknown = set(raw) - {"id", "source", "target", "type", "properties"}
        if unknown:
            raise InvalidInput(f"unknown edge field {sorted(unknown)[0]!r}", index=i, field=where)
        for end in ("source", "target"):
            if raw.get(end) is None:
                raise InvalidInput(f"an edge needs a {end}", index=i, field=f"{where}.{end}")
        edge_id = self._ids.new_id() if raw.get("id") is None else node_key(raw["id"], index=i, field=f"{where}.id")
        rel_type = validate_name(raw.get("type"), what="relationship type", field=f"{where}.type")
        try:
            properties = schema.coerce_edge_properties(rel_type, raw.get("properties"), i)
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

    async def update_nodes(self, dataset: Dataset, records: Sequence[Any]) -> int:
        schema = require_graph(dataset)
        updates: list[NodeUpdate] = []
        for i, raw in enumerate(records):
            where = f"records[{i}]"
            if not isinstance(raw, Mapping) or set(raw) - {"id", "labels", "properties"}:
                raise InvalidInput('a node update is {"id", "labels"?, "properties"?}', index=i, field=where)
            if raw.get("id") is None:
                raise InvalidInput("a node update needs the node id", index=i, field=f"{where}.id")
            labels = None if raw.get("labels") is None else _names(raw["labels"], "label", f"{where}.labels", i)
            props = raw.get("properties") or {}
            removed = {k: None for k, v in props.items() if v is None} if isinstance(props, Mapping) else {}
            typed = schema.coerce_node_properties(labels or _declared_labels(schema), props, i)
            updates.append(NodeUpdate(node_key(raw["id"], index=i, field=f"{where}.id"), {**typed, **removed}, labels))
        return await self._graph.update_nodes(dataset, updates)

    async def update_nodes_where(self, dataset: Dataset, params: Params, changes: Any) -> int:
        schema = require_graph(dataset)
        labels = _labels_param(params)
        spec = self._node_filter(schema, params, labels)
        guard_unfiltered(params, not spec.empty or bool(labels))
        if not isinstance(changes, Mapping) or not changes:
            raise InvalidInput("set must be an object naming at least one property", field="set")
        removed = {k: None for k, v in changes.items() if v is None}
        try:
            typed = schema.coerce_node_properties(labels or _declared_labels(schema), changes, 0)
        except InvalidInput as exc:
            exc.index, exc.field = None, f"set.{exc.field}" if exc.field else "set"
            raise
        return await self._graph.update_nodes_where(dataset, labels, spec, {**typed, **removed})

    async def delete_nodes_where(self, dataset: Dataset, params: Params) -> int:
        schema = require_graph(dataset)
        labels = _labels_param(params)
        spec = self._node_filter(schema, params, labels)
        guard_unfiltered(params, not spec.empty or bool(labels))
        return await self._graph.delete_nodes_where(dataset, labels, spec)

    # -- reads ---------------------------------------------------------------------------------

    def _node_types(self, schema: GraphSchema, labels: tuple[str, ...]) -> dict[str, FieldType]:
        types = schema.node_property_types(labels or None)
        types[NODE_KEY] = FieldType.TEXT
        return types

    def _node_filter(self, schema: GraphSchema, params: Params, labels: tuple[str, ...]) -> Any:
        return parse_filter_only(params, self._node_types(schema, labels), NODE_PARAMS, open_fields=not schema.strict)

    async def find_nodes(self, dataset: Dataset, params: Params) -> PageResult[Node]:
        schema = require_graph(dataset)
        labels = _labels_param(params)
        types = self._node_types(schema, labels)
        parsed = parse_query(
            params,
            types=types,
            key=(NODE_KEY,),
            non_nullable={NODE_KEY},
            reserved=NODE_PARAMS,
            open_fields=not schema.strict,
            selectable=[NODE_KEY, *types] if schema.strict else None,
        )
        if parsed.query.select is not None:
            raise InvalidRequest("select is not supported on nodes", parameter="select")
        page = await self._graph.find_nodes(dataset, labels, parsed.query)
        last = _node_sort_values(page.items[-1], parsed.query.sort) if page.items else None
        return PageResult(
            items=page.items,
            limit=parsed.query.limit,
            offset=parsed.query.offset,
            total=page.total,
            next_params=next_params(params, parsed, page.has_more, last, types),
        )

    async def get_node(self, dataset: Dataset, node_id: str) -> Node:
        require_graph(dataset)
        node = await self._graph.get_node(dataset, node_key(node_id, index=None, field="node_id"))
        if node is None:
            raise NotFound(f"no node {node_id!r} in this dataset", parameter="node_id")
        return node

    async def neighbors(self, dataset: Dataset, node_id: str, params: Params) -> Subgraph:
        require_graph(dataset)
        allowed = {"direction", "type", "depth", "limit"}
        for key, _ in params:
            if key not in allowed:
                raise InvalidRequest(f"unknown parameter {key!r}", parameter=key)
        direction = _direction(single(params, "direction"), Direction.BOTH, parameter="direction")
        depth_text = single(params, "depth") or "1"
        if not depth_text.isdigit() or not 1 <= int(depth_text) <= MAX_TRAVERSAL_DEPTH:
            raise InvalidRequest(f"depth must be 1..{MAX_TRAVERSAL_DEPTH}", parameter="depth")
        return await self._graph.neighbors(
            dataset,
            node_key(node_id, index=None, field="node_id"),
            direction=direction,
            types=_types_param(params),
            depth=int(depth_text),
            limit=parse_limit(single(params, "limit")),
        )

    async def find_edges(self, dataset: Dataset, params: Params) -> PageResult[Edge]:
        schema = require_graph(dataset)
        types_filter = _types_param(params)
        types = {**schema.edge_property_types(types_filter or None), **EDGE_FIELDS}
        parsed = parse_query(
            params,
            types=types,
            key=("id",),
            non_nullable=set(EDGE_FIELDS),
            reserved=EDGE_PARAMS,
            open_fields=not schema.strict,
        )
        if parsed.query.select is not None:
            raise InvalidRequest("select is not supported on edges", parameter="select")
        page = await self._graph.find_edges(dataset, types_filter, parsed.query)
        last = _edge_sort_values(page.items[-1], parsed.query.sort) if page.items else None
        return PageResult(
            items=page.items,
            limit=parsed.query.limit,
            offset=parsed.query.offset,
            total=page.total,
            next_params=next_params(params, parsed, page.has_more, last, types),
        )

    async def shortest_path(
        self,
        dataset: Dataset,
        *,
        source: Any,
        target: Any,
        direction: str | None,
        types: list[str] | None,
        weight: str | None,
        max_depth: int | None,
    ) -> Path | None:
        require_graph(dataset)
        src = node_key(source, index=None, field="source")
        dst = node_key(target, index=None, field="target")
        for end, key in (("source", src), ("target", dst)):
            if await self._graph.get_node(dataset, key) is None:
                raise NotFound(f"no node {key!r} in this dataset", field=end)
        depth = 15 if max_depth is None else max_depth
        if not 1 <= depth <= MAX_PATH_DEPTH:
            raise InvalidInput(f"max_depth must be 1..{MAX_PATH_DEPTH}", field="max_depth")
        if weight is not None:
            validate_name(weight, what="weight property", field="weight")
        return await self._graph.shortest_path(
            dataset,
            src,
            dst,
            direction=_direction(direction, Direction.OUT, field="direction"),
            types=_names(types, "relationship type", "types"),
            weight=weight,
            max_depth=depth,
        )


def _declared_labels(schema: GraphSchema) -> tuple[str, ...]:
    """Typing an update that names no labels: every declared property type applies."""
    return tuple(label.name for label in schema.node_labels)


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{field} must be a list", field=field)
    return value


def _direction(
    value: str | None, default: Direction, *, parameter: str | None = None, field: str | None = None
) -> Direction:
    if value is None:
        return default
    try:
        return Direction(value)
    except ValueError:
        detail = "direction must be out, in or both"
        if parameter:
            raise InvalidRequest(detail, parameter=parameter) from None
        raise InvalidInput(detail, field=field) from None


def _node_sort_values(node: Node, sort: Sequence[Any]) -> list[Any]:
    return [node.id if k.field == NODE_KEY else node.properties.get(k.field) for k in sort]


def _edge_sort_values(edge: Edge, sort: Sequence[Any]) -> list[Any]:
    fixed = {"id": edge.id, "source": edge.source, "target": edge.target}
    return [fixed[k.field] if k.field in fixed else edge.properties.get(k.field) for k in sort]


__all__ = ["MAX_LIMIT", "GraphService"]
