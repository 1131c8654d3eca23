"""Property: any value a JSON body (or a text cell) can carry becomes a typed value of the field's
type or a BadValue (a 422 naming the field), never another exception (a 500): integers of any size,
numbers of any exponent, NaN and infinities, NUL characters, lone surrogates, nested structures."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datainfra.domain.types import (
    INT64_MAX,
    INT64_MIN,
    NUMERIC_MAX_FRACTION_DIGITS,
    NUMERIC_MAX_INTEGER_DIGITS,
    BadValue,
    FieldType,
    coerce_json,
    is_read_only_form,
    non_finite_text,
    parse_text,
    render_text,
)
from tests.support.hypothesis_budget import examples

_big_ints = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([2**63, -(2**63) - 1, INT64_MAX, INT64_MIN, 10**400, -(10**4000)]),
)
_decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda digits, exponent: Decimal(f"{digits}e{exponent}"),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.integers(min_value=-(10**9), max_value=10**9),
    ),
    st.sampled_from([Decimal("1e131071"), Decimal("1e131072"), Decimal("1e-16383"), Decimal("1e-16384")]),
)
_texts = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec=None, exclude_categories=())),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "infinity", "-infinity", "1e400", "0000-01-01", "\x00"]),
    st.builds(lambda n: "9" * n, st.integers(min_value=1, max_value=6000)),
    st.builds(lambda y: f"{y}-01-01", st.integers(min_value=0, max_value=10**7)),
)
_scalars = st.one_of(st.none(), st.booleans(), _big_ints, _decimals, st.floats(), _texts)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_texts, inner, max_size=4)),
    max_leaves=12,
)


def _well_formed(value: Any, field_type: FieldType) -> None:
    """What a typed value of each type must be, so every store can take it."""
    if field_type is FieldType.FLOAT:
        assert isinstance(value, float) and math.isfinite(value)
    elif field_type is FieldType.INTEGER:
        assert isinstance(value, int) and INT64_MIN <= value <= INT64_MAX
    elif field_type is FieldType.NUMERIC:
        assert isinstance(value, Decimal) and value.is_finite()
        assert value.is_zero() or value.adjusted() < NUMERIC_MAX_INTEGER_DIGITS
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int) and -exponent <= NUMERIC_MAX_FRACTION_DIGITS
    elif field_type is FieldType.TEXT:
        assert isinstance(value, str) and "\x00" not in value
    elif field_type is FieldType.DATE:
        assert isinstance(value, dt.date)
    elif field_type is FieldType.TIMESTAMP:
        assert isinstance(value, dt.datetime) and value.tzinfo is not None
    elif field_type is FieldType.UUID:
        assert isinstance(value, uuid.UUID)


@pytest.mark.parametrize("field_type", list(FieldType))
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_json)
def test_any_json_value_is_typed_or_a_bad_value(field_type: FieldType, value: Any) -> None:
    try:
        typed = coerce_json(value, field_type)
    except BadValue as exc:
        assert str(exc)
        return
    if typed is not None:
        _well_formed(typed, field_type)


@pytest.mark.parametrize("field_type", list(FieldType))
@settings(max_examples=examples(300), deadline=None)
@given(text=_texts)
def test_any_text_is_typed_or_a_bad_value(field_type: FieldType, text: str) -> None:
    try:
        typed = parse_text(text, field_type)
    except BadValue as exc:
        assert str(exc)
        return
    _well_formed(typed, field_type)
    if field_type is not FieldType.JSON:
        assert parse_text(render_text(typed, field_type), field_type) == typed


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (Decimal("NaN"), "NaN"),
        (Decimal("Infinity"), "Infinity"),
        (Decimal("-Infinity"), "-Infinity"),
        (1.5, None),
        (Decimal("-0"), None),
    ],
)
def test_non_finite_numbers_have_one_text(value: float | Decimal, text: str | None) -> None:
    assert non_finite_text(value) == text


@pytest.mark.parametrize(
    ("text", "field_type", "expected"),
    [
        ("NaN", FieldType.FLOAT, True),
        ("-Infinity", FieldType.NUMERIC, True),
        ("nan", FieldType.FLOAT, False),
        ("infinity", FieldType.DATE, True),
        ("0044-03-15 BC", FieldType.DATE, True),
        ("12000-01-01", FieldType.DATE, True),
        ("0044-03-15T10:00:00.5+00:00 BC", FieldType.TIMESTAMP, True),
        ("12000-01-01T10:00:00+00:00", FieldType.TIMESTAMP, True),
        ("0044-03-15T10:00:00.500000Z BC", FieldType.TIMESTAMP, True),
        ("12000-01-01T10:00:00Z", FieldType.TIMESTAMP, True),
        ("2024-01-01", FieldType.DATE, False),
        ("NaN", FieldType.TEXT, False),
    ],
)
def test_read_only_forms(text: str, field_type: FieldType, expected: bool) -> None:
    assert is_read_only_form(text, field_type) is expected


@pytest.mark.parametrize("field_type", [FieldType.FLOAT, FieldType.NUMERIC, FieldType.INTEGER])
@pytest.mark.parametrize("value", ["sNaN", "-sNaN", "NaN", "Infinity", "-Infinity"])
def test_a_non_finite_decimal_is_a_bad_value(field_type: FieldType, value: str) -> None:
    """float(Decimal("sNaN")) raises ValueError: found by the property test above on another machine."""
    with pytest.raises(BadValue):
        coerce_json(Decimal(value), field_type)
