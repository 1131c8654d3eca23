"""Neo4jCypherRunner against a real Neo4j: a client's Cypher sees its own dataset only, in its own
terms (ids, labels, types), within the request's limits; what cannot be scoped is refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import neo4j
import pytest

from datainfra.adapters.memory.work_slots import InProcessWorkSlots
from datainfra.adapters.neo4j.client_cypher.plan_check import check_plan
from datainfra.adapters.neo4j.client_cypher.rewrite import rewrite
from datainfra.adapters.neo4j.client_cypher.runner import IsolationBreach, Neo4jCypherRunner, _Converter
from datainfra.adapters.neo4j.graph_store import Neo4jGraphStore
from datainfra.adapters.neo4j.namespacing import Namespace
from datainfra.domain.errors import Conflict, DomainError, InvalidRequest, StoreTimeout, TooManyRequests
from datainfra.domain.graph import Edge, Node, Path
from datainfra.domain.model import Dataset
from datainfra.domain.queries import QueryLimits, QueryResult
from datainfra.domain.query import RecordQuery
from datainfra.domain.records import OnConflict
from tests.contract.conftest import graph_dataset, new_session

pytestmark = pytest.mark.neo4j

SCHEMA = {
    "node_labels": [
        {
            "name": "Person",
            "properties": [{"name": "email", "type": "text"}, {"name": "balance", "type": "numeric"}],
            "indexes": [{"properties": ["email"], "unique": True}],
        }
    ],
    "relationship_types": [{"name": "KNOWS", "properties": [{"name": "weight", "type": "numeric"}]}],
}
READ = QueryLimits()
WRITE = QueryLimits(read_only=False)


@dataclass
class World:
    """`mine` holds a-[KNOWS]->b-[KNOWS]->c; `sibling` (same tenant) and `foreign` (another tenant)
    hold nodes with the same ids and labels, marked secret. Written through the graph routes' store,
    each with its key also as its property `id` (what Cypher's `n.id` reads; the key itself is
    `datainfra.key(n)`)."""

    mine: Dataset
    sibling: Dataset
    foreign: Dataset


@pytest.fixture
async def store(
    neo4j_graph_store_factory: Callable[..., AbstractAsyncContextManager[Neo4jGraphStore]],
) -> AsyncIterator[Neo4jGraphStore]:
    async with neo4j_graph_store_factory() as made:
        yield made


@pytest.fixture
def runner(neo4j_driver: neo4j.AsyncDriver) -> Neo4jCypherRunner:
    return Neo4jCypherRunner(neo4j_driver, slots=InProcessWorkSlots())


async def make_world(store: Neo4jGraphStore) -> World:
    session = new_session()
    mine = graph_dataset(session, SCHEMA)
    sibling = graph_dataset(session, SCHEMA, name="g2")
    foreign = graph_dataset(new_session(), SCHEMA)
    for dataset in (mine, sibling, foreign):
        await store.create_graph(dataset)
    await store.write(
        mine,
        [
            Node("a", ("Person",), {"id": "a", "email": "a@x", "balance": Decimal("1.50"), "age": 30}),
            Node("b", ("Person",), {"id": "b", "email": "b@x", "age": 40}),
            Node("c", ("Company",), {"id": "c", "name": "C"}),
        ],
        [
            Edge("e1", "a", "b", "KNOWS", {"id": "e1", "weight": Decimal("0.5")}),
            Edge("e2", "b", "c", "WORKS_AT", {"id": "e2"}),
        ],
        OnConflict.ERROR,
    )
    for other in (sibling, foreign):
        await store.write(
            other,
            [Node("a", ("Person",), {"id": "a", "secret": True}), Node("z", ("Person",), {"id": "z", "secret": True})],
            [Edge("e9", "a", "z", "KNOWS", {"id": "e9", "secret": True})],
            OnConflict.ERROR,
        )
    return World(mine, sibling, foreign)


@pytest.fixture
async def world(store: Neo4jGraphStore) -> World:
    """A world of its own, for a test that writes."""
    return await make_world(store)


@pytest.fixture(scope="module")
async def shared(neo4j_driver: neo4j.AsyncDriver) -> AsyncIterator[World]:
    """One world for the tests that only read (setting up datasets takes seconds)."""
    store = Neo4jGraphStore(neo4j_driver)
    made = await make_world(store)
    try:
        yield made
    finally:
        for dataset in (made.mine, made.sibling, made.foreign):
            await store.drop_graph(dataset)


async def rows(runner: Neo4jCypherRunner, dataset: Dataset, text: str, **params: Any) -> list[list[Any]]:
    return (await runner.run_cypher(dataset, text, params, READ)).rows


def assert_no_internal_names(value: Any, dataset: Dataset) -> None:
    text = repr(value)
    assert Namespace.of(dataset.id).hex not in text
    assert "#" not in text
    assert "_ds_" not in text


# -- reading in the client's terms ----------------------------------------------------------------


async def test_match_by_label_and_type_gives_client_ids_labels_and_types(
    runner: Neo4jCypherRunner, shared: World
) -> None:
    result = await runner.run_cypher(
        shared.mine,
        "MATCH (a:Person {id: 'a'})-[r:KNOWS]->(b) RETURN a, r, b.id, labels(b), type(r), a.balance, r.weight",
        {},
        READ,
    )
    assert [(c.name, c.type) for c in result.columns] == [
        ("a", "node"),
        ("r", "relationship"),
        ("b.id", "string"),
        ("labels(b)", "list<string>"),  # a list column names its items' type (issue 11)
        ("type(r)", "string"),
        ("a.balance", "string"),
        ("r.weight", "string"),
    ]
    assert result.rows == [
        [
            Node("a", ("Person",), {"id": "a", "email": "a@x", "balance": Decimal("1.50"), "age": 30}),
            Edge("e1", "a", "b", "KNOWS", {"id": "e1", "weight": Decimal("0.5")}),
            "b",
            ["Person"],
            "KNOWS",
            "1.50",  # a numeric property read as a value is its stored text; as part of a node, a Decimal
            "0.5",
        ]
    ]
    assert not result.truncated
    assert result.affected is None
    assert_no_internal_names(result, shared.mine)


async def test_properties_keys_and_map_projections_hide_internal_properties(
    runner: Neo4jCypherRunner, shared: World
) -> None:
    [[props, keys, projection, everything]] = await rows(
        runner, shared.mine, "MATCH (n {id: 'a'}) RETURN properties(n), keys(n), n {.id, .email}, n {.*} AS m"
    )
    assert props == {"id": "a", "email": "a@x", "balance": Decimal("1.50"), "age": 30}
    assert sorted(keys) == ["age", "balance", "email", "id"]
    assert projection == {"id": "a", "email": "a@x"}
    assert everything == props
    [[edge_props]] = await rows(runner, shared.mine, "MATCH ()-[r {id: 'e1'}]->() RETURN properties(r)")
    assert edge_props == {"id": "e1", "weight": Decimal("0.5")}


async def test_paths_come_back_as_domain_paths(runner: Neo4jCypherRunner, shared: World) -> None:
    found = await rows(
        runner, shared.mine, "MATCH p = (:Person {id: 'a'})-[*1..2]->(x) RETURN p, length(p) ORDER BY length(p)"
    )
    assert [row[1] for row in found] == [1, 2]
    path = found[1][0]
    assert isinstance(path, Path)
    assert [n.id for n in path.nodes] == ["a", "b", "c"]
    assert [(e.id, e.source, e.target, e.type) for e in path.edges] == [
        ("e1", "a", "b", "KNOWS"),
        ("e2", "b", "c", "WORKS_AT"),
    ]
    [[shortest]] = await rows(runner, shared.mine, "MATCH p = shortestPath((a {id: 'c'})-[*]-(b {id: 'a'})) RETURN p")
    assert [n.id for n in shortest.nodes] == ["c", "b", "a"]
    assert [(e.source, e.target) for e in shortest.edges] == [("b", "c"), ("a", "b")]


async def test_relationships_whose_ends_are_not_returned_still_name_them(
    runner: Neo4jCypherRunner, shared: World
) -> None:
    found = await rows(runner, shared.mine, "MATCH ()-[r]->() RETURN r ORDER BY r.id")
    assert [(e.id, e.source, e.target, e.type) for [e] in found] == [
        ("e1", "a", "b", "KNOWS"),
        ("e2", "b", "c", "WORKS_AT"),
    ]
    [[collected]] = await rows(runner, shared.mine, "MATCH ()-[r]->() RETURN collect(r) AS rs")
    assert sorted(e.id for e in collected) == ["e1", "e2"]


async def test_parameters_of_every_json_type(runner: Neo4jCypherRunner, shared: World) -> None:
    params = {"s": "x", "i": 7, "f": 1.5, "b": True, "n": None, "l": [1, "two"], "m": {"k": [1, 2], "id": "q"}}
    result = await runner.run_cypher(
        shared.mine, "RETURN $s AS s, $i AS i, $f AS f, $b AS b, $n AS n, $l AS l, $m AS m, $m.id AS mid", params, READ
    )
    assert result.rows == [["x", 7, 1.5, True, None, [1, "two"], {"k": [1, 2], "id": "q"}, "q"]]
    assert [c.type for c in result.columns] == [
        "string",
        "integer",
        "float",
        "boolean",
        "null",
        "list",
        "map",
        "string",
    ]
    found = await rows(
        runner, shared.mine, "MATCH (n) WHERE n.id IN $ids RETURN n.id ORDER BY n.id", ids=["a", "c", "z"]
    )
    assert found == [["a"], ["c"]]
    with pytest.raises(InvalidRequest, match="not given"):
        await rows(runner, shared.mine, "RETURN $missing")
    with pytest.raises(InvalidRequest):
        await runner.run_cypher(shared.mine, "RETURN $_x", {"_x": 1}, READ)
    with pytest.raises(InvalidRequest):
        await runner.run_cypher(shared.mine, "RETURN $big", {"big": 2**70}, READ)


async def test_numbers_with_a_fraction_bind_as_floats(runner: Neo4jCypherRunner, shared: World) -> None:
    """The HTTP layer decodes JSON numbers with a fraction as Decimal."""
    params = {"f": Decimal("1.5"), "m": {"k": [Decimal("0.25"), 3]}}
    result = await runner.run_cypher(shared.mine, "RETURN $f * 2 AS f, $m.k AS k", params, READ)
    assert result.rows == [[3.0, [0.25, 3]]]
    assert isinstance(result.rows[0][1][1], int)
    with pytest.raises(InvalidRequest) as caught:
        await runner.run_cypher(shared.mine, "RETURN $f", {"f": Decimal("1e400")}, READ)
    assert caught.value.field == "parameters.f"


async def test_parameter_sizes_are_capped(runner: Neo4jCypherRunner, shared: World) -> None:
    assert await rows(runner, shared.mine, "RETURN size($l)", l=list(range(10_000))) == [[10_000]]
    with pytest.raises(InvalidRequest) as caught:
        await rows(runner, shared.mine, "RETURN size($l)", l=list(range(10_001)))
    assert caught.value.field == "parameters.l"
    with pytest.raises(InvalidRequest) as caught:
        await rows(runner, shared.mine, "RETURN size($l)", l={"k": [list(range(10_000))] * 11})
    assert caught.value.field == "parameters.l" and "100000" in caught.value.detail


async def test_a_computed_range_over_the_limit_fails_when_it_runs(runner: Neo4jCypherRunner, shared: World) -> None:
    assert await rows(runner, shared.mine, "RETURN size(range(1, $n)) AS s", n=1_000_000) == [[1_000_000]]
    assert await rows(runner, shared.mine, "RETURN range($n, 0, -2) AS s", n=5) == [[[5, 3, 1]]]
    for params in ({"n": 1_000_001}, {"n": 10**12}):
        with pytest.raises(InvalidRequest, match="range\\(\\) would make more than 1000000") as caught:
            await rows(runner, shared.mine, "RETURN size(range(1, $n)) AS s", **params)
        assert caught.value.field == "query"
    with pytest.raises(InvalidRequest, match="range"):
        await rows(runner, shared.mine, "RETURN size(range($n, 0, -1)) AS s", n=10**9)


async def test_a_query_out_of_memory_is_a_client_error(runner: Neo4jCypherRunner, shared: World) -> None:
    with pytest.raises(InvalidRequest, match="more memory than one query may use") as caught:
        await rows(
            runner,
            shared.mine,
            "UNWIND range(1, 1000) AS a UNWIND range(1, 20000) AS b "
            "WITH collect([a, b, toString(a * b) + '-padding-padding-padding']) AS l RETURN size(l)",
        )
    assert caught.value.field == "query"
    assert await rows(runner, shared.mine, "RETURN 1 AS one") == [[1]]


async def test_each_owner_runs_at_most_two_queries_at_once(neo4j_driver: neo4j.AsyncDriver, shared: World) -> None:
    runner = Neo4jCypherRunner(neo4j_driver, slots=InProcessWorkSlots())
    slow = "UNWIND range(1, 1000000) AS x UNWIND range(1, 1000) AS y RETURN count(*)"
    limits = QueryLimits(timeout_ms=1500)

    async def run(dataset: Dataset) -> BaseException | QueryResult:
        try:
            return await runner.run_cypher(dataset, slow, {}, limits)
        except DomainError as exc:
            return exc

    first = [asyncio.create_task(run(shared.mine)) for _ in range(2)]
    await asyncio.sleep(0.2)
    with pytest.raises(TooManyRequests):  # the same owner (mine and sibling share it)
        await runner.run_cypher(shared.sibling, "RETURN 1", {}, READ)
    assert (await runner.run_cypher(shared.foreign, "RETURN 1 AS one", {}, READ)).rows == [[1]]
    outcomes = await asyncio.gather(*first)
    assert all(isinstance(o, StoreTimeout) for o in outcomes), outcomes
    assert (await runner.run_cypher(shared.sibling, "RETURN 1 AS one", {}, READ)).rows == [[1]]


async def test_aggregates_order_and_limit(runner: Neo4jCypherRunner, shared: World) -> None:
    assert await rows(runner, shared.mine, "MATCH (n) RETURN count(n) AS c") == [[3]]
    assert await rows(runner, shared.mine, "MATCH ()-[r]->() RETURN count(r) AS c") == [[2]]
    [[ids]] = await rows(runner, shared.mine, "MATCH (n:Person) RETURN collect(n.id) AS ids")
    assert sorted(ids) == ["a", "b"]
    assert await rows(runner, shared.mine, "MATCH (n) RETURN n.id ORDER BY n.id DESC LIMIT 2") == [["c"], ["b"]]
    assert await rows(runner, shared.mine, "MATCH (n) RETURN labels(n)[0] AS l, count(*) AS c ORDER BY l") == [
        ["Company", 1],
        ["Person", 2],
    ]
    assert await rows(runner, shared.mine, "MATCH (n) WHERE n:Person AND n.age > 35 RETURN n.id") == [["b"]]
    assert await rows(runner, shared.mine, "MATCH (n) WHERE EXISTS { (n)-[:KNOWS]->(:Person) } RETURN n.id") == [["a"]]
    assert await rows(runner, shared.mine, "MATCH (n) WHERE (n)-[:WORKS_AT]->() RETURN n.id") == [["b"]]
    # subqueries the planner nests inside an expression
    assert await rows(
        runner, shared.mine, "MATCH (a {id: 'a'}) RETURN CASE WHEN a.age > 1 THEN COUNT { (a)-->() } END AS c"
    ) == [[1]]
    assert await rows(runner, shared.mine, "RETURN CASE WHEN true THEN COUNT { MATCH (m) RETURN m } END AS c") == [[3]]
    [[nested]] = await rows(runner, shared.mine, "MATCH (a {id: 'a'}) RETURN [x IN [a] | [(x)-->(y) | y.id]] AS c")
    assert nested == [["b"]]


async def test_row_cap_truncates(runner: Neo4jCypherRunner, shared: World) -> None:
    capped = await runner.run_cypher(shared.mine, "UNWIND range(1, 10) AS x RETURN x", {}, QueryLimits(max_rows=3))
    assert capped.rows == [[1], [2], [3]]
    assert capped.truncated
    whole = await runner.run_cypher(shared.mine, "UNWIND range(1, 10) AS x RETURN x", {}, QueryLimits(max_rows=10))
    assert len(whole.rows) == 10
    assert not whole.truncated


async def test_a_query_past_its_time_limit_is_stopped(runner: Neo4jCypherRunner, shared: World) -> None:
    started = time.monotonic()
    with pytest.raises(StoreTimeout):
        await runner.run_cypher(
            shared.mine,
            "UNWIND range(1, 1000000) AS x UNWIND range(1, 1000) AS y RETURN count(*)",
            {},
            QueryLimits(timeout_ms=500),
        )
    assert time.monotonic() - started < 5
    # the driver is fine afterwards
    assert await rows(runner, shared.mine, "RETURN 1 AS one") == [[1]]


# -- isolation ------------------------------------------------------------------------------------

UNANCHORED_READS = [
    "MATCH (n) RETURN n",
    "MATCH (n) RETURN n.id, n.secret",
    "MATCH ()-[r]->() RETURN r",
    "MATCH ()-[r]-() RETURN r",
    "MATCH p = ()-[*]-() RETURN p",
    "MATCH (n {id: 'a'}) RETURN n",
    "MATCH (n) WHERE n.secret = true RETURN n",
    "MATCH (n:Person) RETURN n",
    "MATCH ()-[r:KNOWS]->() RETURN r",
    "MATCH (n) RETURN count(n)",
    "MATCH ()-[r]->() RETURN count(r)",
    "OPTIONAL MATCH (n {id: 'z'}) RETURN n",
    "MATCH (n) WITH n MATCH (n)-[r]-(m) RETURN m",
    "MATCH (a), (b) RETURN a, b",
    "MATCH (n) RETURN COLLECT { MATCH (m) RETURN m } AS all",
    "MATCH (n) CALL { MATCH (m) RETURN m } RETURN m",
    "MATCH (n) RETURN [(n)--(m) | m] AS ms",
    "RETURN CASE WHEN true THEN COUNT { MATCH (m) RETURN m } END AS c",
    "MATCH (n) RETURN [x IN [n] | [(x)--(y) | y]] AS ys",
    "UNWIND [1] AS x RETURN [y IN [x] | COLLECT { MATCH (m) RETURN m }] AS ms",
]


@pytest.mark.parametrize("query", UNANCHORED_READS)
async def test_other_datasets_never_appear(runner: Neo4jCypherRunner, shared: World, query: str) -> None:
    result = await runner.run_cypher(shared.mine, query, {}, READ)
    text = repr(result.rows)
    assert "secret" not in text
    assert "'z'" not in text
    assert "e9" not in text
    for other in (shared.sibling, shared.foreign):
        assert_no_internal_names(result, other)
    assert_no_internal_names(result, shared.mine)


async def test_counts_are_the_datasets_own(runner: Neo4jCypherRunner, shared: World) -> None:
    for dataset, nodes, edges in ((shared.mine, 3, 2), (shared.sibling, 2, 1), (shared.foreign, 2, 1)):
        assert await rows(runner, dataset, "MATCH (n) RETURN count(n)") == [[nodes]]
        assert await rows(runner, dataset, "MATCH ()-[r]->() RETURN count(r)") == [[edges]]
        assert await rows(runner, dataset, "MATCH (n:Person) RETURN count(*)") == [[2]]


async def test_label_tricks_and_internal_ids_are_refused(
    runner: Neo4jCypherRunner, shared: World, neo4j_driver: neo4j.AsyncDriver
) -> None:
    other = Namespace.of(shared.foreign.id)
    async with neo4j_driver.session() as session:
        record = await (
            await session.run(f"MATCH (n:{other.n} {{`#id`: 'z'}}) RETURN elementId(n) AS e, id(n) AS i")
        ).single()
    assert record is not None
    hostile = [
        f"MATCH (n:`{other.node_label}`) RETURN n",
        f"MATCH (n:{other.node_label}) RETURN n",
        f"MATCH (n:`{other.label_prefix}Person`) RETURN n",
        f"MATCH ()-[r:`{other.rel_type}`]->() RETURN r",
        f"MATCH (n) WHERE n:`{other.node_label}` RETURN n",
        f"MATCH (n) WHERE id(n) = {record['i']} RETURN n",
        "MATCH (n) WHERE elementId(n) = $e RETURN n",
        "MATCH ()-[r]->() WHERE elementId(r) = $e RETURN r",
        "MATCH (n) RETURN n.`#id`",
        "MATCH (n {`#id`: 'z'}) RETURN n",
    ]
    for query in hostile:
        with pytest.raises(InvalidRequest) as caught:
            await runner.run_cypher(shared.mine, query, {"e": record["e"]}, READ)
        assert caught.value.field == "query", query


async def test_the_plan_check_refuses_what_a_raw_query_would_reach(
    neo4j_driver: neo4j.AsyncDriver, shared: World
) -> None:
    """The second line: unrewritten (unscoped) texts EXPLAIN to plans the check refuses, their
    rewrites to plans it accepts."""
    ns = Namespace.of(shared.mine.id)
    other = Namespace.of(shared.foreign.id)
    raw = {
        "MATCH (n) RETURN n": "AllNodesScan",
        "MATCH ()-[r]->() RETURN r": "AllRelationshipsScan",
        "MATCH (n) WHERE id(n) = 0 RETURN n": "internal id",
        "MATCH (n) WHERE elementId(n) = 'x' RETURN n": "internal id",
        "MATCH ()-[r]->() WHERE id(r) = 0 RETURN r": "internal id|every relationship",
        "MATCH (n) RETURN count(n)": "outside the dataset",
        f"MATCH (n:{other.n}) RETURN n": "outside its dataset",
        "MATCH (n:Person) RETURN n": "outside the dataset",
        "CALL db.labels()": "procedure",
        "LOAD CSV FROM 'file:///x.csv' AS l RETURN l": "reads a file",
        f"MATCH (n:{ns.n}) SET n:Admin": "label outside",
        f"MATCH (n:{ns.n}) REMOVE n:{ns.n}": "label outside",
        "CREATE (n:Person)": "outside its dataset",
        f"MATCH (a:{ns.n}) CREATE (a)-[:KNOWS]->(a)": "outside its dataset",
        f"MATCH (a:{ns.n}) CREATE (a)-[:{ns.r}]->(:Person)": "outside its dataset",
        f"MATCH (n:{ns.n}) FOREACH (x IN [1] | SET n:Admin)": "label outside",
        f"MATCH (n:{ns.n}) SET n[$k] = 1": "computed",
        "RETURN CASE WHEN true THEN COUNT { MATCH (m) RETURN m } END AS c": "subquery inside an expression",
        f"MATCH (a:{ns.n}) RETURN [x IN [a] | [(x)-->(y) | y]] AS c": "subquery inside an expression",
    }
    async with neo4j_driver.session() as session:
        for text, fragment in raw.items():
            summary = await (await session.run("EXPLAIN " + text, {"k": "x"})).consume()
            with pytest.raises(InvalidRequest, match=fragment):
                check_plan(summary.plan or {}, ns)
        for text in [
            "MATCH (n) RETURN n",
            "MATCH ()-[r]-() RETURN r",
            "MATCH (n) RETURN count(n)",
            "RETURN CASE WHEN true THEN COUNT { MATCH (m) RETURN m } END AS c",
            "MATCH (a) RETURN [x IN [a] | [(x)-[:KNOWS|WORKS_AT]->(y) | y]] AS c",
        ]:
            query = rewrite(text, ns)
            summary = await (await session.run("EXPLAIN " + query.text, dict(query.parameters))).consume()
            check_plan(summary.plan or {}, ns)


async def test_a_read_whose_plan_the_check_refuses_answers_the_refusal_never_its_rows(
    runner: Neo4jCypherRunner, shared: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read starts with its EXPLAIN (runner._read); were the rewriter ever to leave a pattern
    unscoped, the plan check's refusal is the answer and the rows the query read are never shown."""
    from datainfra.adapters.neo4j.client_cypher import runner as runner_module

    unscoped = "MATCH (n) RETURN n.name AS name"
    monkeypatch.setattr(runner_module, "_rewritten", lambda text, ns: replace(rewrite(text, ns), text=unscoped))
    with pytest.raises(InvalidRequest, match="AllNodesScan") as caught:
        await runner.run_cypher(shared.mine, "MATCH (n) RETURN n.name AS name", {}, READ)
    assert caught.value.field == "query"


