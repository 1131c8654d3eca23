"""The fast loop (make test-unit) starts no server: every real-store parameter of the contract suites
carries its store's marker (so `-m "not postgres and not neo4j"` deselects it), and under
DATAINFRA_TEST_NO_SERVERS a test that reaches for a store anyway fails instead of starting one.
It runs a fifth of the property tests' examples; `make test` runs them all."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings

from tests.contract.conftest import CATALOG_ADAPTERS, GRAPH_ADAPTERS, TABULAR_ADAPTERS
from tests.support.hypothesis_budget import FAST, FULL, examples, load_profile
from tests.support.neo4j_fixtures import _Neo4jRuntime
from tests.support.no_servers import NO_SERVERS
from tests.support.postgres_fixtures import PostgresRuntime

STORE_MARKERS = {"postgres": ["postgres"], "neo4j": ["neo4j"], "citus": ["postgres", "citus"]}
"""A Citus cluster is PostgreSQL servers: its parameter carries `postgres` too, so the fast loop leaves it out."""


@pytest.mark.parametrize("adapters", [TABULAR_ADAPTERS, GRAPH_ADAPTERS, CATALOG_ADAPTERS])
def test_every_real_store_parameter_carries_its_marker(adapters: list[Any]) -> None:
    for adapter in adapters:
        if adapter == "memory":
            continue
        assert hasattr(adapter, "marks"), f"{adapter!r} has no marker: make test-unit would start its server"
        (name,) = adapter.values
        assert [mark.name for mark in adapter.marks] == STORE_MARKERS[name]


def test_under_no_servers_the_postgres_runtime_refuses_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NO_SERVERS, "1")
    runtime = PostgresRuntime()
    with pytest.raises(pytest.fail.Exception, match=r"needs PostgreSQL.*pytest\.mark\.postgres"):
        runtime.url()
    runtime.close()


def test_under_no_servers_the_neo4j_runtime_refuses_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NO_SERVERS, "1")
    runtime = _Neo4jRuntime()
    with pytest.raises(pytest.fail.Exception, match=r"needs Neo4j.*pytest\.mark\.neo4j"):
        runtime.endpoint()
    runtime.close()


@pytest.mark.parametrize(
    ("environment", "profile"),
    [
        ({}, FULL),
        ({NO_SERVERS: "0"}, FULL),
        ({NO_SERVERS: "1"}, FAST),
        ({NO_SERVERS: "1", "HYPOTHESIS_PROFILE": FULL}, FULL),
        ({"HYPOTHESIS_PROFILE": FAST}, FAST),
    ],
)
def test_make_test_keeps_every_example_and_the_fast_loop_a_fifth(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], profile: str
) -> None:
    for name in (NO_SERVERS, "HYPOTHESIS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    loaded = settings.get_current_profile_name()
    try:
        assert load_profile() == profile
        full = profile == FULL
        assert settings().max_examples == (100 if full else 20)
        assert examples(1500) == (1500 if full else 300)
        assert examples(40) == (40 if full else 10)
        assert examples(5) == 5
        assert settings().deadline is None
    finally:
        settings.load_profile(loaded)
