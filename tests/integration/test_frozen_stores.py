"""A store that stops answering mid-request (SIGSTOP: the process is alive, its kernel still
acknowledges TCP, but nothing answers) bounds every request by the client-side deadlines: 503/504
within the statement limit plus the grace, /ready within a second, and the service serves again
after SIGCONT. These tests start their OWN PostgreSQL and Neo4j (they freeze them) and run the API
as `python -m datainfra` against them with short time limits (statement 2 s, transaction 3 s, so
each store call is abandoned after 7 or 8 s)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from datainfra.local_stores.neo4j import LocalNeo4j
from datainfra.local_stores.neo4j_runtime import java_available
from datainfra.local_stores.postgres import EmbeddedPostgres

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

ROOT = Path(__file__).resolve().parents[2]
STATEMENT_S = 2
TRANSACTION_S = 3
GRACE_S = 5
CALL_BOUND_S = max(STATEMENT_S, TRANSACTION_S) + GRACE_S
"""Per store call: the server-side limit plus the client's grace."""
REQUEST_BOUND_S = 2 * CALL_BOUND_S + 5
"""A request makes a few store calls, the pool check and a pool wait (5 s) among them; generous for a
loaded 2-core machine, far below the freeze."""
FREEZE_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == pid:
                    found.append(int(entry.name))
    return found


@dataclass
class World:
    api: str
    postgres: EmbeddedPostgres
    neo4j: LocalNeo4j
    headers: dict[str, str]
    sid: str
    table: str
    graph: str

    def postgres_pids(self) -> list[int]:
        postmaster = int((self.postgres.pgdata / "postmaster.pid").read_text().split()[0])
        return [postmaster, *_children(postmaster)]

    @contextlib.contextmanager
    def frozen(self, pids: list[int]) -> Iterator[None]:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def url(self, path: str) -> str:
        return self.api + path


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    if not java_available():
        pytest.skip("no Java 17 for a local Neo4j")
    tmp = Path(tempfile.mkdtemp(prefix="datainfra-frozen-"))
    postgres = EmbeddedPostgres(tmp / "postgres", durable=False)
    neo4j = LocalNeo4j(tmp / "neo4j", heap="512m", pagecache="64m")
    api_process = None
    try:
        pg_url = postgres.start()
        endpoint = neo4j.start(timeout=180)
        port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "DATAINFRA_PORT": str(port),
            "DATAINFRA_DATA_DIR": str(tmp / "data"),
            "DATAINFRA_DATABASE_URL": pg_url,
            "DATAINFRA_NEO4J_URI": endpoint.uri,
            "DATAINFRA_NEO4J_USER": endpoint.user,
            "DATAINFRA_NEO4J_PASSWORD": endpoint.password,
            "DATAINFRA_PG_STATEMENT_TIMEOUT_MS": str(STATEMENT_S * 1000),
            "DATAINFRA_NEO4J_TX_TIMEOUT_S": str(TRANSACTION_S),
            "DATAINFRA_LOG_FORMAT": "json",
            "DATAINFRA_ACCESS_LOG": "false",
        }
        log = (tmp / "api.log").open("wb")
        api_process = subprocess.Popen([sys.executable, "-m", "datainfra"], env=env, stdout=log, stderr=log)
        api = f"http://127.0.0.1:{port}"
        _wait_until(lambda: httpx.get(api + "/ready", timeout=5).status_code == 200, 90, tmp / "api.log")
        yield _populate(api, postgres, neo4j)
    finally:
        if api_process is not None:
            api_process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                api_process.wait(30)
            if api_process.poll() is None:
                api_process.kill()
        neo4j.stop()
        postgres.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_until(check: Callable[[], bool], seconds: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if check():
                return
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"not within {seconds}s\n{tail}")


def _populate(api: str, postgres: EmbeddedPostgres, neo4j: LocalNeo4j) -> World:
    key = httpx.post(api + "/users", timeout=30).json()["api_key"]
    headers = {"X-API-Key": key}
    sid = httpx.post(api + "/sessions", json={"name": "frozen"}, headers=headers, timeout=30).json()["id"]
    table = httpx.post(
        f"{api}/sessions/{sid}/datasets",
        json={"name": "t", "kind": "tabular", "schema": {"columns": [{"name": "v", "type": "text"}]}},
        headers=headers,
        timeout=30,
    ).json()["id"]
    rows = "".join(f'{{"v": "row {i} {"x" * 40}"}}\n' for i in range(200_000))
    written = httpx.post(
        f"{api}/sessions/{sid}/datasets/{table}/records",
        content=rows.encode(),
        headers=headers | {"content-type": "application/x-ndjson"},
        timeout=120,
    )
    assert written.status_code == 201, written.text
    graph = httpx.post(
        f"{api}/sessions/{sid}/datasets",
        json={"name": "g", "kind": "graph", "schema": {}},
        headers=headers,
        timeout=60,
    ).json()["id"]
    nodes = {"nodes": [{"id": f"n{i}", "labels": ["P"], "properties": {}} for i in range(10)], "edges": []}
    # A cold JVM may need more than the short transaction limit for its first plans: warm it up.
    last: list[httpx.Response] = []

    def written_graph() -> bool:
        last[:] = [
            httpx.post(f"{api}/sessions/{sid}/datasets/{graph}/records", json=nodes, headers=headers, timeout=60)
        ]
        return last[0].status_code < 300 or last[0].status_code == 409  # 409: an earlier try did commit

    _wait_until(written_graph, 90)
    return World(api, postgres, neo4j, headers, sid, table, graph)