async def test_an_entity_of_another_dataset_in_a_result_is_a_server_fault(
    neo4j_driver: neo4j.AsyncDriver, shared: World
) -> None:
    other = Namespace.of(shared.foreign.id)
    async with neo4j_driver.session() as session:
        tx = await session.begin_transaction()
        record = await (await tx.run(f"MATCH (n:{other.n})-[r]->() RETURN n, r LIMIT 1")).single()
        assert record is not None
        converter = _Converter(tx, Namespace.of(shared.mine.id), shared.mine.graph_schema, writes=False)
        with pytest.raises(IsolationBreach):
            converter.value(record["n"])
        with pytest.raises(IsolationBreach):
            converter.value(record["r"])
        await tx.rollback()


# -- writing --------------------------------------------------------------------------------------


async def test_read_only_refuses_writes(runner: Neo4jCypherRunner, store: Neo4jGraphStore, shared: World) -> None:
    for query in ["CREATE (n:Person {id: 'x'})", "MATCH (n) DETACH DELETE n", "MATCH (n) SET n.age = 1"]:
        with pytest.raises(InvalidRequest, match="read_only"):
            await runner.run_cypher(shared.mine, query, {}, READ)
    assert await store.count_nodes(shared.mine) == 3


async def test_created_nodes_are_what_the_graph_routes_show(
    runner: Neo4jCypherRunner, store: Neo4jGraphStore, world: World
) -> None:
    result = await runner.run_cypher(
        world.mine,
        "MATCH (a {id: 'a'}) CREATE (n:Person:Admin {id: 'n1', email: 'n@x', age: 5})<-[r:KNOWS {id: 'e5'}]-(a) "
        "RETURN n, r",
        {},
        WRITE,
    )
    [[created, edge]] = result.rows
    assert created.labels == ("Person", "Admin") and created.properties == {"id": "n1", "email": "n@x", "age": 5}
    assert created.id not in ("n1", "")  # the key the graph routes address is generated
    assert edge == Edge(edge.id, "a", created.id, "KNOWS", {"id": "e5"}) and edge.id != "e5"
    assert result.affected == 2
    assert await store.get_node(world.mine, created.id) == created
    assert [n.id for n in (await store.find_nodes(world.mine, ("Admin",), RecordQuery())).items] == [created.id]
    assert edge in (await store.find_edges(world.mine, ("KNOWS",), RecordQuery())).items
    assert await rows(runner, world.mine, "MATCH (n:Admin) RETURN datainfra.key(n), n.id") == [[created.id, "n1"]]


