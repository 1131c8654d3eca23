"""GraphStore contract: what every adapter (in-memory, Neo4j) must do, as the port docstring says."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datainfra.domain import algorithms
from datainfra.domain.algorithms import ProjectedEdge, Projection
from datainfra.domain.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from datainfra.domain.filters import Condition, FilterSpec, Operator, filter_term, parse_filters
from datainfra.domain.graph import Direction, Edge, Node
from datainfra.domain.model import Dataset, Session
from datainfra.domain.ports.graph_store import GraphStore, NodeUpdate
from datainfra.domain.query import CountMode, RecordQuery, SortKey, check_sort, sort_keys, with_tiebreak
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.domain.types import FieldType
from tests.contract.conftest import graph_dataset, new_session
from tests.support.hypothesis_budget import examples

KEY_TYPES = {"id": FieldType.TEXT}
EDGE_KEY_TYPES = {"id": FieldType.TEXT, "source": FieldType.TEXT, "target": FieldType.TEXT}
ERROR, UPDATE, IGNORE = OnConflict.ERROR, OnConflict.UPDATE, OnConflict.IGNORE
OUT, IN, BOTH = Direction.OUT, Direction.IN, Direction.BOTH


# -- helpers --------------------------------------------------------------------------------------


async def make(store: GraphStore, schema: dict[str, Any] | None = None, session: Session | None = None) -> Dataset:
    dataset = graph_dataset(session or new_session(), schema)
    await store.create_graph(dataset)
    return dataset


def node(node_id: str, *labels: str, **properties: Any) -> Node:
    return Node(node_id, tuple(labels), dict(properties))


def edge(edge_id: str, source: str, target: str, rel_type: str = "R", **properties: Any) -> Edge:
    return Edge(edge_id, source, target, rel_type, dict(properties))


def where(*pairs: tuple[str, str], types: dict[str, FieldType] | None = None) -> FilterSpec:
    return parse_filters([filter_term(*p) for p in pairs], {**KEY_TYPES, **(types or {})}, open_fields=True)


def edge_where(*pairs: tuple[str, str]) -> FilterSpec:
    return parse_filters([filter_term(*p) for p in pairs], EDGE_KEY_TYPES, open_fields=True)


def query(
    *pairs: tuple[str, str],
    sort: str | None = None,
    limit: int = 100,
    offset: int = 0,
    after: tuple[Any, ...] | None = None,
    count: CountMode | None = None,
    types: dict[str, FieldType] | None = None,
) -> RecordQuery:
    keys = with_tiebreak(check_sort(sort_keys(sort or ""), {}, open_fields=True), ("id",))
    return RecordQuery(
        filter=where(*pairs, types=types), sort=keys, limit=limit, offset=offset, after=after, count=count
    )


async def node_ids(store: GraphStore, dataset: Dataset, *pairs: tuple[str, str], **kw: Any) -> list[str]:
    labels = kw.pop("labels", ())
    page = await store.find_nodes(dataset, labels, query(*pairs, **kw))
    return [n.id for n in page.items]


async def edge_ids(
    store: GraphStore, dataset: Dataset, *pairs: tuple[str, str], types: tuple[str, ...] = ()
) -> list[str]:
    page = await store.find_edges(dataset, types, RecordQuery(filter=edge_where(*pairs), sort=(SortKey("id"),)))
    return [e.id for e in page.items]


async def all_edges(store: GraphStore, dataset: Dataset) -> dict[str, Edge]:
    page = await store.find_edges(dataset, (), RecordQuery(sort=(SortKey("id"),), limit=1000))
    return {e.id: e for e in page.items}


# -- writing and reading nodes ---------------------------------------------------------------------


async def test_write_then_read_nodes_and_edges(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    result = await graph_store.write(
        ds,
        [node("a", "Person", name="Ann", age=30), node("b", "Person", "Admin", name="Bob")],
        [edge("e1", "a", "b", "KNOWS", since=2020)],
        ERROR,
    )
    assert result == WriteResult(inserted=3)
    a = await graph_store.get_node(ds, "a")
    assert a is not None
    assert (a.id, set(a.labels), a.properties) == ("a", {"Person"}, {"name": "Ann", "age": 30})
    b = await graph_store.get_node(ds, "b")
    assert b is not None and set(b.labels) == {"Person", "Admin"}
    assert await graph_store.get_node(ds, "zzz") is None
    assert await graph_store.count_nodes(ds) == 2
    edges = await all_edges(graph_store, ds)
    assert edges == {"e1": Edge("e1", "a", "b", "KNOWS", {"since": 2020})}


async def test_null_property_is_absent(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a", gone=None, kept=1)], [], ERROR)
    a = await graph_store.get_node(ds, "a")
    assert a is not None and a.properties == {"kept": 1}
    assert await node_ids(graph_store, ds, ("gone", "is:null")) == ["a"]


async def test_edges_may_link_nodes_written_earlier_or_in_the_same_request(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a")], [], ERROR)
    await graph_store.write(ds, [node("b")], [edge("e1", "a", "b"), edge("e2", "b", "b")], ERROR)
    assert sorted(await all_edges(graph_store, ds)) == ["e1", "e2"]


async def test_values_returned_are_copies(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    tags = ["x"]
    await graph_store.write(ds, [node("a", tags=tags)], [edge("e", "a", "a", tags=tags)], ERROR)
    tags.append("changed by the caller")
    first = await graph_store.get_node(ds, "a")
    assert first is not None
    first.properties["tags"].append("changed by a reader")
    first.properties["new"] = 1
    again = await graph_store.get_node(ds, "a")
    assert again is not None and again.properties == {"tags": ["x"]}
    assert (await all_edges(graph_store, ds))["e"].properties == {"tags": ["x"]}


# -- conflicts ------------------------------------------------------------------------------------


async def test_existing_node_id_under_error_is_a_conflict_and_nothing_is_written(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a", v=1)], [], ERROR)
    with pytest.raises(Conflict) as caught:
        await graph_store.write(ds, [node("new"), node("a", v=2)], [], ERROR)
    assert caught.value.key == "a"
    assert await graph_store.count_nodes(ds) == 1
    a = await graph_store.get_node(ds, "a")
    assert a is not None and a.properties == {"v": 1}


async def test_node_id_repeated_in_one_request_under_error_is_a_conflict(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    with pytest.raises(Conflict) as caught:
        await graph_store.write(ds, [node("a"), node("b"), node("a")], [], ERROR)
    assert caught.value.key == "a"
    assert await graph_store.count_nodes(ds) == 0


async def test_update_replaces_labels_and_merges_properties(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a", "Old", keep=1, change=1, drop=1)], [], ERROR)
    result = await graph_store.write(ds, [node("a", "New", change=2, drop=None, add=3), node("b")], [], UPDATE)
    assert result == WriteResult(inserted=1, updated=1)
    a = await graph_store.get_node(ds, "a")
    assert a is not None
    assert set(a.labels) == {"New"}
    assert a.properties == {"keep": 1, "change": 2, "add": 3}


async def test_update_with_an_id_repeated_in_the_request_applies_both(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a", x=1), node("a", y=2)], [], UPDATE)
    a = await graph_store.get_node(ds, "a")
    assert a is not None and a.properties == {"x": 1, "y": 2}
    assert await graph_store.count_nodes(ds) == 1


async def test_ignore_skips_existing_and_repeated_ids(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a", "L", v=1)], [], ERROR)
    result = await graph_store.write(ds, [node("a", "M", v=2), node("b", v=1), node("b", v=2)], [], IGNORE)
    assert result == WriteResult(inserted=1, ignored=2)
    a = await graph_store.get_node(ds, "a")
    b = await graph_store.get_node(ds, "b")
    assert a is not None and set(a.labels) == {"L"} and a.properties == {"v": 1}
    assert b is not None and b.properties == {"v": 1}


async def test_edge_id_conflicts(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a"), node("b")], [edge("e", "a", "b", w=1, keep=True)], ERROR)

    with pytest.raises(Conflict) as caught:
        await graph_store.write(ds, [node("c")], [edge("e", "a", "b", w=2)], ERROR)
    assert caught.value.key == "e"
    with pytest.raises(Conflict) as caught:
        await graph_store.write(ds, [], [edge("f", "a", "b"), edge("f", "b", "a")], ERROR)
    assert caught.value.key == "f"
    assert await graph_store.count_nodes(ds) == 2
    assert list(await all_edges(graph_store, ds)) == ["e"]

    result = await graph_store.write(
        ds, [], [edge("e", "a", "b", w=2), edge("g", "a", "b"), edge("g", "b", "a")], IGNORE
    )
    assert result == WriteResult(inserted=1, ignored=2)
    edges = await all_edges(graph_store, ds)
    assert edges["e"].properties == {"w": 1, "keep": True}
    assert (edges["g"].source, edges["g"].target) == ("a", "b")

    result = await graph_store.write(ds, [], [edge("e", "a", "b", w=3, keep=None, new="x")], UPDATE)
    assert result == WriteResult(updated=1)
    assert (await all_edges(graph_store, ds))["e"].properties == {"w": 3, "new": "x"}


async def test_updating_an_edge_cannot_move_it_or_change_its_type(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a"), node("b"), node("c")], [edge("e", "a", "b", "R", w=1)], ERROR)

    for moved in (edge("e", "a", "c", "R", w=2), edge("e", "c", "b", "R", w=2), edge("e", "a", "b", "S", w=2)):
        with pytest.raises(InvalidInput) as caught:
            await graph_store.write(ds, [], [edge("ok", "b", "c"), moved], UPDATE)
        assert (caught.value.index, caught.value.field) == (1, "edges[1]")

    edges = await all_edges(graph_store, ds)
    assert list(edges) == ["e"]
    assert (edges["e"].source, edges["e"].target, edges["e"].type, edges["e"].properties) == ("a", "b", "R", {"w": 1})


# -- all-or-nothing and missing endpoints ---------------------------------------------------------


async def test_edge_to_a_missing_node_writes_nothing(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    with pytest.raises(InvalidInput) as caught:
        await graph_store.write(ds, [node("a"), node("b")], [edge("e0", "a", "b"), edge("e1", "a", "nowhere")], ERROR)
    assert (caught.value.index, caught.value.field) == (1, "edges[1].target")
    assert await graph_store.count_nodes(ds) == 0
    assert await all_edges(graph_store, ds) == {}


async def test_edge_from_a_missing_node_names_the_source(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a")], [], ERROR)
    with pytest.raises(InvalidInput) as caught:
        await graph_store.write(ds, [node("b", v=1)], [edge("e0", "nowhere", "a")], UPDATE)
    assert (caught.value.index, caught.value.field) == (0, "edges[0].source")
    assert await graph_store.get_node(ds, "b") is None


async def test_edge_conflict_after_good_nodes_writes_nothing(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a")], [edge("e", "a", "a")], ERROR)
    with pytest.raises(Conflict):
        await graph_store.write(ds, [node("b")], [edge("f", "a", "b"), edge("e", "a", "b")], ERROR)
    assert await graph_store.get_node(ds, "b") is None
    assert list(await all_edges(graph_store, ds)) == ["e"]


# -- isolation ------------------------------------------------------------------------------------


async def test_datasets_are_isolated_graphs(graph_store: GraphStore) -> None:
    session = new_session()
    one = await make(graph_store, session=session)
    two = await make(graph_store, session=session)
    await graph_store.write(one, [node("a", v=1), node("b", v=1)], [edge("e", "a", "b")], ERROR)
    # the same ids in another dataset are no conflict
    await graph_store.write(two, [node("a", v=2), node("c", v=2)], [edge("e", "a", "c")], ERROR)

    # an edge cannot reach a node that only exists in another dataset
    with pytest.raises(InvalidInput) as caught:
        await graph_store.write(two, [], [edge("x", "a", "b")], ERROR)
    assert caught.value.field == "edges[0].target"

    assert await node_ids(graph_store, one) == ["a", "b"]
    assert await node_ids(graph_store, two) == ["a", "c"]
    a = await graph_store.get_node(two, "a")
    assert a is not None and a.properties == {"v": 2}
    assert await graph_store.get_node(two, "b") is None
    assert (await all_edges(graph_store, one))["e"].target == "b"
    assert (await all_edges(graph_store, two))["e"].target == "c"

    around = await graph_store.neighbors(one, "a", direction=BOTH, types=(), depth=3, limit=100)
    assert [n.id for n in around.nodes] == ["b"]
    assert [(e.id, e.target) for e in around.edges] == [("e", "b")]
    assert await graph_store.shortest_path(one, "a", "c", direction=BOTH, types=(), weight=None, max_depth=5) is None
    path = await graph_store.shortest_path(two, "a", "c", direction=OUT, types=(), weight=None, max_depth=5)
    assert path is not None and [n.properties for n in path.nodes] == [{"v": 2}, {"v": 2}]

    assert await graph_store.delete_nodes_where(one, (), FilterSpec()) == 2
    assert await graph_store.count_nodes(one) == 0
    assert await graph_store.count_nodes(two) == 2
    assert list(await all_edges(graph_store, two)) == ["e"]
    await graph_store.drop_graph(two)
    assert await graph_store.count_nodes(two) == 0


async def test_drop_graph_is_idempotent_and_leaves_others(graph_store: GraphStore) -> None:
    session = new_session()
    one = await make(graph_store, session=session)
    two = await make(graph_store, session=session)
    for ds in (one, two):
        await graph_store.write(ds, [node("a"), node("b")], [edge("e", "a", "b")], ERROR)
    await graph_store.drop_graph(one)
    await graph_store.drop_graph(one)
    assert await graph_store.count_nodes(one) == 0
    assert await all_edges(graph_store, one) == {}
    assert await graph_store.count_nodes(two) == 2
    assert list(await all_edges(graph_store, two)) == ["e"]


async def test_ping(graph_store: GraphStore) -> None:
    await graph_store.ping()


# -- filters --------------------------------------------------------------------------------------


async def people(store: GraphStore) -> Dataset:
    ds = await make(store)
    await store.write(
        ds,
        [
            node("p1", "Person", name="Ann", age=31, city="Oslo"),
            node("p2", "Person", name="bob", age=25),
            node("p3", "Person", "Admin", name="Cid", age=40, city="Rome"),
            node("p4", "Person", name="Dee"),
            node("c1", "City", name="Oslo"),
        ],
        [],
        ERROR,
    )
    return ds


async def test_filters_on_properties_id_and_labels(graph_store: GraphStore) -> None:
    ds = await people(graph_store)
    ids = node_ids
    assert await ids(graph_store, ds, ("age", "gt:30")) == ["p1", "p3"]
    assert await ids(graph_store, ds, ("age", "lte:31"), ("age", "gte:25")) == ["p1", "p2"]
    assert await ids(graph_store, ds, ("age", "in:25,40")) == ["p2", "p3"]
    assert await ids(graph_store, ds, ("name", "eq:Ann")) == ["p1"]
    assert await ids(graph_store, ds, ("name", "like:_o%")) == ["p2"]
    assert await ids(graph_store, ds, ("name", "ilike:%O%")) == ["c1", "p2"]
    assert await ids(graph_store, ds, ("id", "in:p1,c1,zz")) == ["c1", "p1"]
    assert await ids(graph_store, ds, ("id", "like:p%"), ("age", "lt:30")) == ["p2"]
    assert await ids(graph_store, ds, labels=("Person",)) == ["p1", "p2", "p3", "p4"]
    assert await ids(graph_store, ds, labels=("Person", "Admin")) == ["p3"]
    assert await ids(graph_store, ds, ("name", "ne:Ann"), labels=("Person",)) == ["p2", "p3", "p4"]


async def test_a_property_named_id_is_kept_apart_from_the_key(graph_store: GraphStore) -> None:
    """Issue 11 item 3: Cypher's `id` is an ordinary property; the key stays what routes and filters address."""
    ds = await make(graph_store)
    await graph_store.write(
        ds,
        [node("k1", "P", id=7), node("k2", "P", id=7), node("k3", "P", id="k1"), node("k4", "P")],
        [edge("e1", "k1", "k2", id=[1, 2])],
        ERROR,
    )
    assert await graph_store.get_node(ds, "k1") == node("k1", "P", id=7)
    assert await graph_store.get_node(ds, "k3") == node("k3", "P", id="k1")
    assert (await all_edges(graph_store, ds))["e1"] == edge("e1", "k1", "k2", id=[1, 2])
    assert await node_ids(graph_store, ds, ("id", "eq:k1")) == ["k1"]  # "id" in a filter is the key
    await graph_store.update_nodes(ds, [NodeUpdate("k1", {"id": None}), NodeUpdate("k4", {"id": "x"})])
    assert await graph_store.get_node(ds, "k1") == node("k1", "P")
    assert await graph_store.get_node(ds, "k4") == node("k4", "P", id="x")
    await graph_store.write(ds, [node("k2", "Q", id=8)], [], UPDATE)
    assert await graph_store.get_node(ds, "k2") == node("k2", "Q", id=8)


