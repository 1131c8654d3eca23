"""POST /sessions/{sid}/query: raw SQL, raw Cypher or a structured query, in safe mode only."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.openapi.spec import OpenAPIMediaType, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath

from datainfra.adapters.http.dependencies import CurrentUser, Queries
from datainfra.adapters.http.encoding import decode_struct, json_response
from datainfra.adapters.http.presenters import edge_doc, node_doc, path_item_doc
from datainfra.adapters.http.query_requests import QueryBody, QueryResultOut, query_request
from datainfra.domain.graph import Edge, Node, Path
from datainfra.domain.queries import MAX_QUERY_BYTES

MAX_QUERY_BODY_BYTES = 1024 * 1024
"""The whole request (query text, at most MAX_QUERY_BYTES, plus its parameters)."""

_S = OpenAPIType.STRING
QUERY_BODY = RequestBody(  # until the OpenAPI document is built from opt["body"] (QueryBody): then delete
    required=True,
    description=(
        "language: sql | cypher | structured. sql: one SELECT/INSERT/UPDATE/DELETE (WITH allowed) over the "
        "session's tabular datasets by name, values as $1, $2 ... from `parameters` (a JSON array). cypher: one "
        "query over the graph `dataset` (name or id), values as $name from `parameters` (a JSON object). "
        "structured: `from`, `select`, `where`, `group_by`, `aggregates`, `join`, `order_by`, `limit`, `offset`. "
        f"read_only (default true), timeout_ms (default 10000, at most 60000), max_rows (default 1000, at most "
        f"10000). The query text is at most {MAX_QUERY_BYTES} bytes."
    ),
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["language"],
                properties={
                    "language": Schema(type=_S, enum=["sql", "cypher", "structured"]),
                    "query": Schema(type=_S),
                    "parameters": Schema(one_of=[Schema(type=OpenAPIType.ARRAY), Schema(type=OpenAPIType.OBJECT)]),
                    "dataset": Schema(type=_S),
                    "read_only": Schema(type=OpenAPIType.BOOLEAN),
                    "timeout_ms": Schema(type=OpenAPIType.INTEGER),
                    "max_rows": Schema(type=OpenAPIType.INTEGER),
                },
            )
        )
    },
)


class QueryRoutes(Controller):
    path = "/sessions/{session_id:str}/query"
    tags = ["query"]

    @post(
        "/",
        summary="Run one SQL statement, one Cypher query or a structured query over your session",
        status_code=200,
        request_max_body_size=MAX_QUERY_BODY_BYTES,
        opt={"body": {"application/json": QueryBody}, "request_body": QUERY_BODY},
    )
    async def run(
        self, request: Request[Any, Any, Any], session_id: FromPath[str], queries: Queries, user: CurrentUser
    ) -> Response[QueryResultOut]:
        started = time.perf_counter()
        body = decode_struct(await request.body(), QueryBody)  # beyond MAX_QUERY_BODY_BYTES: a 413 problem
        result = await queries.run(user, session_id, query_request(body))
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
