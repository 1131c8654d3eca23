"""The graph store and client Cypher as a Neo4j cluster is reached: a routing `neo4j://` URI and a
named database (a single Community server answers routing with itself as every member). Reads run
as read transactions (the server refuses them a write), writes as write transactions, and every
transaction on a dataset starts from that dataset's bookmarks and leaves its own (read-your-writes
when a read is routed to another member than the write)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import Any

import neo4j
import pytest
from neo4j import exceptions as neo4j_errors

from datainfra.adapters.memory.work_slots import InProcessWorkSlots
from datainfra.adapters.neo4j.client_cypher.runner import Neo4jCypherRunner
from datainfra.adapters.neo4j.driver import Neo4jSettings, close_driver, open_driver
from datainfra.adapters.neo4j.graph_store import Neo4jGraphStore
from datainfra.domain.errors import StoreUnavailable
from datainfra.domain.graph import Node
from datainfra.domain.ports.graph_bookmarks import GraphBookmarks
from datainfra.domain.queries import QueryLimits
from datainfra.domain.records import OnConflict
from tests.contract.conftest import graph_dataset, new_session

pytestmark = pytest.mark.neo4j


class KeptBookmarks(GraphBookmarks):
    """The port kept in a dict, recording which datasets' bookmarks were asked for."""

    def __init__(self) -> None:
        self.kept: dict[str, frozenset[str]] = {}
        self.asked: list[str] = []

    async def latest(self, dataset_id: str) -> frozenset[str]:
        self.asked.append(dataset_id)
        return self.kept.get(dataset_id, frozenset())

    async def replace(self, dataset_id: str, previous: Collection[str], new: Collection[str]) -> None:
        self.kept[dataset_id] = (self.kept.get(dataset_id, frozenset()) - set(previous)) | set(new)

    async def forget(self, dataset_id: str) -> None:
        self.kept.pop(dataset_id, None)


@pytest.fixture
async def routing_driver(neo4j_runtime: Any) -> AsyncIterator[neo4j.AsyncDriver]:
    endpoint = neo4j_runtime.endpoint()
    uri = endpoint.uri.replace("bolt://", "neo4j://", 1)
    driver = open_driver(Neo4jSettings(uri=uri, user=endpoint.user, password=endpoint.password, database="neo4j"))
    yield driver
    await close_driver(driver)


async def test_graph_writes_and_reads_through_a_routing_uri_carry_the_dataset_bookmarks(
    routing_driver: neo4j.AsyncDriver,
) -> None:
    bookmarks = KeptBookmarks()
    store = Neo4jGraphStore(routing_driver, database="neo4j", bookmarks=bookmarks)
    dataset = graph_dataset(new_session())
    await store.create_graph(dataset)
    try:
        await store.write(dataset, [Node("a", ("P",), {})], [], OnConflict.ERROR)
        first = bookmarks.kept[dataset.id]
        assert len(first) == 1
        await store.write(dataset, [Node("b", ("P",), {})], [], OnConflict.ERROR)
        assert len(bookmarks.kept[dataset.id]) == 1 and bookmarks.kept[dataset.id] != first

        bookmarks.asked.clear()
        assert await store.count_nodes(dataset) == 2
        assert (await store.get_node(dataset, "a")) == Node("a", ("P",), {})
        assert bookmarks.asked == [dataset.id, dataset.id]
    finally:
        await store.drop_graph(dataset)
    assert dataset.id not in bookmarks.kept


async def test_a_read_starts_from_the_dataset_bookmarks(routing_driver: neo4j.AsyncDriver) -> None:
    """A bookmark the server cannot parse fails the read: the read sent the bookmarks kept for its
    dataset (a cluster member behind them would wait until it has caught up)."""
    bookmarks = KeptBookmarks()
    store = Neo4jGraphStore(routing_driver, database="neo4j", bookmarks=bookmarks)
    dataset, other = graph_dataset(new_session()), graph_dataset(new_session())
    for made in (dataset, other):
        await store.create_graph(made)
    try:
        bookmarks.kept[dataset.id] = frozenset({"not-a-bookmark"})
        with pytest.raises(neo4j_errors.ClientError) as caught:
            await store.count_nodes(dataset)
        assert caught.value.code == "Neo.ClientError.Transaction.InvalidBookmark"
        assert await store.count_nodes(other) == 0
    finally:
        bookmarks.kept.clear()
        for made in (dataset, other):
            await store.drop_graph(made)


async def test_reads_run_as_read_transactions_that_cannot_write(routing_driver: neo4j.AsyncDriver) -> None:
    store = Neo4jGraphStore(routing_driver, database="neo4j")
    runner = store._runner  # the one way every graph store read reaches the server

    async def write(tx: neo4j.AsyncManagedTransaction) -> None:
        await (await tx.run("CREATE (:ReadModeProbe)")).consume()

    for read in (lambda: runner.read(write), lambda: runner.read_records("CREATE (:ReadModeProbe)", {})):
        with pytest.raises(neo4j_errors.ClientError) as caught:
            await read()
        assert caught.value.code == "Neo.ClientError.Statement.AccessMode"
    assert await runner.read_records("MATCH (n:ReadModeProbe) RETURN count(n) AS c", {}) != []
    assert (await runner.read_records("MATCH (n:ReadModeProbe) RETURN count(n) AS c", {}))[0]["c"] == 0


async def test_client_cypher_keeps_and_uses_the_dataset_bookmarks(routing_driver: neo4j.AsyncDriver) -> None:
    bookmarks = KeptBookmarks()
    store = Neo4jGraphStore(routing_driver, database="neo4j", bookmarks=bookmarks)
    runner = Neo4jCypherRunner(routing_driver, database="neo4j", slots=InProcessWorkSlots(), bookmarks=bookmarks)
    dataset = graph_dataset(new_session())
    await store.create_graph(dataset)
    try:
        written = await runner.run_cypher(dataset, "CREATE (:P {x: 1})", {}, QueryLimits(read_only=False))
        assert written.affected is not None
        assert len(bookmarks.kept[dataset.id]) == 1
        bookmarks.asked.clear()
        read = await runner.run_cypher(dataset, "MATCH (n:P) RETURN n.x AS x", {}, QueryLimits())
        assert read.rows == [[1]] and set(bookmarks.asked) == {dataset.id}
    finally:
        await store.drop_graph(dataset)


async def test_a_database_the_server_does_not_have_is_unavailable_not_a_crash(
    routing_driver: neo4j.AsyncDriver,
) -> None:
    store = Neo4jGraphStore(routing_driver, database="nosuchdatabase")
    with pytest.raises(StoreUnavailable):
        await store.ping()
    with pytest.raises(StoreUnavailable):
        await store.count_nodes(graph_dataset(new_session()))
