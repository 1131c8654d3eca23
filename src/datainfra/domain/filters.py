"""FilterSpec: the typed conditions of a records query, parsed from `field=op:value` parameters.

Semantics are SQL's, because PostgreSQL is the reference store and every adapter must agree:
- a condition on a NULL value is false, except `is:null` (so `ne` and `nin` never match NULL);
- several conditions AND together; `in`/`nin` take comma-separated values, an element may be
  double-quoted ("a,b") with backslash escapes inside;
- `like`/`ilike` use SQL patterns: `%` any run, `_` one character, backslash escapes the next one.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.names import is_valid_name
from datainfra.domain.types import BadValue, FieldType, parse_text


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
class FilterSpec:
    conditions: tuple[Condition, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.conditions

    def fields(self) -> set[str]:
        return {c.field for c in self.conditions}


def parse_filters(
    params: Iterable[tuple[str, str]],
    field_types: Mapping[str, FieldType],
    *,
    open_fields: bool = False,
) -> FilterSpec:
    """`(field, "op:value")` pairs → a FilterSpec. `open_fields` accepts undeclared fields (graph
    properties outside a strict schema), typing each value by what it looks like.
    InvalidRequest names the offending parameter."""
    conditions: list[Condition] = []
    for key, raw in params:
        conditions.append(parse_condition(key, raw, field_types, open_fields=open_fields))
    return FilterSpec(tuple(conditions))


def parse_condition(
    key: str, raw: str, field_types: Mapping[str, FieldType], *, open_fields: bool = False
) -> Condition:
    field = key[6:] if key.startswith("where.") else key
    field_type = field_types.get(field)
    if field_type is None and not (open_fields and is_valid_name(field)):
        raise InvalidRequest(f"unknown field {field!r}", parameter=key)
    op_text, sep, value = raw.partition(":")
    if not sep:
        raise InvalidRequest(f"expected {key}=<operator>:<value>, e.g. {key}=eq:{raw}", parameter=key)
    try:
        op = Operator(op_text)
    except ValueError:
        ops = " ".join(o.value for o in Operator)
        raise InvalidRequest(f"unknown operator {op_text!r}; use one of: {ops}", parameter=key) from None

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


def _typed(text: str, field_type: FieldType, key: str) -> Any:
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
