"""Which ASGI server serves the API fastest: the filtered page GET (`grp=eq:<g>&limit=50` on an indexed
column) through each candidate, one worker each, same app, same embedded PostgreSQL.

`python -m bench.asgi_servers` (sizes: ASGI_BENCH_ROWS, ASGI_BENCH_SECONDS, ASGI_BENCH_CLIENTS;
ASGI_BENCH_TARGET=health measures `GET /health` instead, i.e. the server and framework alone). A
candidate whose package is not installed is reported as skipped. Graph routes are not measured, so
the API is pointed at a Neo4j address nobody listens on (no local Neo4j is started)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.http_client import KeepAliveClient
from bench.load import LoadResult, closed_loop
from datainfra.local_stores.postgres import EmbeddedPostgres
from datainfra.local_stores.process import free_port

FACTORY = "datainfra.__main__:asgi_app"
BIN = Path(sys.executable).parent


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    module: str
    """The package that must be importable for this candidate to run."""
    command: tuple[str, ...]
    """Arguments after the port placeholder is filled in ({port})."""


CANDIDATES = (
    Candidate(
        "uvicorn (asyncio, h11)",
        "uvicorn",
        ("-m", "uvicorn", "--factory", FACTORY, "--loop", "asyncio", "--http", "h11", "--port", "{port}"),
    ),
    Candidate(
        "uvicorn (uvloop, httptools)",
        "httptools",
        ("-m", "uvicorn", "--factory", FACTORY, "--loop", "uvloop", "--http", "httptools", "--port", "{port}"),
    ),
    Candidate(
        "granian (asgi, 1 worker)",
        "granian",
        ("-m", "granian", "--interface", "asgi", "--factory", "--no-ws", "--port", "{port}", FACTORY),
    ),
    Candidate(
        "hypercorn (uvloop)",
        "hypercorn",
        ("-m", "hypercorn", "--worker-class", "uvloop", "--bind", "127.0.0.1:{port}", f"{FACTORY}()"),
    ),
)

SCHEMA = {
    "columns": [
        {"name": "id", "type": "integer"},
        {"name": "name", "type": "text", "nullable": False},
        {"name": "grp", "type": "integer", "nullable": False},
        {"name": "score", "type": "float"},
    ],
    "primary_key": ["id"],
    "indexes": [{"columns": ["grp"]}],
}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@contextlib.contextmanager
def _server(candidate: Candidate, env: dict[str, str], log_path: Path) -> Iterator[int]:
    port = free_port()
    args = [sys.executable, *(a.replace("{port}", str(port)) for a in candidate.command)]
    if candidate.module == "granian":
        args[args.index("--port") : args.index("--port")] = ["--host", "127.0.0.1"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{candidate.name} exited: see {log_path}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{candidate.name} did not answer /health within 60s")
            time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _prepare(port: int, rows: int, groups: int) -> tuple[dict[str, str], str]:
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=120) as client:
        key = client.post("/users").json()["api_key"]
        headers = {"X-API-Key": key}
        sid = client.post("/sessions", json={"name": "asgi-bench"}, headers=headers).json()["id"]
        dataset = {"name": "t", "kind": "tabular", "schema": SCHEMA}
        did = client.post(f"/sessions/{sid}/datasets", json=dataset, headers=headers).json()["id"]
        lines = ["id,name,grp,score", *(f"{i},name-{i},{i // 100 % groups},{i / 7:.3f}" for i in range(1, rows + 1))]
        body = ("\n".join(lines) + "\n").encode()
        path = f"/sessions/{sid}/datasets/{did}/records"
        answer = client.post(path, content=body, headers={**headers, "content-type": "text/csv"})
        answer.raise_for_status()
    return headers, path


async def _load(port: int, headers: dict[str, str], path: str, clients: int, seconds: float, groups: int) -> LoadResult:
    connections = [KeepAliveClient("127.0.0.1", port, headers) for _ in range(clients)]
    rng = random.Random(7)
    health_only = os.environ.get("ASGI_BENCH_TARGET") == "health"
    try:

        def operation(connection: KeepAliveClient) -> object:
            async def call() -> None:
                if health_only:
                    await connection.get("/health")
                else:
                    await connection.get(f"{path}?grp=eq:{rng.randrange(groups)}&limit=50")

            return call

        return await closed_loop([operation(c) for c in connections], seconds, warmup=min(2.0, seconds / 4))  # type: ignore[misc]
    finally:
        for connection in connections:
            await connection.close()


def main() -> int:
    rows = _env_int("ASGI_BENCH_ROWS", 100_000)
    groups = max(1, rows // 100)
    seconds = float(os.environ.get("ASGI_BENCH_SECONDS") or 8)
    levels = tuple(int(c) for c in (os.environ.get("ASGI_BENCH_CLIENTS") or "1,10,50").split(","))
    work = Path(tempfile.mkdtemp(prefix="datainfra-asgi-bench-"))
    results: list[tuple[str, LoadResult | str]] = []
    try:
        pg = EmbeddedPostgres(work / "postgres")
        url = pg.start()
        try:
            base_env = os.environ | {
                "DATAINFRA_DATABASE_URL": url,
                "DATAINFRA_NEO4J_URI": "bolt://127.0.0.1:9",
                "DATAINFRA_NEO4J_PASSWORD": "unused",
                "DATAINFRA_LOG_FORMAT": "json",
                "DATAINFRA_LOG_LEVEL": "WARNING",
                "DATAINFRA_DATA_DIR": str(work / "api-data"),
            }
            base_env.pop("ALLOWED_KEYS", None)
            prepared: tuple[dict[str, str], str] | None = None
            for candidate in CANDIDATES:
                if not _importable(candidate.module):
                    results.append((candidate.name, f"skipped: {candidate.module} is not installed"))
                    continue
                print(f"== {candidate.name}", file=sys.stderr)
                with _server(candidate, base_env, work / f"{candidate.module}.log") as port:
                    if prepared is None:
                        prepared = _prepare(port, rows, groups)
                        # Fresh statistics, as a long-running server would have: without them the
                        # planner may walk the primary key instead of the `grp` index.
                        with psycopg.connect(url, autocommit=True) as conn:
                            conn.execute("ANALYZE")
                    headers, path = prepared
                    for clients in levels:
                        result = asyncio.run(_load(port, headers, path, clients, seconds, groups))
                        results.append((f"{candidate.name}, {clients} clients", result))
                        print(
                            f"   {clients:>3} clients: {result.rate:8.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                            f"p99 {result.p99_ms:6.2f} ms",
                            file=sys.stderr,
                        )
        finally:
            pg.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    what = "GET /health" if os.environ.get("ASGI_BENCH_TARGET") == "health" else "filtered GET (grp=eq:<g>&limit=50)"
    print(f"\n{what}, {rows} rows, {seconds:g}s per level, {os.cpu_count()} CPUs shared")
    print(f"{'server':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, outcome in results:
        if isinstance(outcome, str):
            print(f"{name:<44} {outcome}")
        else:
            print(f"{name:<44} {outcome.rate:8.0f} {outcome.p50_ms:8.2f} {outcome.p99_ms:8.2f}")
    return 0


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    raise SystemExit(main())
