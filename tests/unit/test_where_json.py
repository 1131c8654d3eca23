"""`where` JSON: parsing (shapes, typing, errors with JSON paths, bounds), the boolean tree on
FilterSpec, its negation normal form, and property tests of the in-memory three-valued semantics
against a direct evaluation of the JSON.

`random_where` and `oracle` are shared with tests/contract/test_where_contract.py."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql

from datainfra.adapters.memory.semantics import condition_truth, matches, truth
from datainfra.adapters.neo4j import cypher_filters
from datainfra.adapters.postgres.sql_filters import compile_filter
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import (
    And,
    Condition,
    FilterNode,
    FilterSpec,
    IsValue,
    Not,
    Operator,
    Or,
    normalized,
    tree_conditions,
)
from datainfra.domain.types import FieldType
from datainfra.domain.where import MAX_WHERE_CONDITIONS, MAX_WHERE_DEPTH, MAX_WHERE_VALUES, parse_where
from tests.support.hypothesis_budget import examples

TYPES = {"a": FieldType.INTEGER, "b": FieldType.INTEGER, "t": FieldType.TEXT, "f": FieldType.BOOLEAN}
ALL_TYPES = {
    **TYPES,
    "n": FieldType.NUMERIC,
    "x": FieldType.FLOAT,
    "d": FieldType.DATE,
    "ts": FieldType.TIMESTAMP,
    "j": FieldType.JSON,
    "u": FieldType.UUID,
}


# -- a random where tree and a direct evaluation of it ---------------------------------------------

INTS = list(range(-3, 4))
TEXTS = ["", "a", "ab", "B", "b%", "a_c", "x", "A"]
PATTERNS = ["%", "a%", "%b", "_", "a_", "%\\%%", "\\_", "A%", "%B%", "a\\_c", ""]
KINDS = {"a": "int", "b": "int", "t": "text", "f": "bool"}
KINDS_WITH_MIXED = {**KINDS, "m": "mixed"}


def _value(rng: random.Random, kind: str) -> Any:
    if kind == "int":
        return rng.choice(INTS)
    if kind == "text":
        return rng.choice(TEXTS)
    if kind == "bool":
        return rng.choice([True, False])
    return rng.choice([*INTS, *TEXTS])  # mixed


def _ops(kind: str) -> list[str]:
    ops = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "is"]
    if kind == "text":
        ops += ["like", "ilike", "like", "ilike"]
    if kind == "bool":
        ops = ["eq", "ne", "gt", "is", "is", "in"]
    return ops


def _spec(rng: random.Random, kind: str) -> Any:
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.25:
        return _value(rng, kind)
    spec: dict[str, Any] = {}
    for _ in range(rng.randint(1, 2)):
        op = rng.choice(_ops(kind))
        if op == "is":
            choices: list[Any] = [None, "null", "notnull"]
            if kind in ("bool", "mixed"):
                choices += [True, False, "true", "false"]
            spec[op] = rng.choice(choices)
        elif op in ("in", "nin"):
            item_kind = kind if kind != "mixed" else rng.choice(["int", "text"])
            spec[op] = [_value(rng, item_kind) for _ in range(rng.randint(0, 3))]
        elif op in ("like", "ilike"):
            spec[op] = rng.choice(PATTERNS)
        elif op in ("eq", "ne") and rng.random() < 0.1:
            spec[op] = None
        else:
            spec[op] = _value(rng, kind)
    return spec


def random_where(rng: random.Random, kinds: Mapping[str, str], depth: int = 0) -> dict[str, Any]:
    """A random valid where object over fields of the given kinds (int, text, bool, mixed)."""
    if depth < 4 and rng.random() < 0.4:
        combinator = rng.choice(["and", "or", "not", "not"])
        if combinator == "not":
            return {"not": random_where(rng, kinds, depth + 1)}
        return {combinator: [random_where(rng, kinds, depth + 1) for _ in range(rng.randint(0, 3))]}
    names = list(kinds)
    if rng.random() < 0.1:
        name = rng.choice(names)
        spec = _spec(rng, kinds[name])
        ops = spec if isinstance(spec, dict) else {"eq": spec}
        return {"field": name, **ops}
    obj: dict[str, Any] = {}
    for _ in range(rng.randint(1, 2)):
        name = rng.choice(names)
        obj[name] = _spec(rng, kinds[name])
    if depth == 0 and rng.random() < 0.2:
        obj["not"] = random_where(rng, kinds, depth + 1)
    return obj


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    return "text"


def _and(values: Iterable[bool | None]) -> bool | None:
    result: bool | None = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _or(values: Iterable[bool | None]) -> bool | None:
    result: bool | None = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _like(value: str, pattern: str, fold: bool) -> bool:
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    if fold:
        return re.fullmatch(out.lower(), value.lower(), re.S) is not None
    return re.fullmatch(out, value, re.S) is not None


def _op(record: Mapping[str, Any], name: str, op: str, arg: Any) -> bool | None:
    value = record.get(name)
    if op == "is" or (arg is None and op in ("eq", "ne")):
        wanted = {None: "null", "null": "null", "notnull": "notnull", True: "true", False: "false"}.get(arg, arg)
        if op == "ne":
            wanted = "notnull"
        return {
            "null": value is None,
            "notnull": value is not None,
            "true": value is True,
            "false": value is False,
        }[wanted]
    if value is None:
        return None
    if op in ("in", "nin"):
        found = _or(_op(record, name, "eq", item) for item in arg)
        return found if op == "in" else _not(found)
    if _kind(value) != _kind(arg):
        return None
    if op in ("like", "ilike"):
        return _like(value, arg, op == "ilike")
    return {
        "eq": value == arg,
        "ne": value != arg,
        "gt": value > arg,
        "gte": value >= arg,
        "lt": value < arg,
        "lte": value <= arg,
    }[op]


def _field(record: Mapping[str, Any], name: str, spec: Any) -> bool | None:
    if not isinstance(spec, dict):
        spec = {"is": None} if spec is None else {"eq": spec}
    return _and(_op(record, name, op, arg) for op, arg in spec.items())


def oracle(record: Mapping[str, Any], where: Mapping[str, Any]) -> bool | None:
    """The JSON evaluated as SQL would: three-valued, UNKNOWN on NULL and between kinds."""
    if "field" in where:
        return _field(record, where["field"], {k: v for k, v in where.items() if k != "field"})
    parts: list[bool | None] = []
    for key, value in where.items():
        if key == "and":
            parts.append(_and(oracle(record, item) for item in value))
        elif key == "or":
            parts.append(_or(oracle(record, item) for item in value))
        elif key == "not":
            parts.append(_not(oracle(record, value)))
        else:
            parts.append(_field(record, key, value))
    return _and(parts)


def _nnf_holds(record: Mapping[str, Any], node: FilterNode) -> bool:
    """A normalized tree read two-valued, as the SQL and Cypher compilers read it: a condition is
    its TRUE, a Not over a condition its FALSE, UNKNOWN counts as false everywhere."""
    if isinstance(node, Condition):
        return condition_truth(record.get(node.field), node) is True
    if isinstance(node, Not):
        assert isinstance(node.child, Condition)
        return condition_truth(record.get(node.child.field), node.child) is False
    if isinstance(node, And):
        return all(_nnf_holds(record, child) for child in node.children)
    return any(_nnf_holds(record, child) for child in node.children)


records = st.fixed_dictionaries(
    {
        "a": st.one_of(st.none(), st.sampled_from(INTS)),
        "b": st.one_of(st.none(), st.sampled_from(INTS)),
        "t": st.one_of(st.none(), st.sampled_from([*TEXTS, "aXc", "b", "%"])),
        "f": st.one_of(st.none(), st.booleans()),
        "m": st.one_of(st.none(), st.sampled_from(INTS), st.sampled_from(TEXTS), st.booleans()),
    }
)


@settings(max_examples=examples(400))
@given(st.randoms(use_true_random=False), st.lists(records, min_size=1, max_size=6))
def test_memory_semantics_equal_a_direct_evaluation_of_the_json(rng: random.Random, rows: list[dict[str, Any]]) -> None:
    where = random_where(rng, KINDS_WITH_MIXED)
    node = parse_where(where, TYPES, open_fields=True)
    spec = FilterSpec(where=node)
    for row in rows:
        expected = oracle(row, where)
        if node is not None:
            assert truth(row, node) is expected, (where, row)
        assert matches(row, spec) is (expected is True), (where, row)


@settings(max_examples=examples(400))
@given(st.randoms(use_true_random=False), st.lists(records, min_size=1, max_size=6))
def test_the_normal_form_read_two_valued_keeps_exactly_the_true_rows(
    rng: random.Random, rows: list[dict[str, Any]]
) -> None:
    where = random_where(rng, KINDS_WITH_MIXED)
    node = parse_where(where, TYPES, open_fields=True)
    if node is None:
        return
    form = normalized(node)
    _check_normal(form)
    assert sorted(map(repr, tree_conditions(form))) == sorted(map(repr, _normal_leaves(node)))
    for row in rows:
        assert _nnf_holds(row, form) is (oracle(row, where) is True), (where, row)


def _normal_leaves(node: FilterNode) -> list[Condition]:
    """The conditions the normal form holds: each leaf, or its complement under an odd number of Nots."""
    return list(tree_conditions(normalized(node)))


def _check_normal(node: FilterNode) -> None:
    if isinstance(node, Not):
        child = node.child
        assert isinstance(child, Condition)
        assert child.op in (Operator.LIKE, Operator.ILIKE) or (
            child.op is Operator.IS and child.value in (IsValue.TRUE, IsValue.FALSE)
        )
    elif isinstance(node, And | Or):
        for child in node.children:
            assert type(child) is not type(node), "nested And/Or are flattened"
            _check_normal(child)


@settings(max_examples=examples(200))
@given(st.randoms(use_true_random=False))
def test_compilers_bind_every_value_as_a_parameter(rng: random.Random) -> None:
    where = random_where(rng, KINDS)
    node = parse_where(where, TYPES)
    spec = FilterSpec(where=node)
    compiled = compile_filter(spec, TYPES)
    text = compiled.where().as_string(None)
    assert text.count("%s") == len(compiled.params)
    params = cypher_filters.Params()
    predicates = cypher_filters.where(spec, cypher_filters.node_field("n"), params)
    joined = " AND ".join(predicates)
    assert all(f"${name}" in joined for name in params.values)
    for condition in spec.all_conditions():
        if condition.op is Operator.IS:
            continue
        if isinstance(condition.value, str) and condition.value not in ("", "%", "_", "a", "x", "A", "B"):
            assert condition.value not in text and condition.value not in joined


# -- parsing --------------------------------------------------------------------------------------


def cond(field: str, op: str, value: Any, field_type: FieldType) -> Condition:
    return Condition(field, Operator(op), value, field_type)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (None, None),
        ({}, None),
        ({"a": 1}, cond("a", "eq", 1, FieldType.INTEGER)),
        ({"a": None}, cond("a", "is", IsValue.NULL, FieldType.INTEGER)),
        ({"a": {"eq": None}}, cond("a", "is", IsValue.NULL, FieldType.INTEGER)),
        ({"a": {"ne": None}}, cond("a", "is", IsValue.NOTNULL, FieldType.INTEGER)),
        ({"f": {"is": True}}, cond("f", "is", IsValue.TRUE, FieldType.BOOLEAN)),
        ({"f": {"is": "false"}}, cond("f", "is", IsValue.FALSE, FieldType.BOOLEAN)),
        ({"t": {"is": "notnull"}}, cond("t", "is", IsValue.NOTNULL, FieldType.TEXT)),
        (
            {"a": {"gte": 28, "lt": Decimal("40")}},
            And((cond("a", "gte", 28, FieldType.INTEGER), cond("a", "lt", 40, FieldType.INTEGER))),
        ),
        (
            {"a": 1, "t": {"ilike": "a%"}},
            And((cond("a", "eq", 1, FieldType.INTEGER), cond("t", "ilike", "a%", FieldType.TEXT))),
        ),
        (
            {"or": [{"a": 1}, {"b": 2}]},
            Or((cond("a", "eq", 1, FieldType.INTEGER), cond("b", "eq", 2, FieldType.INTEGER))),
        ),
        ({"and": []}, And(())),
        ({"or": []}, Or(())),
        ({"not": {}}, Not(And(()))),
        ({"not": {"a": {"in": [1, 2]}}}, Not(cond("a", "in", (1, 2), FieldType.INTEGER))),
        ({"field": "or", "gt": 3}, cond("or", "gt", 3, FieldType.INTEGER)),
        ({"field": "field", "eq": "x"}, cond("field", "eq", "x", FieldType.TEXT)),
        ({"n": "1.50"}, cond("n", "eq", Decimal("1.50"), FieldType.NUMERIC)),
        ({"x": 2}, cond("x", "eq", 2.0, FieldType.FLOAT)),
        ({"j": {"is": None}}, cond("j", "is", IsValue.NULL, FieldType.JSON)),
    ],
)
def test_parse_shapes(where: Any, expected: FilterNode | None) -> None:
    types = {**ALL_TYPES, "or": FieldType.INTEGER, "field": FieldType.TEXT}
    assert parse_where(where, types) == expected


def test_values_are_coerced_like_record_bodies() -> None:
    node = parse_where(
        {"d": "2024-02-29", "ts": "2024-01-02T03:04:05+01:00", "u": "00000000-0000-0000-0000-00000000000A"},
        ALL_TYPES,
    )
    assert isinstance(node, And)
    values = [c.value for c in node.children if isinstance(c, Condition)]
    assert [str(v) for v in values] == [
        "2024-02-29",
        "2024-01-02 02:04:05+00:00",
        "00000000-0000-0000-0000-00000000000a",
    ]


@pytest.mark.parametrize(
    ("value", "field_type", "typed"),
    [
        (1, FieldType.INTEGER, 1),
        (Decimal("10"), FieldType.INTEGER, 10),
        (Decimal("1.5"), FieldType.FLOAT, 1.5),
        (Decimal("1E+2"), FieldType.FLOAT, 100.0),
        (True, FieldType.BOOLEAN, True),
        ("2024-01-01", FieldType.TEXT, "2024-01-01"),
    ],
)
def test_undeclared_fields_are_typed_by_their_json_value(value: Any, field_type: FieldType, typed: Any) -> None:
    node = parse_where({"p": {"gt": value}}, {}, open_fields=True)
    assert node == Condition("p", Operator.GT, typed, field_type)
    assert type(node.value) is type(typed)  # type: ignore[union-attr]


def test_undeclared_in_lists_share_one_kind() -> None:
    assert parse_where({"p": {"in": [1, Decimal("2.5")]}}, {}, open_fields=True) == Condition(
        "p", Operator.IN, (1.0, 2.5), FieldType.FLOAT
    )
    assert parse_where({"p": {"nin": []}}, {}, open_fields=True) == Condition("p", Operator.NIN, (), FieldType.INTEGER)
    with pytest.raises(InvalidRequest) as caught:
        parse_where({"p": {"in": [1, "a"]}}, {}, open_fields=True)
    assert caught.value.field == "where.p.in"


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ([], "where"),
        ("a", "where"),
        ({"zz": 1}, "where.zz"),
        ({"or": [{"a": 1}, {"a": {"gte": "x"}}]}, "where.or[1].a.gte"),
        ({"or": {"a": 1}}, "where.or"),
        ({"and": [1]}, "where.and[0]"),
        ({"not": [{"a": 1}]}, "where.not"),
        ({"not": {"a": {"between": 1}}}, "where.not.a.between"),
        ({"a": {}}, "where.a"),
        ({"a": [1, 2]}, "where.a"),
        ({"a": {"in": 1}}, "where.a.in"),
        ({"a": {"in": [1, None]}}, "where.a.in[1]"),
        ({"a": {"in": [1, "x"]}}, "where.a.in[1]"),
        ({"a": {"gt": None}}, "where.a.gt"),
        ({"a": {"like": "1%"}}, "where.a.like"),
        ({"t": {"like": 5}}, "where.t.like"),
        ({"t": {"like": "a\\"}}, "where.t.like"),
        ({"t": {"like": "a\x00"}}, "where.t.like"),
        ({"t": "a\x00"}, "where.t"),
        ({"a": {"is": "maybe"}}, "where.a.is"),
        ({"a": {"is": True}}, "where.a.is"),
        ({"j": {"eq": 1}}, "where.j.eq"),
        ({"a": 2**63}, "where.a"),
        ({"a": True}, "where.a"),
        ({"t": 1}, "where.t"),
        ({"field": 1, "eq": 1}, "where.field"),
        ({"field": "a"}, "where"),
        ({"field": "a", "near": 1}, "where.near"),
        ({"and": [{"or": [{"not": {"zz": 1}}]}]}, "where.and[0].or[0].not.zz"),
        ({"bad key": 1}, 'where["bad key"]'),
    ],
)
def test_errors_name_the_json_path(where: Any, field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_where(where, ALL_TYPES)
    assert caught.value.field == field, caught.value.detail


def test_undeclared_fields_need_open_fields_and_valid_names() -> None:
    with pytest.raises(InvalidRequest):
        parse_where({"p": 1}, {})
    with pytest.raises(InvalidRequest) as caught:
        parse_where({"pg_x": 1}, {}, open_fields=True)
    assert caught.value.field == 'where["pg_x"]'
    with pytest.raises(InvalidRequest) as caught:
        parse_where({"ok": 1, "1a": 2}, {}, open_fields=True)
    assert caught.value.field == 'where["1a"]'
    with pytest.raises(InvalidRequest) as caught:
        parse_where({"p": {"x": 1}}, {}, open_fields=True)
    assert caught.value.field == "where.p.x"
    with pytest.raises(InvalidRequest):
        parse_where({"p": {"eq": {"a": 1}}}, {}, open_fields=True)


def test_depth_is_bounded() -> None:
    deep: dict[str, Any] = {"a": 1}
    for _ in range(MAX_WHERE_DEPTH):
        deep = {"not": deep}
    with pytest.raises(InvalidRequest) as caught:
        parse_where(deep, TYPES)
    assert "deeper" in caught.value.detail
    assert caught.value.field is not None and caught.value.field.startswith("where.not.not")
    shallow: dict[str, Any] = {"a": 1}
    for _ in range(MAX_WHERE_DEPTH - 2):
        shallow = {"not": shallow}
    assert parse_where(shallow, TYPES) is not None
    nested_arrays: dict[str, Any] = {"a": 1}
    for _ in range(MAX_WHERE_DEPTH):
        nested_arrays = {"or": [nested_arrays]}
    with pytest.raises(InvalidRequest):
        parse_where(nested_arrays, TYPES)


def test_conditions_and_values_are_bounded() -> None:
    many = {"or": [{"a": i} for i in range(MAX_WHERE_CONDITIONS)]}
    assert isinstance(parse_where(many, TYPES), Or)
    too_many = {"or": [{"a": i} for i in range(MAX_WHERE_CONDITIONS + 1)]}
    with pytest.raises(InvalidRequest) as caught:
        parse_where(too_many, TYPES)
    assert caught.value.field == f"where.or[{MAX_WHERE_CONDITIONS}].a"
    big = {
        "or": [
            {"a": {"in": list(range(MAX_WHERE_VALUES // 2))}},
            {"b": {"nin": list(range(MAX_WHERE_VALUES // 2 + 1))}},
        ]
    }
    with pytest.raises(InvalidRequest) as caught:
        parse_where(big, TYPES)
    assert caught.value.field == "where.or[1].b.nin"


def test_the_tree_joins_the_flat_conditions_of_a_filter_spec() -> None:
    flat = cond("b", "eq", 1, FieldType.INTEGER)
    spec = FilterSpec((flat,), parse_where({"or": [{"a": 1}, {"not": {"t": "x"}}]}, TYPES))
    assert spec.fields() == {"a", "b", "t"}
    assert not spec.empty
    assert FilterSpec(where=And(())).empty is False
    assert FilterSpec().empty
    assert [c.field for c in spec.all_conditions()] == ["b", "a", "t"]
    assert matches({"a": 1, "b": 1, "t": None}, spec)
    assert not matches({"a": 1, "b": 2, "t": None}, spec)
    assert not matches({"a": 2, "b": 1, "t": None}, spec)  # NOT over NULL stays UNKNOWN
    assert matches({"a": 2, "b": 1, "t": "y"}, spec)


def test_normalized_pushes_negations_to_the_conditions() -> None:
    a1, t = cond("a", "eq", 1, FieldType.INTEGER), cond("t", "like", "x%", FieldType.TEXT)
    node = Not(Or((a1, And((t, Not(cond("b", "gt", 2, FieldType.INTEGER)))))))
    assert normalized(node) == And(
        (cond("a", "ne", 1, FieldType.INTEGER), Or((Not(t), cond("b", "gt", 2, FieldType.INTEGER))))
    )
    assert normalized(Not(cond("a", "is", IsValue.NULL, FieldType.INTEGER))) == cond(
        "a", "is", IsValue.NOTNULL, FieldType.INTEGER
    )
    assert normalized(Not(And(()))) == Or(())
    assert normalized(And((And((a1,)), Or(())))) == And((a1, Or(())))


def test_sql_of_a_tree_keeps_null_out_of_not() -> None:
    node = parse_where({"not": {"or": [{"t": {"like": "a%"}}, {"f": {"is": True}}, {"a": {"in": []}}]}}, TYPES)
    compiled = compile_filter(FilterSpec(where=node), TYPES)
    text = compiled.where().as_string(None)
    assert text == (
        ' WHERE (((NOT ("t" LIKE %s::text)) AND ("f" IS NOT TRUE) AND ("a" IS NOT NULL AND "a" <> ALL(%s::bigint[]))))'
    )
    assert compiled.params == ["a%", []]
    empty = compile_filter(FilterSpec(where=Or(())), TYPES).where()
    assert isinstance(empty, sql.Composable) and empty.as_string(None) == " WHERE (FALSE)"


def test_cypher_of_a_tree_guards_every_negation() -> None:
    node = parse_where(
        {"not": {"or": [{"t": {"ilike": "a%"}}, {"f": True}, {"m": {"gt": 1}}]}}, TYPES, open_fields=True
    )
    params = cypher_filters.Params()
    text = cypher_filters.tree(node, cypher_filters.node_field("n"), params)  # type: ignore[arg-type]
    assert text == (
        "((n.`t` IS :: STRING NOT NULL AND NOT toLower(n.`t`) =~ $p0) AND "
        "((n.`f` IS :: BOOLEAN AND n.`f` <> $p1)) AND (n.`m` <= $p2))"
    )
    assert params.values == {"p0": "(?s)a.*", "p1": True, "p2": 1}
