"""`where` as JSON: a boolean tree of typed conditions, for clients that send filters in a body.

    {"age": {"gte": 28}, "name": {"ilike": "a%"}}     the members of an object AND together
    {"age": {"gt": 20, "lt": 30}}                      several operators on one field AND together
    {"city": "Paris"}                                  a bare value is `eq`
    {"city": null}                                     null is `is: null` (also {"eq": null});
                                                       {"ne": null} is `is: notnull`
    {"or": [{...}, {...}]}  {"and": [...]}  {"not": {...}}
    {"field": "or", "eq": 1}                           the explicit form, for a field named
                                                       and / or / not / field

Operators are those of `domain.filters` (eq ne gt gte lt lte like ilike in nin is); `in`/`nin` take
a JSON array (no nulls in it); `is` takes null, "null", "notnull", true, false (or "true"/"false").
Values are JSON values coerced to the field's declared type by the rules of record bodies
(`domain.types.coerce_json`: a numeric may be a string, a timestamp is ISO text, ...). An undeclared
field (graph properties outside a strict schema, with `open_fields`) is typed by its JSON value:
true/false boolean, a string text, an integer integer, any other number float; an `in` array must
hold values of one kind (integers and other numbers mix, as floats).

`{}` (or null) at the top is no filter; a nested `{}` is TRUE, `{"and": []}` TRUE, `{"or": []}` FALSE.
Semantics are SQL's three-valued ones (see `domain.filters`). The tree is bounded: at most
MAX_WHERE_DEPTH nested objects and arrays, MAX_WHERE_CONDITIONS conditions, MAX_WHERE_VALUES values
in all `in`/`nin` arrays together. Every error is an InvalidRequest whose `field` is the JSON path of
the culprit (`where.or[1].age.gte`).

Two steps: `read_where` reads the JSON into the syntax tree (WhereTest / WhereAnd / WhereOr /
WhereNot: shape, operators, bounds; no schema), which the HTTP edge does for a search body;
`type_where` types it against the dataset's fields into the FilterNode tree the stores compile.
`parse_where` does both, for JSON held by the domain itself (structured queries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias, cast

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import And, Condition, FilterNode, IsValue, Not, Operator, Or
from datainfra.domain.json_value import JsonValue
from datainfra.domain.names import is_valid_name
from datainfra.domain.types import BadValue, FieldType, FieldValue, coerce_json

MAX_WHERE_DEPTH = 32
MAX_WHERE_CONDITIONS = 1000
MAX_WHERE_VALUES = 10_000

COMBINATORS = frozenset({"and", "or", "not"})
EXPLICIT_FIELD = "field"

_IS_VALUES: dict[str, IsValue] = {
    "null": IsValue.NULL,
    "notnull": IsValue.NOTNULL,
    "true": IsValue.TRUE,
    "false": IsValue.FALSE,
}
_OPERATORS = " ".join(op.value for op in Operator)


# -- the syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WhereTest:
    """One operator on one field, as written. `value` is the JSON value compared with (an array for
    in/nin, a pattern string for like/ilike) or, for `is`, an IsValue. `field_path` is where the
    field is named (an unknown field is reported there), `path` where the value is."""

    field: str
    op: Operator
    value: JsonValue
    field_path: str
    path: str


@dataclass(frozen=True, slots=True)
class WhereAnd:
    children: tuple[WhereNode, ...]


@dataclass(frozen=True, slots=True)
class WhereOr:
    children: tuple[WhereNode, ...]


@dataclass(frozen=True, slots=True)
class WhereNot:
    child: WhereNode


WhereNode: TypeAlias = "WhereTest | WhereAnd | WhereOr | WhereNot"
"""A `where` as written, its syntax checked; typed against a schema by `type_where`."""


def read_where(obj: object, *, path: str = "where") -> WhereNode | None:
    """The JSON `where` object → its syntax tree (None for no filter)."""
    if obj is None:
        return None
    if not isinstance(obj, Mapping):
        raise InvalidRequest("where must be a JSON object of fields and operators", field=path)
    if not obj:
        return None
    return _Reader().node(obj, path, 1)


def type_where(
    node: WhereNode | None, field_types: Mapping[str, FieldType], *, open_fields: bool = False
) -> FilterNode | None:
    """The syntax tree typed against the fields: `field_types` are the declared fields;
    `open_fields` also accepts undeclared valid names, typed by their values."""
    if node is None:
        return None
    return _Typer(field_types, open_fields).node(node)


def parse_where(
    obj: object,
    field_types: Mapping[str, FieldType],
    *,
    open_fields: bool = False,
    path: str = "where",
) -> FilterNode | None:
    """`read_where`, then `type_where`."""
    return type_where(read_where(obj, path=path), field_types, open_fields=open_fields)


def join_path(path: str, key: str) -> str:
    """`path.key`, the key written as it is when it is a plain name (or `dataset.column`), else
    `path["key"]`."""
    plain = key in COMBINATORS or all(is_valid_name(part) for part in key.split("."))
    return f"{path}.{key}" if plain else f"{path}[{_quoted(key)}]"


def _quoted(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _too_deep(path: str) -> InvalidRequest:
    return InvalidRequest(f"where is nested deeper than {MAX_WHERE_DEPTH} levels", field=path)


class _Reader:
    def __init__(self) -> None:
        self.conditions = 0
        self.values = 0

    def node(self, obj: object, path: str, depth: int) -> WhereNode:
        if depth > MAX_WHERE_DEPTH:
            raise _too_deep(path)
        if not isinstance(obj, Mapping):
            raise InvalidRequest("expected a JSON object of fields and operators", field=path)
        if EXPLICIT_FIELD in obj:
            name = obj[EXPLICIT_FIELD]
            if not isinstance(name, str):
                raise InvalidRequest(
                    'the explicit form is {"field": "<name>", "<operator>": <value>, ...}',
                    field=join_path(path, EXPLICIT_FIELD),
                )
            ops = {k: v for k, v in obj.items() if k != EXPLICIT_FIELD}
            if not ops:
                raise InvalidRequest(f"give at least one operator for field {name!r}", field=path)
            return self.field(name, ops, path, depth)
        parts: list[WhereNode] = []
        for key, value in obj.items():
            if not isinstance(key, str):  # pragma: no cover - JSON keys are strings
                raise InvalidRequest("keys must be strings", field=path)
            here = join_path(path, key)
            if key in ("and", "or"):
                if not isinstance(value, list):
                    raise InvalidRequest(f"{key} takes an array of where objects", field=here)
                if depth + 1 > MAX_WHERE_DEPTH:
                    raise _too_deep(here)
                children = tuple(self.node(item, f"{here}[{i}]", depth + 2) for i, item in enumerate(value))
                parts.append(WhereAnd(children) if key == "and" else WhereOr(children))
            elif key == "not":
                if not isinstance(value, Mapping):
                    raise InvalidRequest("not takes one where object", field=here)
                parts.append(WhereNot(self.node(value, here, depth + 1)))
            else:
                parts.append(self.field(key, value, here, depth))
        return parts[0] if len(parts) == 1 else WhereAnd(tuple(parts))

    def field(self, name: str, spec: object, path: str, depth: int) -> WhereNode:
        if isinstance(spec, Mapping):
            if depth + 1 > MAX_WHERE_DEPTH:
                raise _too_deep(path)
            if not spec:
                raise InvalidRequest(
                    f'give at least one operator, e.g. {{"eq": ...}}; one of: {_OPERATORS}', field=path
                )
            parts = [self.test(name, path, op, value, join_path(path, str(op))) for op, value in spec.items()]
            return parts[0] if len(parts) == 1 else WhereAnd(tuple(parts))
        if isinstance(spec, list):
            raise InvalidRequest('an array needs an operator: {"in": [...]}', field=path)
        return self.test(name, path, Operator.EQ.value, spec, path)

    def test(self, name: str, field_path: str, op_text: str, value: object, path: str) -> WhereTest:
        self.conditions += 1
        if self.conditions > MAX_WHERE_CONDITIONS:
            raise InvalidRequest(f"where holds more than {MAX_WHERE_CONDITIONS} conditions", field=path)
        try:
            op = Operator(op_text)
        except ValueError:
            raise InvalidRequest(f"unknown operator {op_text!r}; use one of: {_OPERATORS}", field=path) from None

        if value is None and op in (Operator.EQ, Operator.NE):
            op, value = Operator.IS, None if op is Operator.EQ else "notnull"
        if op is Operator.IS:
            return WhereTest(name, op, _is_value(value, path), field_path, path)
        if value is None:
            raise InvalidRequest(f'{op.value} does not take null; use {{"is": null}} or {{"eq": null}}', field=path)
        if op in (Operator.LIKE, Operator.ILIKE):
            if not isinstance(value, str):
                raise InvalidRequest(f"{op.value} takes a pattern string", field=path)
            if "\x00" in value:
                raise InvalidRequest("a pattern must not contain NUL characters", field=path)
            if (len(value) - len(value.rstrip("\\"))) % 2 == 1:
                raise InvalidRequest("a pattern must not end in a lone backslash (escape it as \\\\)", field=path)
        elif op in (Operator.IN, Operator.NIN):
            if not isinstance(value, list):
                raise InvalidRequest(f"{op.value} takes a JSON array", field=path)
            self.values += len(value)
            if self.values > MAX_WHERE_VALUES:
                raise InvalidRequest(f"where holds more than {MAX_WHERE_VALUES} values in in/nin arrays", field=path)
            for i, item in enumerate(value):
                if item is None:
                    raise InvalidRequest(f"{op.value} arrays must not hold null; use is", field=f"{path}[{i}]")
        return WhereTest(name, op, cast("JsonValue", value), field_path, path)  # from a decoded JSON body


def _is_value(value: object, path: str) -> IsValue:
    if value is None:
        return IsValue.NULL
    if isinstance(value, bool):
        return IsValue.TRUE if value else IsValue.FALSE
    if isinstance(value, str) and value in _IS_VALUES:
        return _IS_VALUES[value]
    raise InvalidRequest('is takes null, "notnull", true or false', field=path)


class _Typer:
    def __init__(self, field_types: Mapping[str, FieldType], open_fields: bool) -> None:
        self.field_types = field_types
        self.open_fields = open_fields

    def node(self, node: WhereNode) -> FilterNode:
        if isinstance(node, WhereTest):
            return self.condition(node)
        if isinstance(node, WhereNot):
            return Not(self.node(node.child))
        children = tuple(self.node(child) for child in node.children)
        return And(children) if isinstance(node, WhereAnd) else Or(children)

    def condition(self, test: WhereTest) -> Condition:
        name, op, value, path = test.field, test.op, test.value, test.path
        field_type = self.field_types.get(name)
        if field_type is None and not (self.open_fields and is_valid_name(name)):
            raise InvalidRequest(f"unknown field {name!r}", field=test.field_path)
        if op is Operator.IS:
            is_value = IsValue(str(value))
            boolean_test = is_value in (IsValue.TRUE, IsValue.FALSE)
            if boolean_test and field_type not in (FieldType.BOOLEAN, None):
                raise InvalidRequest(f"is {is_value.value} needs a boolean field", field=path)
            return Condition(
                name, Operator.IS, is_value, field_type or (FieldType.BOOLEAN if boolean_test else FieldType.TEXT)
            )
        if field_type is FieldType.JSON:
            raise InvalidRequest(f"json field {name!r} can only be filtered with is", field=path)

        if op in (Operator.LIKE, Operator.ILIKE):
            if field_type not in (FieldType.TEXT, None):
                raise InvalidRequest(f"{op.value} needs a text field", field=path)
            return Condition(name, op, _typed(value, FieldType.TEXT, path), FieldType.TEXT)

        if op in (Operator.IN, Operator.NIN):
            items: list[JsonValue] = value if isinstance(value, list) else [value]
            chosen = field_type or _common_type(items, path)
            return Condition(name, op, tuple(_typed(v, chosen, f"{path}[{i}]") for i, v in enumerate(items)), chosen)

        chosen = field_type or _json_type(value, path)
        return Condition(name, op, _typed(value, chosen, path), chosen)


def _typed(value: JsonValue, field_type: FieldType, path: str) -> FieldValue:
    try:
        return coerce_json(value, field_type)
    except BadValue as exc:
        raise InvalidRequest(str(exc), field=path) from None


def _json_type(value: JsonValue, path: str) -> FieldType:
    """The type of a value for an undeclared field, as undeclared graph properties are typed."""
    if isinstance(value, bool):
        return FieldType.BOOLEAN
    if isinstance(value, str):
        return FieldType.TEXT
    if isinstance(value, int):
        return FieldType.INTEGER
    if isinstance(value, Decimal):
        text = str(value)
        if value.is_finite() and value == value.to_integral_value() and "." not in text and "E" not in text.upper():
            return FieldType.INTEGER
        return FieldType.FLOAT
    if isinstance(value, float):
        return FieldType.FLOAT
    raise InvalidRequest("compare with a string, number or boolean", field=path)


def _common_type(items: list[JsonValue], path: str) -> FieldType:
    kinds = {_json_type(item, f"{path}[{i}]") for i, item in enumerate(items)}
    if kinds <= {FieldType.INTEGER}:
        return FieldType.INTEGER
    if kinds <= {FieldType.INTEGER, FieldType.FLOAT}:
        return FieldType.FLOAT
    if len(kinds) == 1:
        return kinds.pop()
    raise InvalidRequest("the values of an in/nin array must be of one kind", field=path)
