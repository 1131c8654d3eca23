"""Contract fixtures: every port fixture is parametrised over every adapter of that port, so one
suite checks the in-memory fakes and the real stores alike.

Each real-store parameter carries its store's marker, so `-m "not postgres and not neo4j"` (make
test-unit) keeps the in-memory half of every suite and starts no server; the servers come from the
session-scoped fixtures in tests/conftest.py (started by the test run itself, on first use)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from datainfra.domain.graph_schema import parse_graph_schema
from datainfra.domain.model import Dataset, DatasetKind, Session
from datainfra.domain.tabular_schema import parse_tabular_schema
from tests.support.citus_fixtures import CITUS

POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)
NEO4J = pytest.param("neo4j", marks=pytest.mark.neo4j)
TABULAR_ADAPTERS = ["memory", POSTGRES, CITUS]
GRAPH_ADAPTERS = ["memory", NEO4J]
CATALOG_ADAPTERS = ["memory", POSTGRES, CITUS]
POSTGRES_ENGINES = [POSTGRES, CITUS]
"""The real-store parameters of a PostgreSQL adapter: the single server and the Citus cluster (the
same adapters, on a coordinator); `runtime_of` gives a parameter's runtime."""


def on_citus_xfail(reason: str) -> pytest.MarkDecorator:
    """Pin what Citus cannot do under our model: the test's Citus parameter is a strict xfail (an
    XPASS, the day Citus does it, fails the run and asks for the pin to go)."""
    return pytest.mark.citus_xfail(reason=reason)


@pytest.fixture(autouse=True)
def _citus_pins(request: pytest.FixtureRequest) -> None:
    mark = request.node.get_closest_marker("citus_xfail")
    callspec = getattr(request.node, "callspec", None)
    if mark is not None and callspec is not None and "citus" in callspec.params.values():
        request.applymarker(pytest.mark.xfail(strict=True, reason=mark.kwargs["reason"]))


def runtime_of(request: pytest.FixtureRequest, engine: str) -> Any:
    """The session's runtime (server and pool) of a PostgreSQL engine parameter."""
    return request.getfixturevalue("citus_runtime" if engine == "citus" else "postgres_runtime")


NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def new_session(owner_id: str | None = None) -> Session:
    return Session(
        id=str(uuid.uuid4()),
        owner_id=owner_id or str(uuid.uuid4()),
        name="contract",
        description="",
        created_at=NOW,
        updated_at=NOW,
    )


def tabular_dataset(session: Session, schema: dict[str, Any], name: str = "items") -> Dataset:
    return Dataset(
        id=str(uuid.uuid4()),
        session_id=session.id,
        owner_id=session.owner_id,
        name=name,
        kind=DatasetKind.TABULAR,
        schema=parse_tabular_schema(schema),
        created_at=NOW,
        updated_at=NOW,
    )


def graph_dataset(session: Session, schema: dict[str, Any] | None = None, name: str = "g") -> Dataset:
    return Dataset(
        id=str(uuid.uuid4()),
        session_id=session.id,
        owner_id=session.owner_id,
        name=name,
        kind=DatasetKind.GRAPH,
        schema=parse_graph_schema(schema or {}),
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.fixture(params=TABULAR_ADAPTERS)
async def tabular_store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        from datainfra.adapters.memory.tabular_store import InMemoryTabularStore

        yield InMemoryTabularStore()
    elif request.param in ("postgres", "citus"):
        factory = request.getfixturevalue(f"{request.param}_tabular_store_factory")
        async with factory() as store:
            yield store
    else:  # pragma: no cover
        raise AssertionError(request.param)


@pytest.fixture(params=GRAPH_ADAPTERS)
async def graph_store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        from datainfra.adapters.memory.graph_store import InMemoryGraphStore

        yield InMemoryGraphStore()
    elif request.param == "neo4j":
        factory = request.getfixturevalue("neo4j_graph_store_factory")
        async with factory() as store:
            yield store
    else:  # pragma: no cover
        raise AssertionError(request.param)


@pytest.fixture(params=CATALOG_ADAPTERS)
async def catalog(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        from datainfra.adapters.memory.catalog import InMemoryCatalog

        yield InMemoryCatalog()
    elif request.param in ("postgres", "citus"):
        factory = request.getfixturevalue(f"{request.param}_catalog_factory")
        async with factory() as store:
            yield store
    else:  # pragma: no cover
        raise AssertionError(request.param)
