"""The SQL endpoint (`POST /sessions/{id}/query`, language sql) against raw psycopg on one kept-open
connection, in the same run:

- `SELECT 1`: p50 of sequential requests vs p50 of the same statement raw; target: at most 3 ms more.
- TPC-H Q1 over the lineitem table: does the API's path get the plan raw PostgreSQL chooses? The
  raw plan is read with `EXPLAIN (FORMAT JSON)` (a Gather / Gather Merge node = parallel). What the
  API's path runs cannot be EXPLAINed from outside (it runs as the user's own role, on a connection
  of its own), so the bench watches the server instead: while each
  execution runs, a separate connection polls `pg_stat_activity` for `parallel worker` backends.
  The figure is met when parallel workers are seen under the API exactly when the raw plan has a
  Gather. The same watcher runs during the raw executions, to show it catches their workers; if it
  does not (a query too short to catch), the verdict falls back to time: API p50 <= 1.5x raw p50.
  The figure's numbers are the p50 times of both (ms)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from psycopg import sql

from bench.api_process import Api
from bench.config import BenchConfig
from bench.figures import measured
from bench.http_client import KeepAliveClient
from bench.lineitem import Q1, filled_lineitem
from bench.load import percentile, sample
from bench.report import Report, say
from bench.uploads import Loaded

POLL_S = 0.002
PARALLEL_WORKERS = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'"


def gathers(plan: Any) -> list[int]:
    """The planned worker count of every Gather / Gather Merge node in an EXPLAIN (FORMAT JSON) plan."""
    found: list[int] = []
    if isinstance(plan, dict):
        if plan.get("Node Type") in ("Gather", "Gather Merge"):
            found.append(int(plan.get("Workers Planned", 0)))
        for value in plan.values():
            found += gathers(value)
    elif isinstance(plan, list):
        for item in plan:
            found += gathers(item)
    return found


async def watched(pg_url: str, runs: int, execute: Callable[[], Awaitable[object]]) -> tuple[list[float], int]:
    """Run `execute` `runs` times; the seconds of each and the most parallel workers seen at once."""
    seen = 0
    times: list[float] = []
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as watcher:
        for _ in range(runs):
            done = asyncio.Event()

            async def poll(done: asyncio.Event) -> None:
                nonlocal seen
                while not done.is_set():
                    row = await (await watcher.execute(PARALLEL_WORKERS)).fetchone()
                    seen = max(seen, int(row[0]) if row else 0)
                    await asyncio.sleep(POLL_S)

            poller = asyncio.create_task(poll(done))
            began = time.perf_counter()
            try:
                await execute()
            finally:
                times.append(time.perf_counter() - began)
                done.set()
                await poller
    times.sort()
    return times, seen


async def run_sql(
    config: BenchConfig, api: Api, client: httpx.AsyncClient, pg_url: str, report: Report, loaded: Loaded | None
) -> None:
    table = loaded if loaded is not None else await filled_lineitem(config, client, pg_url)
    url = urlsplit(api.base_url)
    path = f"/sessions/{table.session_id}/query"
    trivial = json.dumps({"language": "sql", "query": "SELECT 1 AS one"}).encode()
    q1_api = json.dumps({"language": "sql", "query": Q1.format(table=table.name), "timeout_ms": 60000}).encode()
    q1_raw = sql.SQL(Q1.replace("{table}", "{}")).format(table.table)

    async with (
        KeepAliveClient(url.hostname or "127.0.0.1", url.port or 80, api.headers) as http,
        await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn,
    ):

        async def api_select(_: int) -> None:
            await http.post_json(path, trivial)

        async def raw_select(_: int) -> None:
            await (await conn.execute("SELECT 1 AS one")).fetchall()

        say(f"sql: SELECT 1, {config.sql_queries} times through the API and raw")
        api_trivial = await sample(api_select, config.sql_queries, warmup=10)
        raw_trivial = await sample(raw_select, config.sql_queries, warmup=10)
        report.add(
            measured(
                "sql_trivial_select_p50",
                api_trivial.p50_ms,
                raw_trivial.p50_ms,
                detail={
                    "api_p99_ms": round(api_trivial.p99_ms, 3),
                    "raw_p99_ms": round(raw_trivial.p99_ms, 3),
                    "samples": config.sql_queries,
                    "raw": "one kept-open psycopg connection (autocommit), SELECT 1 AS one, rows fetched",
                },
            )
        )

        say(f"sql: TPC-H Q1 over {config.lineitem_rows:,} lineitem rows, API and raw ({config.sql_runs} runs each)")
        plan = (await (await conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + q1_raw)).fetchone() or [None])[0]
        planned = gathers(plan)
        await (await conn.execute(q1_raw)).fetchall()  # warm both paths' caches alike
        await http.post_json(path, q1_api)

        async def raw_q1() -> None:
            await (await conn.execute(q1_raw)).fetchall()

        async def api_q1() -> None:
            await http.post_json(path, q1_api)

        raw_times, raw_seen = await watched(pg_url, config.sql_runs, raw_q1)
        api_times, api_seen = await watched(pg_url, config.sql_runs, api_q1)

    raw_p50, api_p50 = percentile(raw_times, 0.5) * 1000, percentile(api_times, 0.5) * 1000
    parallel = bool(planned)
    if parallel and raw_seen == 0:
        met = api_p50 <= 1.5 * raw_p50
        verdict = "the watcher caught no worker even under raw (too short): decided by time, API p50 <= 1.5x raw"
    else:
        met = (api_seen > 0) == parallel
        verdict = "parallel workers under the API iff the raw plan has a Gather"
    report.add(
        measured(
            "sql_aggregate_plan",
            api_p50,
            raw_p50,
            met=met,
            detail={
                "raw_plan": f"parallel: Gather with {max(planned)} worker(s) planned" if parallel else "serial",
                "raw_parallel_workers_seen": raw_seen,
                "api_parallel_workers_seen": api_seen,
                "runs": config.sql_runs,
                "rows": config.lineitem_rows,
                "verdict": verdict,
            },
        )
    )
