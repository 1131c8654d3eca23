"""FilterSpec: the typed conditions of a records query, parsed from `field=op:value` parameters
(FilterTerm: the syntax, read at the edge; parse_condition: typed by the schema).

Semantics are SQL's, because PostgreSQL is the reference store and every adapter must agree:
- a condition on a NULL value is false, except `is:null` (so `ne` and `nin` never match NULL);
- several conditions AND together; `in`/`nin` take comma-separated values, an element may be
  double-quoted ("a,b") with backslash escapes inside;
- `like`/`ilike` use SQL patterns: `%` any run, `_` one character, backslash escapes the next one.

Besides its flat conditions, a FilterSpec may hold a boolean tree (`where`: And / Or / Not over
Conditions, parsed from JSON by `domain.where`), ANDed with them. The tree has SQL's three-valued
semantics: a condition on NULL (or on a value of another kind, for untyped graph properties) is
UNKNOWN, NOT UNKNOWN is UNKNOWN, and a row is kept only when the whole filter is TRUE. `is:` tests
are never UNKNOWN. Stores that cannot express UNKNOWN directly compile `normalized(tree)`: the
negations pushed down to the conditions (De Morgan), each negated condition replaced by its
complement where one exists (`ne` for `eq`, `lte` for `gt`, ...), which is TRUE exactly when the
condition is FALSE; the conditions left under a Not (like, ilike, is:true, is:false) are compiled as
"the condition is FALSE" by each store. Over such a tree UNKNOWN and FALSE can be treated alike.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.names import is_valid_name
from datainfra.domain.types import BadValue, FieldType, FieldValue, parse_text


class Operator(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    NIN = "nin"
    LIKE = "like"
    ILIKE = "ilike"
    IS = "is"


class IsValue(enum.StrEnum):
    NULL = "null"
    NOTNULL = "notnull"
    TRUE = "true"
    FALSE = "false"


COMPARISONS = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE})


@dataclass(frozen=True, slots=True)
class Condition:
    """One typed condition. `value` is a typed value, a tuple of them (in/nin), a pattern string
    (like/ilike) or an IsValue (is)."""

    field: str
    op: Operator
    value: Any
    type: FieldType


@dataclass(frozen=True, slots=True)
class And:
    """TRUE when every child is TRUE (an empty And is TRUE)."""

    children: tuple[FilterNode, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """TRUE when some child is TRUE (an empty Or is FALSE)."""

    children: tuple[FilterNode, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """TRUE when the child is FALSE; UNKNOWN stays UNKNOWN."""

    child: FilterNode


FilterNode: TypeAlias = "Condition | And | Or | Not"
"""A boolean tree over Conditions."""


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """Flat conditions (ANDed) and, optionally, a boolean tree ANDed with them."""

    conditions: tuple[Condition, ...] = ()
    where: FilterNode | None = None

    @property
    def empty(self) -> bool:
        return not self.conditions and self.where is None

    def fields(self) -> set[str]:
        return {c.field for c in self.all_conditions()}

    def all_conditions(self) -> Iterator[Condition]:
        """Every condition: the flat ones, then the tree's leaves."""
        yield from self.conditions
        if self.where is not None:
            yield from tree_conditions(self.where)


def tree_conditions(node: FilterNode) -> Iterator[Condition]:
    """The leaves of a tree, left to right."""
    stack: list[FilterNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Condition):
            yield current
        elif isinstance(current, Not):
            stack.append(current.child)
        else:
            stack.extend(reversed(current.children))


_COMPLEMENT = {
    Operator.EQ: Operator.NE,
    Operator.NE: Operator.EQ,
    Operator.GT: Operator.LTE,
    Operator.LTE: Operator.GT,
    Operator.GTE: Operator.LT,
    Operator.LT: Operator.GTE,
    Operator.IN: Operator.NIN,
    Operator.NIN: Operator.IN,
}


