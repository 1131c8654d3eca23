"""Where one hot records GET spends its CPU, layer by layer, measured in-process (no HTTP server,
no load generator): the same request timed through ever fewer layers, so each layer's own cost is
the difference of two adjacent timings, plus the pieces inside the layers timed alone. Thread CPU
time (not wall time), rounds interleaved, medians: usable on a loaded machine.

    PYTHONPATH=src:. python -m bench.get_layers   (BENCH_LAYERS_N requests per layer and round)

The layers, outermost first: Litestar's ASGI entry → ObservabilityMiddleware (request id, metrics,
access line) → HttpConventions → FastRecordPages (headers, query string, body) → RecordPages
(caches, parse, next page) → PostgresJsonPages (statement, guard parameters) → psycopg (pool,
execute, fetch). The HTTP server's share (uvicorn + httptools) is not in-process: measure it with
bench/asgi_servers.py or a trivial app. Starts a throwaway embedded PostgreSQL (or uses
DATAINFRA_TEST_DATABASE_URL). BENCH_LAYERS_LOG_LEVEL (default INFO) and BENCH_LAYERS_LOG_FORMAT
(default json) set the access line's cost; the lines go to /dev/null."""

from __future__ import annotations

import contextlib
import functools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import uvloop
from dependency_injector import providers
from psycopg import sql
from tests.support.postgres_server import postgres_url_for_tests

from bench.get_micro import call
from bench.tabular import make_rows, page_select, shape
from datainfra.adapters.http.app import create_app
from datainfra.adapters.http.fast_pages import page_body
from datainfra.adapters.http.observability import _request_id, access_log
from datainfra.adapters.http.query_strings import RecordPageQuery, page_request, query_pairs, read_query
from datainfra.adapters.postgres.catalog import PostgresCatalog
from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.identifiers import session_schema_name
from datainfra.adapters.postgres.migrations import migrate_catalog
from datainfra.adapters.postgres.page_json import PostgresJsonPages, bound_params, query_shape
from datainfra.adapters.postgres.pool import PostgresSettings, close_pool, connection, open_pool
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.config import Settings
from datainfra.containers import build_memory_container
from datainfra.domain.auth import hash_api_key
from datainfra.domain.ports import PageGuard
from datainfra.services.paging import next_request, parse_tabular_query

ROWS = 5_000
GROUPS = 100