async def test_a_condition_on_an_absent_property_is_false_except_is_null(graph_store: GraphStore) -> None:
    ds = await people(graph_store)
    ids = node_ids
    assert await ids(graph_store, ds, ("city", "ne:Oslo")) == ["p3"]
    assert await ids(graph_store, ds, ("city", "nin:Oslo")) == ["p3"]
    assert await ids(graph_store, ds, ("age", "lt:100")) == ["p1", "p2", "p3"]
    assert await ids(graph_store, ds, ("city", "is:null")) == ["c1", "p2", "p4"]
    assert await ids(graph_store, ds, ("city", "is:notnull")) == ["p1", "p3"]
    assert await ids(graph_store, ds, ("nothing", "is:null")) == ["c1", "p1", "p2", "p3", "p4"]
    assert await ids(graph_store, ds, ("nothing", "ne:1")) == []


# a property-based check of the filter rules against a tiny oracle (SQL semantics, absent = NULL)

_INT_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "is"]
_TEXT_OPS = ["eq", "ne", "gt", "lt", "in", "nin", "like", "ilike", "is"]
_LIKE_TOKENS = ["a", "b", "A", "%", "_", "\\%", "\\_"]


def _like(value: str, pattern_tokens: list[str], insensitive: bool) -> bool:
    regex = "".join(
        ".*" if t == "%" else "." if t == "_" else re.escape(t[-1].lower() if insensitive else t[-1])
        for t in pattern_tokens
    )
    return re.fullmatch(regex, value.lower() if insensitive else value, re.DOTALL) is not None


