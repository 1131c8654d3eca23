"""The query endpoint's body and answer as msgspec Structs: a tagged union on `language` (sql,
cypher, structured) decoded at the edge (unknown members refused by name), turned into the domain's
typed requests (`domain.query_requests`), and the 200 document. The same types document OpenAPI
(`opt["body"]` on the handler, the handler's return type)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from datainfra.domain.queries import (
    DEFAULT_MAX_ROWS,
    DEFAULT_TIMEOUT_MS,
    MAX_MAX_ROWS,
    MAX_PARAMETERS,
    MAX_QUERY_BYTES,
    MAX_TIMEOUT_MS,
    QueryLimits,
    QueryResult,
)
from datainfra.domain.query_requests import CypherRequest, QueryRequest, SqlRequest, StructuredRequest
from datainfra.domain.structured_query import MAX_ITEMS, MAX_JOINS, AggregateFn, JoinType, parse_structured_query

ReadOnly = Annotated[bool, Meta(description="Run in a read-only transaction (structured queries always do).")]
TimeoutMs = Annotated[
    int,
    Meta(ge=1, le=MAX_TIMEOUT_MS, description="Time limit, enforced by the database (504 past it).", examples=[5000]),
]
MaxRows = Annotated[int, Meta(ge=1, le=MAX_MAX_ROWS, description="Row cap; `truncated` says when it cut the result.")]
QueryText = Annotated[str, Meta(description=f"The query text, at most {MAX_QUERY_BYTES} bytes.")]


class _QueryIn(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True, tag_field="language"
):
    read_only: ReadOnly = True
    timeout_ms: TimeoutMs = DEFAULT_TIMEOUT_MS
    max_rows: MaxRows = DEFAULT_MAX_ROWS

    def limits(self) -> QueryLimits:
        return QueryLimits(read_only=self.read_only, timeout_ms=self.timeout_ms, max_rows=self.max_rows)


class SqlQueryIn(_QueryIn, frozen=True, tag="sql"):
    """One SELECT / INSERT / UPDATE / DELETE (WITH allowed) over the session's tabular datasets by
    name, run as your own database role; values as $1, $2 ... from `parameters`."""

    query: QueryText
    parameters: (
        Annotated[
            list[Any],
            Meta(max_length=MAX_PARAMETERS, description="Values for $1, $2 ... (objects as jsonb)."),
        ]
        | None
    ) = None


class CypherQueryIn(_QueryIn, frozen=True, tag="cypher"):
    """One Cypher query over one graph dataset, scoped to it; values as $name from `parameters`."""

    query: QueryText
    dataset: Annotated[str, Meta(description="The graph dataset's name or id (required).")] | None = None
    parameters: (
        Annotated[
            dict[str, Any],
            Meta(
                max_length=MAX_PARAMETERS,
                description='Values for $name. A value JSON cannot carry goes as {"$type": <a result column '
                'type>, "value": <its form in results>}, e.g. {"$type": "datetime", '
                '"value": "2015-07-21T21:40:32.142000+01:00"}.',
            ),
        ]
        | None
    ) = None


class SelectIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    field: Annotated[str, Meta(description="column or dataset.column")]
    alias: str | None = msgspec.field(default=None, name="as")


class AggregateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    fn: AggregateFn
    alias: str = msgspec.field(name="as")
    field: str | None = None


class JoinIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    dataset: str
    on: Annotated[dict[str, str], Meta(description='{"<left field>": "<right field>", ...}, ANDed.')]
    type: JoinType = JoinType.INNER


class OrderIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    field: str
    desc: bool = False


class StructuredQueryIn(_QueryIn, frozen=True, tag="structured"):
    """A read over the session's tabular datasets without SQL: `from`, `join`, `where` (the JSON
    filter of search bodies), `group_by`, `aggregates`, `select`, `order_by`, `limit`, `offset`."""

    source: Annotated[str, Meta(description="The dataset read.")] = msgspec.field(name="from")
    select: Annotated[list[str | SelectIn], Meta(max_length=MAX_ITEMS)] | None = None
    where: dict[str, Any] | None = None
    group_by: Annotated[list[str], Meta(max_length=MAX_ITEMS)] | None = None
    aggregates: Annotated[list[AggregateIn], Meta(max_length=MAX_ITEMS)] | None = None
    join: Annotated[list[JoinIn], Meta(max_length=MAX_JOINS)] | None = None
    order_by: (
        Annotated[list[str | OrderIn], Meta(max_length=MAX_ITEMS, description='"name", "-name" or {field, desc}.')]
        | None
    ) = None
    limit: Annotated[int, Meta(ge=0, le=MAX_MAX_ROWS)] | None = None
    offset: Annotated[int, Meta(ge=0)] | None = None


QueryBody = SqlQueryIn | CypherQueryIn | StructuredQueryIn
"""The body: one query, `language` saying which kind. What the route decodes; the document shows it as
schemas.QueryBodyDoc (with its description and pre-filled example). QUERY_EXAMPLES: one body per
language, each accepted by the API (tests send them)."""

QUERY_EXAMPLES: list[dict[str, Any]] = [
    {"language": "sql", "query": "SELECT name, age FROM people WHERE age > $1", "parameters": [30]},
    {
        "language": "cypher",
        "dataset": "social",
        "query": "MATCH (p:Person)-[:KNOWS]->(f) WHERE datainfra.key(p) = $id RETURN datainfra.key(f) AS id, f.name",
        "parameters": {"id": "ada"},
        "timeout_ms": 5000,
    },
    {
        "language": "structured",
        "from": "people",
        "where": {"age": {"gte": 30}},
        "group_by": ["city"],
        "aggregates": [{"fn": "count", "as": "n"}],
        "order_by": ["-n"],
        "max_rows": 100,
    },
]
"""One body per language, each one the API accepts (tests/unit/http/test_query_route.py sends them)."""


def query_request(body: QueryBody) -> QueryRequest:
    """The decoded body as the domain's typed request (text, parameters and structure checked)."""
    limits = body.limits()
    if isinstance(body, SqlQueryIn):
        return SqlRequest.of(body.query, body.parameters, limits)
    if isinstance(body, CypherQueryIn):
        return CypherRequest.of(body.query, body.dataset or "", body.parameters, limits)
    document = msgspec.to_builtins(body, builtin_types=(Decimal,))
    return StructuredRequest(parse_structured_query(document), limits)


class ResultColumnOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: Annotated[
        str,
        Meta(
            description="The values' type. SQL: the dataset schema's type name where one fits "
            '("integer", "text" ...). Cypher: integer, float, string, boolean, date, localtime, time, '
            "localdatetime, datetime, duration, point, node, relationship, path, map, list<T> (every item "
            "a T), list, null (all null) or any (mixed)."
        ),
    ]


class QueryResultOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A query's rows, one JSON array per row in `columns` order; graph values as the graph routes
    write them."""

    columns: list[ResultColumnOut]
    rows: list[list[Any]]
    row_count: int
    truncated: Annotated[bool, Meta(description="The row cap (max_rows) or the size budget cut the result.")]
    elapsed_ms: float
    affected: Annotated[int, Meta(description="Rows a write changed.")] | None = None

    @classmethod
    def of(cls, result: QueryResult, rows: list[list[Any]], elapsed_ms: float) -> QueryResultOut:
        return cls(
            columns=[ResultColumnOut(name=c.name, type=c.type) for c in result.columns],
            rows=rows,
            row_count=result.row_count,
            truncated=result.truncated,
            elapsed_ms=round(elapsed_ms, 3),
            affected=result.affected,
        )
