"""Issue 11: the openCypher TCK (the portion in ../shared/tck) run twice, straight on the test Neo4j and
through `POST /sessions/{id}/query` on a graph dataset of each scenario's own, judged by the kit's
rules. Prints the per-folder table (the terminal summary) and writes build/tck-report.json listing
every scenario the endpoint fails where Neo4j passes, with the cause.

The kit is found at $DATAINFRA_TCK_DIR, else <repo>/../shared/tck (CI clones the repository next to
shared/); absent, the test is skipped saying so. DATAINFRA_TCK_FILTER (text in "folder/Feature:
name") runs a part of it (the floors are then not checked)."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from tests.support.neo4j_server import neo4j_endpoint_for_tests
from tests.support.no_servers import refuse_if_no_servers
from tests.tck import conftest
from tests.tck.backends import EndpointBackend, RawBackend
from tests.tck.features import Scenario, load_features
from tests.tck.harness import Backend, Outcome, run_scenario
from tests.tck.report import figures, table, write_report

pytestmark = [pytest.mark.neo4j, pytest.mark.timeout(3600)]

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "build" / "tck-report.json"

RAW_FLOOR = 0.97
"""Straight on Neo4j, at least this share of the scenarios passes (else the harness is broken). Measured:
3,207 of 3,261 (98.3%; the rest: 47 need the kit's test procedures, 7 are Neo4j's own deviations)."""
ENDPOINT_FLOOR = 0.99
"""Through the endpoint, at least this share of the scenarios raw Neo4j passes (issue 11's goal: 0.99).
Measured: 3,206 of 3,207 (99.97%, once `id` became an ordinary property and zoned date-times kept their offset, zone
id and nanoseconds; 2,940 before)."""


def tck_dir() -> Path | None:
    configured = os.environ.get("DATAINFRA_TCK_DIR")
    candidates = [Path(configured)] if configured else [REPO.parent / "shared" / "tck"]
    return next((path for path in candidates if (path / "features").is_dir()), None)


@contextlib.contextmanager
def endpoint_client(endpoint: Any) -> Iterator[TestClient[Any]]:
    """The API in-process: graphs and client Cypher on the TCK's Neo4j (the catalog in memory: this
    test measures Cypher, and needs no PostgreSQL)."""
    from datainfra.adapters.http.app import create_app
    from datainfra.adapters.memory.work_slots import InProcessWorkSlots
    from datainfra.adapters.neo4j.client_cypher.runner import Neo4jCypherRunner
    from datainfra.adapters.neo4j.driver import Neo4jSettings, close_driver, open_driver
    from datainfra.adapters.neo4j.graph_store import Neo4jGraphStore
    from datainfra.config import Settings
    from datainfra.containers import build_memory_container

    container = build_memory_container(Settings())
    with TestClient(create_app(container)) as client:
        portal = client.blocking_portal
        assert portal is not None
        settings = Neo4jSettings(uri=endpoint.uri, user=endpoint.user, password=endpoint.password, max_pool_size=8)
        driver = open_driver(settings)
        try:
            with (
                container.graph_store.override(providers.Object(Neo4jGraphStore(driver))),
                container.cypher_runner.override(
                    providers.Object(Neo4jCypherRunner(driver, slots=InProcessWorkSlots()))
                ),
            ):
                yield client
        finally:
            portal.call(close_driver, driver)


PROGRESS = REPO / "build" / "tck-progress.txt"


def run_all(scenarios: list[Scenario], backend: Backend, graphs: Path) -> list[Outcome]:
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    PROGRESS.parent.mkdir(parents=True, exist_ok=True)
    for n, scenario in enumerate(scenarios):
        if n % 50 == 0:  # how far a long run has come (tail -f build/tck-progress.txt)
            with PROGRESS.open("a", encoding="utf-8") as progress:
                passed = sum(o.passed for o in outcomes)
                progress.write(
                    f"{backend.name} {n}/{len(scenarios)} passed {passed} {time.perf_counter() - started:.0f} s\n"
                )
        try:
            outcomes.append(run_scenario(scenario, backend, graphs))
        except Exception as exc:  # the harness itself: recorded, the run goes on
            outcome = Outcome(False, "harness", f"{type(exc).__name__}: {exc}"[:600])
            outcomes.append(outcome)
            backend.done(None)
    return outcomes


def _both_halves(
    scenarios: list[Scenario], endpoint: Any, root: Path, seconds: dict[str, float]
) -> tuple[list[Outcome], list[Outcome]]:
    """Every scenario straight on Neo4j, then through the endpoint: (endpoint outcomes, raw outcomes)."""
    with neo4j.GraphDatabase.driver(
        endpoint.uri, auth=(endpoint.user, endpoint.password), notifications_min_severity="OFF"
    ) as driver:
        raw_backend = RawBackend(driver)
        present = raw_backend.count_nodes()
        if present:
            pytest.fail(f"the TCK's Neo4j holds {present} nodes before the TCK: the raw half needs an empty graph")
        started = time.perf_counter()
        raw = run_all(scenarios, raw_backend, root / "graphs")
        raw_backend.fresh()
        seconds["raw"] = time.perf_counter() - started
    with endpoint_client(endpoint) as client:
        key = client.post("/users").json()["api_key"]
        headers = {"X-API-Key": key}
        session = client.post("/sessions", json={"name": f"tck-{uuid.uuid4().hex[:8]}"}, headers=headers).json()["id"]
        started = time.perf_counter()
        through = run_all(scenarios, EndpointBackend(client, headers, session), root / "graphs")
        seconds["endpoint"] = time.perf_counter() - started
        client.delete(f"/sessions/{session}", headers=headers)
    return through, raw


def test_the_endpoint_passes_the_tck_as_neo4j_does() -> None:
    root = tck_dir()
    if root is None:
        pytest.skip("the openCypher TCK is not here: set DATAINFRA_TCK_DIR or clone shared/ next to the repository")
    scenarios = [s for s in load_features(root / "features") if not s.ignored]
    only = os.environ.get("DATAINFRA_TCK_FILTER")
    if only:
        scenarios = [s for s in scenarios if only in s.key]
    refuse_if_no_servers("Neo4j", "neo4j")
    seconds: dict[str, float] = {}
    # A server of its own (unless DATAINFRA_TEST_NEO4J_URI names a shared one): the raw half needs an
    # empty graph and empties it between scenarios, which must never touch another test's data.
    with neo4j_endpoint_for_tests() as endpoint:
        through, raw = _both_halves(scenarios, endpoint, root, seconds)
    results = list(zip(scenarios, raw, through, strict=True))
    write_report(REPORT, results, seconds)
    conftest.SUMMARY[:] = [*table(results, seconds).splitlines(), f"report: {REPORT}"]
    total = figures(results)
    failing_5xx = [s.key for s, _, e in results if e.server_error]
    assert not failing_5xx, f"the endpoint answered 5xx in {len(failing_5xx)} scenarios: {failing_5xx[:10]}"
    if only:
        return
    assert total.raw >= RAW_FLOOR * total.scenarios, f"raw Neo4j passes only {total.raw} of {total.scenarios}"
    assert total.share >= ENDPOINT_FLOOR, (
        f"the endpoint passes {total.endpoint_among_raw} of the {total.raw} scenarios raw Neo4j passes "
        f"({total.share:.1%}); the floor is {ENDPOINT_FLOOR:.0%}"
    )
