"""Typed Cypher parameters (client_cypher/typed_values.py): `{"$type": <column type>, "value": <JSON form>}`
becomes the driver value a result column of that type held; anything else is a 400 naming the
parameter, never another exception."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from neo4j.spatial import CartesianPoint, WGS84Point
from neo4j.time import Date, DateTime, Duration

from datainfra.adapters.neo4j.client_cypher.typed_values import TYPES, is_typed, typed_value
from datainfra.domain.errors import InvalidRequest
from tests.support.hypothesis_budget import examples


def test_each_type_becomes_its_driver_value() -> None:
    assert typed_value({"$type": "date", "value": "2020-01-02"}, "p") == Date(2020, 1, 2)
    stamp = typed_value({"$type": "datetime", "value": "2015-07-21T21:40:32.142000001+01:00"}, "p")
    assert isinstance(stamp, DateTime) and stamp.nanosecond == 142_000_001
    assert typed_value({"$type": "duration", "value": "P1DT2H"}, "p") == Duration(days=1, hours=2)
    assert typed_value({"$type": "integer", "value": "9223372036854775807"}, "p") == 2**63 - 1
    assert math.isnan(typed_value({"$type": "float", "value": "NaN"}, "p"))
    assert typed_value({"$type": "float", "value": Decimal("0.5")}, "p") == 0.5
    assert typed_value({"$type": "point", "value": {"srid": 7203, "x": 1, "y": 2}}, "p") == CartesianPoint((1.0, 2.0))
    point = typed_value({"$type": "point", "value": {"srid": 4979, "x": 1, "y": 2, "z": 3}}, "p")
    assert isinstance(point, WGS84Point) and point.srid == 4979


def test_only_an_object_of_exactly_type_and_value_is_typed() -> None:
    assert is_typed({"$type": "date", "value": "2020-01-02"})
    assert not is_typed({"$type": "date"}) and not is_typed({"$type": "date", "value": 1, "x": 2})


@pytest.mark.parametrize(
    "given_value",
    [
        {"$type": "integer", "value": "9223372036854775808"},
        {"$type": "integer", "value": True},
        {"$type": "integer", "value": 1.5},
        {"$type": "float", "value": "nan"},
        {"$type": "string", "value": 1},
        {"$type": "boolean", "value": "true"},
        {"$type": "point", "value": {"srid": 7203, "x": 1}},
        {"$type": "point", "value": {"srid": 7203, "x": 1, "y": 2, "z": 3}},
        {"$type": "point", "value": [1, 2]},
        {"$type": "node", "value": {}},
        {"$type": ["date"], "value": "2020-01-02"},
        {"$type": "datetime", "value": "2015-07-21T21:40:32-02:05:07"},
    ],
)
def test_a_wrong_value_is_a_400_naming_the_parameter(given_value: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as refused:
        typed_value(given_value, "parameters.p")
    assert refused.value.field == "parameters.p"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=examples(500), deadline=None)
@given(st.sampled_from([*TYPES, "x"]) | st.text(max_size=10), _JSON)
def test_any_json_is_a_value_or_a_400(kind: str, value: Any) -> None:
    try:
        typed_value({"$type": kind, "value": value}, "parameters.p")
    except InvalidRequest as refused:
        assert refused.field == "parameters.p"
