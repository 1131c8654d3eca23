"""Property tests: the in-memory filter and order semantics against small independent oracles."""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datainfra.adapters.memory.semantics import after_key, matches, order_records
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import Condition, FilterSpec, IsValue, Operator
from datainfra.domain.query import SortKey
from datainfra.domain.types import FieldType

values = st.one_of(st.none(), st.integers(-5, 5))
records = st.fixed_dictionaries({"a": values, "b": values})
record_lists = st.lists(records, max_size=12).map(lambda rs: [{**r, "k": i} for i, r in enumerate(rs)])

BINARY: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.EQ: operator.eq,
    Operator.NE: operator.ne,
    Operator.GT: operator.gt,
    Operator.GTE: operator.ge,
    Operator.LT: operator.lt,
    Operator.LTE: operator.le,
}


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    field = draw(st.sampled_from(["a", "b", "missing"]))
    op = draw(st.sampled_from([op for op in Operator if op not in (Operator.LIKE, Operator.ILIKE)]))
    if op is Operator.IS:
        return Condition(field, op, draw(st.sampled_from([IsValue.NULL, IsValue.NOTNULL])), FieldType.INTEGER)
    if op in (Operator.IN, Operator.NIN):
        return Condition(field, op, tuple(draw(st.lists(st.integers(-5, 5), max_size=4))), FieldType.INTEGER)
    return Condition(field, op, draw(st.integers(-5, 5)), FieldType.INTEGER)


def oracle(record: dict[str, Any], condition: Condition) -> bool:
    """SQL three-valued logic, where UNKNOWN in WHERE means the row is not returned."""
    value = record.get(condition.field)
    if condition.op is Operator.IS:
        return (value is None) == (condition.value is IsValue.NULL)
    if value is None:
        return False
    if condition.op is Operator.IN:
        return value in condition.value
    if condition.op is Operator.NIN:
        return value not in condition.value
    return BINARY[condition.op](value, condition.value)


@given(records, st.lists(conditions(), max_size=3))
def test_matches_agrees_with_the_sql_oracle(record: dict[str, Any], conds: list[Condition]) -> None:
    assert matches(record, FilterSpec(tuple(conds))) == all(oracle(record, c) for c in conds)


@given(values, st.integers(-5, 5), st.lists(st.integers(-5, 5), max_size=4))
def test_null_rules_and_operator_dualities(value: int | None, other: int, items: list[int]) -> None:
    def holds(op: Operator, operand: Any) -> bool:
        return matches({"a": value}, FilterSpec((Condition("a", op, operand, FieldType.INTEGER),)))

    if value is None:
        assert not any(holds(op, other) for op in BINARY)
        assert not holds(Operator.IN, tuple(items)) and not holds(Operator.NIN, tuple(items))
        assert holds(Operator.IS, IsValue.NULL) and not holds(Operator.IS, IsValue.NOTNULL)
    else:
        assert holds(Operator.NE, other) == (not holds(Operator.EQ, other))
        assert holds(Operator.IN, tuple(items)) == any(holds(Operator.EQ, item) for item in items)
        assert holds(Operator.NIN, tuple(items)) == (not holds(Operator.IN, tuple(items)))
        assert holds(Operator.GTE, other) == (holds(Operator.GT, other) or holds(Operator.EQ, other))
        assert holds(Operator.LT, other) == (not holds(Operator.GTE, other))
        assert not holds(Operator.IS, IsValue.NULL) and holds(Operator.IS, IsValue.NOTNULL)


@given(st.integers(-5, 5), st.sampled_from([op for op in Operator if op is not Operator.IS]))
def test_values_of_different_kinds_never_compare(value: int, op: Operator) -> None:
    operand: Any = (str(value),) if op in (Operator.IN, Operator.NIN) else str(value)
    assert not matches({"a": value}, FilterSpec((Condition("a", op, operand, FieldType.TEXT),)))


# -- LIKE -----------------------------------------------------------------------------------------

texts = st.text(alphabet="aAbB%_\\\n", max_size=6)


