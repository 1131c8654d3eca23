"""The depth and shape bounds that run before any recursive parser (issue #10): the JSON depth scan
agrees with the real depth of every document, and the Cypher shape check refuses exactly past its
limits, naming them, on any text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datainfra.adapters.neo4j.client_cypher import bounds
from datainfra.adapters.neo4j.client_cypher.bounds import check_shape
from datainfra.adapters.neo4j.client_cypher.tokens import Kind, tokenize
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.json_depth import json_depth_exceeds
from tests.support.hypothesis_budget import examples

# -- JSON depth ------------------------------------------------------------------------------------

tricky_text = st.text(alphabet=st.sampled_from('[]{}"\\,: ab\u00e9\u2028'), max_size=12)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | tricky_text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=40,
)


def depth_of(value: Any) -> int:
    """The nesting depth of a decoded value, without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, list | dict):
            level += 1
            deepest = max(deepest, level)
            stack.extend((child, level) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def wrapped(value: Any, levels: int, kinds: list[bool]) -> Any:
    for k in range(levels):
        value = {"k": value} if kinds[k % len(kinds)] else [value]
    return value


@settings(max_examples=examples(300), deadline=None)
@given(
    value=json_values,
    levels=st.integers(0, 140),
    kinds=st.lists(st.booleans(), min_size=1, max_size=5),
    limit=st.integers(0, 140),
    ascii_only=st.booleans(),
)
def test_json_depth_scan_agrees_with_the_decoded_depth(
    value: Any, levels: int, kinds: list[bool], limit: int, ascii_only: bool
) -> None:
    document = wrapped(value, levels, kinds)
    text = json.dumps(document, ensure_ascii=ascii_only)
    assert json_depth_exceeds(text, limit) == (depth_of(document) > limit)
    assert json_depth_exceeds(text.encode(), limit) == (depth_of(document) > limit)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('["[[[[", "}}}"]', 1),
        ('{"a\\"[[": [[["\\\\"]]]}', 4),
        ('[["\\\\\\"[[["]]', 2),
        ("[" * 100_000 + "]" * 100_000, 100_000),
        ("[" + "[]," * 1000 + "[]]", 2),
    ],
)
def test_json_depth_examples(text: str, depth: int) -> None:
    assert json_depth_exceeds(text, depth - 1) if depth else True
    assert not json_depth_exceeds(text, depth)


# -- Cypher shape ----------------------------------------------------------------------------------


def shape(text: str) -> None:
    check_shape([t for t in tokenize(text) if t.kind not in (Kind.SPACE, Kind.COMMENT)])


CYPHER_PIECES = [*"()[]{}-+!<>.:|&,'`$ ", "NOT ", "CASE ", " END", "a", "1", " AND ", " IS ", "WITH "]


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.sampled_from(CYPHER_PIECES), max_size=300).map("".join))
def test_cypher_shape_check_only_ever_refuses(text: str) -> None:
    try:
        shape(text)
    except InvalidRequest as exc:
        assert exc.field == "query"