async def test_id_is_an_ordinary_property(runner: Neo4jCypherRunner, store: Neo4jGraphStore, world: World) -> None:
    """Issue 11 item 3: `id` keeps its type, need not be unique, is absent unless written, can change."""
    [[x, y]] = (
        await runner.run_cypher(
            world.mine,
            "CREATE (x:Thing {id: 4611686018427387905}), (y:Thing {id: 4611686018427387905}) RETURN x, y",
            {},
            WRITE,
        )
    ).rows
    assert x.properties == y.properties == {"id": 4611686018427387905} and x.id != y.id
    assert await store.get_node(world.mine, x.id) == x
    found = await rows(runner, world.mine, "MATCH (t {id: 4611686018427387905}) RETURN t.id + 1, datainfra.key(t)")
    assert sorted(found) == sorted([[4611686018427387906, x.id], [4611686018427387906, y.id]])
    [[anonymous, absent]] = (await runner.run_cypher(world.mine, "CREATE (n) RETURN n, n.id IS NULL", {}, WRITE)).rows
    assert anonymous.id and anonymous.labels == () and anonymous.properties == {} and absent is True
    assert await store.get_node(world.mine, anonymous.id) == anonymous
    await runner.run_cypher(world.mine, "MATCH (t:Thing) SET t.id = [1, 2] SET t += {id: 'moved'}", {}, WRITE)
    assert (await store.get_node(world.mine, x.id) or Node("")).properties == {"id": "moved"}
    await runner.run_cypher(world.mine, "MATCH (t:Thing) REMOVE t.id", {}, WRITE)
    assert (await store.get_node(world.mine, x.id) or Node("")).properties == {}
    # bulk from parameters
    await runner.run_cypher(
        world.mine,
        "UNWIND $rows AS row CREATE (:Person {id: row.id, email: row.email})",
        {"rows": [{"id": "p1", "email": "p1@x"}, {"id": "p2", "email": "p2@x"}]},
        WRITE,
    )
    [[p2]] = await rows(runner, world.mine, "MATCH (p:Person {id: 'p2'}) RETURN p")
    assert p2.properties == {"id": "p2", "email": "p2@x"} and await store.get_node(world.mine, p2.id) == p2
    # the key reaches Cypher only through datainfra.key(); id() and elementId() stay refused
    assert await rows(runner, world.mine, "MATCH (n) WHERE datainfra.key(n) = 'a' RETURN n.email") == [["a@x"]]
    for refused in ("MATCH (n) RETURN id(n)", "MATCH (n) RETURN elementId(n)"):
        with pytest.raises(InvalidRequest, match=r"datainfra\.key"):
            await runner.run_cypher(world.mine, refused, {}, READ)


