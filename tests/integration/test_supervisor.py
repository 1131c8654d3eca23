"""`python -m datainfra` as an operator runs it (`make run`): a supervisor that starts the local
stores (a real embedded PostgreSQL and a real local Neo4j, in a temporary DATAINFRA_DATA_DIR),
serves through supervised workers, replaces a worker that crashes, leaves no worker behind when it
is killed outright, starts again over what a killed run left, and stops every store on SIGTERM.
It says "serving on" only once the port accepts connections; a second start on the data dir of a
running one, and a start on a busy port, are refused at once in one line, before any store starts.

One test walks the whole life cycle, so Neo4j starts only twice (about a minute on a loaded box); the
busy-port test starts no store and runs in the fast loop."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from datainfra.local_stores.neo4j_runtime import java_available

ROOT = Path(__file__).resolve().parents[2]
START_S = 240
"""A cold start of both stores on a loaded 2-core machine (Neo4j alone takes 20-60 s)."""
RECOVER_S = 20
"""A crashed worker is replaced (uvicorn checks every 0.5 s) and its app started."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (fields[0], int(fields[1])) if fields[0] != "Z" else None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def workers_of(supervisor: int) -> list[int]:
    return [
        pid
        for pid in _pids()
        if (st := _stat(pid)) is not None and st[1] == supervisor and "spawn_main" in _cmdline(pid)
    ]


def store_processes(data_dir: Path) -> list[str]:
    """Every live postgres process running in, and every JVM started on, this data dir."""
    found = []
    for pid in _pids():
        if _stat(pid) is None:
            continue
        line = _cmdline(pid)
        with contextlib.suppress(OSError):
            if line.startswith("postgres") and Path(os.readlink(f"/proc/{pid}/cwd")).is_relative_to(data_dir):
                found.append(f"{pid} {line[:80]}")
                continue
        if "CommunityEntryPoint" in line and f"--home-dir={data_dir}" in line:
            found.append(f"{pid} neo4j")
    return found


def _wait_until(check: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if check():
                return
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {seconds}s\n{log.read_text(errors='replace')[-4000:]}")


REFUSE_S = 15
"""A refused start (busy port, data dir in use) ends within this, having started no store."""
SERVING = "datainfra: serving on"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Run:
    def __init__(self, tmp: Path, port: int, log_name: str = "api.log") -> None:
        self.tmp, self.port = tmp, port
        self.api = f"http://127.0.0.1:{port}"
        self.log = tmp / log_name
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "DATAINFRA_PORT": str(port),
            "DATAINFRA_DATA_DIR": str(tmp / "data"),
            "DATAINFRA_WORKERS": "2",
            "DATAINFRA_SHUTDOWN_TIMEOUT_S": "5",
        }
        for name in ("DATAINFRA_DATABASE_URL", "DATAINFRA_NEO4J_URI", "DATAINFRA_NEO4J_PASSWORD"):
            env.pop(name, None)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "datainfra"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp
            )

    def ready(self) -> bool:
        return httpx.get(self.api + "/ready", timeout=5).status_code == 200

    def serves(self, key: str) -> bool:
        """A request through the catalog and a user's tables: the whole stack, not just /health."""
        return httpx.get(self.api + "/sessions", headers={"X-API-Key": key}, timeout=5).status_code == 200

    def wait_ready(self) -> None:
        _wait_until(self.ready, START_S, "the API and both stores are ready", self.log)

    def wait_serving_announced(self) -> None:
        """Watch the output until it says "serving on"; at that moment the port must already accept."""
        deadline = time.monotonic() + START_S
        while SERVING not in self.log.read_text(errors="replace"):
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, f"no {SERVING!r} within {START_S}s"
            time.sleep(0.05)
        assert _accepts(self.port), "'serving on' was said before the port accepted connections"

    def refused(self) -> str:
        """The output of a start that must end at once, non-zero, in one line without a traceback."""
        try:
            code = self.process.wait(REFUSE_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {REFUSE_S}s:\n{self.log.read_text()[-4000:]}") from None
        output = self.log.read_text(errors="replace")
        assert code != 0, output
        assert "Traceback" not in output and len(output.strip().splitlines()) == 1, output
        return output.strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="datainfra-supervisor-"))
    try:
        yield path
    finally:
        # Whatever a failed assertion left: stop it so the machine is not littered with servers.
        for entry in store_processes(path / "data"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(entry.split()[0]), signal.SIGKILL)
        shutil.rmtree(path, ignore_errors=True)


def test_a_busy_port_is_refused_in_one_line_before_any_store_starts(tmp: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        run = Run(tmp, port)
        try:
            line = run.refused()
        finally:
            run.stop()
    assert time.monotonic() - started < REFUSE_S
    assert f"port {port}" in line and "in use" in line and "set DATAINFRA_PORT" in line, line
    assert store_processes(tmp / "data") == []
    assert not (tmp / "data" / "postgres").exists() and not (tmp / "data" / "neo4j").exists()


@pytest.mark.postgres
@pytest.mark.neo4j
@pytest.mark.timeout(900)
def test_the_supervisor_keeps_the_service_up_and_leaves_no_store_behind(tmp: Path) -> None:
    if not java_available():
        pytest.skip("no Java 17 for a local Neo4j")
    port = _free_port()
    first = Run(tmp, port)
    try:
        first.wait_serving_announced()
        first.wait_ready()

        # `make run` again, same data dir and port: one line naming the running one, not the port.
        again = Run(tmp, port, "again.log")
        try:
            line = again.refused()
        finally:
            again.stop()
        assert f"the data dir {tmp / 'data'} is in use by process {first.process.pid} (started " in line, line
        assert "DATAINFRA_DATA_DIR" in line, line
        assert first.ready(), "the refused start left the running one alone"

        key = httpx.post(first.api + "/users", timeout=10).json()["api_key"]
        assert first.serves(key)
        assert store_processes(tmp / "data"), "the supervisor started the local stores"

        # A worker dies as a segfault in a C extension would: it is replaced, the stores live on.
        workers = workers_of(first.process.pid)
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGSEGV)
        _wait_until(lambda: first.serves(key), RECOVER_S, "the API serves after a worker crash", first.log)
        _wait_until(
            lambda: len(set(workers_of(first.process.pid)) - {workers[0]}) == 2,
            RECOVER_S,
            "the dead worker is replaced",
            first.log,
        )
        survivors = workers_of(first.process.pid)

        # The supervisor is killed outright: no worker keeps the port (the stores are left to the next start).
        first.process.kill()
        first.process.wait(10)
        _wait_until(
            lambda: not any(_stat(pid) for pid in survivors), 10, "the workers die with the supervisor", first.log
        )
    finally:
        first.stop()

    # The next start clears the stores the killed run left (a live postmaster, a JVM on the data dir).
    second = Run(tmp, port)
    try:
        second.wait_ready()
        assert second.serves(key), "the data of the first run is still there"

        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(90) == 0
        assert store_processes(tmp / "data") == []
    finally:
        second.stop()
