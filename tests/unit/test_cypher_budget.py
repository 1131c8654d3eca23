"""The CPU budget of one expression (client_cypher.budget): range() sizes and nested iterations are
bounded before Neo4j runs them, since it checks its time limit only between rows. Pure: no Neo4j."""

from __future__ import annotations

import pytest

from datainfra.adapters.neo4j.client_cypher.rewrite import rewrite
from datainfra.adapters.neo4j.namespacing import Namespace
from datainfra.domain.errors import InvalidRequest

NS = Namespace("ab" * 16)


def out(query: str) -> str:
    """The rewritten text with the namespace hex shortened to X."""
    return rewrite(query, NS).text.replace(NS.hex, "X")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("UNWIND range(1, 100000000) AS x RETURN x", "range\\(\\) would make 100000000 elements"),
        ("RETURN range(0, 2000000, 2) AS x", "range\\(\\) would make 1000001 elements"),
        ("RETURN range(10, -999999999, -1) AS x", "would make 1000000010 elements"),
        ("RETURN reduce(s = 0, x IN range(1, 10000000000) | s + x) AS s", "range"),
        ("RETURN reduce(s = [], x IN range(1, 100000) | s + [x]) AS s", "nests loops"),
        ("RETURN [a IN range(1, 1000) | [b IN range(1, 1001) | a * b]] AS s", "nests loops"),
        ("RETURN [a IN range(1, $n) | [b IN [1, 2] | a * b]] AS s", "nests loops"),
        ("RETURN [a IN range(1, 200000) | [b IN $l | a * b]] AS s", "nests loops"),
        ("MATCH (n) RETURN [(n)-->(m) | [a IN $l | [b IN $l | [c IN $l | 1]]]] AS s", "nests loops"),
        ("MATCH (n) RETURN [(n)-->(m) | [(m)-->(o) | [(o)-->(p) | 1]]] AS s", "nests loops"),
    ],
)
def test_unbounded_expression_loops_are_refused(query: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message) as caught:
        rewrite(query, NS)
    assert caught.value.field == "query"


@pytest.mark.parametrize(
    "query",
    [
        "RETURN range(1, 1000000) AS x",
        "RETURN range(1000000, 1, -1) AS x",
        "RETURN range(1, 10, 0) AS x",
        "RETURN [x IN range(1, 100) | [y IN [1, 2, 3] | x * y]] AS x",
        "RETURN [x IN [1, 2, 3] | size([y IN $l WHERE y > x])] AS x",
        "RETURN reduce(s = 0, x IN $l | s + x) AS x",
        "RETURN reduce(s = 0, x IN range(1, 1000) | s + x) AS x",
        "MATCH p = (a)-->(b) RETURN reduce(c = 0, r IN relationships(p) | c + r.w) AS x",
        "MATCH (n) RETURN [(n)-->(m) | m.name] AS x",
        "MATCH (n) WHERE any(l IN labels(n) WHERE l STARTS WITH 'P') RETURN n",
        "RETURN [x IN $a | x * 2] AS a, [y IN $b | y] AS b",
        "RETURN [[1, 2], [3]] AS x, [a IN [[1, 2], [3]] | [b IN a | b]] AS y",
    ],
)
def test_bounded_expression_loops_pass(query: str) -> None:
    rewrite(query, NS)