async def test_merge_set_remove_and_delete_keep_the_stored_form(
    runner: Neo4jCypherRunner, store: Neo4jGraphStore, world: World
) -> None:
    await runner.run_cypher(world.mine, "MERGE (n:Person {id: 'm1'}) ON CREATE SET n.age = 1", {}, WRITE)
    await runner.run_cypher(world.mine, "MERGE (n:Person {id: 'm1'}) ON MATCH SET n.age = 2", {}, WRITE)
    [[m1]] = await rows(runner, world.mine, "MATCH (n {id: 'm1'}) RETURN n")
    assert m1 == Node(m1.id, ("Person",), {"id": "m1", "age": 2}) and await store.get_node(world.mine, m1.id) == m1
    await runner.run_cypher(
        world.mine, "MATCH (a {id: 'a'}), (m {id: 'm1'}) MERGE (a)-[r:KNOWS]->(m) RETURN r", {}, WRITE
    )
    merged = [e for e in (await store.find_edges(world.mine, ("KNOWS",), RecordQuery())).items if e.target == m1.id]
    assert len(merged) == 1 and merged[0].source == "a" and merged[0].id
    # SET keeps the key, labels and type; a numeric property set from Cypher drops its order key
    await runner.run_cypher(
        world.mine,
        "MATCH (n {id: 'a'}) SET n = {id: 'a', email: 'new@x'}, n.balance = 3, n += $p",
        {"p": {"nick": "A"}},
        WRITE,
    )
    assert await store.get_node(world.mine, "a") == Node(
        "a", ("Person",), {"id": "a", "email": "new@x", "balance": 3, "nick": "A"}
    )
    await runner.run_cypher(world.mine, "MATCH ()-[r {id: 'e1'}]->() SET r = {w: 1} RETURN r", {}, WRITE)
    [[edge]] = await rows(runner, world.mine, "MATCH ()-[r {w: 1}]->() RETURN r")
    assert edge == Edge("e1", "a", "b", "KNOWS", {"w": 1})
    await runner.run_cypher(world.mine, "MATCH (n {id: 'a'}) REMOVE n.nick", {}, WRITE)
    assert "nick" not in (await store.get_node(world.mine, "a") or Node("")).properties
    for bad in ({"#id": "x"}, {"not ok": 1}):
        with pytest.raises(InvalidRequest):
            await runner.run_cypher(world.mine, "MATCH (n {id: 'a'}) SET n += $p", {"p": bad}, WRITE)
    result = await runner.run_cypher(world.mine, "MATCH (n {id: 'm1'}) DETACH DELETE n", {}, WRITE)
    assert result.affected == 2
    assert await store.get_node(world.mine, m1.id) is None
    with pytest.raises(InvalidRequest, match="deleted"):
        await runner.run_cypher(world.mine, "MATCH (n {id: 'b'}) DETACH DELETE n RETURN n", {}, WRITE)


