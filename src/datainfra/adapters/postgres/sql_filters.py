"""FilterSpec, sort and keyset position → parameterised SQL. Identifiers are quoted, values are
always bound parameters; nothing a client wrote is ever spliced into the SQL text.

A FilterSpec's boolean tree is compiled in negation normal form (`domain.filters.normalized`), so
every negation sits on one condition and is written as "that condition is FALSE": UNKNOWN (NULL)
never turns into TRUE, whatever the nesting."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from psycopg import sql

from datainfra.adapters.postgres.identifiers import checked
from datainfra.adapters.postgres.sql_types import array_param, param
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import And, Condition, FilterNode, FilterSpec, IsValue, Not, Operator, normalized
from datainfra.domain.query import SortKey
from datainfra.domain.types import FieldType

_COMPARE = {
    Operator.EQ: "=",
    Operator.NE: "<>",
    Operator.GT: ">",
    Operator.GTE: ">=",
    Operator.LT: "<",
    Operator.LTE: "<=",
}


class Compiled:
    """A WHERE-clause fragment with its parameters, composed left to right."""

    def __init__(self) -> None:
        self.parts: list[sql.Composable] = []
        self.params: list[Any] = []

    def add(self, part: sql.Composable, *params: Any) -> None:
        self.parts.append(part)
        self.params.extend(params)

    def where(self) -> sql.Composable:
        if not self.parts:
            return sql.SQL("")
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(sql.SQL("(") + p + sql.SQL(")") for p in self.parts)


def column(name: str) -> sql.Identifier:
    return checked(name, "field name")


FieldSql = Callable[[str], sql.Composable]
"""Maps a condition's field to its SQL expression (default: the quoted column of that name)."""


def compile_condition(
    condition: Condition,
    field_types: Mapping[str, FieldType],
    *,
    unicode_ilike: bool = False,
    field_sql: FieldSql = column,
) -> tuple[sql.Composable, list[Any]]:
    field_type = field_types.get(condition.field)
    if field_type is None:
        raise InvalidRequest(f"unknown field {condition.field!r}", parameter=condition.field)
    col = field_sql(condition.field)
    op = condition.op
    if op is Operator.IS:
        test = {
            IsValue.NULL: "IS NULL",
            IsValue.NOTNULL: "IS NOT NULL",
            IsValue.TRUE: "IS TRUE",
            IsValue.FALSE: "IS FALSE",
        }[IsValue(condition.value)]
        if test in ("IS TRUE", "IS FALSE") and field_type is not FieldType.BOOLEAN:
            raise InvalidRequest(f"is:{condition.value} needs a boolean field", parameter=condition.field)
        return col + sql.SQL(" " + test), []
    if field_type is FieldType.JSON:
        raise InvalidRequest(f"json field {condition.field!r} can only be filtered with is:", parameter=condition.field)
    if op in _COMPARE:
        return col + sql.SQL(f" {_COMPARE[op]} ") + param(field_type), [condition.value]
    if op is Operator.IN:
        return col + sql.SQL(" = ANY(") + array_param(field_type) + sql.SQL(")"), [list(condition.value)]
    if op is Operator.NIN:
        # `<> ALL('{}')` is true even for NULL; a condition on NULL must be false.
        return (
            col + sql.SQL(" IS NOT NULL AND ") + col + sql.SQL(" <> ALL(") + array_param(field_type) + sql.SQL(")"),
            [list(condition.value)],
        )
    if op in (Operator.LIKE, Operator.ILIKE):
        if field_type is not FieldType.TEXT:
            raise InvalidRequest(f"{op.value} needs a text field", parameter=condition.field)
        if op is Operator.LIKE:
            return col + sql.SQL(" LIKE %s::text"), [condition.value]
        # Under "C", ILIKE folds ASCII only; pg_c_utf8 keeps code-point order and folds all of Unicode.
        folded = col + sql.SQL(" COLLATE pg_c_utf8") if unicode_ilike else col
        return folded + sql.SQL(" ILIKE %s::text"), [condition.value]
    raise InvalidRequest(f"unsupported operator {op.value!r}", parameter=condition.field)  # pragma: no cover


