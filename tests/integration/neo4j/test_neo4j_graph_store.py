"""Neo4j-specific behaviour of Neo4jGraphStore that the contract suite cannot see: how datasets are
namespaced inside the shared database, the schema objects backing them, query plans, batched drops,
hostile input kept as data, and driver errors translated at the edge."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

import neo4j
import pytest
from neo4j import exceptions as neo4j_errors

from datainfra.adapters.neo4j import cypher_filters
from datainfra.adapters.neo4j.driver import (
    Neo4jSettings,
    close_driver,
    not_retried_when_too_large,
    open_driver,
    translated_errors,
)
from datainfra.adapters.neo4j.graph_rows import node_match
from datainfra.adapters.neo4j.graph_store import Neo4jGraphStore
from datainfra.adapters.neo4j.namespacing import Namespace
from datainfra.domain.errors import InvalidInput, PayloadTooLarge, StoreTimeout, StoreUnavailable
from datainfra.domain.filters import filter_term, parse_filters
from datainfra.domain.graph import Direction, Edge, Node
from datainfra.domain.graph_schema import parse_graph_schema
from datainfra.domain.model import Dataset
from datainfra.domain.ports.graph_store import NodeUpdate
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.domain.records import OnConflict
from datainfra.domain.types import FieldType
from tests.contract.conftest import graph_dataset, new_session

pytestmark = pytest.mark.neo4j

PERSON_SCHEMA = {
    "node_labels": [
        {
            "name": "Person",
            "properties": [
                {"name": "email", "type": "text"},
                {"name": "balance", "type": "numeric"},
                {"name": "ref", "type": "uuid"},
                {"name": "doc", "type": "json"},
                {"name": "born", "type": "date"},
                {"name": "seen", "type": "timestamp"},
            ],
            "indexes": [{"properties": ["email"], "unique": True}, "balance"],
        }
    ]
}


@pytest.fixture
async def store(
    neo4j_graph_store_factory: Callable[..., AbstractAsyncContextManager[Neo4jGraphStore]],
) -> AsyncIterator[Neo4jGraphStore]:
    async with neo4j_graph_store_factory() as made:
        yield made


async def _run(driver: neo4j.AsyncDriver, text: str, **params: Any) -> list[dict[str, Any]]:
    async with driver.session() as session:
        result = await session.run(text, params)  # type: ignore[arg-type]
        return await result.data()


async def _dataset(store: Neo4jGraphStore, schema: dict[str, Any] | None = None) -> Dataset:
    dataset = graph_dataset(new_session(), schema)
    await store.create_graph(dataset)
    return dataset


async def _await_own_indexes(driver: neo4j.AsyncDriver, ns: Namespace, seconds: float = 60.0) -> None:
    """Creation waits for new non-unique indexes only briefly; a plan test needs them online."""
    deadline = asyncio.get_running_loop().time() + seconds
    text = "SHOW INDEXES YIELD name, state WHERE name STARTS WITH $prefix AND state <> 'ONLINE' RETURN name"
    while await _run(driver, text, prefix=ns.schema_prefix):
        assert asyncio.get_running_loop().time() < deadline, "indexes still not online"
        await asyncio.sleep(0.1)


async def test_same_labels_and_ids_in_two_datasets_never_meet(store: Neo4jGraphStore, neo4j_driver: Any) -> None:
    one, two = await _dataset(store), await _dataset(store)
    await store.write(
        one,
        [Node("a", ("Person",), {"n": 1}), Node("b", ("Person",))],
        [Edge("e", "a", "b", "KNOWS")],
        OnConflict.ERROR,
    )
    await store.write(two, [Node("a", ("Person",), {"n": 2})], [], OnConflict.ERROR)

    assert [n.properties for n in (await store.find_nodes(two, ("Person",), RecordQuery())).items] == [{"n": 2}]
    assert (await store.find_edges(two, (), RecordQuery())).items == []
    # an edge of `two` cannot reach `one`'s node b
    with pytest.raises(InvalidInput) as caught:
        await store.write(two, [], [Edge("x", "a", "b", "KNOWS")], OnConflict.ERROR)
    assert caught.value.field == "edges[0].target"
    # the client's label and type exist only in namespaced form
    assert await _run(neo4j_driver, "MATCH (n:Person) RETURN n LIMIT 1") == []
    for dataset in (one, two):
        ns = Namespace.of(dataset.id)
        rows = await _run(neo4j_driver, f"MATCH (n:{ns.n} {{`#id`: 'a'}}) RETURN labels(n) AS labels")
        assert [sorted(r["labels"]) for r in rows] == [sorted([ns.node_label, ns.label("Person")])]
    types = await _run(neo4j_driver, "MATCH ()-[r {`#id`: 'e'}]->() RETURN type(r) AS t")
    assert {"t": Namespace.of(one.id).rel_type} in types


async def test_key_constraints_back_node_and_edge_ids(store: Neo4jGraphStore, neo4j_driver: Any) -> None:
    dataset = await _dataset(store)
    ns = Namespace.of(dataset.id)
    rows = await _run(
        neo4j_driver,
        "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties WHERE name STARTS WITH $prefix",
        prefix=ns.schema_prefix,
    )
    found = {(r["type"], tuple(r["labelsOrTypes"]), tuple(r["properties"])) for r in rows}
    assert ("UNIQUENESS", (ns.node_label,), ("#id",)) in found
    assert ("RELATIONSHIP_UNIQUENESS", (ns.rel_type,), ("#id",)) in found

    await store.write(dataset, [Node("a")], [], OnConflict.ERROR)
    with pytest.raises(neo4j_errors.ConstraintError):
        await _run(neo4j_driver, f"CREATE (:{ns.n} {{`#id`: 'a'}})")


async def test_filtered_node_search_scans_a_label_or_seeks_an_index(store: Neo4jGraphStore, neo4j_driver: Any) -> None:
    dataset = await _dataset(store, PERSON_SCHEMA)
    ns = Namespace.of(dataset.id)
    types = dataset.graph_schema.node_property_types(("Person",))
    await _await_own_indexes(neo4j_driver, ns)

    async def plan(labels: tuple[str, ...], *pairs: tuple[str, str]) -> str:
        params = cypher_filters.Params()
        spec = parse_filters([filter_term(*p) for p in pairs], {**types, "id": FieldType.TEXT}, open_fields=True)
        text = node_match(ns, labels, spec, params) + " RETURN n"
        async with neo4j_driver.session() as session:
            result = await session.run("EXPLAIN " + text, params.values)
            summary = await result.consume()
        return str(summary.plan)

    unlabelled = await plan((), ("nickname", "eq:bob"))
    assert "NodeByLabelScan" in unlabelled and "AllNodesScan" not in unlabelled
    by_email = await plan(("Person",), ("email", "eq:a@example.com"))
    assert "NodeUniqueIndexSeek" in by_email or "NodeIndexSeek" in by_email
    by_balance = await plan(("Person",), ("balance", "gt:10"))
    assert "NodeIndexSeekByRange" in by_balance or "NodeIndexSeek" in by_balance
    by_id = await plan((), ("id", "eq:a"))
    assert "NodeUniqueIndexSeek" in by_id


async def test_typed_values_round_trip_and_numeric_compares_as_numbers(store: Neo4jGraphStore) -> None:
    dataset = await _dataset(store, PERSON_SCHEMA)
    ref = uuid.uuid4()
    seen = dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)
    values = {
        "balance": Decimal("10.50"),
        "ref": ref,
        "doc": {"a": [1, Decimal("2.5"), None, {"b": "c"}]},
        "born": dt.date(1990, 1, 2),
        "seen": seen,
        "tags": ["x", "y"],
    }
    await store.write(
        dataset,
        [
            Node("a", ("Person",), values),
            Node("b", ("Person",), {"balance": Decimal("9.999")}),
            Node("c", ("Person",), {"balance": Decimal("-100")}),
            Node("d", ("Person",), {"balance": Decimal("10.5")}),
        ],
        [],
        OnConflict.ERROR,
    )
    got = await store.get_node(dataset, "a")
    assert got is not None and got.properties == values
    assert str(got.properties["balance"]) == "10.50"
    assert got.properties["seen"].tzinfo is not None

    types = {**dataset.graph_schema.node_property_types(("Person",)), "id": FieldType.TEXT}

    async def ids(*pairs: tuple[str, str], sort: tuple[SortKey, ...] = (SortKey("id"),)) -> list[str]:
        spec = parse_filters([filter_term(*p) for p in pairs], types, open_fields=True)
        page = await store.find_nodes(dataset, ("Person",), RecordQuery(filter=spec, sort=sort))
        return [n.id for n in page.items]

    assert await ids(("balance", "gt:9.9999")) == ["a", "d"]
    assert await ids(("balance", "eq:10.5")) == ["a", "d"]
    assert await ids(sort=(SortKey("balance", descending=True), SortKey("id"))) == ["a", "d", "b", "c"]


async def test_hostile_names_are_refused_and_hostile_values_stay_data(store: Neo4jGraphStore) -> None:
    dataset = await _dataset(store)
    hostile = "x`}) DETACH DELETE n // $p ' \" \\ %_"
    await store.write(
        dataset,
        [Node(hostile, ("Person",), {"note": hostile}), Node("plain", ("Person",), {"note": "a.*b"})],
        [Edge(hostile, hostile, "plain", "KNOWS", {"note": hostile})],
        OnConflict.ERROR,
    )
    got = await store.get_node(dataset, hostile)
    assert got is not None and got.properties == {"note": hostile}
    spec = parse_filters([filter_term("note", "like:a.*b")], {"id": FieldType.TEXT}, open_fields=True)
    page = await store.find_nodes(dataset, (), RecordQuery(filter=spec))
    assert [n.id for n in page.items] == ["plain"]
    with pytest.raises(InvalidInput):
        await store.write(dataset, [Node("n", ("Bad`Label",))], [], OnConflict.ERROR)
    sub = await store.neighbors(dataset, hostile, direction=Direction.OUT, types=("KNOWS",), depth=1, limit=10)
    assert [e.properties for e in sub.edges] == [{"note": hostile}]
    assert await store.count_nodes(dataset) == 2


async def test_drop_deletes_everything_in_batches_and_is_idempotent(store: Neo4jGraphStore, neo4j_driver: Any) -> None:
    dataset = await _dataset(store, PERSON_SCHEMA)
    ns = Namespace.of(dataset.id)
    nodes = [Node(f"n{i}", ("Person",), {"i": i}) for i in range(2500)]
    edges = [Edge(f"e{i}", f"n{i}", f"n{(i + 1) % 2500}", "NEXT") for i in range(2500)]
    assert (await store.write(dataset, nodes, edges, OnConflict.ERROR)).inserted == 5000

    await store.drop_graph(dataset)
    await store.drop_graph(dataset)

    assert await store.count_nodes(dataset) == 0
    assert await _run(neo4j_driver, f"MATCH ()-[r:{ns.r}]->() RETURN r LIMIT 1") == []
    objects = await _run(neo4j_driver, "SHOW INDEXES YIELD name WHERE name STARTS WITH $p", p=ns.schema_prefix)
    assert objects == []


async def test_unreachable_server_is_store_unavailable() -> None:
    driver = open_driver(Neo4jSettings(uri="bolt://127.0.0.1:9", user="neo4j", password="x", connect_timeout=1.0))
    try:
        store = Neo4jGraphStore(driver)
        with pytest.raises(StoreUnavailable):
            await store.ping()
        with pytest.raises(StoreUnavailable):
            await store.count_nodes(graph_dataset(new_session()))
    finally:
        await close_driver(driver)


async def test_a_transaction_past_its_limit_is_store_timeout(neo4j_driver: Any) -> None:
    @neo4j.unit_of_work(timeout=0.2)
    async def slow(tx: neo4j.AsyncManagedTransaction) -> None:
        await (await tx.run("UNWIND range(1, 2000000000) AS x WITH x WHERE x < 0 RETURN count(x)")).consume()

    with pytest.raises(StoreTimeout), translated_errors():
        async with neo4j_driver.session() as session:
            await session.execute_read(slow)


async def test_a_transaction_past_its_memory_limit_is_payload_too_large(neo4j_driver: Any) -> None:
    """Retrying cannot help a request too big for one transaction (db.memory.transaction.max): 413."""
    with pytest.raises(PayloadTooLarge), translated_errors():
        async with neo4j_driver.session() as session:
            await (await session.run("UNWIND range(1, 200000000) AS x WITH collect(x) AS xs RETURN size(xs)")).consume()


async def test_a_managed_transaction_out_of_memory_is_not_retried(neo4j_driver: Any) -> None:
    """The driver retries TransientErrors for up to 30 s, redoing the whole request each time; running
    out of transaction memory is one, but only a smaller request can succeed."""

    async def huge(tx: neo4j.AsyncManagedTransaction) -> None:
        await (await tx.run("UNWIND range(1, 200000000) AS x WITH collect(x) AS xs RETURN size(xs)")).consume()

    attempts = 0

    async def counted(tx: neo4j.AsyncManagedTransaction) -> None:
        nonlocal attempts
        attempts += 1
        await huge(tx)

    with pytest.raises(PayloadTooLarge), translated_errors():
        async with neo4j_driver.session() as session:
            await session.execute_read(not_retried_when_too_large(counted))
    assert attempts == 1


async def test_migration_adds_and_drops_declared_indexes_all_or_nothing(
    store: Neo4jGraphStore, neo4j_driver: Any
) -> None:
    plain = await _dataset(store)
    ns = Namespace.of(plain.id)
    indexed = dataclasses.replace(plain, schema=parse_graph_schema(PERSON_SCHEMA))

    async def declared_objects() -> set[str]:
        rows = await _run(
            neo4j_driver,
            "SHOW INDEXES YIELD name, owningConstraint WHERE name STARTS WITH $p RETURN name",
            p=ns.schema_prefix,
        )
        base = {ns.node_key_constraint, ns.edge_key_constraint, ns.edge_type_index}
        return {r["name"] for r in rows} - base

    twins = [Node("a", ("Person",), {"email": "x"}), Node("b", ("Person",), {"email": "x"})]
    await store.write(plain, twins, [], OnConflict.ERROR)
    with pytest.raises(InvalidInput):
        await store.migrate_graph(plain, indexed)
    assert await declared_objects() == set()

    await store.update_nodes(plain, [NodeUpdate("b", {"email": "y"})])
    await store.migrate_graph(plain, indexed)
    assert len(await declared_objects()) == 2
    await store.migrate_graph(indexed, plain)
    assert await declared_objects() == set()


async def test_errors_found_in_a_later_batch_still_name_the_item_and_keep_nothing(
    neo4j_graph_store_factory: Callable[..., AbstractAsyncContextManager[Neo4jGraphStore]],
) -> None:
    from datainfra.domain.errors import Conflict

    async with neo4j_graph_store_factory(batch_size=2) as small_batches:
        dataset = await _dataset(small_batches)
        await small_batches.write(dataset, [Node("taken")], [], OnConflict.ERROR)
        nodes = [Node(f"n{i}") for i in range(5)]

        with pytest.raises(Conflict) as conflict:
            await small_batches.write(dataset, [*nodes, Node("taken")], [], OnConflict.ERROR)
        assert conflict.value.key == "taken"

        edges = [Edge(f"e{i}", "n0", "n1", "R") for i in range(3)] + [Edge("e3", "n0", "missing", "R")]
        with pytest.raises(InvalidInput) as missing:
            await small_batches.write(dataset, nodes, edges, OnConflict.ERROR)
        assert (missing.value.index, missing.value.field) == (3, "edges[3].target")

        assert await small_batches.count_nodes(dataset) == 1
