"""One benchmark run: start the stores and the API, run every phase, print the table and write the
summary (bench/results/latest.json and a dated copy).

Phases run one after another, each bounded by BENCH_PHASE_TIMEOUT. A phase that raises (or times
out) is reported as failed: each of its figures not yet measured gets `met: false` and the error,
and the next phase runs. Exit status: 0 when every phase ran to its end (whatever the ratios), 1 when
one failed or the stores/API did not start (the summary is written all the same), 2 on a bad BENCH_*."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bench.api_process import Api, api_process
from bench.config import BenchConfig, BenchConfigError
from bench.export_bench import run_export
from bench.figures import PHASES
from bench.graph import run_graph
from bench.lineitem import run_uploads_lineitem
from bench.report import RESULTS_DIR, PhaseResult, Report, say
from bench.scaleout import run_scaleout
from bench.servers import Servers, bench_servers
from bench.sql_bench import run_sql
from bench.tabular import filled_6col, run_filtered_get, run_uploads_6col
from bench.uploads import Loaded


class Run:
    """The phases of one run and what they hand each other (the tables the uploads filled)."""

    def __init__(self, config: BenchConfig, servers: Servers, api: Api, client: httpx.AsyncClient) -> None:
        self.config, self.servers, self.api, self.client = config, servers, api, client
        self.table_6col: Loaded | None = None
        self.lineitem: Loaded | None = None

    def phases(self) -> dict[str, Callable[[Report], Awaitable[None]]]:
        # The export runs first, on a fresh API: after the uploads the workers' heaps have grown
        # already, and RSS growth measured then would hide what an export costs.
        return {
            "export": self.export,
            "uploads": self.uploads,
            "get": self.get,
            "lineitem": self.uploads_lineitem,
            "graph": self.graph,
            "sql": self.sql,
            "scaleout": self.scaleout,
        }

    @property
    def pg_url(self) -> str:
        return self.servers.postgres_url

    async def uploads(self, report: Report) -> None:
        self.table_6col = await run_uploads_6col(self.config, self.client, self.pg_url, report)

    async def get(self, report: Report) -> None:
        table = self.table_6col or await filled_6col(self.config, self.client, self.pg_url)
        await run_filtered_get(self.config, self.api, self.pg_url, table, report)

    async def uploads_lineitem(self, report: Report) -> None:
        self.lineitem = await run_uploads_lineitem(self.config, self.client, self.pg_url, report)

    async def export(self, report: Report) -> None:
        await run_export(self.config, self.api, self.pg_url, report)

    async def graph(self, report: Report) -> None:
        await run_graph(self.config, self.api, self.client, self.servers, report)

    async def scaleout(self, report: Report) -> None:
        await run_scaleout(self.config, self.pg_url, report)

    async def sql(self, report: Report) -> None:
        await run_sql(self.config, self.api, self.client, self.pg_url, report, self.lineitem)


async def measure(config: BenchConfig, servers: Servers, api: Api, report: Report) -> None:
    async with httpx.AsyncClient(base_url=api.base_url, headers=api.headers, timeout=None) as client:
        run = Run(config, servers, api, client)
        for name, phase in run.phases().items():
            if name not in config.phases:
                report.phases.append(PhaseResult(name, "skipped", 0.0))
                report.fail_missing(name, "not run (BENCH_PHASES)")
                continue
            began = time.perf_counter()
            try:
                await asyncio.wait_for(phase(report), config.phase_timeout)
            except Exception as exc:
                error = _describe(exc, config)
                say(f"phase {name} FAILED: {error}")
                traceback.print_exc(file=sys.stderr)
                report.phases.append(PhaseResult(name, "failed", time.perf_counter() - began, error))
                report.fail_missing(name, f"phase {name} failed: {error}")
            else:
                report.phases.append(PhaseResult(name, "ok", time.perf_counter() - began))
                report.fail_missing(name, f"phase {name} did not measure it")


def _describe(exc: BaseException, config: BenchConfig) -> str:
    if isinstance(exc, TimeoutError):
        return f"did not finish within {config.phase_timeout:g}s (BENCH_PHASE_TIMEOUT)"
    return f"{type(exc).__name__}: {exc}"[:2000]


def run(config: BenchConfig, report: Report) -> None:
    """Start everything, measure, stop everything; what was measured is in `report`."""
    began = time.perf_counter()
    say("starting PostgreSQL and Neo4j" + (" (configured)" if config.database_url or config.neo4j_uri else ""))
    with bench_servers(config) as servers:
        say(f"stores ready in {servers.startup_seconds:.1f}s; starting the API")
        if servers.neo4j_error:
            say(servers.neo4j_error)
        with api_process(servers, profile_path=config.profile_path, workers=config.workers) as api:
            workers = len(api.worker_pids())
            asyncio.run(measure(config, servers, api, report))
    report.notes.append(
        f"machine: {os.cpu_count()} CPU(s) shared by the API, PostgreSQL, Neo4j and this client; "
        f"API = `python -m datainfra` with {workers} worker(s), default pool sizes; "
        f"run took {time.perf_counter() - began:.0f}s"
    )
    if config.profile_path is not None:
        report.notes.append(f"cProfile stats of the API process: {config.profile_path}")


def main() -> int:
    try:
        config = BenchConfig.from_env()
    except BenchConfigError as exc:
        print(f"bench: configuration error: {exc}", file=sys.stderr)
        return 2
    report = Report()
    status = 0
    try:
        run(config, report)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        traceback.print_exc()
        error = f"the run stopped: {type(exc).__name__}: {exc}"[:2000]
        print(f"bench: FAILED: {error}", file=sys.stderr)
        for phase in PHASES:
            report.fail_missing(phase, error)
        status = 1
    if report.any_failed:
        status = 1
    report.render()
    latest = report.write(config.results_dir or RESULTS_DIR, config.as_json())
    say(f"summary written to {latest}")
    output = os.environ.get("BENCH_OUTPUT")
    if output:
        Path(output).write_text(latest.read_text(encoding="utf-8"), encoding="utf-8")
    return status
