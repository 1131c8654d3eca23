"""Graph datasets: writing nodes and edges, searching, walking neighbours, finding paths, deleting,
and the whole-graph algorithms (PageRank, weakly connected components, degrees)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from datainfra.domain import algorithms
from datainfra.domain.algorithms import MAX_PROJECTED_EDGES, MAX_PROJECTED_NODES, Membership, Projection
from datainfra.domain.errors import InvalidInput, InvalidRequest, NotFound
from datainfra.domain.filters import Condition, FilterSpec, Operator, split_list
from datainfra.domain.graph import MAX_PATH_DEPTH, MAX_TRAVERSAL_DEPTH, Direction, Edge, Node, Path, Subgraph
from datainfra.domain.graph_limits import MAX_LABELS_PER_NODE, check_labels
from datainfra.domain.graph_schema import NODE_KEY, GraphSchema
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.names import validate_name
from datainfra.domain.ports import GraphStore, IdGenerator
from datainfra.domain.ports.graph_store import NodeUpdate
from datainfra.domain.query import MAX_LIMIT, parse_limit, parse_offset
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.domain.types import FieldType
from datainfra.domain.where import parse_where
from datainfra.services.paging import (
    PageResult,
    Params,
    ParsedQuery,
    next_params,
    parse_filter_only,
    parse_query,
    single,
)
from datainfra.services.records import UNFILTERED_GUARD, guard_unfiltered

MAX_KEY_LENGTH = 512
NODE_PARAMS = frozenset({"label", UNFILTERED_GUARD})
EDGE_PARAMS = frozenset({"type"})
EDGE_DELETE_PARAMS = frozenset({"type", UNFILTERED_GUARD})
ALGORITHM_PARAMS = frozenset({"limit", "offset"})
EDGE_FIELDS = {"id": FieldType.TEXT, "source": FieldType.TEXT, "target": FieldType.TEXT}
DEFAULT_PATH_DEPTH = 15
DEFAULT_PATHS = 50
MAX_PATHS = 1000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PathSet:
    """The first paths of `all_shortest_paths`; `truncated` when more exist beyond the limit."""

    paths: list[Path]
    truncated: bool


@dataclass(frozen=True, slots=True)
class AlgorithmPage(Generic[T]):
    """One page of an algorithm's ranked result, and facts about the whole run (e.g. convergence)."""

    page: PageResult[T]
    facts: dict[str, Any] = field(default_factory=dict)


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


def _node_labels(values: Any, field: str, index: int) -> tuple[str, ...]:
    labels = _names(values, "label", field, index)
    check_labels(labels, index=index, field=field)
    return labels


