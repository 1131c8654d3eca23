"""The graph store's filter compiler: filters, sorts and keyset bounds as Cypher text built only from
generated names, plus parameters (the Neo4j twin of `postgres/sql_filters`; not client Cypher).

Semantics are the SQL ones of `domain.filters` (the in-memory adapter's `semantics` module is the
reference): a condition on an absent property is false except `is:null`; values of different kinds
never compare, so `ne`/`nin` carry a type predicate (Cypher's `<>` would say 'a' <> 1 is true);
`like`/`ilike` become anchored Java regexes (`=~` matches the whole string).
Cypher's ORDER BY already puts NULLs last ascending and first descending, as PostgreSQL does.

A FilterSpec's boolean tree is compiled in negation normal form (`domain.filters.normalized`): each
negation sits on one condition and is written as "that condition is FALSE" (a guarded test that is
never true on an absent property or a value of another kind), so Cypher's own null logic never has
to agree with ours under NOT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from datainfra.adapters.neo4j.namespacing import Q_KEY, order_key, quote
from datainfra.adapters.neo4j.values import condition_value
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import And, Condition, FilterNode, FilterSpec, IsValue, Not, Operator, normalized
from datainfra.domain.names import is_valid_name
from datainfra.domain.query import SortKey
from datainfra.domain.types import FieldType

_COMPARE = {Operator.GT: ">", Operator.GTE: ">=", Operator.LT: "<", Operator.LTE: "<="}

_KIND = {
    FieldType.TEXT: "STRING",
    FieldType.UUID: "STRING",
    FieldType.NUMERIC: "STRING",  # the order key, present only on numeric values
    FieldType.INTEGER: "INTEGER | FLOAT",
    FieldType.FLOAT: "INTEGER | FLOAT",
    FieldType.BOOLEAN: "BOOLEAN",
    FieldType.DATE: "DATE",
    FieldType.TIMESTAMP: "ZONED DATETIME",
}


@dataclass(slots=True)
class Params:
    """Parameters of one statement, named p0, p1, ... so no user text reaches the query text."""

    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return "$" + name


FieldExpr = Callable[[str, FieldType | None], str]
"""Maps a filter/sort field and its type to a Cypher expression (generated text only)."""


def node_field(var: str) -> FieldExpr:
    def expr(name: str, field_type: FieldType | None) -> str:
        if name == "id":
            return f"{var}.{Q_KEY}"
        return property_expr(var, name, field_type)

    return expr


def edge_field(rel: str, source: str, target: str) -> FieldExpr:
    fixed = {"id": f"{rel}.{Q_KEY}", "source": f"{source}.{Q_KEY}", "target": f"{target}.{Q_KEY}"}

    def expr(name: str, field_type: FieldType | None) -> str:
        return fixed.get(name) or property_expr(rel, name, field_type)

    return expr


def property_expr(var: str, name: str, field_type: FieldType | None) -> str:
    if not is_valid_name(name):
        raise InvalidRequest(f"unknown field {name!r}")
    stored = order_key(name) if field_type is FieldType.NUMERIC else name
    return f"{var}.{quote(stored)}"


def where(spec: FilterSpec, field_expr: FieldExpr, params: Params) -> list[str]:
    """One Cypher predicate per condition, and one for the tree (to AND together)."""
    predicates = [_condition(c, field_expr, params) for c in spec.conditions]
    if spec.where is not None:
        predicates.append(tree(spec.where, field_expr, params))
    return predicates


def tree(node: FilterNode, field_expr: FieldExpr, params: Params) -> str:
    """A boolean tree as one parenthesised predicate."""

    def emit(current: FilterNode) -> str:
        if isinstance(current, Condition):
            return f"({_condition(current, field_expr, params)})"
        if isinstance(current, Not):
            assert isinstance(current.child, Condition), "normalized() leaves Not only over conditions"
            return f"({_false(current.child, field_expr, params)})"
        conjunction = isinstance(current, And)
        if not current.children:
            return "true" if conjunction else "false"
        joiner = " AND " if conjunction else " OR "
        return "(" + joiner.join([emit(child) for child in current.children]) + ")"

    return emit(normalized(node))


def _false(c: Condition, field_expr: FieldExpr, params: Params) -> str:
    """True exactly when condition `c` is FALSE: a non-null value of the right kind that fails it."""
    e = field_expr(c.field, c.type)
    if c.op is Operator.IS and c.value in (IsValue.TRUE, IsValue.FALSE):
        literal = "true" if c.value == IsValue.TRUE else "false"
        return f"NOT coalesce({e} = {literal}, false)"
    if c.op is Operator.LIKE:
        return f"{e} IS :: STRING NOT NULL AND NOT {e} =~ {params.add(like_regex(c.value, c.field))}"
    if c.op is Operator.ILIKE:
        pattern = params.add(like_regex(c.value.lower(), c.field))
        return f"{e} IS :: STRING NOT NULL AND NOT toLower({e}) =~ {pattern}"
    raise AssertionError(f"no complement needed for {c.op.value}")  # pragma: no cover - see normalized()


def _condition(c: Condition, field_expr: FieldExpr, params: Params) -> str:
    if c.op is Operator.IS:
        e = field_expr(c.field, c.type)
        match c.value:
            case IsValue.NULL:
                return f"{e} IS NULL"
            case IsValue.NOTNULL:
                return f"{e} IS NOT NULL"
            case IsValue.TRUE:
                return f"{e} = true"
            case _:
                return f"{e} = false"
    e = field_expr(c.field, c.type)
    if c.op is Operator.LIKE:
        return f"{e} =~ {params.add(like_regex(c.value, c.field))}"
    if c.op is Operator.ILIKE:
        pattern = params.add(like_regex(c.value.lower(), c.field))
        return f"CASE WHEN {e} IS :: STRING THEN toLower({e}) END =~ {pattern}"
    if c.op is Operator.EQ:
        return f"{e} = {params.add(condition_value(c.value, c.type))}"
    if c.op is Operator.IN:
        return f"{e} IN {params.add([condition_value(v, c.type) for v in c.value])}"
    kind = _KIND.get(c.type)
    guard = f"{e} IS :: {kind}" if kind else "false"
    if c.op is Operator.NE:
        return f"({guard} AND {e} <> {params.add(condition_value(c.value, c.type))})"
    if c.op is Operator.NIN:
        if not c.value:
            return f"{e} IS NOT NULL"
        return f"({guard} AND NOT {e} IN {params.add([condition_value(v, c.type) for v in c.value])})"
    return f"{e} {_COMPARE[c.op]} {params.add(condition_value(c.value, c.type))}"


def like_regex(pattern: str, field_name: str = "") -> str:
    """A SQL LIKE pattern (`%`, `_`, backslash escape) as a Java regex matching the whole string."""
    parts = ["(?s)"]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise InvalidRequest("a LIKE pattern must not end with a backslash", parameter=field_name or None)
            parts.append(_literal(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else _literal(ch))
        i += 1
    return "".join(parts)


def _literal(ch: str) -> str:
    """One character matched literally: Java regex treats a backslash before any non-letter,
    non-digit ASCII character as that character; other characters are never special."""
    if ch.isascii() and not ch.isalnum():
        return "\\" + ch
    return ch


def order_by(sort: Sequence[SortKey], field_expr: FieldExpr, types: Mapping[str, FieldType]) -> str:
    keys = [f"{field_expr(k.field, types.get(k.field))} {'DESC' if k.descending else 'ASC'}" for k in sort]
    return "ORDER BY " + ", ".join(keys) if keys else ""


def after(
    sort: Sequence[SortKey],
    bound: Sequence[Any],
    field_expr: FieldExpr,
    types: Mapping[str, FieldType],
    params: Params,
) -> str:
    """Rows strictly after `bound` in `sort` order (keyset pagination over non-null sort fields)."""
    alternatives: list[str] = []
    for i, key in enumerate(sort[: len(bound)]):
        equal = [
            f"{field_expr(k.field, types.get(k.field))} = "
            + params.add(condition_value(v, types.get(k.field) or FieldType.TEXT))
            for k, v in zip(sort[:i], bound[:i], strict=True)
        ]
        field_type = types.get(key.field) or FieldType.TEXT
        op = "<" if key.descending else ">"
        step = f"{field_expr(key.field, field_type)} {op} {params.add(condition_value(bound[i], field_type))}"
        alternatives.append("(" + " AND ".join([*equal, step]) + ")")
    return "(" + " OR ".join(alternatives) + ")" if alternatives else "true"
