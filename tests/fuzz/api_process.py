"""The API as a client meets it: `python -m datainfra` in its own process (uvicorn, httptools, the
production container and its resources), on a fresh database of the test run's PostgreSQL and on the
test run's Neo4j. A crash of the server shows as a dead process, not as a dead test runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from psycopg import sql

START_TIMEOUT_S = 90.0


@dataclass(frozen=True, slots=True)
class RunningApi:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A database of its own on the test server (its own catalog schema, no clash with other tests),
    dropped afterwards with whatever the run left in it."""
    name = f"fuzz_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(server_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def running_api(
    database_url: str, neo4j: Any, workdir: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[RunningApi]:
    """Start the API process (`extra_env` added to its environment) and wait until /ready answers
    200; stop it (SIGTERM, then SIGKILL)."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH")) if p
        ),
        "DATAINFRA_HOST": "127.0.0.1",
        "DATAINFRA_PORT": str(port),
        "DATAINFRA_DATA_DIR": str(workdir / "data"),
        "DATAINFRA_DATABASE_URL": database_url,
        "DATAINFRA_NEO4J_URI": neo4j.uri,
        "DATAINFRA_NEO4J_USER": neo4j.user,
        "DATAINFRA_NEO4J_PASSWORD": neo4j.password,
        "DATAINFRA_LOCAL_STORES": "false",
        "DATAINFRA_LOG_FORMAT": "json",
        "DATAINFRA_SHUTDOWN_TIMEOUT_S": "5",
        **(extra_env or {}),
    }
    log_path = workdir / "api.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "datainfra"], env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    api = RunningApi(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_ready(api)
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(api: RunningApi) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not api.alive():
            raise AssertionError(f"the API process exited ({api.process.returncode}) at start:\n{api.log_tail()}")
        try:
            if requests.get(f"{api.base_url}/ready", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the API was not ready within {START_TIMEOUT_S:.0f} s:\n{api.log_tail()}")
