"""POST /sessions/{sid}/query: raw SQL, raw Cypher or a structured query, in safe mode only."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import FromPath

from datainfra.adapters.http.dependencies import Queries, QueryCallerDep
from datainfra.adapters.http.encoding import decode_struct, json_response
from datainfra.adapters.http.presenters import edge_doc, node_doc, path_item_doc
from datainfra.adapters.http.query_requests import QueryBody, QueryResultOut, query_request
from datainfra.adapters.http.schemas import QueryBodyDoc
from datainfra.domain.graph import Edge, Node, Path
from datainfra.domain.query_requests import CypherRequest
from datainfra.services.guarded_reads import ReadTarget

MAX_QUERY_BODY_BYTES = 1024 * 1024
"""The whole request (query text, at most MAX_QUERY_BYTES, plus its parameters)."""


class QueryRoutes(Controller):
    path = "/sessions/{session_id:str}/query"
    tags = ["query"]

    @post(
        "/",
        summary="Run one SQL statement, one Cypher query or a structured query over your session",
        status_code=200,
        request_max_body_size=MAX_QUERY_BODY_BYTES,
        opt={
            "body": {"application/json": QueryBodyDoc},
            "response": {"application/json": QueryResultOut},
            "errors": (429,),
        },
    )
    async def run(
        self, request: Request[Any, Any, Any], session_id: FromPath[str], queries: Queries, query_caller: QueryCallerDep
    ) -> Response[QueryResultOut]:
        started = time.perf_counter()
        caller = query_caller
        try:
            body = decode_struct(await request.body(), QueryBody)  # beyond MAX_QUERY_BODY_BYTES: a 413 problem
            query = query_request(body)
        except Exception:
            await caller.confirmed()  # a key's problem is told before the body's, as on every route
            raise
        if isinstance(query, CypherRequest) and query.limits.read_only:
            # Cached catalog facts, checked alongside the read (services/guarded_reads.py GuardedReads):
            # a read-only query's answer can be thrown away when they no longer hold.
            read = await caller.reads.open(ReadTarget(caller.key, session_id, query.dataset), queries.graph_dataset)
            result = await read(lambda dataset: queries.run_cypher(dataset, query))
        else:
            result = await queries.run(await caller.confirmed(), session_id, query)
        rows = [[_cell(value) for value in row] for row in result.rows]
        document = QueryResultOut.of(result, rows, (time.perf_counter() - started) * 1000)
        return json_response(document)  # our encoder: exact numbers (Decimal as a JSON number)


def _cell(value: Any) -> Any:
    """Graph values in the graph routes' shape; containers walked."""
    if isinstance(value, Node):
        return node_doc(value)
    if isinstance(value, Edge):
        return edge_doc(value)
    if isinstance(value, Path):
        return path_item_doc(value)
    if isinstance(value, list | tuple):
        return [_cell(item) for item in value]
    if isinstance(value, dict):
        return {key: _cell(item) for key, item in value.items()}
    return value