async def main(url: str) -> None:
    n = int(os.environ.get("BENCH_LAYERS_N", "1000"))
    rounds = int(os.environ.get("BENCH_LAYERS_ROUNDS", "5"))
    metrics_dir = Path(tempfile.mkdtemp(prefix="get-layers-metrics-"))
    settings = Settings(
        access_log=True,
        log_level=os.environ.get("BENCH_LAYERS_LOG_LEVEL", "INFO"),
        log_format=os.environ.get("BENCH_LAYERS_LOG_FORMAT", "json"),
        metrics_dir=metrics_dir,  # as the workers run: prometheus_client's multiprocess values
    )
    container = build_memory_container(settings)
    app = create_app(container)  # type: ignore[arg-type]
    pool = await open_pool(PostgresSettings(url=url, min_size=2, max_size=4))
    schema = f"catalog_layers_{uuid.uuid4().hex[:8]}"
    await migrate_catalog(pool, schema)
    roles = PostgresUserRoles(pool, catalog_schema=schema)
    json_pages = PostgresJsonPages(pool, catalog_schema=schema)
    container.catalog.override(providers.Object(PostgresCatalog(pool, schema=schema)))
    container.user_roles.override(providers.Object(roles))
    container.tabular_store.override(providers.Object(PostgresTabularStore(pool, roles)))
    container.json_pages.override(providers.Object(json_pages))
    decoder = msgspec.json.Decoder()
    _, body = await call(app, "POST", "/users", b"", [])
    key = decoder.decode(body)["api_key"]
    auth = [(b"x-api-key", key.encode()), (b"content-type", b"application/json")]
    _, body = await call(app, "POST", "/sessions", b"", auth, b'{"name":"layers"}')
    session_id = decoder.decode(body)["id"]
    document = {"name": "bench_csv", "kind": "tabular", "schema": shape(("grp", "id")).api_schema}
    _, body = await call(app, "POST", f"/sessions/{session_id}/datasets", b"", auth, msgspec.json.encode(document))
    dataset_id = decoder.decode(body)["id"]
    columns = shape(("grp", "id")).columns
    records = [dict(zip(columns, row, strict=True)) for row in make_rows(ROWS, GROUPS, 1)]
    path = f"/sessions/{session_id}/datasets/{dataset_id}/records"
    status, body = await call(app, "POST", path, b"", auth, msgspec.json.encode({"records": records}))
    assert status == 201, body

    rng = random.Random(2)
    headers = [(b"x-api-key", key.encode()), (b"accept", b"application/json")]
    litestar_entry: Any = app
    conventions: Any = app.asgi_handler.app  # type: ignore[attr-defined]
    fast: Any = conventions.app
    pages = container.record_pages()
    user = await container.catalog().user_for_key(hash_api_key(key))
    assert user is not None
    dataset = await container.catalog().get_dataset(user.id, session_id, dataset_id)
    assert dataset is not None
    guard = PageGuard(hash_api_key(key), dataset)
    query_string = lambda: f"grp=eq:{rng.randrange(GROUPS)}&limit=50".encode()  # noqa: E731
    request = lambda: page_request(*read_query(query_pairs(query_string()), RecordPageQuery))  # noqa: E731
    # One parsed query per group, so the store and driver steps read random groups as the others do.
    queries = [
        parse_tabular_query(
            dataset.tabular_schema, page_request(*read_query([("grp", f"eq:{g}")], RecordPageQuery))
        ).query
        for g in range(GROUPS)
    ]
    parsed_query = queries[0]

    def through(handler: Any) -> Callable[[], Awaitable[Any]]:
        async def one() -> None:
            status, body = await call(handler, "GET", path, query_string(), headers)
            assert status == 200, body

        return one

    async def service() -> None:
        assert await pages.page(key, session_id, dataset_id, request()) is not None

    async def store() -> None:
        assert await json_pages.page(guard, rng.choice(queries)) is not None

    await store()  # caches the statement's text
    statement = json_pages._statements[next(k for k in json_pages._statements if k[2] == query_shape(parsed_query))]
    guard_params = list(json_pages._guard_params(guard))

    async def driver() -> None:
        async with connection(pool) as conn:
            cur = await conn.execute(statement, [*guard_params, *bound_params(rng.choice(queries))])
            await cur.fetchone()

    page = await pages.page(key, session_id, dataset_id, request())
    assert page is not None

    async def pieces(work: Callable[[], object]) -> None:
        work()

    parsed = parse_tabular_query(dataset.tabular_schema, request())
    steps: dict[str, Callable[[], Awaitable[Any]]] = {
        "whole stack (Litestar entry)": through(litestar_entry),
        "from HttpConventions": through(conventions),
        "from FastRecordPages": through(fast),
        "RecordPages.page": service,
        "PostgresJsonPages.page": store,
        "psycopg: pool + execute + fetch": driver,
        "piece: query string → PageRequest": lambda: pieces(request),
        "piece: parse_tabular_query": lambda: pieces(lambda: parse_tabular_query(dataset.tabular_schema, request())),
        "piece: next_request": lambda: pieces(
            lambda: next_request(request(), parsed, True, [7], dataset.tabular_schema.field_types)
        ),
        "piece: page_body (items + next URL)": lambda: pieces(lambda: page_body(page, path)),
        "piece: hash_api_key": lambda: pieces(lambda: hash_api_key(key)),
        "piece: bound_params": lambda: pieces(lambda: bound_params(parsed_query)),
        "piece: request id": lambda: pieces(lambda: _request_id(headers)),
        "piece: metrics observe": lambda: pieces(
            lambda: app.state.metrics.observe("GET", "/sessions/{session_id}/datasets/{dataset_id}/records", 200, 0.001)
        ),
        "piece: access line (structlog)": lambda: pieces(
            lambda: access_log.info("request", method="GET", route="/x", status=200, duration_ms=1.0, request_id="r")
        ),
    }
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(50):
                await step()
            began = time.thread_time()
            for _ in range(n):
                await step()
            cpu[name].append((time.thread_time() - began) / n * 1e6)
    # The least disturbed round of each (BENCH_LAYERS_STAT=median for the median).
    pick = statistics.median if os.environ.get("BENCH_LAYERS_STAT") == "median" else min
    us = {name: pick(values) for name, values in cpu.items()}
    layers = list(steps)[:6]
    report = functools.partial(print, file=sys.stderr)
    report(f"CPU µs per request, {pick.__name__} of {rounds} rounds of {n} (thread time, this process)")
    for outer, inner in zip(layers, [*layers[1:], None], strict=True):
        own = us[outer] - (us[inner] if inner else 0.0)
        spread = f"{min(cpu[outer]):.0f}-{max(cpu[outer]):.0f}"
        report(f"  {outer:38s} {us[outer]:8.1f}   own {own:7.1f}  ({100 * own / us[layers[0]]:4.1f}%)  rounds {spread}")
    for name in list(steps)[6:]:
        report(f"  {name:38s} {us[name]:8.1f}           ({100 * us[name] / us[layers[0]]:4.1f}%)")
    await _backend_cpu(pool, statement, guard_params, queries, session_id, n, rounds, report)
    await close_pool(pool)


def _process_cpu(pid: int) -> float:
    """utime + stime of a local process, in seconds (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _backend_cpu(
    pool: Any,
    statement: bytes,
    guard_params: list[Any],
    queries: list[Any],
    session_id: str,
    n: int,
    rounds: int,
    report: Callable[..., None],
) -> None:
    """PostgreSQL's own CPU per statement (its backend process, read from /proc): the guarded JSON
    page statement against the bench's raw SELECT of the same page (bench.tabular.page_select)."""
    table = sql.Identifier(session_schema_name(session_id), "bench_csv")
    raw, fetch = page_select(table, 50)
    rng = random.Random(3)
    async with connection(pool) as conn:
        pid = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]  # type: ignore[index]
        if not Path(f"/proc/{pid}/stat").exists():
            report("  (PostgreSQL is not a local process: its CPU per statement is not measured)")
            return
        steps = {
            "JSON page statement (guard + row JSON)": lambda: conn.execute(
                statement, [*guard_params, *bound_params(rng.choice(queries))]
            ),
            "raw SELECT of the same page": lambda: conn.execute(raw, [rng.randrange(GROUPS), fetch, 0]),
        }
        per: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(rounds):
            for name, run in steps.items():
                began = _process_cpu(pid)
                for _ in range(n):
                    await (await run()).fetchall()
                per[name].append((_process_cpu(pid) - began) / n * 1e6)
    report("PostgreSQL backend CPU µs per statement (median; /proc ticks, so coarse for small n)")
    for name, values in per.items():
        report(f"  {name:38s} {statistics.median(values):8.1f}")


if __name__ == "__main__":
    # The access lines go to stdout, sent to /dev/null; the report goes to stderr.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), postgres_url_for_tests() as url:
        uvloop.run(main(url))
