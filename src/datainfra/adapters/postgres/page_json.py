"""PostgresJsonPages: one page of a tabular dataset as finished JSON, written by PostgreSQL, in one
statement that also re-checks the catalog facts the caller cached (PostgREST's way: the server
forwards bytes, it never decodes a row).

The statement, for a page of `limit` rows:

    SELECT EXISTS (<the key is still the owner's active key, the dataset row is unchanged>),
           count(*),                                   -- limit + 1 rows read: more follow
           '[' || string_agg(<row JSON>, ',') FILTER (WHERE i <= limit) || ']',
           (array_agg(<sort key k>) FILTER (WHERE i = limit))[1], ...   -- the keyset cursor's values
    FROM (SELECT row_number() OVER () AS i, ... FROM (<row_reads.page_statement>) q) p

The guard and the rows come from one snapshot, so a key rotated or a dataset dropped or migrated
before the statement starts is always seen: the caller then drops what it cached and goes the
slow way. A table that is gone (or lost a column) fails the statement; that too means "the guard
does not hold".

Each column's JSON is chosen to decode to what the API's encoder writes for the typed value:
timestamps in the API's one text form (row_exports.TIMESTAMP_TEXT), floats that float8out writes
without fraction or exponent ("5", "-0") get ".0" so they stay floats; every other type is
row_to_json's own form (numbers as numeric_out writes them, NaN/Infinity as strings)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from psycopg import errors as pg_errors
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.catalog_guard import CatalogGuard, guard_exists
from datainfra.adapters.postgres.migrations import DEFAULT_CATALOG_SCHEMA
from datainfra.adapters.postgres.pool import connection
from datainfra.adapters.postgres.row_exports import TIMESTAMP_TEXT
from datainfra.adapters.postgres.row_reads import page_statement, selected_names, value_out
from datainfra.adapters.postgres.sql_filters import column, compile_filter
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import And, Condition, FilterNode, FilterSpec, Not, Operator, normalized
from datainfra.domain.model import Dataset
from datainfra.domain.ports.json_pages import JsonPage, JsonPages, PageGuard
from datainfra.domain.query import RecordQuery
from datainfra.domain.types import FieldType

STATEMENT_CACHE_SIZE = 2048
"""Rendered statements kept (per dataset version and query shape); the cache is emptied when full."""

_Q = sql.Identifier("datainfra$q")
_P = sql.Identifier("datainfra$p")
_X = sql.Identifier("datainfra$x")
_I = sql.Identifier("datainfra$i")
_J = sql.Identifier("datainfra$j")
"""Aliases hold `$`, which user column names cannot: a column never shadows them."""

_FLOAT_JSON = "CASE WHEN {v}::text ~ '^-?[0-9]+$' THEN ({v}::text || '.0')::json ELSE to_json({v}) END"
"""float8out writes 5.0 as `5` and -0.0 as `-0`: JSON integers. With `.0` they read back as floats."""


def _value_json(name: str, field_type: FieldType) -> sql.Composable:
    value: sql.Composable = sql.SQL("{}.{}").format(_Q, column(name))
    if field_type is FieldType.TIMESTAMP:
        value = sql.SQL(TIMESTAMP_TEXT).format(c=value)
    elif field_type is FieldType.FLOAT:
        value = sql.SQL(_FLOAT_JSON).format(v=value)
    return sql.SQL("{} AS {}").format(value, column(name))


def _sort_alias(index: int) -> sql.Identifier:
    return sql.Identifier(f"datainfra$s{index}")


def json_page_statement(
    dataset: Dataset, query: RecordQuery, catalog_schema: str, *, unicode_ilike: bool
) -> tuple[sql.Composed, list[Any]]:
    """The guarded page statement and its parameters, the guard's first (see the module docstring)."""
    types = dataset.tabular_schema.field_types
    wanted = selected_names(dataset, query)
    sort_fields = [k.field for k in query.sort]
    read = tuple(dict.fromkeys([*wanted, *sort_fields]))
    compiled = compile_filter(query.filter, types, unicode_ilike=unicode_ilike)
    inner, inner_params, _ = page_statement(dataset, _with_select(query, read), compiled)
    row_json = sql.SQL("(SELECT row_to_json({x})::text FROM (SELECT {fields}) AS {x})").format(
        x=_X, fields=sql.SQL(", ").join(_value_json(n, types[n]) for n in wanted) if wanted else sql.SQL("")
    )
    sort_items = [sql.SQL(", {}.{} AS {}").format(_Q, column(f), _sort_alias(i)) for i, f in enumerate(sort_fields)]
    lasts = [
        sql.SQL(", (array_agg({}.{}) FILTER (WHERE {}.{} = %s))[1]").format(_P, _sort_alias(i), _P, _I)
        for i in range(len(sort_fields))
    ]
    catalog = sql.Identifier(catalog_schema)
    statement = (
        sql.SQL(
            "SELECT {guard}, count(*), "
            "'[' || coalesce(string_agg({p}.{j}, ',' ORDER BY {p}.{i}) FILTER (WHERE {p}.{i} <= %s), '') || ']'"
        ).format(guard=guard_exists(catalog), p=_P, i=_I, j=_J)
        + sql.Composed(lasts)
        + sql.SQL(" FROM (SELECT row_number() OVER () AS {i}, {row} AS {j}").format(i=_I, row=row_json, j=_J)
        + sql.Composed(sort_items)
        + sql.SQL(" FROM (")
        + inner
        + sql.SQL(") AS {q}) AS {p}").format(q=_Q, p=_P)
    )
    params: list[Any] = [query.limit] + [query.limit] * len(sort_fields) + inner_params
    return statement, params