@pytest.mark.parametrize(
    ("make", "limit"),
    [
        (lambda n: "RETURN " + "(" * n + "1" + ")" * n, bounds.MAX_NESTING),
        (lambda n: "RETURN " + "[" * n + "1" + "]" * n, bounds.MAX_NESTING),
        (lambda n: "RETURN " + "{a: " * n + "1" + "}" * n, bounds.MAX_NESTING),
        (lambda n: "RETURN " + "CASE WHEN true THEN " * n + "1" + " END" * n, bounds.MAX_NESTING),
        (lambda n: "RETURN " + "NOT " * n + "true", bounds.MAX_NESTING),
        (lambda n: "MATCH (n:" + "!" * (n - 1) + "A) RETURN n", bounds.MAX_NESTING),
        (lambda n: "RETURN 1" + " + 1" * n, bounds.MAX_CHAIN),
        (lambda n: "RETURN 'x'" + " + 'x'" * n, bounds.MAX_CHAIN),
        (lambda n: "RETURN true" + " AND true" * n, bounds.MAX_CHAIN),
        (lambda n: "WITH {a: 1} AS m RETURN m" + ".a" * n, bounds.MAX_CHAIN),
        (lambda n: "MATCH (n:A" + "|A" * n + ") RETURN n", bounds.MAX_CHAIN),
        (lambda n: "MATCH (n:A" + ":A" * n + ") RETURN n", bounds.MAX_CHAIN),
        (lambda n: "MATCH (a)" + "-->()" * n + " RETURN a", bounds.MAX_PATH_HOPS),
        (lambda n: "MATCH (a)" + "-[:T {x: f(1)}]->(b {y: g(2)})" * n + " RETURN a", bounds.MAX_PATH_HOPS),
        (lambda n: "RETURN 1 AS x" + " UNION RETURN 1 AS x" * (n - 1), bounds.MAX_UNION_PARTS),
        (lambda n: "WITH [1] AS l RETURN l" + "[0]" * n, bounds.MAX_CHAIN),
        (lambda n: "WITH 1 AS x RETURN x" + " - x" * n, bounds.MAX_CHAIN),
        (lambda n: "RETURN CASE" + " WHEN false THEN 1" * n + " END", bounds.MAX_CHAIN),
        (lambda n: "RETURN [" + ", ".join(["1"] * n) + "]", bounds.MAX_ITEMS),
        (lambda n: "RETURN {" + ", ".join(f"k{i}: 1" for i in range(n)) + "}", bounds.MAX_ITEMS),
        (lambda n: "RETURN " + ", ".join(f"1 AS c{i}" for i in range(n)), bounds.MAX_ITEMS),
        (lambda n: "MATCH " + ", ".join(f"(a{i})" for i in range(n)) + " RETURN 1", bounds.MAX_MATCH_PATTERNS),
        (lambda n: "MATCH (a)" + " OPTIONAL MATCH (a)" * (n - 1) + " RETURN 1", bounds.MAX_MATCH_PATTERNS),
        (lambda n: "WITH 1 AS x" + " WITH x" * (n - 2) + " RETURN x", bounds.MAX_CLAUSES),
    ],
)
def test_cypher_shape_limits_are_exact(make: Any, limit: int) -> None:
    shape(make(limit))
    with pytest.raises(InvalidRequest) as refused:
        shape(make(limit + 1))
    assert str(limit) in refused.value.detail


def test_many_short_chains_count_towards_the_operator_limit() -> None:
    chains = ", ".join(f"1{' + 1' * 50} AS c{i}" for i in range(bounds.MAX_OPERATORS // 50 + 1))
    with pytest.raises(InvalidRequest, match=str(bounds.MAX_OPERATORS)):
        shape("RETURN " + chains)


@pytest.mark.parametrize(
    "text",
    [
        "MATCH (a:Person)-[:KNOWS]->(b)-[:KNOWS]->(c) WHERE a.age > 30 AND NOT b.name STARTS WITH 'x' RETURN c",
        "MATCH (n) WHERE n.x IS NOT NULL RETURN -n.x, - 1, +2, n.end, {end: 1, case: 2}",
        "RETURN CASE WHEN 1 < 2 THEN [x IN range(1, 3) | x * 2] ELSE [] END AS l",
        "MATCH p = (a)-[*1..5]->(b) WHERE (a)-->() AND (b)<--() AND (a)--(b) RETURN p",
        "RETURN 1 IN [" + ", ".join(["1"] * 999) + "]",
        "MATCH (a)-[r:KNOWS]->(b) WITH a, r, [1, 2][0] AS x, {k: [3]}['k'][0] AS y RETURN a, x, y",
        "UNWIND range(1, 10) AS x WITH x WHERE x % 2 = 0 RETURN collect(x)",
    ],
)
def test_ordinary_queries_pass(text: str) -> None:
    shape(text)