def _labels_param(params: Params) -> tuple[str, ...]:
    labels: list[str] = []
    for key, value in params:
        if key == "label":
            for label in split_list(value, "label"):
                try:
                    labels.append(validate_name(label, what="label", field="label"))
                except InvalidInput as exc:
                    raise InvalidRequest(exc.detail, parameter="label") from None
                if len(labels) > MAX_LABELS_PER_NODE:
                    raise InvalidRequest(
                        f"a label filter may name at most {MAX_LABELS_PER_NODE} labels (a node has at most as many)",
                        parameter="label",
                    )
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
        labels = _node_labels(raw.get("labels"), f"{where}.labels", i)
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
            labels = None if raw.get("labels") is None else _node_labels(raw["labels"], f"{where}.labels", i)
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

    async def delete_edges_where(self, dataset: Dataset, params: Params) -> int:
        """Edges of `type` matching the filters; neither given needs all=true, as for records."""
        schema = require_graph(dataset)
        types_filter = _types_param(params)
        types = {**schema.edge_property_types(types_filter or None), **EDGE_FIELDS}
        spec = parse_filter_only(params, types, EDGE_DELETE_PARAMS, open_fields=not schema.strict)
        guard_unfiltered(params, not spec.empty or bool(types_filter))
        return await self._graph.delete_edges_where(dataset, types_filter, spec)

    # -- reads ---------------------------------------------------------------------------------

    def _node_types(self, schema: GraphSchema, labels: tuple[str, ...]) -> dict[str, FieldType]:
        types = schema.node_property_types(labels or None)
        types[NODE_KEY] = FieldType.TEXT
        return types

    def _node_filter(self, schema: GraphSchema, params: Params, labels: tuple[str, ...]) -> Any:
        return parse_filter_only(params, self._node_types(schema, labels), NODE_PARAMS, open_fields=not schema.strict)

    async def find_nodes(self, dataset: Dataset, params: Params, *, where: Any = None) -> PageResult[Node]:
        """Nodes by label and filters. `where` is a JSON where tree (domain.where) ANDed with the
        parameter filters; its errors name their JSON path under `where`."""
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
        tree = parse_where(where, types, open_fields=not schema.strict)
        if tree is not None:
            query = parsed.query
            parsed = ParsedQuery(replace(query, filter=replace(query.filter, where=tree)), parsed.keyset)
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
        request = await self._path_request(dataset, source, target, direction, types, weight, max_depth)
        return await self._graph.shortest_path(dataset, *request.ends, **request.options)

    async def all_shortest_paths(
        self,
        dataset: Dataset,
        *,
        source: Any,
        target: Any,
        direction: str | None,
        types: list[str] | None,
        weight: str | None,
        max_depth: int | None,
        limit: int | None,
    ) -> PathSet:
        """Every minimal path (fewest hops, or least total weight), the first `limit` of them in
        node-id order."""
        wanted = DEFAULT_PATHS if limit is None else limit
        if not 1 <= wanted <= MAX_PATHS:
            raise InvalidInput(f"limit must be 1..{MAX_PATHS}", field="limit")
        request = await self._path_request(dataset, source, target, direction, types, weight, max_depth)
        paths = await self._graph.all_shortest_paths(dataset, *request.ends, **request.options, limit=wanted + 1)
        return PathSet(paths[:wanted], len(paths) > wanted)

    async def _path_request(
        self,
        dataset: Dataset,
        source: Any,
        target: Any,
        direction: str | None,
        types: list[str] | None,
        weight: str | None,
        max_depth: int | None,
    ) -> _PathRequest:
        require_graph(dataset)
        src = node_key(source, index=None, field="source")
        dst = node_key(target, index=None, field="target")
        for end, key in (("source", src), ("target", dst)):
            if await self._graph.get_node(dataset, key) is None:
                raise NotFound(f"no node {key!r} in this dataset", field=end)
        depth = DEFAULT_PATH_DEPTH if max_depth is None else max_depth
        if not 1 <= depth <= MAX_PATH_DEPTH:
            raise InvalidInput(f"max_depth must be 1..{MAX_PATH_DEPTH}", field="max_depth")
        if weight is not None:
            validate_name(weight, what="weight property", field="weight")
        return _PathRequest(
            ends=(src, dst),
            options={
                "direction": _direction(direction, Direction.OUT, field="direction"),
                "types": _names(types, "relationship type", "types"),
                "weight": weight,
                "max_depth": depth,
            },
        )

    # -- algorithms on the whole graph ---------------------------------------------------------

    max_projected_nodes = MAX_PROJECTED_NODES
    max_projected_edges = MAX_PROJECTED_EDGES

    async def pagerank(
        self,
        dataset: Dataset,
        params: Params,
        *,
        types: list[str] | None = None,
        direction: str | None = None,
        damping: float | None = None,
        iterations: int | None = None,
        tolerance: float | None = None,
        weight: str | None = None,
    ) -> AlgorithmPage[tuple[str, float]]:
        require_graph(dataset)
        limit, offset = _algorithm_paging(params)
        alpha = algorithms.DEFAULT_DAMPING if damping is None else damping
        if not (math.isfinite(alpha) and 0 <= alpha < 1):
            raise InvalidInput("damping must be at least 0 and below 1", field="damping")
        rounds = algorithms.DEFAULT_ITERATIONS if iterations is None else iterations
        if not 1 <= rounds <= algorithms.MAX_ITERATIONS:
            raise InvalidInput(f"iterations must be 1..{algorithms.MAX_ITERATIONS}", field="iterations")
        tol = algorithms.DEFAULT_TOLERANCE if tolerance is None else tolerance
        if not (math.isfinite(tol) and 0 < tol < 1):
            raise InvalidInput("tolerance must be above 0 and below 1", field="tolerance")
        if weight is not None:
            validate_name(weight, what="weight property", field="weight")
        way = _direction(direction, Direction.OUT, field="direction")
        projection = await self._project(dataset, types, weight)
        result = await asyncio.to_thread(
            algorithms.pagerank,
            projection,
            direction=way,
            damping=alpha,
            max_iterations=rounds,
            tolerance=tol,
            weight=weight,
        )
        facts = {"iterations": result.iterations, "converged": result.converged}
        return AlgorithmPage(_slice(result.ranking, params, limit, offset), facts)

    async def connected_components(
        self, dataset: Dataset, params: Params, *, types: list[str] | None = None
    ) -> AlgorithmPage[Membership]:
        require_graph(dataset)
        limit, offset = _algorithm_paging(params)
        projection = await self._project(dataset, types, None)
        members, count = await asyncio.to_thread(algorithms.weak_components, projection)
        return AlgorithmPage(_slice(members, params, limit, offset), {"components": count})

    async def degree(
        self, dataset: Dataset, params: Params, *, types: list[str] | None = None, direction: str | None = None
    ) -> AlgorithmPage[tuple[str, int]]:
        require_graph(dataset)
        limit, offset = _algorithm_paging(params)
        way = _direction(direction, Direction.BOTH, field="direction")
        projection = await self._project(dataset, types, None)
        ranking = await asyncio.to_thread(algorithms.degrees, projection, way)
        return AlgorithmPage(_slice(ranking, params, limit, offset))

    async def _project(self, dataset: Dataset, types: list[str] | None, weight: str | None) -> Projection:
        return await self._graph.project(
            dataset,
            types=_names(types, "relationship type", "types"),
            weight=weight,
            max_nodes=self.max_projected_nodes,
            max_edges=self.max_projected_edges,
        )


@dataclass(frozen=True, slots=True)
class _PathRequest:
    ends: tuple[str, str]
    options: dict[str, Any]


def _id_is(key: str) -> FilterSpec:
    return FilterSpec((Condition("id", Operator.EQ, key, FieldType.TEXT),))


def _algorithm_paging(params: Params) -> tuple[int, int]:
    for key, _ in params:
        if key not in ALGORITHM_PARAMS:
            raise InvalidRequest(f"unknown parameter {key!r}; algorithms take limit and offset", parameter=key)
    return parse_limit(single(params, "limit")), parse_offset(single(params, "offset"))


def _slice(ranked: Sequence[T], params: Params, limit: int, offset: int) -> PageResult[T]:
    """A page of a ranked result; `next` pages by offset while items remain."""
    following = None
    if limit and offset + limit < len(ranked):
        following = [*((k, v) for k, v in params if k != "offset"), ("offset", str(offset + limit))]
    return PageResult(list(ranked[offset : offset + limit]), limit, offset, len(ranked), following)


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


__all__ = ["MAX_LIMIT", "AlgorithmPage", "GraphService", "PathSet"]