def complement(condition: Condition) -> Condition | None:
    """The condition that is TRUE exactly when `condition` is FALSE (both are UNKNOWN together), or
    None when no operator says that (like, ilike, is:true, is:false)."""
    if condition.op is Operator.IS:
        if condition.value == IsValue.NULL:
            return replace(condition, value=IsValue.NOTNULL)
        if condition.value == IsValue.NOTNULL:
            return replace(condition, value=IsValue.NULL)
        return None
    op = _COMPLEMENT.get(condition.op)
    return None if op is None else replace(condition, op=op)


def normalized(node: FilterNode) -> FilterNode:
    """`node` in negation normal form: Not only directly over a Condition that has no complement;
    nested Ands (and Ors) flattened. Equivalent to `node` under three-valued logic, and monotone in
    its leaves, so a store may read every UNKNOWN leaf as FALSE."""
    return _normalized(node, negate=False)


def _normalized(node: FilterNode, *, negate: bool) -> FilterNode:
    if isinstance(node, Condition):
        if not negate:
            return node
        opposite = complement(node)
        return Not(node) if opposite is None else opposite
    if isinstance(node, Not):
        return _normalized(node.child, negate=not negate)
    conjunction = isinstance(node, And) != negate  # De Morgan swaps And and Or under a negation
    children: list[FilterNode] = []
    for child in node.children:
        part = _normalized(child, negate=negate)
        if (isinstance(part, And) and conjunction) or (isinstance(part, Or) and not conjunction):
            children.extend(part.children)
        else:
            children.append(part)
    if len(children) == 1:
        return children[0]
    return And(tuple(children)) if conjunction else Or(tuple(children))


@dataclass(frozen=True, slots=True)
class FilterTerm:
    """One filter as a query string writes it, `parameter=op:value`, its syntax checked but not yet
    its field or value: those need the dataset's schema (`parse_condition`). `parameter` is the name
    as written: the field, or `where.<field>` for a field named like a reserved parameter."""

    parameter: str
    op: Operator
    text: str

    @property
    def field(self) -> str:
        return self.parameter[6:] if self.parameter.startswith("where.") else self.parameter

    @property
    def written(self) -> str:
        """The value as written in the query string: `op:text`."""
        return f"{self.op.value}:{self.text}"


def filter_term(parameter: str, raw: str) -> FilterTerm:
    """A query parameter `parameter=raw` read as a filter; InvalidRequest names the parameter."""
    op_text, sep, value = raw.partition(":")
    if not sep:
        raise InvalidRequest(f"expected {parameter}=<operator>:<value>, e.g. {parameter}=eq:{raw}", parameter=parameter)
    try:
        op = Operator(op_text)
    except ValueError:
        ops = " ".join(o.value for o in Operator)
        raise InvalidRequest(f"unknown operator {op_text!r}; use one of: {ops}", parameter=parameter) from None
    return FilterTerm(parameter, op, value)


def parse_filters(
    terms: Iterable[FilterTerm],
    field_types: Mapping[str, FieldType],
    *,
    open_fields: bool = False,
) -> FilterSpec:
    """Filter terms → a FilterSpec. `open_fields` accepts undeclared fields (graph properties
    outside a strict schema), typing each value by what it looks like. InvalidRequest names the
    offending parameter."""
    return FilterSpec(tuple(parse_condition(term, field_types, open_fields=open_fields) for term in terms))


