"""Graph routes: nodes, a node, its neighbours, edges, deletes, shortest paths, and the
whole-graph algorithms (PageRank, weakly connected components, degrees)."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from datainfra.adapters.http.conventions import LINK_DOC, page_response
from datainfra.adapters.http.dependencies import Graphs, PathDataset, PathDatasetRead
from datainfra.adapters.http.encoding import decode_json, decode_struct, json_response
from datainfra.adapters.http.presenters import (
    algorithm_doc,
    degree_doc,
    edge_doc,
    membership_doc,
    node_doc,
    page_doc,
    path_doc,
    paths_doc,
    score_doc,
    subgraph_doc,
)
from datainfra.adapters.http.query_strings import (
    AlgorithmQuery,
    EdgeFilterQuery,
    EdgePageQuery,
    NeighborsQuery,
    NodePageQuery,
    SearchQuery,
    names,
    page_request,
    query_of,
    repeated,
    selection,
)
from datainfra.adapters.http.requests import NodeSearch
from datainfra.adapters.http.routes.records import node_page, run_search, search_nodes
from datainfra.adapters.http.schemas import (
    AllShortestPathsBody,
    AllShortestPathsIn,
    ComponentPageOut,
    ComponentsBody,
    ComponentsIn,
    DegreeBody,
    DegreeIn,
    DegreePageOut,
    DeletedOut,
    EdgePageOut,
    NodeOut,
    NodePageOut,
    NodeSearchBody,
    PageRankBody,
    PageRankIn,
    PathOut,
    PathsOut,
    ScorePageOut,
    SearchPageOut,
    ShortestPathBody,
    ShortestPathIn,
    SubgraphOut,
)
from datainfra.domain.algorithms import MAX_PROJECTED_EDGES, MAX_PROJECTED_NODES
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.graph import Direction, Subgraph
from datainfra.domain.query import PageRequest
from datainfra.services.guarded_reads import DatasetRead

B = TypeVar("B")

_LIMITS = (
    f"Runs on the whole dataset's graph (every node; edges of `types`, all when absent): at most "
    f"{MAX_PROJECTED_NODES} nodes and {MAX_PROJECTED_EDGES} edges, else 413. Results are paged with "
    "the query parameters limit (default 50, at most 1000) and offset; `next` links the following page."
)
PAGERANK_DOC = (
    "Optional. direction: out (default) follows edges, in walks them backwards, both ignores direction. "
    "damping (default 0.85, 0 <= d < 1), iterations (default 100, at most 1000), tolerance (default 1e-6): "
    "networkx.pagerank's power iteration; dangling nodes spread their rank uniformly. weight: a numeric edge "
    "property weighting the edges (edges lacking it are left out). " + _LIMITS
)
COMPONENTS_DOC = (
    "Optional. Weakly connected components: each node's component is named by the smallest node id in it. " + _LIMITS
)
DEGREE_DOC = "Optional. direction: both (default; a self-loop counts twice), out or in. " + _LIMITS
NODE_SEARCH_DOC = (
    "Optional. What GET .../nodes takes as query parameters (label, sort, limit, offset, cursor, count), plus "
    "where. The answer is the page GET gives, with `next` the body to POST for the following page."
)


def _algorithm(body: Any, description: str) -> dict[str, Any]:
    """An algorithm's documentation: an optional JSON body; 413 past the projection's limits."""
    return {
        "body": {"application/json": body},
        "body_required": False,
        "body_description": description,
        "errors": (413,),
    }


async def _optional(request: Request[Any, Any, Any], shape: type[B]) -> B:
    """An algorithm's body: absent or empty means every default; an unknown member is named."""
    body = await request.body()
    if not body.strip():
        return shape()
    document = decode_json(body)
    if isinstance(document, dict):
        known = set(getattr(shape, "__struct_fields__", ()))
        for name in document:
            if name not in known:
                raise InvalidRequest(f"unknown field {name!r}; this algorithm takes {sorted(known)}", field=name)
    result: B = decode_struct(body, shape)
    return result


async def _neighbors(
    request: Request[Any, Any, Any], dataset_read: DatasetRead, node_id: str, graphs: Graphs
) -> Subgraph:
    query, _ = query_of(request, NeighborsQuery)
    return await dataset_read(
        lambda dataset: graphs.neighbors(
            dataset,
            node_id,
            direction=None if query.direction is None else Direction(query.direction),
            types=names(query.type, "type"),
            depth=query.depth,
            limit=query.limit,
        )
    )