def like_oracle(text: str, pattern: str) -> bool:
    """A direct recursive LIKE matcher: `%` any run, `_` one character, `\\x` a literal x."""
    if not pattern:
        return not text
    head = pattern[0]
    if head == "%":
        return any(like_oracle(text[i:], pattern[1:]) for i in range(len(text) + 1))
    if head == "_":
        return bool(text) and like_oracle(text[1:], pattern[1:])
    if head == "\\":
        return bool(text) and text[0] == pattern[1] and like_oracle(text[1:], pattern[2:])
    return bool(text) and text[0] == head and like_oracle(text[1:], pattern[1:])


def ends_in_lone_escape(pattern: str) -> bool:
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return trailing % 2 == 1


@given(texts, texts.filter(lambda p: not ends_in_lone_escape(p)))
def test_like_agrees_with_a_recursive_matcher(text: str, pattern: str) -> None:
    like = Condition("t", Operator.LIKE, pattern, FieldType.TEXT)
    ilike = Condition("t", Operator.ILIKE, pattern, FieldType.TEXT)
    assert matches({"t": text}, FilterSpec((like,))) == like_oracle(text, pattern)
    assert matches({"t": text}, FilterSpec((ilike,))) == like_oracle(text.lower(), pattern.lower())


# -- order ----------------------------------------------------------------------------------------

sorts = st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans()), max_size=2, unique_by=lambda t: t[0]).map(
    lambda keys: (*(SortKey(f, d) for f, d in keys), SortKey("k"))
)


def oracle_key(record: dict[str, Any], sort: tuple[SortKey, ...]) -> tuple[Any, ...]:
    """PostgreSQL order on small ints: ASC NULLS LAST, DESC NULLS FIRST."""
    parts: list[Any] = []
    for key in sort:
        value = record[key.field]
        if key.descending:
            parts.append((0, 0) if value is None else (1, -value))
        else:
            parts.append((1, 0) if value is None else (0, value))
    return tuple(parts)


@given(record_lists, sorts)
def test_order_agrees_with_the_oracle(rows: list[dict[str, Any]], sort: tuple[SortKey, ...]) -> None:
    ordered = order_records(rows, sort)
    assert ordered == sorted(rows, key=lambda r: oracle_key(r, sort))
    first = sort[0]
    nulls = [r[first.field] is None for r in ordered]
    # nulls come last ascending, first descending
    expected = sorted(nulls, reverse=first.descending) if first.field != "k" else nulls
    assert nulls == expected


@given(record_lists, sorts, st.data())
def test_after_key_is_strictly_after(
    rows: list[dict[str, Any]], sort: tuple[SortKey, ...], data: st.DataObject
) -> None:
    ordered = order_records(rows, sort)
    if not ordered:
        return
    position = data.draw(st.integers(0, len(ordered) - 1))
    pivot = tuple(ordered[position][k.field] for k in sort)
    assert [r for r in ordered if after_key(r, sort, pivot)] == ordered[position + 1 :]


@given(st.lists(st.text(max_size=4), max_size=10), st.booleans())
def test_text_orders_by_code_point(words: list[str], descending: bool) -> None:
    rows = [{"t": w, "k": i} for i, w in enumerate(words)]
    ordered = [r["t"] for r in order_records(rows, (SortKey("t", descending), SortKey("k")))]
    assert ordered == sorted(words, key=lambda w: [ord(c) for c in w], reverse=descending)


@given(st.lists(st.one_of(st.integers(-3, 3), st.floats(-3, 3, allow_nan=False)), max_size=8))
def test_mixed_numbers_order_numerically(numbers: list[float]) -> None:
    rows = [{"n": Decimal(str(x)) if i % 3 == 0 else x, "k": i} for i, x in enumerate(numbers)]
    ordered = order_records(rows, (SortKey("n"), SortKey("k")))
    assert [float(r["n"]) for r in ordered] == sorted(float(r["n"]) for r in rows)


@given(texts)
def test_a_pattern_ending_in_a_lone_backslash_is_refused(prefix: str) -> None:
    pattern = prefix + "\\" if not ends_in_lone_escape(prefix) else prefix
    with pytest.raises(InvalidRequest):
        matches({"t": "x"}, FilterSpec((Condition("t", Operator.LIKE, pattern, FieldType.TEXT),)))