def _oracle(value: Any, op: str, operand: Any) -> bool:
    if op == "is":
        return bool((value is None) == (operand == "null"))
    if value is None:
        return False
    match op:
        case "eq":
            return bool(value == operand)
        case "ne":
            return bool(value != operand)
        case "gt":
            return bool(value > operand)
        case "gte":
            return bool(value >= operand)
        case "lt":
            return bool(value < operand)
        case "lte":
            return bool(value <= operand)
        case "in":
            return value in operand
        case "nin":
            return value not in operand
        case "like" | "ilike":
            return _like(value, operand, op == "ilike")
    raise AssertionError(op)


@st.composite
def _filter_case(draw: st.DrawFn) -> tuple[list[tuple[int | None, str | None]], str, str, Any]:
    rows = draw(
        st.lists(
            st.tuples(
                st.none() | st.integers(-3, 3),
                st.none() | st.text(alphabet="abAB%_", max_size=3),
            ),
            min_size=1,
            max_size=6,
        )
    )
    if draw(st.booleans()):
        field, op = "n", draw(st.sampled_from(_INT_OPS))
        if op == "is":
            operand: Any = draw(st.sampled_from(["null", "notnull"]))
            text = operand
        elif op in ("in", "nin"):
            operand = draw(st.lists(st.integers(-3, 3), min_size=1, max_size=3))
            text = ",".join(map(str, operand))
        else:
            operand = draw(st.integers(-3, 3))
            text = str(operand)
    else:
        field, op = "s", draw(st.sampled_from(_TEXT_OPS))
        if op == "is":
            operand = draw(st.sampled_from(["null", "notnull"]))
            text = operand
        elif op in ("like", "ilike"):
            operand = draw(st.lists(st.sampled_from(_LIKE_TOKENS), max_size=4))
            text = "".join(operand)
        elif op in ("in", "nin"):
            operand = draw(st.lists(st.text(alphabet="abAB", min_size=1, max_size=2), min_size=1, max_size=3))
            text = ",".join(operand)
        else:
            operand = draw(st.text(alphabet="abAB%_", min_size=1, max_size=3))
            text = operand
    return rows, field, f"{op}:{text}", (op, operand)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_filter_case())
