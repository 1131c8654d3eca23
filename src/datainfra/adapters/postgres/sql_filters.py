"""FilterSpec, sort and keyset position → parameterised SQL. Identifiers are quoted, values are
always bound parameters; nothing a client wrote is ever spliced into the SQL text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import sql

from datainfra.adapters.postgres.identifiers import checked
from datainfra.adapters.postgres.sql_types import array_param, param
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import Condition, FilterSpec, IsValue, Operator
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


def compile_condition(
    condition: Condition, field_types: Mapping[str, FieldType], *, unicode_ilike: bool = False
) -> tuple[sql.Composable, list[Any]]:
    field_type = field_types.get(condition.field)
    if field_type is None:
        raise InvalidRequest(f"unknown field {condition.field!r}", parameter=condition.field)
    col = column(condition.field)
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


def compile_filter(spec: FilterSpec, field_types: Mapping[str, FieldType], *, unicode_ilike: bool = False) -> Compiled:
    compiled = Compiled()
    for condition in spec.conditions:
        part, params = compile_condition(condition, field_types, unicode_ilike=unicode_ilike)
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
