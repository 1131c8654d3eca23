"""One benchmark run: start the stores and the API, measure issue 3 (tabular) and issue 4 (graph),
print the table. Exit status 0 whatever the ratios; 1 only when something failed."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import httpx

from bench.api_process import Api, api_process
from bench.config import BenchConfig, BenchConfigError
from bench.graph import run_graph
from bench.loads import run_loads
from bench.report import Report, say
from bench.servers import Servers, bench_servers
from bench.tabular import run_tabular

T = TypeVar("T")


async def _phase(name: str, work: Awaitable[T], timeout: float) -> T:
    try:
        return await asyncio.wait_for(work, timeout)
    except TimeoutError:
        raise RuntimeError(f"the {name} phase did not finish within {timeout:g}s") from None


async def measure(config: BenchConfig, servers: Servers, api: Api) -> Report:
    report = Report()
    async with httpx.AsyncClient(base_url=api.base_url, headers=api.headers, timeout=None) as client:
        if "tabular" in config.phases:
            tabular = run_tabular(config, api, client, servers.postgres_url, report)
            await _phase("tabular", tabular, config.phase_timeout)
        if "loads" in config.phases:
            await _phase("loads", run_loads(config, client, servers.postgres_url, report), config.phase_timeout)
        if "graph" in config.phases:
            await _phase("graph", run_graph(config, client, servers, report), config.phase_timeout)
    return report


def run(config: BenchConfig) -> Report:
    """Start everything, measure, stop everything; the report of the run."""
    began = time.perf_counter()
    say("starting PostgreSQL and Neo4j" + (" (configured)" if config.database_url or config.neo4j_uri else ""))
    with bench_servers(config) as servers:
        say(f"stores ready in {servers.startup_seconds:.1f}s; starting the API")
        with api_process(servers, profile_path=config.profile_path) as api:
            report = asyncio.run(measure(config, servers, api))
    report.notes.append(
        f"machine: {os.cpu_count()} CPU(s) shared by the API, PostgreSQL, Neo4j and this client; "
        "API = `python -m datainfra` (one uvicorn worker, default pool sizes); "
        f"run took {time.perf_counter() - began:.0f}s"
    )
    if config.profile_path is not None:
        report.notes.append(f"cProfile stats of the API process: {config.profile_path}")
    return report


def main() -> int:
    try:
        config = BenchConfig.from_env()
    except BenchConfigError as exc:
        print(f"bench: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        report = run(config)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        traceback.print_exc()
        print(f"bench: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    report.render()
    output = os.environ.get("BENCH_OUTPUT")
    if output:
        Path(output).write_text(report.to_json() + "\n", encoding="utf-8")
    return 0