def parse_condition(term: FilterTerm, field_types: Mapping[str, FieldType], *, open_fields: bool = False) -> Condition:
    key, field, op, value = term.parameter, term.field, term.op, term.text
    field_type = field_types.get(field)
    if field_type is None and not (open_fields and is_valid_name(field)):
        raise InvalidRequest(f"unknown field {field!r}", parameter=key)

    if op is Operator.IS:
        try:
            is_value = IsValue(value)
        except ValueError:
            raise InvalidRequest("is: takes null, notnull, true or false", parameter=key) from None
        if is_value in (IsValue.TRUE, IsValue.FALSE) and field_type not in (FieldType.BOOLEAN, None):
            raise InvalidRequest(f"is:{value} needs a boolean field", parameter=key)
        boolean_test = is_value in (IsValue.TRUE, IsValue.FALSE)
        return Condition(field, op, is_value, field_type or (FieldType.BOOLEAN if boolean_test else FieldType.TEXT))

    if field_type is FieldType.JSON:
        raise InvalidRequest(f"json field {field!r} can only be filtered with is:", parameter=key)

    if op in (Operator.LIKE, Operator.ILIKE):
        if field_type not in (FieldType.TEXT, None):
            raise InvalidRequest(f"{op.value} needs a text field", parameter=key)
        if "\x00" in value:
            raise InvalidRequest("a pattern must not contain NUL characters", parameter=key)
        if _ends_in_lone_backslash(value):
            raise InvalidRequest("a pattern must not end in a lone backslash (escape it as \\\\)", parameter=key)
        return Condition(field, op, value, FieldType.TEXT)

    if op in (Operator.IN, Operator.NIN):
        items = split_list(value, key)
        chosen = field_type or _common_type(items)
        return Condition(field, op, tuple(_typed(item, chosen, key) for item in items), chosen)

    chosen = field_type or infer_type(value)
    return Condition(field, op, _typed(value, chosen, key), chosen)


def _ends_in_lone_backslash(pattern: str) -> bool:
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return trailing % 2 == 1


def _typed(text: str, field_type: FieldType, key: str) -> FieldValue:
    try:
        return parse_text(text, field_type)
    except BadValue as exc:
        raise InvalidRequest(str(exc), parameter=key) from None


_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?")


def infer_type(text: str) -> FieldType:
    """The type of a value for an undeclared graph property: integer, float, boolean or text."""
    if _INT.fullmatch(text) and len(text) < 19:
        return FieldType.INTEGER
    if _FLOAT.fullmatch(text):
        return FieldType.FLOAT
    if text in ("true", "false"):
        return FieldType.BOOLEAN
    return FieldType.TEXT


def _common_type(items: list[str]) -> FieldType:
    kinds = {infer_type(item) for item in items}
    if kinds <= {FieldType.INTEGER}:
        return FieldType.INTEGER
    if kinds <= {FieldType.INTEGER, FieldType.FLOAT}:
        return FieldType.FLOAT
    if kinds == {FieldType.BOOLEAN}:
        return FieldType.BOOLEAN
    return FieldType.TEXT


def split_list(text: str, key: str) -> list[str]:
    """`a,b,"c,d","e\\"f"` → ["a", "b", "c,d", 'e"f']. An empty text is an empty list."""
    if text == "":
        return []
    items: list[str] = []
    i = 0
    while True:
        if i < len(text) and text[i] == '"':
            buf: list[str] = []
            i += 1
            while True:
                if i >= len(text):
                    raise InvalidRequest("unterminated quote in list", parameter=key)
                ch = text[i]
                if ch == "\\" and i + 1 < len(text):
                    buf.append(text[i + 1])
                    i += 2
                    continue
                if ch == '"':
                    i += 1
                    break
                buf.append(ch)
                i += 1
            items.append("".join(buf))
            if i < len(text) and text[i] != ",":
                raise InvalidRequest("expected a comma after a quoted list element", parameter=key)
        else:
            end = text.find(",", i)
            end = len(text) if end < 0 else end
            items.append(text[i:end])
            i = end
        if i >= len(text):
            return items
        i += 1  # the comma
        if i == len(text):
            items.append("")
            return items


def quote_list(items: Iterable[str]) -> str:
    """The inverse of split_list: quote every element that needs it."""
    out = []
    for item in items:
        if item == "" or any(ch in item for ch in ',"\\') or item.startswith('"'):
            out.append('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            out.append(item)
    return ",".join(out)