@pytest.mark.parametrize(
    ("query", "cap", "guards"),
    [
        ("RETURN size([a IN $l | size([b IN $l WHERE b < 0])]) AS s", 1000, 2),
        ("RETURN any(a IN $l WHERE all(b IN $l WHERE b > a)) AS s", 1000, 2),
        ("WITH [1, 2, 3] AS list RETURN none(x IN list WHERE none(y IN list WHERE x <= y)) AS s", 1000, 2),
        ("MATCH (n) RETURN [(n)-->(m) | [x IN m.tags WHERE x > 0]] AS s", 100, 1),
        ("MATCH p = (a)-->(b) RETURN [x IN nodes(p) | size([(x)-->(:Y) | 1])] AS s", 100, 1),
        ("WITH [1] AS l RETURN [a IN l | reduce(s = 0, b IN l | s + b)] AS s", 1000, 2),
        ("RETURN [x IN [y IN $l | [z IN $l | z]] | x] AS s", 1000, 2),
        ("RETURN [a IN $l | [b IN $l | [c IN $l | 1]]] AS s", 100, 3),
        ("RETURN [a IN range(1, 100) | [b IN $l | [c IN $l | 1]]] AS s", 100, 2),
    ],
)
def test_nested_loops_over_lists_the_text_does_not_spell_out_are_guarded_when_they_run(
    query: str, cap: int, guards: int
) -> None:
    """Not refused (ordinary Cypher nests loops over small lists), but each such list is evaluated once
    and fails at run time, before its loops, when it is longer than the cap that keeps the nested
    steps within MAX_NESTED_STEPS."""
    text = out(query)
    guard = f"CASE WHEN size(`#g`) > {cap} THEN date('datainfra: a list in nested loops exceeds its iteration limit')"
    assert text.count(guard) == guards, text
    assert text.count("CASE WHEN size(`#g`)") == guards


def test_lists_in_loops_within_the_budget_are_not_guarded() -> None:
    for query in ("RETURN [x IN $l | x * 2] AS a", "RETURN [x IN [1, 2, 3] | size([y IN $l WHERE y > x])] AS x"):
        assert "#g" not in out(query)


def test_a_range_of_anything_but_literals_is_guarded_when_it_runs() -> None:
    text = out("RETURN range(1, $n) AS x")
    assert "date('datainfra: range() exceeds its element limit')" in text
    assert text.startswith(
        "RETURN [`#r1` IN [[1, $n]] | CASE WHEN any(`#t` IN `#r1` WHERE NOT `#t` IS :: INTEGER) "
        "THEN date('datainfra: range() takes integers') "
        "ELSE range(`#r1`[0], CASE WHEN `#r1`[1] - `#r1`[0] >= 1000000"
    )
    stepped = out("RETURN range($a, $b, $s) AS x")
    assert "WHEN `#r1`[2] = 0 THEN `#r1`[1] WHEN (`#r1`[1] - `#r1`[0]) / `#r1`[2] >= 1000000" in stepped
    assert out("RETURN range(1, 10) AS x") == "RETURN range(1, 10) AS x"


@pytest.mark.parametrize(
    "query",
    [
        "RETURN size(reduce(s = 'x', i IN range(1, 30) | s + s)) AS n",
        "RETURN reduce(acc = [], x IN $l | acc + acc)",
        "MATCH (n:P) WITH collect(n.name) AS names RETURN reduce(s = '', x IN names | s + s + x)",
    ],
)
def test_a_reduce_that_can_double_its_accumulator_every_step_is_refused(query: str) -> None:
    with pytest.raises(InvalidRequest, match="double every step") as caught:
        rewrite(query, NS)
    assert caught.value.field == "query"


@pytest.mark.parametrize(
    "query",
    [
        "RETURN reduce(s = 'x', i IN range(1, 20) | s + s) AS n",
        "RETURN reduce(total = 0, x IN $l | total + x) AS n",
        "MATCH p = (a:P)-[:R*1..3]->(b) RETURN reduce(cost = 0, r IN relationships(p) | cost + r.w) AS c",
    ],
)
def test_a_reduce_with_bounded_growth_passes(query: str) -> None:
    assert rewrite(query, NS).text


def test_a_guarded_list_parameter_is_checked_before_the_query_runs() -> None:
    from datainfra.adapters.neo4j.client_cypher.runner import _bind

    query = rewrite("RETURN [a IN $l | size([b IN $l WHERE b < a])] AS s, [x IN $m | x] AS t", NS)
    assert query.guarded_parameters == {"l": 1000}
    assert _bind(query, {"l": list(range(1000)), "m": list(range(5000))})["l"] == list(range(1000))
    with pytest.raises(InvalidRequest, match="longer than this query allows") as caught:
        _bind(query, {"l": list(range(1001)), "m": []})
    assert caught.value.field == "query"
