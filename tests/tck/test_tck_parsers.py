"""The TCK harness's own parsers (no server): the Gherkin subset of the feature files and the TCK's
value syntax, whose round trip is a property test and whose depth is bounded."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.hypothesis_budget import examples
from tests.tck.features import parse_feature, split_row
from tests.tck.results import from_json, neo4j_time_text
from tests.tck.values import MAX_DEPTH, parse_value, render_value, unordered

FEATURE = '''
Feature: Demo - what the parser reads

  Background:
    Given an empty graph

  @tag
  Scenario: [1] one step of each kind
    And having executed:
      """
      CREATE (:A {s: 'a|b'})
      """
    And parameters are:
      | p | 'x\\|y' |
    When executing query:
      """
      MATCH (n) RETURN n.s AS s
      """
    Then the result should be, in any order:
      | s      |
      | 'a\\|b' |
    And no side effects

  Scenario Outline: [2] <what>
    Given any graph
    When executing query:
      """
      RETURN <value> AS v
      """
    Then the result should be, in any order:
      | v        |
      | <result> |
    And no side effects

    Examples:
      | what  | value | result |
      | one   | 1     | 1      |
      | two   | 1 + 1 | 2      |
'''


def test_scenarios_steps_outlines_and_background_are_read() -> None:
    scenarios = parse_feature(FEATURE, "clauses/demo", "Demo1")
    assert [s.name for s in scenarios] == ["[1] one step of each kind", "[2] <what> #1", "[2] <what> #2"]
    first = scenarios[0]
    assert [step.text for step in first.steps] == [
        "an empty graph",
        "having executed",
        "parameters are",
        "executing query",
        "the result should be, in any order",
        "no side effects",
    ]
    assert first.steps[1].doc == "CREATE (:A {s: 'a|b'})"
    assert first.steps[2].table == (("p", "'x|y'"),)
    assert first.steps[4].table == (("s",), ("'a|b'",))
    outline = scenarios[2]
    assert outline.steps[2].doc == "RETURN 1 + 1 AS v"
    assert outline.steps[3].table == (("v",), ("2",))
    assert outline.key == "clauses/demo/Demo - what the parser reads: [2] <what> #2"


def test_a_row_splits_at_unescaped_pipes_only() -> None:
    assert split_row(r"| a | b\|c | \\ |") == ("a", "b|c", "\\")
    with pytest.raises(ValueError):
        split_row("a | b")


def test_graph_values_read_as_the_kit_writes_them() -> None:
    node = ("node", ("A", "B"), ("map", (("p", ("int", 1)),)))
    assert parse_value("(:B:A {p: 1})") == node
    assert parse_value("<(:A)-[:T]->()<-[:U {w: 0.5}]-(:B)>") == (
        "path",
        (
            ("node", ("A",), ("map", ())),
            ("->", ("rel", "T", ("map", ()))),
            ("node", (), ("map", ())),
            ("<-", ("rel", "U", ("map", (("w", ("float", 0.5)),)))),
            ("node", ("B",), ("map", ())),
        ),
    )
    assert parse_value("[1, 'it''s', null, -.5, NaN, -Inf]".replace("''", "\\'")) == (
        "list",
        (("int", 1), ("str", "it's"), ("null",), ("float", -0.5), ("float", "NaN"), ("float", -math.inf)),
    )
    assert parse_value("{b: [], a: {}}") == ("map", (("a", ("map", ())), ("b", ("list", ()))))
    assert unordered(parse_value("[[2, 1], [1]]")) == unordered(parse_value("[[1], [1, 2]]"))


def test_deep_values_are_refused_without_recursing_past_the_bound() -> None:
    assert parse_value("[" * MAX_DEPTH + "]" * MAX_DEPTH)[0] == "list"
    with pytest.raises(ValueError, match="deeper"):
        parse_value("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("text", ["", "[1,", "'open", "(:A", "{a 1}", "1 2", "[:T:U]", "<(:A)-[:T]>"])
def test_malformed_values_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_value(text)


def test_the_endpoint_temporal_texts_read_as_neo4j_writes_them() -> None:
    assert neo4j_time_text("12:00:00") == "12:00"
    assert neo4j_time_text("12:00:00.500000Z") == "12:00:00.5Z"
    assert neo4j_time_text("2020-01-02T03:04:00") == "2020-01-02T03:04"
    assert neo4j_time_text("1816-01-01T00:00:00Z") == "1816-01-01T00:00Z"
    assert neo4j_time_text("12:31:14.000000002+01:00") == "12:31:14.000000002+01:00"
    assert neo4j_time_text("not 12:00:00") == "not 12:00:00"


_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True) | st.sampled_from(["has space", "x-y"])
_SCALARS = st.one_of(
    st.just(("null",)),
    st.booleans().map(lambda b: ("bool", b)),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: ("int", i)),
    st.floats(allow_nan=False).map(lambda f: ("float", f)),
    st.just(("float", "NaN")),
    st.text(max_size=12).map(lambda s: ("str", s)),
)


def _maps(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.dictionaries(_NAMES, values, max_size=4).map(lambda d: ("map", tuple(sorted(d.items()))))


_PROPERTIES = _maps(_SCALARS)
_NODES = st.builds(
    lambda labels, props: ("node", tuple(sorted(labels)), props), st.sets(_NAMES, max_size=3), _PROPERTIES
)
_RELS = st.builds(lambda t, props: ("rel", t, props), _NAMES, _PROPERTIES)


@st.composite
def _paths(draw: st.DrawFn) -> tuple:
    items: list = [draw(_NODES)]
    for _ in range(draw(st.integers(0, 3))):
        items.append((draw(st.sampled_from(["->", "<-"])), draw(_RELS)))
        items.append(draw(_NODES))
    return ("path", tuple(items))


_VALUES = st.recursive(
    st.one_of(_SCALARS, _NODES, _RELS, _paths()),
    lambda inner: st.one_of(st.lists(inner, max_size=4).map(lambda items: ("list", tuple(items))), _maps(inner)),
    max_leaves=20,
)


@settings(max_examples=examples(300))
@given(_VALUES)
def test_every_value_reads_back_from_its_text(value: tuple) -> None:
    assert parse_value(render_value(value)) == value


def test_a_list_column_s_items_are_read_by_its_item_type() -> None:
    assert from_json(["12:00:00", "NaN"], "list<string>") == ("list", (("str", "12:00:00"), ("str", "NaN")))
    assert from_json(["NaN"], "list<float>") == ("list", (("float", "NaN"),))
    assert from_json(["12:00:00.500"], "list<localtime>") == ("list", (("str", "12:00:00.5"),))
