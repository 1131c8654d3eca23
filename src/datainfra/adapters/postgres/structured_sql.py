"""A resolved structured query (domain.structured_plan) → one parameterised SELECT.

Nothing the client wrote reaches the SQL text: tables are the session schema's quoted dataset names,
columns quoted identifiers validated again, table and output aliases are generated (`t$0`, `c$0`:
a `$` never occurs in a user name), ORDER BY names output columns by position, and every value
(filters, limit, offset) is a bound parameter.

    SELECT <column or aggregate> AS "c$0", ...     -- avg: see domain.structured_plan.aggregate_type
    FROM <schema>.<from> AS "t$0"
    [INNER | LEFT] JOIN <schema>.<dataset> AS "t$1" ON ("t$0"."a" = "t$1"."b" AND ...) ...
    WHERE <filter>
    GROUP BY "t$0"."x", ...
    ORDER BY 1 ASC NULLS LAST, "t$0"."y" DESC NULLS FIRST, ...
    LIMIT %s OFFSET %s
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from datainfra.adapters.postgres.identifiers import checked, table_identifier
from datainfra.adapters.postgres.sql_filters import compile_filter
from datainfra.domain.structured_plan import AVG_MIN_SCALE, ColumnRef, PlanAggregate, PlanOrder, StructuredPlan
from datainfra.domain.structured_query import AggregateFn, JoinType
from datainfra.domain.types import FieldType

_AGGREGATE = {
    AggregateFn.COUNT: "count",
    AggregateFn.SUM: "sum",
    AggregateFn.AVG: "avg",
    AggregateFn.MIN: "min",
    AggregateFn.MAX: "max",
}
_JOIN = {JoinType.INNER: "INNER JOIN", JoinType.LEFT: "LEFT JOIN"}


def source_alias(index: int) -> sql.Identifier:
    return sql.Identifier(f"t${index}")


def column_sql(ref: ColumnRef) -> sql.Composable:
    return sql.SQL("{}.{}").format(source_alias(ref.source), checked(ref.column, "field name"))


def _aggregate_sql(aggregate: PlanAggregate) -> sql.Composable:
    if aggregate.arg is None:
        return sql.SQL("count(*)")
    arg = column_sql(aggregate.arg)
    if aggregate.fn is AggregateFn.COUNT_DISTINCT:
        return sql.SQL("count(DISTINCT {})").format(arg)
    if aggregate.fn is AggregateFn.AVG and aggregate.arg.type is FieldType.INTEGER:
        return sql.SQL("avg({})::float8").format(arg)  # the exact numeric average, correctly rounded
    if aggregate.fn is AggregateFn.AVG and aggregate.arg.type is FieldType.NUMERIC:
        # The sum divided at (at least) the result scale, then rounded to it: a divisor of that
        # scale makes numeric division keep that many digits (select_div_scale).
        scale = sql.SQL("greatest(max(scale({})), {})").format(arg, sql.Literal(AVG_MIN_SCALE))
        return sql.SQL("round(sum({}) / round(count({}), {}), {})").format(arg, arg, scale, scale)
    return sql.SQL(_AGGREGATE[aggregate.fn] + "({})").format(arg)


def _order_sql(order: PlanOrder) -> sql.Composable:
    direction = sql.SQL(" DESC NULLS FIRST" if order.descending else " ASC NULLS LAST")
    if isinstance(order.target, int):
        return sql.SQL(str(order.target + 1)) + direction  # a generated position, never client text
    return column_sql(order.target) + direction


def fetch_limit(plan: StructuredPlan, max_rows: int) -> int:
    """Rows to ask the server for: the plan's limit, or one more than the cap (to see truncation)."""
    if plan.limit is not None and plan.limit <= max_rows:
        return plan.limit
    return max_rows + 1


def compile_structured(
    plan: StructuredPlan, max_rows: int, *, unicode_ilike: bool = False
) -> tuple[sql.Composed, list[Any]]:
    """The SELECT of `plan` (at most `fetch_limit` rows) and its parameters."""
    selected = sql.SQL(", ").join(
        (column_sql(c.value) if isinstance(c.value, ColumnRef) else _aggregate_sql(c.value))
        + sql.SQL(" AS {}").format(sql.Identifier(f"c${i}"))
        for i, c in enumerate(plan.columns)
    )
    source = sql.SQL("{} AS {}").format(table_identifier(plan.sources[0]), source_alias(0))
    for number, join in enumerate(plan.joins, start=1):
        on = sql.SQL(" AND ").join(
            sql.SQL("{} = {}").format(column_sql(left), column_sql(right)) for left, right in join.on
        )
        source += sql.SQL(" {} {} AS {} ON ({})").format(
            sql.SQL(_JOIN[join.type]), table_identifier(plan.sources[number]), source_alias(number), on
        )

    def field_sql(key: str) -> sql.Composable:
        return column_sql(plan.fields[key])

    compiled = compile_filter(plan.filter, plan.field_types, unicode_ilike=unicode_ilike, field_sql=field_sql)
    statement = sql.SQL("SELECT {} FROM {}").format(selected, source) + compiled.where()
    if plan.group_by:
        statement += sql.SQL(" GROUP BY ") + sql.SQL(", ").join(column_sql(ref) for ref in plan.group_by)
    if plan.order:
        statement += sql.SQL(" ORDER BY ") + sql.SQL(", ").join(_order_sql(order) for order in plan.order)
    statement += sql.SQL(" LIMIT %s OFFSET %s")
    return statement, [*compiled.params, fetch_limit(plan, max_rows), plan.offset]
