"""Graph reads: node and edge searches (filters, sort, keyset or offset pages, a JSON `where`), one
node, the neighbourhood of a node, and shortest paths between two nodes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from datainfra.domain.errors import DomainError, InvalidInput, InvalidRequest, NotFound
from datainfra.domain.graph import MAX_PATH_DEPTH, MAX_TRAVERSAL_DEPTH, Direction, Edge, Node, Path, Subgraph
from datainfra.domain.graph_schema import NODE_KEY
from datainfra.domain.json_value import JsonValue
from datainfra.domain.model import Dataset
from datainfra.domain.names import validate_name
from datainfra.domain.query import PageRequest, SortKey, page_limit
from datainfra.domain.types import FieldValue
from datainfra.services.graph_requests import (
    EDGE_FIELDS,
    GraphUseCases,
    direction_of,
    label_names,
    name_list,
    node_key,
    node_types,
    require_graph,
    type_names,
)
from datainfra.services.paging import PageResult, next_request, parse_query

DEFAULT_PATH_DEPTH = 15
DEFAULT_PATHS = 50
MAX_PATHS = 1000


@dataclass(frozen=True, slots=True)
class PathSet:
    """The first paths of `all_shortest_paths`; `truncated` when more exist beyond the limit."""

    paths: list[Path]
    truncated: bool


class GraphReads(GraphUseCases):
    async def find_nodes(self, dataset: Dataset, labels: Sequence[str], request: PageRequest) -> PageResult[Node]:
        """Nodes carrying every one of `labels` (the parameter `label`) that match the request's
        filters and `where` tree (its errors name their JSON path under `where`)."""
        schema = require_graph(dataset)
        wanted = label_names(labels)
        types = node_types(schema, wanted)
        parsed = parse_query(
            request,
            types=types,
            key=(NODE_KEY,),
            non_nullable={NODE_KEY},
            open_fields=not schema.strict,
            selectable=[NODE_KEY, *types] if schema.strict else None,
        )
        if parsed.query.select is not None:
            raise InvalidRequest("select is not supported on nodes", parameter="select")
        page = await self._graph.find_nodes(dataset, wanted, parsed.query)
        last = _node_sort_values(page.items[-1], parsed.query.sort) if page.items else None
        return PageResult(
            items=page.items,
            limit=parsed.query.limit,
            offset=parsed.query.offset,
            total=page.total,
            next=next_request(request, parsed, page.has_more, last, types),
        )

    async def get_node(self, dataset: Dataset, node_id: str) -> Node:
        require_graph(dataset)
        node = await self._graph.get_node(dataset, node_key(node_id, index=None, field="node_id"))
        if node is None:
            raise NotFound(f"no node {node_id!r} in this dataset", parameter="node_id")
        return node

    async def neighbors(
        self,
        dataset: Dataset,
        node_id: str,
        *,
        direction: Direction | None = None,
        types: Sequence[str] = (),
        depth: int | None = None,
        limit: int | None = None,
    ) -> Subgraph:
        """The nodes and edges within `depth` hops (default 1) of a node, walking `direction`
        (default both) along edges of `types` (all when none); problems name their parameter."""
        require_graph(dataset)
        hops = 1 if depth is None else depth
        if not 1 <= hops <= MAX_TRAVERSAL_DEPTH:
            raise InvalidRequest(f"depth must be 1..{MAX_TRAVERSAL_DEPTH}", parameter="depth")
        return await self._graph.neighbors(
            dataset,
            node_key(node_id, index=None, field="node_id"),
            direction=Direction.BOTH if direction is None else direction,
            types=type_names(types),
            depth=hops,
            limit=page_limit(limit),
        )

    async def find_edges(self, dataset: Dataset, types: Sequence[str], request: PageRequest) -> PageResult[Edge]:
        """Edges of `types` (the parameter `type`; all when none) that match the request's filters."""
        schema = require_graph(dataset)
        types_filter = type_names(types)
        field_types = {**schema.edge_property_types(types_filter or None), **EDGE_FIELDS}
        parsed = parse_query(
            request,
            types=field_types,
            key=("id",),
            non_nullable=set(EDGE_FIELDS),
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
            next=next_request(request, parsed, page.has_more, last, field_types),
        )

    async def shortest_path(
        self,
        dataset: Dataset,
        *,
        source: JsonValue,
        target: JsonValue,
        direction: str | None,
        types: list[str] | None,
        weight: str | None,
        max_depth: int | None,
    ) -> Path | None:
        request = await self._path_request(dataset, source, target, direction, types, weight, max_depth)
        path = await self._graph.shortest_path(dataset, *request.ends, **request.options)
        if path is None:
            await self._ends_exist(dataset, request.ends)
        return path

    async def all_shortest_paths(
        self,
        dataset: Dataset,
        *,
        source: JsonValue,
        target: JsonValue,
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
        if not paths:
            await self._ends_exist(dataset, request.ends)
        return PathSet(paths[:wanted], len(paths) > wanted)

    async def _path_request(
        self,
        dataset: Dataset,
        source: JsonValue,
        target: JsonValue,
        direction: str | None,
        types: list[str] | None,
        weight: str | None,
        max_depth: int | None,
    ) -> _PathRequest:
        """The checked request. A missing end is a 404 naming it (before any other problem), but the
        ends are only looked up when the request is otherwise wrong or the search finds nothing
        (`_ends_exist`), so a path found costs one store call."""
        require_graph(dataset)
        src = node_key(source, index=None, field="source")
        dst = node_key(target, index=None, field="target")
        try:
            depth = DEFAULT_PATH_DEPTH if max_depth is None else max_depth
            if not 1 <= depth <= MAX_PATH_DEPTH:
                raise InvalidInput(f"max_depth must be 1..{MAX_PATH_DEPTH}", field="max_depth")
            if weight is not None:
                validate_name(weight, what="weight property", field="weight")
            return _PathRequest(
                ends=(src, dst),
                options={
                    "direction": direction_of(direction, Direction.OUT, field="direction"),
                    "types": name_list(types, "relationship type", "types"),
                    "weight": weight,
                    "max_depth": depth,
                },
            )
        except DomainError:
            await self._ends_exist(dataset, (src, dst))
            raise

    async def _ends_exist(self, dataset: Dataset, ends: tuple[str, str]) -> None:
        for end, key in zip(("source", "target"), ends, strict=True):
            if await self._graph.get_node(dataset, key) is None:
                raise NotFound(f"no node {key!r} in this dataset", field=end)


@dataclass(frozen=True, slots=True)
class _PathRequest:
    ends: tuple[str, str]
    options: dict[str, Any]


def _node_sort_values(node: Node, sort: Sequence[SortKey]) -> list[FieldValue]:
    return [node.id if k.field == NODE_KEY else node.properties.get(k.field) for k in sort]


def _edge_sort_values(edge: Edge, sort: Sequence[SortKey]) -> list[FieldValue]:
    fixed = {"id": edge.id, "source": edge.source, "target": edge.target}
    return [fixed[k.field] if k.field in fixed else edge.properties.get(k.field) for k in sort]
