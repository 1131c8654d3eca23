"""The real API (`python -m datainfra`) as a separate process on a free loopback port, pointed at
the run's stores; optionally under cProfile (BENCH_PROFILE) to see where a request's time goes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.servers import Servers
from datainfra.local_stores.process import free_port, log_tail

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


class ApiProcessError(RuntimeError):
    """The API process did not start, or died."""


@dataclass(frozen=True, slots=True)
class Api:
    base_url: str
    api_key: str
    pid: int
    """The supervisor (`python -m datainfra`); its workers serve the requests."""
    log_path: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    def worker_pids(self) -> list[int]:
        """The serving processes now (a replaced worker has a new pid)."""
        return workers_of(self.pid) or [self.pid]


@contextlib.contextmanager
def api_process(servers: Servers, *, profile_path: Path | None = None, workers: int | None = None) -> Iterator[Api]:
    """`python -m datainfra` on the run's stores, with `workers` workers (None: its default, one per core).
    Without a Neo4j (it failed to start) the API points at an address nobody listens on: graph routes 503."""
    port = free_port()
    log_path = servers.work_dir / "api.log"
    neo4j = servers.neo4j
    env = os.environ | {
        "DATAINFRA_HOST": "127.0.0.1",
        "DATAINFRA_PORT": str(port),
        "DATAINFRA_DATABASE_URL": servers.postgres_url,
        "DATAINFRA_NEO4J_URI": neo4j.uri if neo4j is not None else "bolt://127.0.0.1:9",
        "DATAINFRA_NEO4J_USER": neo4j.user if neo4j is not None else "neo4j",
        "DATAINFRA_NEO4J_PASSWORD": neo4j.password if neo4j is not None else "unused",
        "DATAINFRA_LOG_LEVEL": "WARNING",
        "DATAINFRA_DATA_DIR": str(servers.work_dir / "api-data"),
    }
    env.pop("ALLOWED_KEYS", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if workers is not None:
        env["DATAINFRA_WORKERS"] = str(workers)
    command = [sys.executable]
    if profile_path is not None:
        command += ["-m", "cProfile", "-o", str(profile_path)]
    command += ["-m", "datainfra"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_ready(process, base_url, log_path)
        response = httpx.post(f"{base_url}/users", timeout=30.0)
        if response.status_code != 201:
            raise ApiProcessError(f"POST /users answered {response.status_code}: {response.text}")
        yield Api(base_url=base_url, api_key=response.json()["api_key"], pid=process.pid, log_path=log_path)
        if process.poll() is not None:
            raise ApiProcessError(
                f"the API process exited during the run (code {process.returncode})\n{_log_end(log_path)}"
            )
    finally:
        _stop(process)


def workers_of(supervisor: int) -> list[int]:
    """The serving processes: `python -m datainfra` is a supervisor whose workers (spawned
    multiprocessing children) serve the requests, so their RSS is the one to measure."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == supervisor and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ApiProcessError(
                f"the API process exited at start-up (code {process.returncode})\n{_log_end(log_path)}"
            )
        try:
            response = httpx.get(f"{base_url}/ready", timeout=5.0)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    raise ApiProcessError(f"the API was not ready within {READY_TIMEOUT_S:.0f}s ({last})\n{_log_end(log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn shuts down cleanly, so a profile gets written), then SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10.0)


def _log_end(path: Path) -> str:
    return log_tail(path, lines=30, max_bytes=64 * 1024)
