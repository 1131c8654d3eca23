"""Reading rows of a tabular dataset's table: one page (filters, keyset or offset, LIMIT one row
more than asked), its count (exact, or the planner's estimate on big tables), and values out as the
port hands them over (timestamps in UTC).

Column names in a RecordQuery were checked where the domain built it; here they are only quoted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from datainfra.adapters.postgres.identifiers import table_identifier
from datainfra.adapters.postgres.pool import load_json
from datainfra.adapters.postgres.sql_filters import Compiled, column, keyset_condition, order_by
from datainfra.adapters.postgres.sql_types import param
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.model import Dataset
from datainfra.domain.query import CountMode, RecordQuery
from datainfra.domain.types import FieldType


def selected_names(dataset: Dataset, query: RecordQuery) -> tuple[str, ...]:
    """The selected columns, else every column in schema order."""
    return query.select if query.select is not None else dataset.tabular_schema.column_names


def page_statement(
    dataset: Dataset, query: RecordQuery, page: Compiled
) -> tuple[sql.Composed, list[Any], tuple[str, ...]]:
    """The SELECT of one page (one row more than `limit`, to know whether more follow) with the
    filter compiled in `page`, its parameters and the columns it returns."""
    types = dataset.tabular_schema.field_types
    names = selected_names(dataset, query)
    selected = sql.SQL(", ").join(column(n) for n in names) if names else sql.SQL("NULL")
    if query.after is not None and query.sort:
        part, params = keyset_condition(query.sort, query.after, types)
        page.add(part, *params)
    statement = (
        sql.SQL("SELECT {} FROM {}").format(selected, table_identifier(dataset))
        + page.where()
        + order_by(query.sort)
        + sql.SQL(" LIMIT %s OFFSET %s")
    )
    return statement, [*page.params, query.limit + 1, query.offset], names


async def fetch_page(conn: psycopg.AsyncConnection[Any], statement: sql.Composed, params: list[Any]) -> list[Any]:
    cur = conn.cursor(row_factory=dict_row)
    try:
        await cur.execute(statement, params)
    except pg_errors.InvalidEscapeSequence:
        raise InvalidRequest("a LIKE pattern must not end with a backslash") from None
    return list(await cur.fetchall())


async def total(
    conn: psycopg.AsyncConnection[Any],
    table: sql.Composable,
    compiled: Compiled,
    mode: CountMode | None,
    exact_count_threshold: int,
) -> int | None:
    """The count `mode` asks for: the planner's estimate once it reaches `exact_count_threshold`
    rows (below it an exact count is cheap, so it is given)."""
    if mode is None:
        return None
    if mode is CountMode.ESTIMATED:
        estimate = await _planner_estimate(conn, table, compiled)
        if estimate >= exact_count_threshold:
            return estimate
    cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table) + compiled.where(), compiled.params)
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _planner_estimate(conn: psycopg.AsyncConnection[Any], table: sql.Composable, compiled: Compiled) -> int:
    statement = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}").format(table) + compiled.where()
    cur = await conn.execute(statement, compiled.params)
    row = await cur.fetchone()
    plan = row[0] if row else None
    if isinstance(plan, str | bytes):
        plan = load_json(plan)
    try:
        return int(plan[0]["Plan"]["Plan Rows"])  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        return 0


def row_out(row: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = row[name]
        if isinstance(value, dt.datetime) and value.tzinfo is not dt.UTC:
            value = value.astimezone(dt.UTC)
        out[name] = value
    return out


def value_out(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not dt.UTC:
        return value.astimezone(dt.UTC)
    return value


async def fetch_by_key(
    conn: psycopg.AsyncConnection[Any], dataset: Dataset, key: Mapping[str, Any], *, for_update: bool = False
) -> dict[str, Any] | None:
    """The row with this full primary key (every column, values out as `row_out`), or None;
    `for_update` locks it to the end of the caller's transaction."""
    schema = dataset.tabular_schema
    names = schema.column_names
    statement = (
        sql.SQL("SELECT {} FROM {} WHERE ").format(
            sql.SQL(", ").join(column(n) for n in names), table_identifier(dataset)
        )
        + key_condition(dataset)
        + sql.SQL(" FOR UPDATE" if for_update else "")
    )
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(statement, key_values(dataset, key))
    row = await cur.fetchone()
    return None if row is None else row_out(row, names)


def key_condition(dataset: Dataset) -> sql.Composed:
    types = dataset.tabular_schema.field_types
    return sql.SQL(" AND ").join(
        column(n) + sql.SQL(" = ") + param(types[n]) for n in dataset.tabular_schema.primary_key
    )


def key_values(dataset: Dataset, key: Mapping[str, Any]) -> list[Any]:
    types = dataset.tabular_schema.field_types
    return [Jsonb(key[n]) if types[n] is FieldType.JSON else key[n] for n in dataset.tabular_schema.primary_key]
