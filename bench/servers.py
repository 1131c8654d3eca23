"""The stores a run measures against: throwaway ones it starts itself (an embedded PostgreSQL and a
local Neo4j, in a temporary directory, started side by side), or running ones named by BENCH_*.

A configured PostgreSQL gets a fresh database for the run (dropped afterwards), so the API's
catalog never meets another user's tables."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.config import BenchConfig
from datainfra.local_stores.neo4j import LocalNeo4j, Neo4jEndpoint
from datainfra.local_stores.postgres import EmbeddedPostgres


@dataclass(frozen=True, slots=True)
class Servers:
    postgres_url: str
    neo4j: Neo4jEndpoint | None
    """None when Neo4j did not start (neo4j_error says why): the graph phase fails, the others run."""
    work_dir: Path
    started_locally: bool
    """True when both stores are this run's own (no cleanup of data needed afterwards)."""
    startup_seconds: float
    neo4j_error: str | None = None


@contextlib.contextmanager
def bench_servers(config: BenchConfig) -> Iterator[Servers]:
    work_dir = Path(tempfile.mkdtemp(prefix="datainfra-bench-"))
    began = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=2) as pool:
            pg_future = pool.submit(_postgres, stack, config, work_dir)
            neo_future = pool.submit(_neo4j, stack, config, work_dir)
            postgres_url = pg_future.result()
            endpoint: Neo4jEndpoint | None = None
            neo4j_error = None
            try:
                endpoint = neo_future.result()
            except Exception as exc:  # the graph phase reports it; the tabular phases still run
                neo4j_error = f"Neo4j did not start: {type(exc).__name__}: {exc}"[:2000]
            yield Servers(
                postgres_url=postgres_url,
                neo4j=endpoint,
                neo4j_error=neo4j_error,
                work_dir=work_dir,
                started_locally=config.database_url is None and config.neo4j_uri is None,
                startup_seconds=time.perf_counter() - began,
            )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _postgres(stack: contextlib.ExitStack, config: BenchConfig, work_dir: Path) -> str:
    if config.database_url is None:
        server = EmbeddedPostgres(work_dir / "postgres", durable=config.durable)
        url = server.start()
        stack.callback(server.stop)
        return url
    return stack.enter_context(_fresh_database(config.database_url))


def _neo4j(stack: contextlib.ExitStack, config: BenchConfig, work_dir: Path) -> Neo4jEndpoint:
    if config.neo4j_uri is not None:
        return Neo4jEndpoint(config.neo4j_uri, config.neo4j_user, config.neo4j_password)
    # A bigger heap and page cache than the test default: the full run holds 1M relationships.
    server = LocalNeo4j(work_dir / "neo4j", heap="2g", pagecache="1g")
    endpoint = server.start(timeout=180.0)
    stack.callback(server.stop)
    return endpoint


@contextlib.contextmanager
def _fresh_database(url: str) -> Iterator[str]:
    name = f"datainfra_bench_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(url)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