async def test_filters_follow_sql_null_semantics(graph_store: GraphStore, case: Any) -> None:
    rows, field, condition, (op, operand) = case
    ds = await make(graph_store)
    await graph_store.write(ds, [node(f"r{i}", n=n, s=s) for i, (n, s) in enumerate(rows)], [], ERROR)
    types = {"n": FieldType.INTEGER, "s": FieldType.TEXT}
    found = await node_ids(graph_store, ds, (field, condition), types=types)
    expected = [f"r{i}" for i, row in enumerate(rows) if _oracle(row[0 if field == "n" else 1], op, operand)]
    assert found == sorted(expected)
    await graph_store.drop_graph(ds)


# -- sort and paging ------------------------------------------------------------------------------


async def test_sort_puts_absent_values_last_ascending_and_first_descending(graph_store: GraphStore) -> None:
    ds = await people(graph_store)
    assert await node_ids(graph_store, ds, sort="age", labels=("Person",)) == ["p2", "p1", "p3", "p4"]
    assert await node_ids(graph_store, ds, sort="age:desc", labels=("Person",)) == ["p4", "p3", "p1", "p2"]
    assert await node_ids(graph_store, ds, sort="city:desc,name") == ["p4", "c1", "p2", "p3", "p1"]
    # text order is by code point: upper case before lower case
    assert await node_ids(graph_store, ds, sort="name", labels=("Person",)) == ["p1", "p3", "p4", "p2"]


async def test_offset_and_keyset_pages_cover_every_node_once(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node(f"n{i:02}", score=i % 4) for i in range(11)], [], ERROR)
    everything = await node_ids(graph_store, ds, sort="score:desc")
    assert len(everything) == 11

    page = await graph_store.find_nodes(ds, (), query(sort="score:desc", limit=4, offset=8, count=CountMode.EXACT))
    assert [n.id for n in page.items] == everything[8:]
    assert (page.has_more, page.total) == (False, 11)

    seen: list[str] = []
    after: tuple[Any, ...] | None = None
    while True:
        page = await graph_store.find_nodes(ds, (), query(sort="score:desc", limit=4, after=after))
        seen += [n.id for n in page.items]
        if not page.has_more:
            break
        last = page.items[-1]
        after = (last.properties["score"], last.id)
    assert seen == everything

    page = await graph_store.find_nodes(
        ds, (), query(("score", "gte:2"), limit=2, after=("n02",), count=CountMode.EXACT)
    )
    assert [n.id for n in page.items] == ["n03", "n06"]
    assert (page.has_more, page.total) == (True, 5)


# -- edges ----------------------------------------------------------------------------------------


