"""The pure graph algorithms of domain.algorithms: PageRank against networkx's reference values,
components and degrees against naive oracles, all shortest paths against brute force."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datainfra.domain import algorithms
from datainfra.domain.algorithms import (
    FoundPath,
    Membership,
    ProjectedEdge,
    Projection,
    Step,
    all_shortest_paths,
    degrees,
    pagerank,
    weak_components,
)
from datainfra.domain.errors import InvalidInput, PayloadTooLarge
from datainfra.domain.graph import Direction
from tests.support.hypothesis_budget import examples

OUT, IN, BOTH = Direction.OUT, Direction.IN, Direction.BOTH


def projection(nodes: str | list[str], edges: list[tuple[str, str, Any]]) -> Projection:
    return Projection(tuple(nodes), tuple(ProjectedEdge(f"e{i:03}", s, t, w) for i, (s, t, w) in enumerate(edges)))


def scores(result: algorithms.PageRank) -> dict[str, float]:
    return dict(result.ranking)


# -- PageRank -------------------------------------------------------------------------------------

# Reference values from networkx 3.6.1 (`_pagerank_python`, the same power iteration as
# networkx.pagerank) computed once on the same graphs.
CYCLE = [("a", "b", None), ("b", "c", None), ("c", "a", None), ("a", "c", None), ("d", "c", None)]
NX_CYCLE = {
    "a": 0.35906185217699765,
    "b": 0.18874671657308092,
    "c": 0.3799022746234154,
    "d": 0.03614457831325302,
    "e": 0.03614457831325302,
}
NX_CYCLE_REVERSED = {
    "a": 0.2942775533378988,
    "b": 0.15906907161764683,
    "c": 0.3188594007777174,
    "d": 0.15906907161764683,
    "e": 0.06872490264909004,
}
WEIGHTED = [("x", "y", 1.0), ("x", "y", 2.0), ("x", "z", 1.0), ("y", "z", 0.5), ("z", "x", 4.0), ("w", "w", 1.0)]
NX_WEIGHTED_ALPHA_09 = {"w": 0.25, "x": 0.2701892368447725, "y": 0.20737874009806687, "z": 0.27243202305716074}
STAR = [("hub", "p", None), ("hub", "q", None), ("hub", "r", None)]
NX_UNDIRECTED_STAR = {
    "hub": 0.46239117916465644,
    "p": 0.16715474750736348,
    "q": 0.16715474750736348,
    "r": 0.16715474750736348,
    "s": 0.03614457831325302,
}


@pytest.mark.parametrize(
    ("nodes", "edges", "options", "expected"),
    [
        ("abcde", CYCLE, {}, NX_CYCLE),
        ("abcde", CYCLE, {"direction": IN}, NX_CYCLE_REVERSED),
        ("xyzw", WEIGHTED, {"weight": "w", "damping": 0.9}, NX_WEIGHTED_ALPHA_09),
        (["hub", "p", "q", "r", "s"], STAR, {"direction": BOTH}, NX_UNDIRECTED_STAR),
    ],
)
def test_pagerank_matches_networkx(nodes: Any, edges: Any, options: dict[str, Any], expected: dict[str, float]) -> None:
    result = pagerank(projection(nodes, edges), **options)
    assert result.converged
    assert scores(result) == pytest.approx(expected, abs=1e-12)


def test_pagerank_ranks_by_score_then_id() -> None:
    result = pagerank(projection("abcde", CYCLE))
    assert [node for node, _ in result.ranking] == ["c", "a", "b", "d", "e"]
    star = pagerank(projection(["hub", "p", "q", "r", "s"], STAR), direction=BOTH)
    assert [node for node, _ in star.ranking] == ["hub", "p", "q", "r", "s"]


def test_pagerank_of_an_empty_graph_is_empty() -> None:
    assert pagerank(Projection((), ())) == algorithms.PageRank([], 0, True)


def test_pagerank_reports_when_it_did_not_converge() -> None:
    result = pagerank(projection("abcde", CYCLE), max_iterations=2, tolerance=1e-15)
    assert (result.iterations, result.converged) == (2, False)
    assert sum(scores(result).values()) == pytest.approx(1.0)


def test_weighted_pagerank_leaves_out_edges_without_the_weight() -> None:
    with_gap = pagerank(projection("abc", [("a", "b", None), ("a", "c", 2), ("b", "a", 1)]), weight="w")
    without = pagerank(projection("abc", [("a", "c", 2), ("b", "a", 1)]), weight="w")
    assert with_gap.ranking == without.ranking


@pytest.mark.parametrize("bad", [-1, "heavy", True, float("nan"), Decimal("-0.5")])
def test_a_bad_weight_is_invalid_input_naming_the_edge(bad: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        pagerank(projection("ab", [("a", "b", 1), ("b", "a", bad)]), weight="w")
    assert (caught.value.field, caught.value.key) == ("weight", "e001")


def test_pagerank_names_the_smallest_bad_edge_id_in_any_order() -> None:
    edges = (ProjectedEdge("e9", "a", "b", "x"), ProjectedEdge("e1", "a", "b", -2), ProjectedEdge("e5", "b", "a", 1))
    for order in (edges, edges[::-1]):
        with pytest.raises(InvalidInput) as caught:
            pagerank(Projection(("a", "b"), order), weight="w")
        assert caught.value.key == "e1"


def test_pagerank_refuses_more_work_than_its_budget() -> None:
    edges = [("a", "b", None)] * 11
    with pytest.raises(PayloadTooLarge) as caught:
        pagerank(projection("ab", edges), max_iterations=algorithms.MAX_PAGERANK_WORK // 10)
    assert caught.value.field == "iterations"


@st.composite
def graphs(draw: st.DrawFn, weighted: bool = False) -> Projection:
    count = draw(st.integers(1, 7))
    nodes = [f"n{i}" for i in range(count)]
    weights = st.integers(0, 3) if weighted else st.none()
    edges = draw(st.lists(st.tuples(st.sampled_from(nodes), st.sampled_from(nodes), weights), max_size=14))
    return projection(nodes, edges)


@settings(max_examples=examples(60), deadline=None)
@given(graph=graphs(weighted=True), direction=st.sampled_from(list(Direction)), weighted=st.booleans())
def test_pagerank_is_a_distribution_independent_of_edge_order(
    graph: Projection, direction: Direction, weighted: bool
) -> None:
    weight = "w" if weighted else None
    result = pagerank(graph, direction=direction, weight=weight)
    assert sum(scores(result).values()) == pytest.approx(1.0)
    assert all(score > 0 for score in scores(result).values())
    assert [s for _, s in result.ranking] == sorted((s for _, s in result.ranking), reverse=True)
    shuffled = list(graph.edges)
    random.Random(7).shuffle(shuffled)
    again = pagerank(Projection(tuple(reversed(graph.node_ids)), tuple(shuffled)), direction=direction, weight=weight)
    assert again == result  # bit for bit: stores return rows in any order


# -- weakly connected components ------------------------------------------------------------------


def naive_components(graph: Projection) -> dict[str, set[str]]:
    neighbours: dict[str, set[str]] = {n: set() for n in graph.node_ids}
    for edge in graph.edges:
        neighbours[edge.source].add(edge.target)
        neighbours[edge.target].add(edge.source)
    found: dict[str, set[str]] = {}
    for start in graph.node_ids:
        if any(start in members for members in found.values()):
            continue
        seen, queue = {start}, [start]
        while queue:
            for far in neighbours[queue.pop()]:
                if far not in seen:
                    seen.add(far)
                    queue.append(far)
        found[min(seen)] = seen
    return found


@settings(max_examples=examples(100), deadline=None)
@given(graph=graphs())
def test_components_match_a_breadth_first_search(graph: Projection) -> None:
    members, count = weak_components(graph)
    oracle = naive_components(graph)
    assert count == len(oracle)
    expected = sorted(
        (Membership(node, name, len(nodes)) for name, nodes in oracle.items() for node in nodes),
        key=lambda m: (m.component, m.id),
    )
    assert members == expected


def test_components_are_named_by_their_smallest_id_and_ignore_direction() -> None:
    members, count = weak_components(projection(["z", "b", "y", "a", "q"], [("z", "b", None), ("y", "a", None)]))
    assert count == 3
    assert [(m.id, m.component, m.size) for m in members] == [
        ("a", "a", 2),
        ("y", "a", 2),
        ("b", "b", 2),
        ("z", "b", 2),
        ("q", "q", 1),
    ]


# -- degrees --------------------------------------------------------------------------------------


def test_degrees_by_direction_count_a_self_loop_each_way() -> None:
    graph = projection("abcd", [("a", "b", None), ("a", "c", None), ("c", "a", None), ("b", "b", None)])
    assert degrees(graph, OUT) == [("a", 2), ("b", 1), ("c", 1), ("d", 0)]
    assert degrees(graph, IN) == [("b", 2), ("a", 1), ("c", 1), ("d", 0)]
    assert degrees(graph, BOTH) == [("a", 3), ("b", 3), ("c", 2), ("d", 0)]
    assert degrees(graph) == degrees(graph, BOTH)


@settings(max_examples=examples(60), deadline=None)
@given(graph=graphs(), direction=st.sampled_from(list(Direction)))
def test_degrees_match_a_count(graph: Projection, direction: Direction) -> None:
    expected = {
        n: sum((direction is not IN and e.source == n) + (direction is not OUT and e.target == n) for e in graph.edges)
        for n in graph.node_ids
    }
    assert degrees(graph, direction) == sorted(expected.items(), key=lambda item: (-item[1], item[0]))


# -- all shortest paths ---------------------------------------------------------------------------


def adjacency(edges: list[tuple[str, str, str, Any]], direction: Direction = OUT) -> dict[str, list[Step]]:
    steps: dict[str, list[Step]] = {}
    for edge_id, source, target, weight in edges:
        if direction is not IN:
            steps.setdefault(source, []).append(Step(edge_id, target, weight))
        if direction is not OUT and (direction is IN or source != target):
            steps.setdefault(target, []).append(Step(edge_id, source, weight))
    return steps


def ids(found: list[FoundPath]) -> list[tuple[str, str]]:
    return [(" ".join(p.nodes), " ".join(p.edges)) for p in found]


DIAMOND = [
    ("e1", "s", "a", 1),
    ("e2", "s", "b", 1),
    ("e3", "a", "t", 1),
    ("e4", "b", "t", 1),
    ("e5", "a", "t", 1),  # parallel to e3
    ("e6", "s", "t", 5),
    ("e7", "b", "c", 0),
    ("e8", "c", "t", 1),
]


def test_unweighted_all_shortest_paths_are_the_fewest_hops() -> None:
    found = all_shortest_paths(adjacency(DIAMOND), "s", "t", weight=None, max_depth=5, limit=10)
    assert ids(found) == [("s t", "e6")]
    without_direct = adjacency([e for e in DIAMOND if e[0] != "e6"])
    found = all_shortest_paths(without_direct, "s", "t", weight=None, max_depth=5, limit=10)
    assert ids(found) == [("s a t", "e1 e3"), ("s a t", "e1 e5"), ("s b t", "e2 e4")]
    assert all(p.cost is None for p in found)


def test_weighted_all_shortest_paths_may_differ_in_hops() -> None:
    found = all_shortest_paths(adjacency(DIAMOND), "s", "t", weight="w", max_depth=5, limit=10)
    assert ids(found) == [("s a t", "e1 e3"), ("s a t", "e1 e5"), ("s b c t", "e2 e7 e8"), ("s b t", "e2 e4")]
    assert {p.cost for p in found} == {2}
    # within two hops the zero-weight detour is out of reach
    found = all_shortest_paths(adjacency(DIAMOND), "s", "t", weight="w", max_depth=2, limit=10)
    assert ids(found) == [("s a t", "e1 e3"), ("s a t", "e1 e5"), ("s b t", "e2 e4")]


def test_limit_keeps_the_first_paths_in_order() -> None:
    found = all_shortest_paths(adjacency(DIAMOND), "s", "t", weight="w", max_depth=5, limit=2)
    assert ids(found) == [("s a t", "e1 e3"), ("s a t", "e1 e5")]


def test_paths_follow_direction() -> None:
    graph = [("e1", "a", "b", None), ("e2", "c", "b", None)]
    assert all_shortest_paths(adjacency(graph), "a", "c", weight=None, max_depth=3, limit=5) == []
    both = all_shortest_paths(adjacency(graph, BOTH), "a", "c", weight=None, max_depth=3, limit=5)
    assert ids(both) == [("a b c", "e1 e2")]
    back = all_shortest_paths(adjacency(graph, IN), "b", "a", weight=None, max_depth=3, limit=5)
    assert ids(back) == [("b a", "e1")]


def test_a_path_to_itself_and_no_path() -> None:
    assert all_shortest_paths({}, "a", "a", weight=None, max_depth=3, limit=5) == [FoundPath(("a",), ())]
    assert all_shortest_paths({}, "a", "a", weight="w", max_depth=3, limit=5) == [FoundPath(("a",), (), 0)]
    assert all_shortest_paths(adjacency(DIAMOND), "t", "s", weight=None, max_depth=5, limit=5) == []
    assert all_shortest_paths(adjacency(DIAMOND), "s", "c", weight=None, max_depth=1, limit=5) == []


def test_costs_are_exact_and_keep_the_values_kind() -> None:
    graph = [
        ("e1", "a", "b", Decimal("0.1")),
        ("e2", "b", "d", Decimal("0.2")),
        ("e3", "a", "c", Decimal("0.2")),
        ("e4", "c", "d", Decimal("0.1")),
        ("e5", "a", "d", 0.30000000000000004),
    ]
    found = all_shortest_paths(adjacency(graph), "a", "d", weight="w", max_depth=3, limit=5)
    assert ids(found) == [("a b d", "e1 e2"), ("a c d", "e3 e4")]
    assert found[0].cost == Decimal("0.3")
    floats = [(i, s, t, float(w)) for i, s, t, w in graph[:4]]
    found = all_shortest_paths(adjacency(floats), "a", "d", weight="w", max_depth=3, limit=5)
    assert len(found) == 2  # 0.1 + 0.2 and 0.2 + 0.1 tie exactly


def test_a_bad_weight_in_reach_is_invalid_naming_the_smallest_edge_id() -> None:
    graph = [("e9", "a", "b", "x"), ("e2", "a", "c", -1), ("e1", "a", "d", 1)]
    with pytest.raises(InvalidInput) as caught:
        all_shortest_paths(adjacency(graph), "a", "d", weight="w", max_depth=3, limit=5)
    assert (caught.value.field, caught.value.key) == ("weight", "e2")


def simple_paths(
    steps: dict[str, list[Step]], node: str, target: str, max_depth: int, seen: tuple[str, ...] = ()
) -> Iterator[tuple[list[str], list[Step]]]:
    seen = (*seen, node)
    if node == target:
        yield [node], []
        return
    if len(seen) > max_depth:
        return
    for step in steps.get(node, []):
        if step.far not in seen:
            for nodes, rest in simple_paths(steps, step.far, target, max_depth, seen):
                yield [node, *nodes], [step, *rest]


@st.composite
def path_cases(draw: st.DrawFn) -> tuple[list[tuple[str, str, str, Any]], Direction, bool, int]:
    nodes = "abcde"[: draw(st.integers(2, 5))]
    edges = draw(
        st.lists(
            st.tuples(st.sampled_from(nodes), st.sampled_from(nodes), st.integers(0, 2) | st.none()),
            min_size=2,
            max_size=14,
        )
    )
    return (
        [(f"e{i:02}", s, t, w) for i, (s, t, w) in enumerate(edges)],
        draw(st.sampled_from(list(Direction))),
        draw(st.booleans()),
        draw(st.integers(1, 4)),
    )


@settings(max_examples=examples(200), deadline=None)
@given(case=path_cases())
def test_all_shortest_paths_match_brute_force(
    case: tuple[list[tuple[str, str, str, Any]], Direction, bool, int],
) -> None:
    edges, direction, weighted, max_depth = case
    if weighted:
        edges = [e for e in edges if e[3] is not None]
    steps = adjacency(edges, direction)
    candidates = list(simple_paths(steps, "a", "b", max_depth))

    def cost(path: list[Step]) -> Fraction:
        return Fraction(sum(s.weight for s in path)) if weighted else Fraction(len(path))

    expected: list[tuple[str, str]] = []
    if candidates:
        best = min(cost(p) for _, p in candidates)
        chosen = sorted(
            ([n for n in nodes], [s.edge_id for s in path]) for nodes, path in candidates if cost(path) == best
        )
        expected = [(" ".join(n), " ".join(e)) for n, e in chosen]
    found = all_shortest_paths(steps, "a", "b", weight="w" if weighted else None, max_depth=max_depth, limit=1000)
    assert ids(found) == expected
    limited = all_shortest_paths(steps, "a", "b", weight="w" if weighted else None, max_depth=max_depth, limit=2)
    assert ids(limited) == expected[:2]
