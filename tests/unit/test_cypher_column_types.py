"""A Cypher result column names the one type of its values (client_cypher/runner.py `column_type`), so
a client reads each cell (and sends it back, `{"$type": ...}`) by it; lists name their items' type."""

from __future__ import annotations

from typing import Any

import pytest
from neo4j.time import Date, DateTime, Duration

from datainfra.adapters.neo4j.client_cypher.runner import column_type


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, None, 2], "integer"),
        ([True], "boolean"),
        ([None, None], "null"),
        ([1, "a"], "any"),
        ([DateTime(2020, 1, 2, 3, 4, 5)], "localdatetime"),
        ([[Date(2020, 1, 2)], [], [None, Date(2020, 1, 3)]], "list<date>"),
        ([[["a"], []], [["b"]]], "list<list<string>>"),
        ([[1, "a"]], "list"),
        ([[], []], "list"),
        ([[Duration(days=1)], [0.5]], "list"),
        ([[1], 1], "any"),
    ],
)
def test_a_column_names_its_values_type(values: list[Any], expected: str) -> None:
    assert column_type(values) == expected