async def test_labels_change_through_cypher_and_the_graph_routes_see_it(
    runner: Neo4jCypherRunner, store: Neo4jGraphStore, world: World
) -> None:
    """Issue 11 item 4: SET / REMOVE of labels, and MERGE ... ON CREATE SET n:L, in the dataset's namespace."""
    await runner.run_cypher(world.mine, "MATCH (n {id: 'a'}) SET n:Admin:Person, n:Staff", {}, WRITE)
    assert await store.get_node(world.mine, "a") == Node(
        "a", ("Person", "Admin", "Staff"), {"id": "a", "email": "a@x", "balance": Decimal("1.50"), "age": 30}
    )
    assert [n.id for n in (await store.find_nodes(world.mine, ("Admin",), RecordQuery())).items] == ["a"]
    assert await rows(runner, world.mine, "MATCH (n:Admin) RETURN n.id, labels(n)") == [
        ["a", ["Person", "Admin", "Staff"]]
    ]
    assert await rows(runner, world.sibling, "MATCH (n:Admin) RETURN n.id") == []
    await runner.run_cypher(world.mine, "MATCH (n:Admin) REMOVE n:Admin, n:Person", {}, WRITE)
    node = await store.get_node(world.mine, "a")
    assert node is not None and node.labels == ("Staff",)
    assert (await store.find_nodes(world.mine, ("Admin",), RecordQuery())).items == []
    [[t]] = (
        await runner.run_cypher(world.mine, "MERGE (n:Thing {id: 't'}) ON CREATE SET n:New RETURN n", {}, WRITE)
    ).rows
    assert await store.get_node(world.mine, t.id) == Node(t.id, ("Thing", "New"), {"id": "t"})


