"""POST /sessions/{sid}/query: raw SQL, raw Cypher or a structured query, in safe mode only."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import FromPath

from datainfra.adapters.http.dependencies import CurrentUser, Queries
from datainfra.adapters.http.encoding import decode_json, json_response
from datainfra.adapters.http.presenters import edge_doc, node_doc, path_item_doc
from datainfra.adapters.http.schemas import QueryIn, QueryResultOut
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.graph import Edge, Node, Path
from datainfra.domain.queries import QueryResult

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
        opt={"body": {"application/json": QueryIn}, "response": {"application/json": QueryResultOut}, "errors": (429,)},
    )
    async def run(
        self, request: Request[Any, Any, Any], session_id: FromPath[str], queries: Queries, user: CurrentUser
    ) -> Response[Any]:
        started = time.perf_counter()
        body = decode_json(await request.body())  # beyond MAX_QUERY_BODY_BYTES: a 413 problem
        if not isinstance(body, dict):
            raise InvalidRequest("the request body must be a JSON object")
        result = await queries.run(user, session_id, body)
        return json_response(result_doc(result, (time.perf_counter() - started) * 1000))


def result_doc(result: QueryResult, elapsed_ms: float) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "columns": [{"name": c.name, "type": c.type} for c in result.columns],
        "rows": [[_cell(value) for value in row] for row in result.rows],
        "row_count": result.row_count,
        "truncated": result.truncated,
        "elapsed_ms": round(elapsed_ms, 3),
    }
    if result.affected is not None:
        doc["affected"] = result.affected
    return doc


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
