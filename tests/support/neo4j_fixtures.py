"""Neo4j fixtures for the test run: one server and one driver per run, fresh adapters per test.

Isolation: every test's datasets have fresh ids, hence fresh namespaces; the graph stores a factory
makes drop every dataset they created when the test ends, so a configured shared server
(DATAINFRA_TEST_NEO4J_URI) is left as it was found."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from tests.support.neo4j_server import neo4j_endpoint_for_tests
from tests.support.no_servers import refuse_if_no_servers

__all__ = ["neo4j_driver", "neo4j_endpoint", "neo4j_graph_store_factory", "neo4j_runtime"]


class _Neo4jRuntime:
    """The server and driver of this run, started on first use (so runs without Neo4j tests start
    nothing). Lazy for the same reason as the PostgreSQL runtime: the contract fixtures reach the
    factory through `getfixturevalue` inside async fixtures."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._endpoint: Any = None
        self._driver: Any = None

    def endpoint(self) -> Any:
        if self._endpoint is None:
            refuse_if_no_servers("Neo4j", "neo4j")
            self._endpoint = self._stack.enter_context(neo4j_endpoint_for_tests())
        return self._endpoint

    def settings(self) -> Any:
        from datainfra.adapters.neo4j.driver import Neo4jSettings

        endpoint = self.endpoint()
        return Neo4jSettings(uri=endpoint.uri, user=endpoint.user, password=endpoint.password, max_pool_size=8)

    def driver(self) -> Any:
        if self._driver is None:
            from datainfra.adapters.neo4j.driver import open_driver

            self._driver = open_driver(self.settings())
        return self._driver

    async def close_driver(self) -> None:
        if self._driver is not None:
            from datainfra.adapters.neo4j.driver import close_driver

            driver, self._driver = self._driver, None
            await close_driver(driver)

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def neo4j_runtime() -> Iterator[_Neo4jRuntime]:
    runtime = _Neo4jRuntime()
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture(scope="session", autouse=True)
async def _neo4j_driver_closer(neo4j_runtime: _Neo4jRuntime) -> AsyncIterator[None]:
    yield
    await neo4j_runtime.close_driver()


@pytest.fixture(scope="session")
def neo4j_endpoint(neo4j_runtime: _Neo4jRuntime) -> Any:
    return neo4j_runtime.endpoint()


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_runtime: _Neo4jRuntime) -> Any:
    return neo4j_runtime.driver()


@pytest.fixture
def neo4j_graph_store_factory(neo4j_runtime: _Neo4jRuntime) -> Callable[..., AbstractAsyncContextManager[Any]]:
    from datainfra.adapters.neo4j.graph_store import Neo4jGraphStore
    from datainfra.domain.model import Dataset

    class _CleaningStore(Neo4jGraphStore):
        """Remembers the datasets it prepared, so the factory can drop them afterwards."""

        created: list[Dataset]

        async def create_graph(self, dataset: Dataset) -> None:
            self.created.append(dataset)
            await super().create_graph(dataset)

    @contextlib.asynccontextmanager
    async def factory(**options: Any) -> AsyncIterator[Neo4jGraphStore]:
        store = _CleaningStore(neo4j_runtime.driver(), **options)
        store.created = []
        try:
            yield store
        finally:
            for dataset in store.created:
                await Neo4jGraphStore.drop_graph(store, dataset)

    return factory