def compile_false(
    condition: Condition,
    field_types: Mapping[str, FieldType],
    *,
    unicode_ilike: bool = False,
    field_sql: FieldSql = column,
) -> tuple[sql.Composable, list[Any]]:
    """SQL that is TRUE exactly when `condition` is FALSE (NULL when it is UNKNOWN)."""
    if condition.op is Operator.IS:
        if condition.value == IsValue.TRUE:
            return field_sql(condition.field) + sql.SQL(" IS NOT TRUE"), []
        if condition.value == IsValue.FALSE:
            return field_sql(condition.field) + sql.SQL(" IS NOT FALSE"), []
    if condition.op in (Operator.LIKE, Operator.ILIKE):
        part, params = compile_condition(condition, field_types, unicode_ilike=unicode_ilike, field_sql=field_sql)
        return sql.SQL("NOT (") + part + sql.SQL(")"), params
    raise AssertionError(f"no complement needed for {condition.op.value}")  # pragma: no cover - see normalized()


def compile_node(
    node: FilterNode,
    field_types: Mapping[str, FieldType],
    *,
    unicode_ilike: bool = False,
    field_sql: FieldSql = column,
) -> tuple[sql.Composable, list[Any]]:
    """A boolean tree as one parenthesised SQL predicate and its parameters, left to right."""
    params: list[Any] = []

    def emit(current: FilterNode) -> sql.Composable:
        if isinstance(current, Condition):
            part, values = compile_condition(current, field_types, unicode_ilike=unicode_ilike, field_sql=field_sql)
            params.extend(values)
            return sql.SQL("(") + part + sql.SQL(")")
        if isinstance(current, Not):
            assert isinstance(current.child, Condition), "normalized() leaves Not only over conditions"
            part, values = compile_false(current.child, field_types, unicode_ilike=unicode_ilike, field_sql=field_sql)
            params.extend(values)
            return sql.SQL("(") + part + sql.SQL(")")
        conjunction = isinstance(current, And)
        if not current.children:
            return sql.SQL("TRUE" if conjunction else "FALSE")
        joiner = sql.SQL(" AND " if conjunction else " OR ")
        return sql.SQL("(") + joiner.join([emit(child) for child in current.children]) + sql.SQL(")")

    return emit(normalized(node)), params


def compile_filter(
    spec: FilterSpec,
    field_types: Mapping[str, FieldType],
    *,
    unicode_ilike: bool = False,
    field_sql: FieldSql = column,
) -> Compiled:
    compiled = Compiled()
    for condition in spec.conditions:
        part, params = compile_condition(condition, field_types, unicode_ilike=unicode_ilike, field_sql=field_sql)
        compiled.add(part, *params)
    if spec.where is not None:
        part, params = compile_node(spec.where, field_types, unicode_ilike=unicode_ilike, field_sql=field_sql)
        compiled.add(part, *params)
    return compiled


def order_by(sort: Sequence[SortKey]) -> sql.Composable:
    """ASC puts NULLs last and DESC puts them first: PostgreSQL's defaults, written out."""
    if not sort:
        return sql.SQL("")
    items = [column(key.field) + sql.SQL(" DESC NULLS FIRST" if key.descending else " ASC NULLS LAST") for key in sort]
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(items)


def keyset_condition(
    sort: Sequence[SortKey], after: Sequence[Any], field_types: Mapping[str, FieldType]
) -> tuple[sql.Composable, list[Any]]:
    """Rows strictly after `after` in `sort` order (sort fields are non-nullable when a cursor is
    used). One direction: a row-value comparison, which an index on the sort columns can serve.
    Mixed directions: the expanded form (a > x) OR (a = x AND b < y) OR ..."""
    if len(after) != len(sort):
        raise InvalidRequest("cursor does not match the sort", parameter="cursor")
    for key in sort:
        if key.field not in field_types:
            raise InvalidRequest(f"unknown sort field {key.field!r}", parameter="sort")
    if len({key.descending for key in sort}) == 1:
        op = "<" if sort[0].descending else ">"
        cols = sql.SQL(", ").join(column(k.field) for k in sort)
        vals = sql.SQL(", ").join(param(field_types[k.field]) for k in sort)
        return sql.SQL("(") + cols + sql.SQL(f") {op} (") + vals + sql.SQL(")"), list(after)
    branches: list[sql.Composable] = []
    params: list[Any] = []
    for i, key in enumerate(sort):
        terms: list[sql.Composable] = []
        for prior, value in zip(sort[:i], after[:i], strict=True):
            terms.append(column(prior.field) + sql.SQL(" = ") + param(field_types[prior.field]))
            params.append(value)
        op = "<" if key.descending else ">"
        terms.append(column(key.field) + sql.SQL(f" {op} ") + param(field_types[key.field]))
        params.append(after[i])
        branches.append(sql.SQL("(") + sql.SQL(" AND ").join(terms) + sql.SQL(")"))
    return sql.SQL(" OR ").join(branches), params
