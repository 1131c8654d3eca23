"""Where one warm Cypher query of the query endpoint spends its time, measured in-process (no HTTP
server, no load generator): the bench's 2-hop query (`bench.graph.CYPHER_2HOP`) timed through ever
fewer layers, plus the same work on the bare driver, with thread CPU time, wall time and the Bolt
round trips (driver `send_all` calls) and PostgreSQL statements of each. Rounds interleaved,
medians: usable on a loaded machine.

    PYTHONPATH=src:. python -m bench.cypher_layers   (BENCH_LAYERS_N calls per layer and round)

Layers, outermost first: the app (Litestar's ASGI entry, middleware, route, JSON) → QueryService.run
(catalog reads or cached facts) → Neo4jCypherRunner.run_cypher (rewrite, plan check, run, convert) →
the driver. Raw: the rewritten text and the bench's raw text (on a raw graph of the same edges, its
key the property `id`) through `execute_query`. Also prints Neo4j's PROFILE (db hits, operators)
of both texts. Starts a throwaway embedded PostgreSQL and Neo4j (or the DATAINFRA_TEST_* ones)."""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import neo4j
from dependency_injector import providers
from neo4j._async.io._bolt._base import AsyncBolt
from tests.support.neo4j_server import neo4j_endpoint_for_tests
from tests.support.postgres_server import postgres_url_for_tests

from bench.get_micro import call
from bench.graph import CYPHER_2HOP, RawGraph, api_bodies, make_graph
from datainfra.adapters.http.app import create_app
from datainfra.adapters.neo4j.client_cypher.plan_check import check_plan
from datainfra.adapters.neo4j.client_cypher.rewrite import rewrite
from datainfra.adapters.neo4j.client_cypher.runner import Neo4jCypherRunner
from datainfra.adapters.neo4j.driver import Neo4jSettings, close_driver, open_driver
from datainfra.adapters.neo4j.graph_store import Neo4jGraphStore
from datainfra.adapters.neo4j.namespacing import Namespace
from datainfra.adapters.postgres.catalog import PostgresCatalog
from datainfra.adapters.postgres.migrations import migrate_catalog
from datainfra.adapters.postgres.pool import PostgresSettings, close_pool, open_pool
from datainfra.config import Settings
from datainfra.containers import build_memory_container
from datainfra.domain.auth import hash_api_key
from datainfra.domain.queries import QueryLimits
from datainfra.domain.query_requests import CypherRequest

NODES = 2_000
EDGES = 10_000

_bolt_sends = 0


async def _counted_send_all(self: Any) -> None:
    """AsyncBolt._send_all, counting the flushes that sent something (one per round trip)."""
    global _bolt_sends
    if await self.outbox.flush():
        _bolt_sends += 1
        self.idle_since = time.monotonic()


AsyncBolt._send_all = _counted_send_all  # type: ignore[method-assign]

_pg_statements = 0


def _count_pg() -> None:
    """Count the statements psycopg runs (every execute goes through AsyncCursor.execute)."""
    import psycopg

    original = psycopg.AsyncCursor.execute

    async def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _pg_statements
        _pg_statements += 1
        return await original(self, *args, **kwargs)

    psycopg.AsyncCursor.execute = execute  # type: ignore[method-assign]


async def main(pg_url: str, endpoint: Any) -> None:
    n = int(os.environ.get("BENCH_LAYERS_N", "100"))
    rounds = int(os.environ.get("BENCH_LAYERS_ROUNDS", "5"))
    container = build_memory_container(Settings(log_level="WARNING"))
    app = create_app(container)
    pool = await open_pool(PostgresSettings(url=pg_url, min_size=2, max_size=4))
    schema = f"catalog_layers_{uuid.uuid4().hex[:8]}"
    await migrate_catalog(pool, schema)
    driver = open_driver(Neo4jSettings(uri=endpoint.uri, user=endpoint.user, password=endpoint.password))
    runner = Neo4jCypherRunner(driver)
    container.catalog.override(providers.Object(PostgresCatalog(pool, schema=schema)))
    container.graph_store.override(providers.Object(Neo4jGraphStore(driver)))
    container.cypher_runner.override(providers.Object(runner))
    _count_pg()
    try:
        await _measure(app, container, driver, runner, n, rounds)
    finally:
        await close_driver(driver)
        await close_pool(pool)