def _timed(call: Callable[[], httpx.Response]) -> tuple[int | str, float]:
    started = time.monotonic()
    try:
        status: int | str = call().status_code
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    return status, time.monotonic() - started


def _requests(world: World) -> dict[str, Callable[[], httpx.Response]]:
    h, sid = world.headers, world.sid
    long = FREEZE_S + 30  # the client would wait: only the service may end the request early
    return {
        "page": lambda: httpx.get(
            world.url(f"/sessions/{sid}/datasets/{world.table}/records?limit=5"), headers=h, timeout=long
        ),
        "sql": lambda: httpx.post(
            world.url(f"/sessions/{sid}/query"),
            json={"language": "sql", "query": "SELECT count(*) FROM t"},
            headers=h,
            timeout=long,
        ),
        "graph": lambda: httpx.get(
            world.url(f"/sessions/{sid}/datasets/{world.graph}/nodes?limit=5"), headers=h, timeout=long
        ),
        "cypher": lambda: httpx.post(
            world.url(f"/sessions/{sid}/query"),
            json={"language": "cypher", "dataset": "g", "query": "MATCH (n:P) RETURN count(n)"},
            headers=h,
            timeout=long,
        ),
    }


def _serves_again(world: World) -> None:
    def all_ok() -> bool:
        statuses = [call().status_code for call in _requests(world).values()]
        return all(s == 200 for s in statuses) and httpx.get(world.url("/ready"), timeout=5).status_code == 200

    _wait_until(all_ok, 60)


@pytest.mark.parametrize("store", ["postgres", "neo4j"])
def test_a_frozen_store_bounds_every_request_and_ready_answers_within_a_second(world: World, store: str) -> None:
    pids = world.postgres_pids() if store == "postgres" else [world.neo4j.pid or 0]
    affected = ["page", "sql", "graph", "cypher"] if store == "postgres" else ["graph", "cypher"]
    calls = _requests(world)
    with concurrent.futures.ThreadPoolExecutor(8) as pool, world.frozen(pids):
        time.sleep(0.5)
        futures = {name: pool.submit(_timed, calls[name]) for name in affected}
        # The probes come while those requests hang on the frozen store.
        time.sleep(1.0)
        probes = [_timed(lambda: httpx.get(world.url("/ready"), timeout=FREEZE_S)) for _ in range(3)]
        results = {name: f.result(timeout=FREEZE_S) for name, f in futures.items()}
    for status, elapsed in probes:
        assert status == 503 and elapsed < 1.5, probes
    for name, (status, elapsed) in results.items():
        assert status in (503, 504), (name, results)
        assert elapsed < REQUEST_BOUND_S, (name, results)
    _serves_again(world)


def test_an_export_stream_ends_when_postgres_stops_mid_stream(world: World) -> None:
    url = world.url(f"/sessions/{world.sid}/datasets/{world.table}/export?format=csv")
    received = 0
    ended_after: float | None = None
    with httpx.stream("GET", url, headers=world.headers, timeout=FREEZE_S) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()
        received += len(next(chunks))
        with world.frozen(world.postgres_pids()):
            frozen_at = time.monotonic()
            with contextlib.suppress(httpx.HTTPError):
                for chunk in chunks:
                    received += len(chunk)
                    time.sleep(0.001)
            ended_after = time.monotonic() - frozen_at
    assert ended_after is not None and ended_after < REQUEST_BOUND_S, ended_after
    assert received < 200_000 * 45, "the table fits in the socket buffers: the freeze was not mid-stream"
    _serves_again(world)


def _chunked_upload(world: World, freeze_after_rows: int) -> tuple[int, float]:
    """POST an endless NDJSON body (chunked), freezing PostgreSQL after `freeze_after_rows` rows;
    return the response status and how long after the freeze it came. A raw socket, so the client
    stops sending the moment the answer arrives (httpx would send its whole body first)."""
    port = int(world.api.rsplit(":", 1)[1])
    path = f"/sessions/{world.sid}/datasets/{world.table}/records"
    sock = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {world.headers['X-API-Key']}\r\n"
        "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    pending = head.encode()
    sock.setblocking(False)
    rows, frozen_at = 0, None
    deadline = time.monotonic() + FREEZE_S
    try:
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 0.5)
            if readable:
                break
            if writable:
                if not pending:
                    data = "".join(f'{{"v": "up {rows + j} {"y" * 60}"}}\n' for j in range(1_000)).encode()
                    pending = f"{len(data):x}\r\n".encode() + data + b"\r\n"
                    rows += 1_000
                    if rows == freeze_after_rows:
                        for pid in world.postgres_pids():
                            os.kill(pid, signal.SIGSTOP)
                        frozen_at = time.monotonic()
                with contextlib.suppress(BlockingIOError):
                    pending = pending[sock.send(pending) :]
        assert frozen_at is not None, "the server stopped reading before the freeze"
        answered_after = time.monotonic() - frozen_at
        sock.setblocking(True)
        sock.settimeout(10)
        first_line = sock.recv(4096).split(b"\r\n", 1)[0].decode()
    finally:
        sock.close()
    return int(first_line.split()[1]) if first_line else 0, answered_after


def test_an_upload_ends_when_postgres_stops_mid_copy(world: World) -> None:
    try:
        status, answered_after = _chunked_upload(world, freeze_after_rows=30_000)
    finally:
        for pid in world.postgres_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert status in (503, 504), status
    assert answered_after < REQUEST_BOUND_S, answered_after
    _serves_again(world)