def _algorithm_page(request: Request[Any, Any, Any]) -> PageRequest:
    query, _ = query_of(request, AlgorithmQuery)
    return PageRequest(limit=query.limit, offset=query.offset)


class GraphRoutes(Controller):
    path = "/sessions/{session_id:str}/datasets/{dataset_id:str}"
    tags = ["graph"]

    @get(
        "/nodes",
        summary="Search nodes by label and property filters",
        response_headers=LINK_DOC,
        opt={"query": NodePageQuery},
    )
    async def nodes(
        self, request: Request[Any, Any, Any], dataset: PathDataset, graphs: Graphs
    ) -> Response[NodePageOut]:
        return await node_page(request, dataset, graphs)

    @post(
        "/nodes/search",
        summary="Search nodes by label and a JSON where",
        status_code=200,
        opt={
            "body": {"application/json": NodeSearchBody},
            "body_required": False,
            "body_description": NODE_SEARCH_DOC,
            "query": SearchQuery,
        },
    )
    async def search_nodes(
        self, request: Request[Any, Any, Any], dataset: PathDataset, graphs: Graphs
    ) -> Response[SearchPageOut]:
        return await run_search(request, NodeSearch, search_nodes(graphs, dataset), node_doc)

    # A node may be called "search": the static /nodes/search path takes precedence over
    # /nodes/{node_id} in the router (which does not backtrack), so GET and DELETE of it, and its
    # neighbours, would answer 405 or 404. These serve that node as the {node_id} routes do.

    @get("/nodes/search", summary="Read the node whose id is 'search' (as GET /nodes/{node_id})")
    async def node_named_search(self, dataset_read: PathDatasetRead, graphs: Graphs) -> Response[NodeOut]:
        return json_response(node_doc(await dataset_read(lambda dataset: graphs.get_node(dataset, "search"))))

    @get(
        "/nodes/search/neighbors",
        summary="Walk from the node whose id is 'search' (as /nodes/{node_id}/neighbors)",
        opt={"query": NeighborsQuery},
    )
    async def neighbors_of_node_named_search(
        self, request: Request[Any, Any, Any], dataset_read: PathDatasetRead, graphs: Graphs
    ) -> Response[SubgraphOut]:
        return json_response(subgraph_doc(await _neighbors(request, dataset_read, "search", graphs)))

    @delete(
        "/nodes/search", summary="Delete the node whose id is 'search' (as DELETE /nodes/{node_id})", status_code=204
    )
    async def delete_node_named_search(self, dataset: PathDataset, graphs: Graphs) -> None:
        await graphs.delete_node(dataset, "search")

    @get("/nodes/{node_id:str}", summary="Read one node by its id")
    async def node(self, node_id: FromPath[str], dataset_read: PathDatasetRead, graphs: Graphs) -> Response[NodeOut]:
        return json_response(node_doc(await dataset_read(lambda dataset: graphs.get_node(dataset, node_id))))

    @get(
        "/nodes/{node_id:str}/neighbors",
        summary="Walk from a node: direction, types, depth, limit",
        opt={"query": NeighborsQuery},
    )
    async def neighbors(
        self, request: Request[Any, Any, Any], node_id: FromPath[str], dataset_read: PathDatasetRead, graphs: Graphs
    ) -> Response[SubgraphOut]:
        return json_response(subgraph_doc(await _neighbors(request, dataset_read, node_id, graphs)))

    @delete("/nodes/{node_id:str}", summary="Delete one node and every edge touching it", status_code=204)
    async def delete_node(self, node_id: FromPath[str], dataset: PathDataset, graphs: Graphs) -> None:
        await graphs.delete_node(dataset, node_id)

    @delete("/edges/{edge_id:str}", summary="Delete one edge by its id", status_code=204)
    async def delete_edge(self, edge_id: FromPath[str], dataset: PathDataset, graphs: Graphs) -> None:
        await graphs.delete_edge(dataset, edge_id)

    @delete(
        "/edges",
        summary="Delete the edges of `type` matching the filters (all=true for every edge)",
        status_code=200,
        opt={"query": EdgeFilterQuery},
    )
    async def delete_edges(
        self, request: Request[Any, Any, Any], dataset: PathDataset, graphs: Graphs
    ) -> Response[DeletedOut]:
        query, filters = query_of(request, EdgeFilterQuery)
        count = await graphs.delete_edges_where(dataset, names(query.type, "type"), selection(query, filters))
        return json_response({"deleted": count})

    @get(
        "/edges",
        summary="List edges by type and property filters",
        response_headers=LINK_DOC,
        opt={"query": EdgePageQuery},
    )
    async def edges(
        self, request: Request[Any, Any, Any], dataset: PathDataset, graphs: Graphs
    ) -> Response[EdgePageOut]:
        query, filters = query_of(request, EdgePageQuery)
        page = await graphs.find_edges(dataset, names(query.type, "type"), page_request(query, filters))
        items = [edge_doc(e) for e in page.items]
        return page_response(page_doc(page, request.url.path, items, repeated("type", query.type)))

    @post(
        "/algorithms/shortest_path",
        summary="Shortest path, by hops or by a numeric weight",
        status_code=200,
        opt={"body": {"application/json": ShortestPathBody}, "errors": (413,)},
    )
    async def shortest_path(
        self, data: JSONBody[ShortestPathIn], dataset_read: PathDatasetRead, graphs: Graphs
    ) -> Response[PathOut]:
        path = await dataset_read(
            lambda dataset: graphs.shortest_path(
                dataset,
                source=data.source,
                target=data.target,
                direction=data.direction,
                types=data.types,
                weight=data.weight,
                max_depth=data.max_depth,
            )
        )
        return json_response(path_doc(path, data.weight is not None))

    @post(
        "/algorithms/all_shortest_paths",
        summary="Every shortest path (by hops, or by a numeric weight), in node-id order",
        status_code=200,
        opt={"body": {"application/json": AllShortestPathsBody}, "errors": (413,)},
    )
    async def all_shortest_paths(
        self, data: JSONBody[AllShortestPathsIn], dataset_read: PathDatasetRead, graphs: Graphs
    ) -> Response[PathsOut]:
        found = await dataset_read(
            lambda dataset: graphs.all_shortest_paths(
                dataset,
                source=data.source,
                target=data.target,
                direction=data.direction,
                types=data.types,
                weight=data.weight,
                max_depth=data.max_depth,
                limit=data.limit,
            )
        )
        return json_response(paths_doc(found, data.weight is not None))

    @post(
        "/algorithms/pagerank",
        summary="PageRank of every node, by score descending then id",
        status_code=200,
        opt=_algorithm(PageRankBody, PAGERANK_DOC) | {"query": AlgorithmQuery},
    )
    async def pagerank(
        self, request: Request[Any, Any, Any], dataset: PathDataset, graphs: Graphs
    ) -> Response[ScorePageOut]:
        page = _algorithm_page(request)
        body = await _optional(request, PageRankIn)
        result = await graphs.pagerank(
            dataset,
            page,
            types=body.types,
            direction=body.direction,
            damping=body.damping,
            iterations=body.iterations,
            tolerance=body.tolerance,
            weight=body.weight,
        )
        return page_response(algorithm_doc(result, request.url.path, [score_doc(i) for i in result.page.items]))

    @post(
        "/algorithms/connected_components",
        summary="Weakly connected components, by component (its smallest node id) then id",
        status_code=200,
        opt=_algorithm(ComponentsBody, COMPONENTS_DOC) | {"query": AlgorithmQuery},
    )
    async def connected_components(
        self, request: Request[Any, Any, Any], dataset: PathDataset, graphs: Graphs
    ) -> Response[ComponentPageOut]:
        page = _algorithm_page(request)
        body = await _optional(request, ComponentsIn)
        result = await graphs.connected_components(dataset, page, types=body.types)
        return page_response(algorithm_doc(result, request.url.path, [membership_doc(i) for i in result.page.items]))

    @post(
        "/algorithms/degree",
        summary="Degree of every node, by degree descending then id",
        status_code=200,
        opt=_algorithm(DegreeBody, DEGREE_DOC) | {"query": AlgorithmQuery},
    )
    async def degree(
        self, request: Request[Any, Any, Any], dataset: PathDataset, graphs: Graphs
    ) -> Response[DegreePageOut]:
        page = _algorithm_page(request)
        body = await _optional(request, DegreeIn)
        result = await graphs.degree(dataset, page, types=body.types, direction=body.direction)
        return page_response(algorithm_doc(result, request.url.path, [degree_doc(i) for i in result.page.items]))
