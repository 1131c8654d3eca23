"""Citus fixtures: the run's Citus cluster (started on first use, like the single PostgreSQL), store
factories on it for the contract suites, and `tabular_runtime`, the PostgreSQL a test module's app
keeps its tables in: the single server, and also the Citus cluster for modules that list it in
`TABULAR_ENGINES` (see `parametrize_tabular_engines`, called from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from tests.support.citus_server import citus_url_for_tests
from tests.support.postgres_fixtures import PostgresRuntime, catalog_factory, tabular_store_factory

__all__ = [
    "citus_catalog_factory",
    "citus_runtime",
    "citus_tabular_store_factory",
    "tabular_runtime",
]

CITUS = pytest.param("citus", marks=[pytest.mark.postgres, pytest.mark.citus], id="citus")
"""The Citus variant of a parameter over PostgreSQL engines (contract adapters, `TABULAR_ENGINES`)."""
ALL_TABULAR_ENGINES = ("postgres", "citus")


@pytest.fixture(scope="session")
def citus_runtime() -> Iterator[PostgresRuntime]:
    runtime = PostgresRuntime(citus_url_for_tests, name="Citus")
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture(scope="session", autouse=True)
async def _citus_pool_closer(citus_runtime: PostgresRuntime) -> AsyncIterator[None]:
    yield
    await citus_runtime.close_pool()


@pytest.fixture
def citus_tabular_store_factory(citus_runtime: PostgresRuntime) -> Callable[..., AbstractAsyncContextManager[Any]]:
    return tabular_store_factory(citus_runtime)


@pytest.fixture
def citus_catalog_factory(citus_runtime: PostgresRuntime) -> Callable[..., AbstractAsyncContextManager[Any]]:
    return catalog_factory(citus_runtime)


@pytest.fixture(scope="module")
def tabular_runtime(request: pytest.FixtureRequest, postgres_runtime: PostgresRuntime) -> PostgresRuntime:
    """The single PostgreSQL, or (parameter "citus") the Citus cluster's coordinator."""
    if getattr(request, "param", "postgres") == "citus":
        runtime: PostgresRuntime = request.getfixturevalue("citus_runtime")
        return runtime
    return postgres_runtime


def parametrize_tabular_engines(metafunc: pytest.Metafunc) -> None:
    """A test using `tabular_runtime` runs once per engine its module lists in TABULAR_ENGINES
    (default: the single PostgreSQL only)."""
    if "tabular_runtime" not in metafunc.fixturenames:
        return
    engines = getattr(metafunc.module, "TABULAR_ENGINES", ("postgres",))
    params = [CITUS if engine == "citus" else pytest.param(engine, id=engine) for engine in engines]
    metafunc.parametrize("tabular_runtime", params, indirect=True, scope="module")