def _with_select(query: RecordQuery, select: tuple[str, ...]) -> RecordQuery:
    return RecordQuery(
        filter=query.filter,
        select=select,
        sort=query.sort,
        limit=query.limit,
        offset=query.offset,
        after=query.after,
        count=None,
    )


def bound_params(query: RecordQuery) -> list[Any]:
    """The parameters of `json_page_statement` (after the guard's) without composing it: the same
    values in the order sql_filters compiles them. A statement's text is cached only after this
    agreed with the composed statement's parameters (PostgresJsonPages.page), so a compiler change
    this does not follow costs speed, never correctness."""
    params: list[Any] = [query.limit] * (1 + len(query.sort))
    for condition in query.filter.conditions:
        params += _condition_params(condition)
    if query.filter.where is not None:
        _tree_params(normalized(query.filter.where), params)
    if query.after is not None and query.sort:
        if len({key.descending for key in query.sort}) == 1:
            params += list(query.after)
        else:
            for i in range(len(query.sort)):
                params += [*query.after[:i], query.after[i]]
    return [*params, query.limit + 1, query.offset]


def _condition_params(condition: Condition) -> list[Any]:
    if condition.op is Operator.IS:
        return []
    if condition.op in (Operator.IN, Operator.NIN):
        return [list(condition.value)]
    return [condition.value]


def _tree_params(node: FilterNode, params: list[Any]) -> None:
    if isinstance(node, Condition):
        params += _condition_params(node)
    elif isinstance(node, Not):
        assert isinstance(node.child, Condition)
        params += _condition_params(node.child)
    else:
        for child in node.children:
            _tree_params(child, params)


def query_shape(query: RecordQuery) -> Hashable:
    """What a page statement's text depends on besides the dataset: everything but the values."""
    return (
        _spec_shape(query.filter),
        query.select,
        query.sort,
        query.after is not None,
    )


def _spec_shape(spec: FilterSpec) -> Hashable:
    return (
        tuple(_condition_shape(c) for c in spec.conditions),
        None if spec.where is None else _node_shape(spec.where),
    )


def _condition_shape(condition: Condition) -> Hashable:
    # `is:` writes its value into the SQL; every other operator binds it.
    value = condition.value if condition.op is Operator.IS else None
    return (condition.field, condition.op, value)


def _node_shape(node: FilterNode) -> Hashable:
    if isinstance(node, Condition):
        return ("c", _condition_shape(node))
    if isinstance(node, Not):
        return ("not", _node_shape(node.child))
    return ("and" if isinstance(node, And) else "or", tuple(_node_shape(c) for c in node.children))


class PostgresJsonPages(JsonPages):
    """JsonPages over the pool the catalog and the tabular store share (`catalog_schema`: the
    catalog's PostgreSQL schema)."""

    def __init__(self, pool: AsyncConnectionPool, *, catalog_schema: str = DEFAULT_CATALOG_SCHEMA) -> None:
        self._pool = pool
        self._catalog_schema = catalog_schema
        self._statements: dict[Hashable, bytes] = {}
        self._guard = CatalogGuard()

    async def page(self, guard: PageGuard, query: RecordQuery) -> JsonPage | None:
        dataset = guard.dataset
        async with connection(self._pool) as conn:
            unicode_ilike = conn.info.server_version >= 170000
            key = (dataset.id, dataset.updated_at, query_shape(query), unicode_ilike)
            text: bytes | sql.Composed | None = self._statements.get(key)
            if text is not None:
                params = bound_params(query)
            else:
                text, params = json_page_statement(dataset, query, self._catalog_schema, unicode_ilike=unicode_ilike)
                if params == bound_params(query):
                    if len(self._statements) >= STATEMENT_CACHE_SIZE:
                        self._statements.clear()
                    self._statements[key] = text.as_bytes(conn)
            cur = conn.cursor()
            try:
                await cur.execute(text, [*self._guard.params(guard.key_hash, dataset), *params])
            except (pg_errors.UndefinedTable, pg_errors.InvalidSchemaName, pg_errors.UndefinedColumn):
                return None  # the table went (or changed) since the dataset was cached
            except pg_errors.InvalidEscapeSequence:
                raise InvalidRequest("a LIKE pattern must not end with a backslash") from None
            row = await cur.fetchone()
        if row is None or not row[0]:
            return None
        count, body, lasts = row[1], row[2], row[3:]
        has_more = count > query.limit
        items = body.encode() if isinstance(body, str) else bytes(body)
        return JsonPage(
            items=items,
            has_more=has_more,
            last=tuple(map(value_out, lasts)) if has_more and query.limit and query.sort else None,
        )