async def test_find_edges_by_type_endpoint_and_property(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(
        ds,
        [node("a"), node("b"), node("c")],
        [
            edge("e1", "a", "b", "KNOWS", w=5),
            edge("e2", "b", "c", "KNOWS"),
            edge("e3", "a", "c", "LIKES", w=1),
            edge("e4", "c", "a", "LIKES", w=9),
        ],
        ERROR,
    )
    assert await edge_ids(graph_store, ds, types=("KNOWS",)) == ["e1", "e2"]
    assert await edge_ids(graph_store, ds, types=("KNOWS", "LIKES")) == ["e1", "e2", "e3", "e4"]
    assert await edge_ids(graph_store, ds, ("source", "eq:a")) == ["e1", "e3"]
    assert await edge_ids(graph_store, ds, ("target", "in:a,b")) == ["e1", "e4"]
    assert await edge_ids(graph_store, ds, ("id", "ne:e1"), ("w", "gte:1")) == ["e3", "e4"]
    assert await edge_ids(graph_store, ds, ("w", "ne:5")) == ["e3", "e4"]
    assert await edge_ids(graph_store, ds, ("w", "is:null")) == ["e2"]
    assert await edge_ids(graph_store, ds, ("w", "lt:9"), types=("LIKES",)) == ["e3"]

    page = await graph_store.find_edges(
        ds, (), RecordQuery(sort=(SortKey("w", descending=True), SortKey("id")), limit=2, count=CountMode.EXACT)
    )
    assert [e.id for e in page.items] == ["e2", "e4"]
    assert (page.has_more, page.total) == (True, 4)
    page = await graph_store.find_edges(ds, (), RecordQuery(sort=(SortKey("w"), SortKey("id")), offset=1))
    assert [e.id for e in page.items] == ["e1", "e4", "e2"]


async def test_delete_edges_where(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(
        ds,
        [node("a"), node("b")],
        [edge("e1", "a", "b", "KNOWS", w=1), edge("e2", "a", "b", "KNOWS", w=2), edge("e3", "a", "b", "LIKES", w=1)],
        ERROR,
    )
    assert await graph_store.delete_edges_where(ds, ("KNOWS",), edge_where(("w", "eq:1"))) == 1
    assert list(await all_edges(graph_store, ds)) == ["e2", "e3"]
    assert await graph_store.delete_edges_where(ds, (), FilterSpec()) == 2
    assert await all_edges(graph_store, ds) == {}
    assert await graph_store.count_nodes(ds) == 2


async def test_delete_nodes_detaches_their_edges(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(
        ds,
        [node("a", "X", v=1), node("b", "X", v=2), node("c", "Y", v=1), node("d", "X")],
        [edge("ab", "a", "b"), edge("bc", "b", "c"), edge("ca", "c", "a"), edge("cd", "c", "d"), edge("aa", "a", "a")],
        ERROR,
    )
    assert await graph_store.delete_nodes_where(ds, ("X",), where(("v", "eq:1"))) == 1
    assert await node_ids(graph_store, ds) == ["b", "c", "d"]
    assert list(await all_edges(graph_store, ds)) == ["bc", "cd"]
    assert await graph_store.delete_nodes_where(ds, (), where(("id", "in:b,d"))) == 2
    assert await all_edges(graph_store, ds) == {}
    with pytest.raises(NotFound):
        await graph_store.neighbors(ds, "a", direction=BOTH, types=(), depth=1, limit=10)


# -- updates --------------------------------------------------------------------------------------


async def test_update_nodes_merges_removes_and_replaces_labels(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a", "A", x=1, y=1), node("b", "B", x=1)], [], ERROR)
    count = await graph_store.update_nodes(
        ds, [NodeUpdate("a", {"x": 2, "y": None, "z": "new"}), NodeUpdate("b", {}, labels=("C", "D"))]
    )
    assert count == 2
    a = await graph_store.get_node(ds, "a")
    b = await graph_store.get_node(ds, "b")
    assert a is not None and set(a.labels) == {"A"} and a.properties == {"x": 2, "z": "new"}
    assert b is not None and set(b.labels) == {"C", "D"} and b.properties == {"x": 1}


async def test_update_nodes_with_an_absent_id_changes_nothing(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(ds, [node("a", x=1)], [], ERROR)
    with pytest.raises(InvalidInput) as caught:
        await graph_store.update_nodes(ds, [NodeUpdate("a", {"x": 2}), NodeUpdate("missing", {"x": 2})])
    assert caught.value.index == 1
    a = await graph_store.get_node(ds, "a")
    assert a is not None and a.properties == {"x": 1}


async def test_update_nodes_where(graph_store: GraphStore) -> None:
    ds = await people(graph_store)
    changed = await graph_store.update_nodes_where(
        ds, ("Person",), where(("age", "gte:30")), {"senior": True, "city": None}
    )
    assert changed == 2
    assert await node_ids(graph_store, ds, ("senior", "is:true")) == ["p1", "p3"]
    assert await node_ids(graph_store, ds, ("city", "is:notnull")) == []
    p2 = await graph_store.get_node(ds, "p2")
    assert p2 is not None and p2.properties == {"name": "bob", "age": 25}
    assert await graph_store.update_nodes_where(ds, ("City",), FilterSpec(), {"big": 1}) == 1
    assert await node_ids(graph_store, ds, ("big", "eq:1")) == ["c1"]


# -- neighbours -----------------------------------------------------------------------------------

# a → b → c → d, a -LIKES→ e, f → a, b → e, c → b, g → c (all KNOWS but e4)
_GRAPH = [
    ("e1", "a", "b", "KNOWS"),
    ("e2", "b", "c", "KNOWS"),
    ("e3", "c", "d", "KNOWS"),
    ("e4", "a", "e", "LIKES"),
    ("e5", "f", "a", "KNOWS"),
    ("e6", "b", "e", "KNOWS"),
    ("e7", "c", "b", "KNOWS"),
    ("e8", "g", "c", "KNOWS"),
]


async def small_graph(store: GraphStore) -> Dataset:
    ds = await make(store)
    await store.write(
        ds,
        [node(n, "N", name=n.upper()) for n in "abcdefgh"],
        [edge(i, s, t, rel) for i, s, t, rel in _GRAPH],
        ERROR,
    )
    return ds


@pytest.mark.parametrize(
    ("start", "direction", "types", "depth", "limit", "nodes", "edges"),
    [
        ("a", OUT, (), 1, 100, "b e", "e1 e4"),
        ("a", OUT, (), 2, 100, "b e c", "e1 e2 e4 e6"),
        ("a", OUT, (), 3, 100, "b e c d", "e1 e2 e3 e4 e6 e7"),
        ("a", OUT, ("KNOWS",), 2, 100, "b c e", "e1 e2 e6"),
        ("a", OUT, ("KNOWS", "LIKES"), 1, 100, "b e", "e1 e4"),
        ("a", OUT, ("NOPE",), 3, 100, "", ""),
        ("a", IN, (), 1, 100, "f", "e5"),
        ("c", IN, (), 2, 100, "b g a", "e1 e2 e7 e8"),
        ("b", BOTH, (), 1, 100, "a c e", "e1 e2 e6 e7"),
        ("a", OUT, (), 3, 2, "b e", "e1 e4 e6"),
        ("a", OUT, (), 3, 0, "", ""),
        ("a", OUT, (), 3, 1, "b", "e1"),
        ("b", BOTH, (), 2, 2, "a c", "e1 e2 e7"),
        ("d", OUT, (), 3, 100, "", ""),
        ("h", BOTH, (), 2, 100, "", ""),
    ],
)
async def test_neighbors(
    graph_store: GraphStore,
    start: str,
    direction: Direction,
    types: tuple[str, ...],
    depth: int,
    limit: int,
    nodes: str,
    edges: str,
) -> None:
    ds = await small_graph(graph_store)
    found = await graph_store.neighbors(ds, start, direction=direction, types=types, depth=depth, limit=limit)
    assert [n.id for n in found.nodes] == nodes.split()
    assert [e.id for e in found.edges] == edges.split()
    by_id = {i: (s, t, rel) for i, s, t, rel in _GRAPH}
    assert all((e.source, e.target, e.type) == by_id[e.id] for e in found.edges)
    assert all(n.properties == {"name": n.id.upper()} and n.labels == ("N",) for n in found.nodes)


async def test_neighbors_of_an_absent_node_is_not_found(graph_store: GraphStore) -> None:
    ds = await small_graph(graph_store)
    with pytest.raises(NotFound):
        await graph_store.neighbors(ds, "zz", direction=OUT, types=(), depth=1, limit=10)


# -- shortest path --------------------------------------------------------------------------------


async def path_graph(store: GraphStore) -> Dataset:
    """a → b → c → d costs 3 in three hops; a → d costs 10 in one; a → x → y → z → d is four hops."""
    ds = await make(store)
    await store.write(
        ds,
        [node(n) for n in "abcdxyzq"],
        [
            edge("ab", "a", "b", "ROAD", cost=1),
            edge("bc", "b", "c", "ROAD", cost=1),
            edge("cd", "c", "d", "ROAD", cost=1),
            edge("ad", "a", "d", "FLIGHT", cost=10),
            edge("ax", "a", "x", "ROAD"),
            edge("xy", "x", "y", "ROAD"),
            edge("yz", "y", "z", "ROAD"),
            edge("zd", "z", "d", "ROAD"),
        ],
        ERROR,
    )
    return ds


async def test_unweighted_shortest_path_has_fewest_hops(graph_store: GraphStore) -> None:
    ds = await path_graph(graph_store)
    path = await graph_store.shortest_path(ds, "a", "d", direction=OUT, types=(), weight=None, max_depth=10)
    assert path is not None
    assert [n.id for n in path.nodes] == ["a", "d"] and [e.id for e in path.edges] == ["ad"]
    assert path.length == 1

    path = await graph_store.shortest_path(ds, "a", "d", direction=OUT, types=("ROAD",), weight=None, max_depth=10)
    assert path is not None
    assert [n.id for n in path.nodes] == ["a", "b", "c", "d"]
    assert [e.id for e in path.edges] == ["ab", "bc", "cd"]
    assert path.edges[0] == Edge("ab", "a", "b", "ROAD", {"cost": 1})


async def test_shortest_path_follows_direction(graph_store: GraphStore) -> None:
    ds = await path_graph(graph_store)
    kw: dict[str, Any] = {"types": ("ROAD",), "weight": None, "max_depth": 10}
    assert await graph_store.shortest_path(ds, "d", "a", direction=OUT, **kw) is None
    backwards = await graph_store.shortest_path(ds, "d", "a", direction=IN, **kw)
    assert backwards is not None
    assert [n.id for n in backwards.nodes] == ["d", "c", "b", "a"]
    assert [e.id for e in backwards.edges] == ["cd", "bc", "ab"]
    either = await graph_store.shortest_path(ds, "d", "a", direction=BOTH, **kw)
    assert either is not None and [n.id for n in either.nodes] == ["d", "c", "b", "a"]


async def test_shortest_path_none_and_max_depth(graph_store: GraphStore) -> None:
    ds = await path_graph(graph_store)
    assert await graph_store.shortest_path(ds, "a", "q", direction=BOTH, types=(), weight=None, max_depth=10) is None
    kw: dict[str, Any] = {"direction": OUT, "types": ("ROAD",), "weight": None}
    assert await graph_store.shortest_path(ds, "a", "d", max_depth=2, **kw) is None
    path = await graph_store.shortest_path(ds, "a", "d", max_depth=3, **kw)
    assert path is not None and path.length == 3


async def test_weighted_shortest_path_prefers_the_cheap_longer_path(graph_store: GraphStore) -> None:
    ds = await path_graph(graph_store)
    path = await graph_store.shortest_path(ds, "a", "d", direction=OUT, types=(), weight="cost", max_depth=10)
    assert path is not None
    assert [n.id for n in path.nodes] == ["a", "b", "c", "d"]
    assert [e.id for e in path.edges] == ["ab", "bc", "cd"]
    assert path.cost == 3

    # within two hops only the expensive flight remains
    path = await graph_store.shortest_path(ds, "a", "d", direction=OUT, types=(), weight="cost", max_depth=2)
    assert path is not None and [e.id for e in path.edges] == ["ad"] and path.cost == 10


async def test_weighted_path_skips_edges_without_the_weight(graph_store: GraphStore) -> None:
    ds = await path_graph(graph_store)
    # x, y, z are only reachable over edges without a cost
    kw: dict[str, Any] = {"direction": OUT, "types": (), "max_depth": 10}
    assert await graph_store.shortest_path(ds, "a", "z", weight="cost", **kw) is None
    path = await graph_store.shortest_path(ds, "a", "z", weight=None, **kw)
    assert path is not None and [n.id for n in path.nodes] == ["a", "x", "y", "z"]


async def test_negative_weight_is_invalid(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(
        ds, [node("a"), node("b"), node("c")], [edge("ab", "a", "b", w=-1), edge("bc", "b", "c", w=2)], ERROR
    )
    with pytest.raises(InvalidInput):
        await graph_store.shortest_path(ds, "a", "c", direction=OUT, types=(), weight="w", max_depth=5)


async def test_weighted_path_with_decimal_weights(graph_store: GraphStore) -> None:
    schema = {"relationship_types": [{"name": "R", "properties": [{"name": "w", "type": "numeric"}]}]}
    ds = await make(graph_store, schema)
    await graph_store.write(
        ds,
        [node("a"), node("b"), node("c")],
        [edge("ab", "a", "b", w=Decimal("0.5")), edge("bc", "b", "c", w=Decimal("0.25")), edge("ac", "a", "c", w=1)],
        ERROR,
    )
    path = await graph_store.shortest_path(ds, "a", "c", direction=OUT, types=(), weight="w", max_depth=5)
    assert path is not None and [e.id for e in path.edges] == ["ab", "bc"]
    assert path.cost == Decimal("0.75")


# -- typed values ---------------------------------------------------------------------------------

TYPED_SCHEMA = {
    "node_labels": [
        {
            "name": "Event",
            "properties": [
                {"name": "day", "type": "date"},
                {"name": "at", "type": "timestamp"},
                {"name": "amount", "type": "numeric"},
                {"name": "ref", "type": "uuid"},
                {"name": "ratio", "type": "float"},
                {"name": "ok", "type": "boolean"},
            ],
        }
    ],
    "relationship_types": [{"name": "NEXT", "properties": [{"name": "at", "type": "timestamp"}]}],
}
TYPES = {"day": FieldType.DATE, "at": FieldType.TIMESTAMP, "amount": FieldType.NUMERIC, "ref": FieldType.UUID}


async def test_typed_values_round_trip(graph_store: GraphStore) -> None:
    ds = await make(graph_store, TYPED_SCHEMA)
    ref = uuid.UUID("12345678-1234-5678-1234-567812345678")
    values = {
        "day": dt.date(2024, 2, 29),
        "at": dt.datetime(2024, 2, 29, 13, 14, 15, 123456, tzinfo=dt.UTC),
        "amount": Decimal("12345678901234567890.0123456789"),
        "ref": ref,
        "ratio": 0.25,
        "ok": False,
        "tags": ["x", "y"],
        "counts": [1, 2, 3],
    }
    edge_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    await graph_store.write(
        ds, [node("e1", "Event", **values), node("e2", "Event")], [edge("n", "e1", "e2", "NEXT", at=edge_at)], ERROR
    )
    found = await graph_store.get_node(ds, "e1")
    assert found is not None and found.properties == values
    assert found.properties["at"].utcoffset() == dt.timedelta(0)
    assert isinstance(found.properties["amount"], Decimal) and isinstance(found.properties["ref"], uuid.UUID)
    assert (await all_edges(graph_store, ds))["n"].properties == {"at": edge_at}

    ids = node_ids
    assert await ids(graph_store, ds, ("day", "gte:2024-02-01"), types=TYPES) == ["e1"]
    assert await ids(graph_store, ds, ("at", "lt:2024-02-29T13:14:16Z"), types=TYPES) == ["e1"]
    assert await ids(graph_store, ds, ("amount", "gt:12345678901234567890.01"), types=TYPES) == ["e1"]
    assert await ids(graph_store, ds, ("ref", f"eq:{ref}"), types=TYPES) == ["e1"]
    assert await ids(graph_store, ds, ("ok", "is:false")) == ["e1"]
    assert await ids(graph_store, ds, ("day", "is:null"), types=TYPES) == ["e2"]


# -- schema changes -------------------------------------------------------------------------------


async def test_migrating_to_a_strict_schema_requires_conforming_data(graph_store: GraphStore) -> None:
    loose = {"node_labels": [{"name": "P", "properties": [{"name": "age", "type": "integer"}]}]}
    ds = await make(graph_store, loose)
    await graph_store.write(ds, [node("a", "P", age=1, nick="x")], [], ERROR)

    strict = graph_dataset(new_session(), {**loose, "strict": True})
    strict = _same_dataset(ds, strict)
    with pytest.raises(InvalidInput):
        await graph_store.migrate_graph(ds, strict)
    a = await graph_store.get_node(ds, "a")
    assert a is not None and a.properties == {"age": 1, "nick": "x"}

    declared = {
        "node_labels": [
            {"name": "P", "properties": [{"name": "age", "type": "integer"}, {"name": "nick", "type": "text"}]}
        ],
        "strict": True,
    }
    ok = _same_dataset(ds, graph_dataset(new_session(), declared))
    await graph_store.migrate_graph(ds, ok)
    assert await graph_store.count_nodes(ok) == 1

    # an edge of an undeclared type does not conform either
    await graph_store.write(ok, [], [edge("e", "a", "a", "LOOP")], ERROR)
    again = _same_dataset(ds, graph_dataset(new_session(), declared))
    with pytest.raises(InvalidInput):
        await graph_store.migrate_graph(ok, again)


def _same_dataset(original: Dataset, other: Dataset) -> Dataset:
    """`other`'s schema on `original`'s identity: the dataset after a schema change."""
    return Dataset(
        id=original.id,
        session_id=original.session_id,
        owner_id=original.owner_id,
        name=original.name,
        kind=original.kind,
        schema=other.schema,
        created_at=original.created_at,
        updated_at=original.updated_at,
    )


async def test_unique_property_index_refuses_duplicates(graph_store: GraphStore) -> None:
    schema = {
        "node_labels": [
            {
                "name": "User",
                "properties": [{"name": "email", "type": "text"}],
                "indexes": [{"properties": ["email"], "unique": True}],
            }
        ]
    }
    ds = await make(graph_store, schema)
    await graph_store.write(ds, [node("u1", "User", email="a@x"), node("u2", "User")], [], ERROR)
    with pytest.raises(Conflict):
        await graph_store.write(ds, [node("u3", "User", email="a@x")], [], ERROR)
    with pytest.raises(Conflict):
        await graph_store.update_nodes(ds, [NodeUpdate("u2", {"email": "a@x"})])
    assert await graph_store.count_nodes(ds) == 2
    # nodes without the label are not constrained
    await graph_store.write(ds, [node("o1", "Other", email="a@x")], [], ERROR)


# -- all shortest paths ---------------------------------------------------------------------------


async def diamond(store: GraphStore, schema: dict[str, Any] | None = None) -> Dataset:
    """s → a → t twice (e3, e5 parallel), s → b → t, s → b → c → t costing the same through a free
    edge, and a direct but dear FLIGHT s → t; q stands alone."""
    ds = await make(store, schema)
    await store.write(
        ds,
        [node(n, "N", name=n.upper()) for n in "sabctq"],
        [
            edge("e1", "s", "a", "ROAD", w=1),
            edge("e2", "s", "b", "ROAD", w=1),
            edge("e3", "a", "t", "ROAD", w=1),
            edge("e4", "b", "t", "ROAD", w=1),
            edge("e5", "a", "t", "ROAD", w=1),
            edge("e6", "s", "t", "FLIGHT", w=5),
            edge("e7", "b", "c", "ROAD", w=0),
            edge("e8", "c", "t", "ROAD", w=1),
        ],
        ERROR,
    )
    return ds


def path_ids(paths: list[Any]) -> list[tuple[str, str]]:
    return [(" ".join(n.id for n in p.nodes), " ".join(e.id for e in p.edges)) for p in paths]


async def test_all_shortest_paths_by_hops_in_node_then_edge_order(graph_store: GraphStore) -> None:
    ds = await diamond(graph_store)
    kw: dict[str, Any] = {"direction": OUT, "weight": None, "max_depth": 10, "limit": 50}
    direct = await graph_store.all_shortest_paths(ds, "s", "t", types=(), **kw)
    assert path_ids(direct) == [("s t", "e6")]
    assert direct[0].cost is None and direct[0].length == 1

    roads = await graph_store.all_shortest_paths(ds, "s", "t", types=("ROAD",), **kw)
    assert path_ids(roads) == [("s a t", "e1 e3"), ("s a t", "e1 e5"), ("s b t", "e2 e4")]
    first = roads[0]
    assert [(n.labels, n.properties) for n in first.nodes] == [(("N",), {"name": n}) for n in "SAT"]
    assert first.edges[0] == Edge("e1", "s", "a", "ROAD", {"w": 1})


async def test_all_shortest_paths_by_weight(graph_store: GraphStore) -> None:
    ds = await diamond(graph_store)
    kw: dict[str, Any] = {"direction": OUT, "types": (), "weight": "w", "limit": 50}
    paths = await graph_store.all_shortest_paths(ds, "s", "t", max_depth=10, **kw)
    assert path_ids(paths) == [("s a t", "e1 e3"), ("s a t", "e1 e5"), ("s b c t", "e2 e7 e8"), ("s b t", "e2 e4")]
    assert {p.cost for p in paths} == {2}
    within_two = await graph_store.all_shortest_paths(ds, "s", "t", max_depth=2, **kw)
    assert path_ids(within_two) == [("s a t", "e1 e3"), ("s a t", "e1 e5"), ("s b t", "e2 e4")]
    within_one = await graph_store.all_shortest_paths(ds, "s", "t", max_depth=1, **kw)
    assert path_ids(within_one) == [("s t", "e6")] and within_one[0].cost == 5


async def test_all_shortest_paths_limit_direction_and_absence(graph_store: GraphStore) -> None:
    ds = await diamond(graph_store)
    kw: dict[str, Any] = {"types": ("ROAD",), "weight": None, "max_depth": 10}
    two = await graph_store.all_shortest_paths(ds, "s", "t", direction=OUT, limit=2, **kw)
    assert path_ids(two) == [("s a t", "e1 e3"), ("s a t", "e1 e5")]
    assert await graph_store.all_shortest_paths(ds, "t", "s", direction=OUT, limit=5, **kw) == []
    back = await graph_store.all_shortest_paths(ds, "t", "s", direction=IN, limit=5, **kw)
    assert path_ids(back) == [("t a s", "e3 e1"), ("t a s", "e5 e1"), ("t b s", "e4 e2")]
    either = await graph_store.all_shortest_paths(ds, "c", "a", direction=BOTH, limit=5, **kw)
    assert path_ids(either) == [("c t a", "e8 e3"), ("c t a", "e8 e5")]
    assert await graph_store.all_shortest_paths(ds, "s", "q", direction=BOTH, limit=5, **kw) == []
    assert await graph_store.all_shortest_paths(ds, "s", "nobody", direction=BOTH, limit=5, **kw) == []
    itself = await graph_store.all_shortest_paths(ds, "s", "s", direction=OUT, limit=5, **kw)
    assert path_ids(itself) == [("s", "")]


async def test_all_shortest_paths_stay_in_their_dataset(graph_store: GraphStore) -> None:
    one = await diamond(graph_store)
    other = await make(graph_store)
    await graph_store.write(other, [node("s"), node("t")], [edge("x", "s", "t", "ROAD", w=0)], ERROR)
    paths = await graph_store.all_shortest_paths(
        one, "s", "t", direction=OUT, types=("ROAD",), weight="w", max_depth=5, limit=10
    )
    assert "x" not in {e.id for p in paths for e in p.edges}
    assert path_ids(
        await graph_store.all_shortest_paths(
            other, "s", "t", direction=OUT, types=(), weight="w", max_depth=5, limit=10
        )
    ) == [("s t", "x")]


async def test_all_shortest_paths_refuse_a_bad_weight_in_reach(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(
        ds,
        [node("a"), node("b"), node("c")],
        [edge("e2", "a", "b", w=-1), edge("e1", "a", "c", w=1), edge("e3", "b", "c", w="far")],
        ERROR,
    )
    with pytest.raises(InvalidInput) as caught:
        await graph_store.all_shortest_paths(ds, "a", "c", direction=OUT, types=(), weight="w", max_depth=3, limit=5)
    assert (caught.value.field, caught.value.key) == ("weight", "e2")


async def test_all_shortest_paths_with_decimal_weights(graph_store: GraphStore) -> None:
    schema = {"relationship_types": [{"name": "R", "properties": [{"name": "w", "type": "numeric"}]}]}
    ds = await make(graph_store, schema)
    await graph_store.write(
        ds,
        [node("a"), node("b"), node("c"), node("d")],
        [
            edge("ab", "a", "b", w=Decimal("0.1")),
            edge("bd", "b", "d", w=Decimal("0.2")),
            edge("ac", "a", "c", w=Decimal("0.2")),
            edge("cd", "c", "d", w=Decimal("0.1")),
            edge("ad", "a", "d", w=Decimal("0.31")),
        ],
        ERROR,
    )
    paths = await graph_store.all_shortest_paths(
        ds, "a", "d", direction=OUT, types=(), weight="w", max_depth=3, limit=5
    )
    assert path_ids(paths) == [("a b d", "ab bd"), ("a c d", "ac cd")]
    assert [p.cost for p in paths] == [Decimal("0.3"), Decimal("0.3")]


# -- projections for the graph algorithms ---------------------------------------------------------


def projected(projection: Projection) -> tuple[list[str], list[tuple[str, str, str, Any]]]:
    return sorted(projection.node_ids), sorted((e.id, e.source, e.target, e.weight) for e in projection.edges)


async def test_project_holds_every_node_and_the_edges_of_the_types(graph_store: GraphStore) -> None:
    schema = {"relationship_types": [{"name": "PAYS", "properties": [{"name": "amount", "type": "numeric"}]}]}
    ds = await make(graph_store, schema)
    await graph_store.write(
        ds,
        [node("a", "P"), node("b"), node("c"), node("lonely")],
        [
            edge("k1", "a", "b", "KNOWS", w=2),
            edge("k2", "b", "a", "KNOWS"),
            edge("l1", "a", "a", "LIKES", w=0.5),
            edge("p1", "c", "a", "PAYS", amount=Decimal("12.50")),
        ],
        ERROR,
    )
    if hasattr(graph_store, "_projection_batch"):
        graph_store._projection_batch = 2  # a store reading in batches: make it take several
    limits: dict[str, Any] = {"max_nodes": 100, "max_edges": 100}
    everything = await graph_store.project(ds, types=(), weight=None, **limits)
    assert projected(everything) == (
        ["a", "b", "c", "lonely"],
        [("k1", "a", "b", None), ("k2", "b", "a", None), ("l1", "a", "a", None), ("p1", "c", "a", None)],
    )
    weighted = await graph_store.project(ds, types=("KNOWS", "LIKES"), weight="w", **limits)
    assert projected(weighted) == (
        ["a", "b", "c", "lonely"],
        [("k1", "a", "b", 2), ("k2", "b", "a", None), ("l1", "a", "a", 0.5)],
    )
    paid = await graph_store.project(ds, types=("PAYS",), weight="amount", **limits)
    assert projected(paid)[1] == [("p1", "c", "a", Decimal("12.50"))]
    assert isinstance(paid.edges[0].weight, Decimal)
    assert projected(await graph_store.project(ds, types=("NONE",), weight=None, **limits))[1] == []


async def test_project_refuses_a_graph_beyond_its_limits(graph_store: GraphStore) -> None:
    ds = await make(graph_store)
    await graph_store.write(
        ds,
        [node("a"), node("b"), node("c")],
        [edge("1", "a", "b", "X"), edge("2", "b", "c", "X"), edge("3", "c", "a", "Y")],
        ERROR,
    )
    with pytest.raises(PayloadTooLarge):
        await graph_store.project(ds, types=(), weight=None, max_nodes=2, max_edges=100)
    with pytest.raises(PayloadTooLarge) as caught:
        await graph_store.project(ds, types=(), weight=None, max_nodes=3, max_edges=2)
    assert caught.value.field == "types"
    exact = await graph_store.project(ds, types=("X",), weight=None, max_nodes=3, max_edges=2)
    assert len(exact.node_ids) == 3 and len(exact.edges) == 2


async def test_algorithms_on_a_projection_agree_with_the_data_written(graph_store: GraphStore) -> None:
    ds = await small_graph(graph_store)
    found = await graph_store.project(ds, types=("KNOWS",), weight=None, max_nodes=100, max_edges=100)
    written = Projection(tuple("abcdefgh"), tuple(ProjectedEdge(i, s, t) for i, s, t, rel in _GRAPH if rel == "KNOWS"))
    assert algorithms.pagerank(found) == algorithms.pagerank(written)
    assert algorithms.weak_components(found) == algorithms.weak_components(written)
    members, count = algorithms.weak_components(found)
    assert count == 2  # e joins only through the KNOWS edge b → e (a → e is LIKES); h stands alone
    assert {m.id: m.component for m in members} == {**dict.fromkeys("abcdefg", "a"), "h": "h"}
    assert algorithms.degrees(found, OUT) == algorithms.degrees(written, OUT)


# -- deleting one node or edge by id --------------------------------------------------------------


def id_is(key: str) -> FilterSpec:
    return FilterSpec((Condition("id", Operator.EQ, key, FieldType.TEXT),))


async def test_deleting_one_node_by_id_detaches_it(graph_store: GraphStore) -> None:
    ds = await small_graph(graph_store)
    assert await graph_store.delete_nodes_where(ds, (), id_is("b")) == 1
    assert await graph_store.get_node(ds, "b") is None
    assert sorted(await all_edges(graph_store, ds)) == ["e3", "e4", "e5", "e8"]
    assert await graph_store.delete_nodes_where(ds, (), id_is("b")) == 0
    assert await graph_store.count_nodes(ds) == 7


async def test_deleting_one_edge_by_id(graph_store: GraphStore) -> None:
    ds = await small_graph(graph_store)
    assert await graph_store.delete_edges_where(ds, (), id_is("e2")) == 1
    assert "e2" not in await all_edges(graph_store, ds)
    assert await graph_store.delete_edges_where(ds, (), id_is("e2")) == 0
    assert await graph_store.count_nodes(ds) == 8
