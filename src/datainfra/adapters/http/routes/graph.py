"""Graph routes: nodes, a node, its neighbours, edges, shortest paths."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from datainfra.adapters.http.dependencies import CurrentUser, Datasets, Graphs
from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.presenters import edge_doc, node_doc, page_doc, path_doc, subgraph_doc
from datainfra.adapters.http.schemas import EdgePageOut, NodeOut, NodePageOut, PathOut, ShortestPathIn, SubgraphOut


def _params(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


class GraphRoutes(Controller):
    path = "/sessions/{session_id:str}/datasets/{dataset_id:str}"
    tags = ["graph"]

    @get("/nodes", summary="Search nodes by label and property filters")
    async def nodes(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        datasets: Datasets,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[NodePageOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        page = await graphs.find_nodes(dataset, _params(request))
        return json_response(page_doc(page, request.url.path, [node_doc(n) for n in page.items]))

    @get("/nodes/{node_id:str}", summary="Read one node by its id")
    async def node(
        self,
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        node_id: FromPath[str],
        datasets: Datasets,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[NodeOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        return json_response(node_doc(await graphs.get_node(dataset, node_id)))

    @get("/nodes/{node_id:str}/neighbors", summary="Walk from a node: direction, types, depth, limit")
    async def neighbors(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        node_id: FromPath[str],
        datasets: Datasets,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[SubgraphOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        subgraph = await graphs.neighbors(dataset, node_id, _params(request))
        return json_response(subgraph_doc(subgraph))

    @get("/edges", summary="List edges by type and property filters")
    async def edges(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        datasets: Datasets,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[EdgePageOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        page = await graphs.find_edges(dataset, _params(request))
        return json_response(page_doc(page, request.url.path, [edge_doc(e) for e in page.items]))

    @post("/algorithms/shortest_path", summary="Shortest path, by hops or by a numeric weight", status_code=200)
    async def shortest_path(
        self,
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        data: JSONBody[ShortestPathIn],
        datasets: Datasets,
        graphs: Graphs,
        user: CurrentUser,
    ) -> Response[PathOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        path = await graphs.shortest_path(
            dataset,
            source=data.source,
            target=data.target,
            direction=data.direction,
            types=data.types,
            weight=data.weight,
            max_depth=data.max_depth,
        )
        return json_response(path_doc(path, data.weight is not None))