async def test_a_write_that_fails_leaves_nothing(
    runner: Neo4jCypherRunner, store: Neo4jGraphStore, world: World
) -> None:
    with pytest.raises(Conflict) as caught:
        await runner.run_cypher(
            world.mine, "CREATE (:Person {id: 'new'}) CREATE (:Person {id: 'a2', email: 'a@x'})", {}, WRITE
        )
    assert_no_internal_names(caught.value.detail, world.mine)
    assert await rows(runner, world.mine, "MATCH (n {id: 'new'}) RETURN n") == []
    with pytest.raises(InvalidRequest):
        await runner.run_cypher(world.mine, "CREATE (:Person {id: 'new'}) WITH 1 AS x RETURN 1 / 0", {}, WRITE)
    assert await rows(runner, world.mine, "MATCH (n {id: 'new'}) RETURN n") == []


async def test_writes_stay_in_their_dataset(runner: Neo4jCypherRunner, store: Neo4jGraphStore, world: World) -> None:
    await runner.run_cypher(world.mine, "MATCH (n) DETACH DELETE n", {}, WRITE)
    assert await store.count_nodes(world.mine) == 0
    for other in (world.sibling, world.foreign):
        assert await store.count_nodes(other) == 2
        assert len((await store.find_edges(other, (), RecordQuery())).items) == 1
    await runner.run_cypher(world.mine, "MATCH (n) SET n.secret = false", {}, WRITE)
    assert await rows(runner, world.foreign, "MATCH (n) WHERE n.secret RETURN count(n)") == [[2]]