async def _measure(app: Any, container: Any, driver: Any, runner: Any, n: int, rounds: int) -> None:
    decoder = msgspec.json.Decoder()
    encoder = msgspec.json.Encoder()
    _, body = await call(app, "POST", "/users", b"", [])
    key = decoder.decode(body)["api_key"]
    auth = [(b"x-api-key", key.encode()), (b"content-type", b"application/json")]
    _, body = await call(app, "POST", "/sessions", b"", auth, b'{"name":"layers"}')
    session_id = decoder.decode(body)["id"]
    document = {"name": "g", "kind": "graph", "schema": {"node_labels": [{"name": "Item"}]}}
    status, body = await call(app, "POST", f"/sessions/{session_id}/datasets", b"", auth, encoder.encode(document))
    assert status == 201, body
    dataset_id = decoder.decode(body)["id"]
    graph = make_graph(NODES, EDGES, 1)
    nodes, edges = api_bodies(graph, 20_000)
    for chunk in nodes + edges:
        status, body = await call(
            app, "POST", f"/sessions/{session_id}/datasets/{dataset_id}/records", b"", auth, chunk
        )
        assert status == 201, body
    raw = RawGraph(driver, 10_000)
    await raw.prepare()
    await raw.load_nodes(0, NODES, 20_000)
    await raw.load_edges(graph.edges, 20_000)

    user = await container.catalog().user_for_key(hash_api_key(key))
    dataset = await container.catalog().get_dataset(user.id, session_id, dataset_id)
    queries = container.queries()
    limits = QueryLimits()
    ns = Namespace.of(dataset.id)
    rewritten = rewrite(CYPHER_2HOP, ns)
    raw_text = raw.cypher_2hop()
    rng = random.Random(3)
    starts = [f"n{rng.randrange(NODES)}" for _ in range(4096)]
    path = f"/sessions/{session_id}/query"

    def body_of(node: str) -> bytes:
        return encoder.encode(
            {"language": "cypher", "dataset": dataset_id, "query": CYPHER_2HOP, "parameters": {"id": node}}
        )

    async def app_call(node: str) -> None:
        status, answer = await call(app, "POST", path, b"", auth, body_of(node))
        assert status == 200, answer

    async def service(node: str) -> None:
        await queries.run(user, session_id, CypherRequest(CYPHER_2HOP, dataset_id, {"id": node}, limits))

    async def run_cypher(node: str) -> None:
        await runner.run_cypher(dataset, CYPHER_2HOP, {"id": node}, limits)

    async def driver_rewritten(node: str) -> None:
        await driver.execute_query(
            rewritten.text, {"id": node, **rewritten.parameters}, database_="neo4j", routing_=neo4j.RoutingControl.READ
        )

    async def driver_raw(node: str) -> None:
        await raw.cypher_two_hops(node)

    async def driver_explain(node: str) -> None:
        async with driver.session(database="neo4j", default_access_mode=neo4j.READ_ACCESS) as session:
            await (await session.run("EXPLAIN " + rewritten.text, {"id": node, **rewritten.parameters})).consume()

    catalog = container.catalog()
    key_hash = hash_api_key(key)

    async def facts_hold(node: str) -> None:
        assert await catalog.facts_hold(key_hash, dataset)

    def cpu_rewrite(node: str) -> None:
        rewrite(CYPHER_2HOP, ns)

    layers: dict[str, Callable[[str], Awaitable[None]]] = {
        "app (ASGI)": app_call,
        "QueryService.run": service,
        "runner.run_cypher": run_cypher,
        "driver: rewritten text": driver_rewritten,
        "driver: raw text": driver_raw,
        "driver: EXPLAIN alone": driver_explain,
        "catalog: facts_hold alone": facts_hold,
    }
    for work in layers.values():  # warm every path (plan caches, pools)
        for i in range(20):
            await work(starts[i])
    global _bolt_sends, _pg_statements
    counts: dict[str, tuple[float, float]] = {}
    for name, work in layers.items():
        b0, p0 = _bolt_sends, _pg_statements
        for i in range(20):
            await work(starts[i])
        counts[name] = ((_bolt_sends - b0) / 20, (_pg_statements - p0) / 20)
    cpu: dict[str, list[float]] = {name: [] for name in layers}
    wall: dict[str, list[float]] = {name: [] for name in layers}
    for r in range(rounds):
        for name, work in layers.items():
            c0, w0 = time.thread_time(), time.perf_counter()
            for i in range(n):
                await work(starts[(r * n + i) % len(starts)])
            cpu[name].append((time.thread_time() - c0) / n * 1000)
            wall[name].append((time.perf_counter() - w0) / n * 1000)
    c0 = time.thread_time()
    for i in range(1000):
        cpu_rewrite(starts[i])
    rewrite_ms = time.thread_time() - c0
    explained, _, _ = None, None, None
    async with driver.session(database="neo4j") as session:
        summary = await (await session.run("EXPLAIN " + rewritten.text, {"id": "n1"})).consume()
        explained = summary.plan
    c0 = time.thread_time()
    for _ in range(1000):
        check_plan(explained, ns)
    check_ms = time.thread_time() - c0

    if os.environ.get("BENCH_LAYERS_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(n * 4):
            await app_call(starts[i % len(starts)])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    print(f"{'layer':28} {'CPU ms':>8} {'wall ms':>8} {'bolt sends':>10} {'pg stmts':>8}")
    for name in layers:
        print(
            f"{name:28} {statistics.median(cpu[name]):8.3f} {statistics.median(wall[name]):8.3f} "
            f"{counts[name][0]:10.1f} {counts[name][1]:8.1f}"
        )
    print(f"{'rewrite alone':28} {rewrite_ms:8.3f}")
    print(f"{'plan check alone':28} {check_ms:8.3f}")
    for title, text, params in (
        ("rewritten", rewritten.text, rewritten.parameters),
        ("raw", raw_text, {}),
    ):
        hits, rows, ops = 0, 0, []
        for node in starts[:50]:
            async with driver.session(database="neo4j") as session:
                summary = await (await session.run("PROFILE " + text, {"id": node, **params})).consume()
            plan = summary.profile
            stack = [plan]
            names = []
            while stack:
                op = stack.pop()
                hits += op.get("dbHits", 0)
                names.append(op["operatorType"].split("@")[0])
                stack.extend(op.get("children", []))
            rows += plan.get("rows", 0)
            ops = names
        print(f"PROFILE {title}: db hits {hits / 50:.1f} per query, rows {rows / 50:.1f}; plan {' <- '.join(ops)}")
        print(f"  text: {text}")
    await raw.drop()


def run() -> None:
    import uvloop

    with postgres_url_for_tests() as pg_url, neo4j_endpoint_for_tests() as endpoint:
        uvloop.run(main(pg_url, endpoint))


if __name__ == "__main__":
    run()