# -- refusals and errors --------------------------------------------------------------------------

REFUSED = [
    "CALL db.labels()",
    "CALL dbms.components()",
    "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
    "USE system SHOW USERS",
    "USE neo4j MATCH (n) RETURN n",
    "SHOW DATABASES",
    "SHOW INDEXES",
    "CREATE INDEX i FOR (n:Person) ON (n.age)",
    "DROP CONSTRAINT c",
    "MATCH (n) RETURN n; MATCH (m) RETURN m",
    "EXPLAIN MATCH (n) RETURN n",
    "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS",
]


@pytest.mark.parametrize("query", REFUSED)
async def test_refused_constructs(runner: Neo4jCypherRunner, shared: World, query: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await runner.run_cypher(shared.mine, query, {}, WRITE)
    assert caught.value.field == "query"


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("MATCH (n:Person) RETURN m", "m"),
        ("MATCH (n:Person) RETURN n.id +", "Invalid input"),
        ("MATCH (n {id: 'a'}) RETURN n.age + 'x' - 1", "Type mismatch"),
        ("RETURN 1 / 0", "by zero"),
        ("MATCH (n:Person)-[r:KNOWS]->(m) RETURN r.id - 1", ""),
        ("MATCH (n:Person) RETURN toInteger(labels(n))", "toInteger"),
        ("MATCH (n:Person) WITH n.id RETURN 1", "must be aliased"),
    ],
)
async def test_query_errors_are_400s_in_the_clients_terms(
    runner: Neo4jCypherRunner, shared: World, query: str, fragment: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await runner.run_cypher(shared.mine, query, {}, READ)
    assert fragment in caught.value.detail
    assert_no_internal_names(caught.value.detail, shared.mine)
    assert "line 1" not in caught.value.detail


async def test_results_never_show_internal_names(runner: Neo4jCypherRunner, shared: World) -> None:
    result: QueryResult = await runner.run_cypher(
        shared.mine, "MATCH (a)-[r]->(b) RETURN *, properties(a), keys(r), labels(a), type(r)", {}, READ
    )
    assert {c.name for c in result.columns} >= {"a", "r", "b"}
    assert_no_internal_names(result, shared.mine)
    try:
        await runner.run_cypher(shared.mine, "MATCH (a)-[r:A|B]->(b) RETURN *", {}, READ)
    except DomainError as exc:  # pragma: no cover - shown if it ever fails
        pytest.fail(exc.detail)


# -- the plan check lets ordinary queries through, and they answer what Cypher says -----------------


def plain(value: Any) -> Any:
    """A result value in a comparable shape: nodes, relationships and paths by their property `id`
    (what the client wrote; their key when they have none); lists (collect() has no defined order) sorted."""
    if isinstance(value, Node):
        return f"node:{value.properties.get('id', value.id)}"
    if isinstance(value, Edge):
        return f"edge:{value.properties.get('id', value.id)}"
    if isinstance(value, Path):
        return "path:" + "-".join(str(node.properties.get("id", node.id)) for node in value.nodes)
    if isinstance(value, list):
        return sorted((plain(item) for item in value), key=repr)
    return value


def plain_rows(result: QueryResult, *, ordered: bool) -> list[list[Any]]:
    found = [[plain(value) for value in row] for row in result.rows]
    return found if ordered else sorted(found, key=repr)


# (query, the rows it answers over `shared.mine` = a-[KNOWS e1]->b-[WORKS_AT e2]->c, in order when
# the query orders them). a: Person age 30, b: Person age 40, c: Company.
COMMON_READS: list[tuple[str, list[list[Any]]]] = [
    ("MATCH (n:Person) WHERE n.email STARTS WITH 'a' RETURN n.id", [["a"]]),
    ("MATCH (n:Person) WHERE n.email CONTAINS '@' RETURN n.id", [["a"], ["b"]]),
    ("MATCH (n:Person {email: 'a@x'}) RETURN n.id", [["a"]]),
    ("MATCH (n) WHERE n.id IN ['a', 'b'] RETURN n.id", [["a"], ["b"]]),
    ("MATCH (a {id: 'a'}), (b {id: 'b'}) RETURN a.id, b.id", [["a", "b"]]),
    ("UNWIND ['a', 'b'] AS i MATCH (n {id: i}) RETURN n.id", [["a"], ["b"]]),
    ("MATCH ()-[r {id: 'e1'}]->() RETURN r", [["edge:e1"]]),
    ("MATCH ()-[r:KNOWS]->() RETURN r.id", [["e1"]]),
    ("MATCH (n) RETURN n.id ORDER BY n.age DESC SKIP 1 LIMIT 2", [["b"], ["a"]]),
    ("MATCH (a)-[:KNOWS]->(b)-[:WORKS_AT]->(c) WHERE NOT (a)-[:KNOWS]->(c) RETURN a.id, c.id", [["a", "c"]]),
    ("MATCH (n) OPTIONAL MATCH (n)-[r]->(m) RETURN n.id, m.id", [["a", "b"], ["b", "c"], ["c", None]]),
    ("MATCH p = SHORTEST 2 (a {id: 'a'})-[:KNOWS|WORKS_AT]-+(b {id: 'c'}) RETURN length(p)", [[2]]),
    ("MATCH p = ALL SHORTEST (a {id: 'a'})--+(b {id: 'c'}) RETURN length(p)", [[2]]),
    ("MATCH p = allShortestPaths((a {id: 'a'})-[*]-(b {id: 'c'})) RETURN p", [["path:a-b-c"]]),
    ("MATCH (a {id: 'a'})-[*1..3]->(b) RETURN DISTINCT b.id", [["b"], ["c"]]),
    ("MATCH (a {id: 'a'})-[:KNOWS*]->(b) RETURN count(DISTINCT b)", [[1]]),
    ("MATCH (a {id: 'a'}) MATCH (a)-[:KNOWS]->{1,3}(b) RETURN b.id", [["b"]]),
    ("MATCH (n) WHERE EXISTS { (n)-->() } OR n.age > 4 RETURN n.id", [["a"], ["b"]]),
    ("MATCH (n) CALL (n) { MATCH (n)-->(m) RETURN count(m) AS c } RETURN n.id, c", [["a", 1], ["b", 1], ["c", 0]]),
    ("MATCH (n) RETURN n.id UNION ALL MATCH (n) RETURN n.id", [["a"], ["a"], ["b"], ["b"], ["c"], ["c"]]),
    ("MATCH (n) RETURN count(*), avg(n.age), max(n.age), collect(DISTINCT n.age)", [[3, 35.0, 40, [30, 40]]]),
    ("MATCH (n)-[r]-(m) RETURN DISTINCT n.id", [["a"], ["b"], ["c"]]),
    ("MATCH (n:Person)-[r]->() RETURN count(r)", [[2]]),
    ("MATCH (a {id: 'a'}), (b {id: 'c'}) RETURN EXISTS { (a)-[*]->(b) } AS reach", [[True]]),
    ("MATCH (n) WITH collect(n) AS ns UNWIND ns AS x RETURN x.id", [["a"], ["b"], ["c"]]),
]


@pytest.mark.parametrize(("query", "expected"), COMMON_READS, ids=[query for query, _ in COMMON_READS])
async def test_common_reads_answer_what_cypher_says(
    runner: Neo4jCypherRunner, shared: World, query: str, expected: list[list[Any]]
) -> None:
    result = await runner.run_cypher(shared.mine, query, {}, READ)
    assert plain_rows(result, ordered="ORDER BY" in query) == expected


# (query, the rows it answers, then what the dataset holds afterwards), run in this order on a
# fresh world: each write's own answer and its effect are pinned.
COMMON_WRITES: list[tuple[str, list[list[Any]]]] = [
    ("CREATE (n:Person {id: 'new', email: 'new@x'}) RETURN n", [["node:new"]]),
    ("MERGE (n:Person {id: 'm'}) RETURN n", [["node:m"]]),
    ("MERGE (n:Person {email: 'a@x'}) RETURN n.id", [["a"]]),
    ("MATCH (a {id: 'a'}), (b {id: 'b'}) MERGE (a)-[r:LIKES]->(b) RETURN r", [["edge:?"]]),
    ("MATCH (a {id: 'a'}) MERGE (a)-[r:LIKES]->(x:Thing {id: 'thing'}) RETURN r", [["edge:?"]]),
    ("MATCH ()-[r {id: 'e1'}]->() SET r.w = 1, r += {v: 2} RETURN r", [["edge:e1"]]),
    ("MATCH p = (a {id: 'a'})-[r {id: 'e1'}]->() DELETE r", []),
    ("UNWIND ['a', 'b'] AS i MATCH (n {id: i}) SET n.seen = true", []),
    ("FOREACH (i IN range(1, 3) | CREATE (:Item {id: 'i' + toString(i)}))", []),
    ("MATCH (n {id: 'a'}) FOREACH (i IN [1] | SET n.f = i)", []),
    ("MATCH (n {id: 'b'}) CALL (n) { CREATE (n)-[:MADE]->(:Thing {id: 't2'}) } RETURN n.id", [["b"]]),
    ("MATCH (n:Item) WITH n LIMIT 1 DETACH DELETE n", []),
    ("CREATE (a:X {id: 'x1'})-[:R]->(b:X {id: 'x2'}) WITH a, b MATCH p = (a)-->(b) RETURN p", [["path:x1-x2"]]),
]


def anonymous_edges(rows: list[list[Any]]) -> list[list[Any]]:
    """A relationship made without an id gets a generated one: only that it is an edge is pinned."""
    return [
        ["edge:?" if isinstance(v, str) and v.startswith("edge:") and v != "edge:e1" else v for v in row]
        for row in rows
    ]


async def test_common_writes_answer_and_change_what_cypher_says(runner: Neo4jCypherRunner, world: World) -> None:
    for query, expected in COMMON_WRITES:
        result = await runner.run_cypher(world.mine, query, {}, WRITE)
        assert anonymous_edges(plain_rows(result, ordered=True)) == expected, query
    after = await rows(
        runner,
        world.mine,
        "MATCH (n) WHERE NOT n:Item RETURN n.id, labels(n), n.seen, n.f ORDER BY n.id",
    )
    assert after == [
        ["a", ["Person"], True, 1],
        ["b", ["Person"], True, None],
        ["c", ["Company"], None, None],
        ["m", ["Person"], None, None],
        ["new", ["Person"], None, None],
        ["t2", ["Thing"], None, None],
        ["thing", ["Thing"], None, None],
        ["x1", ["X"], None, None],
        ["x2", ["X"], None, None],
    ]
    assert await rows(runner, world.mine, "MATCH (n:Item) RETURN count(n)") == [[2]]  # 3 made, 1 deleted
    edges = await rows(runner, world.mine, "MATCH (s)-[r]->(t) RETURN s.id, type(r), t.id ORDER BY s.id, type(r), t.id")
    assert edges == [
        ["a", "LIKES", "b"],
        ["a", "LIKES", "thing"],
        ["b", "MADE", "t2"],
        ["b", "WORKS_AT", "c"],
        ["x1", "R", "x2"],
    ]
