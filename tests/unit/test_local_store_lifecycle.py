"""The one lifecycle of the locally started stores (datainfra.local_stores.process), without a server:
a stand-in store whose "server" is nothing at all, and stand-in processes for the stop escalation.
The real stores' own checks are tests/integration/test_embedded_postgres.py and test_local_neo4j.py."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pytest

from datainfra.local_stores.process import (
    FileLock,
    LocalServerError,
    LocalStore,
    end_processes,
    locked,
    stop_child,
)


class _StandInError(LocalServerError):
    pass


class _StandInStore(LocalStore[str]):
    """Records the lifecycle's calls; `taken_ports` launches fail as if another process had the port."""

    description: ClassVar[str] = "the stand-in store"
    error: ClassVar[type[LocalServerError]] = _StandInError
    probe_interval: ClassVar[float] = 0.01

    def __init__(self, data_dir: Path, *, port: int | None = None, taken_ports: int = 0, ready: bool = True) -> None:
        super().__init__(data_dir, port=port, stop_timeout=1.0)
        self.calls: list[str] = []
        self.taken_ports = taken_ports
        self.ready = ready
        self.bind_failed = False

    def start(self) -> str:
        return self._start(0.05)

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.calls.append("prepare")

    def _clear_leftover_server(self) -> None:
        self.calls.append("clear")

    def _initialise(self) -> None:
        self.calls.append("initialise")

    def _address_on(self, port: int) -> str:
        return f"stand-in://127.0.0.1:{port}"

    def _launch(self, port: int) -> None:
        self.calls.append("launch")
        self.bind_failed = self.taken_ports > 0
        if self.bind_failed:
            self.taken_ports -= 1
            raise _StandInError("could not bind")

    def _probe(self, address: str) -> str | None:
        return None if self.ready else "not yet"

    def _not_ready(self, address: str, timeout: float, last_error: str | None) -> LocalServerError:
        return _StandInError(f"not ready on {address} ({last_error})")

    def _port_was_taken(self) -> bool:
        return self.bind_failed

    def _abort(self) -> None:
        self.calls.append("abort")

    def _shut_down(self) -> None:
        self.calls.append("shut down")


def test_a_start_runs_the_steps_in_order_and_stop_is_idempotent(tmp_path: Path) -> None:
    store = _StandInStore(tmp_path / "store")
    store.stop()  # never started
    address = store.start()
    assert store.start() == address
    assert address == f"stand-in://127.0.0.1:{store.port}"
    assert store.calls == ["prepare", "clear", "initialise", "launch"]
    store.stop()
    store.stop()
    assert store.calls[-1] == "shut down"
    with pytest.raises(_StandInError, match="is not started"):
        _ = store.port


def test_a_second_store_on_a_running_data_dir_is_refused_until_the_first_stops(tmp_path: Path) -> None:
    with _StandInStore(tmp_path / "store"):
        second = _StandInStore(tmp_path / "store")
        with pytest.raises(_StandInError, match="already run by another _StandInStore"):
            second.start()
        assert second.calls == ["prepare"]  # refused before touching anything
    with _StandInStore(tmp_path / "store") as third:
        assert third.port > 0


def test_a_taken_port_is_retried_on_another_but_a_requested_port_is_not(tmp_path: Path) -> None:
    store = _StandInStore(tmp_path / "store", taken_ports=2)
    store.start()
    assert store.calls.count("launch") == 3
    store.stop()
    fixed = _StandInStore(tmp_path / "fixed", port=5999, taken_ports=1)
    with pytest.raises(_StandInError, match="could not bind"):
        fixed.start()
    assert fixed.calls[-1] == "abort"


def test_a_store_that_never_gets_ready_is_aborted_and_lets_the_data_dir_go(tmp_path: Path) -> None:
    store = _StandInStore(tmp_path / "store", ready=False)
    with pytest.raises(_StandInError, match="not ready on stand-in://"):
        store.start()
    assert store.calls.count("launch") == 1, "a server that is not ready is not retried on another port"
    assert store.calls[-1] == "abort"
    with _StandInStore(tmp_path / "store"):
        pass


def test_one_file_lock_holder_at_a_time(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / ".lock"), FileLock(tmp_path / ".lock")
    assert first.acquire() and first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire(wait=True)
    second.release()
    with locked(tmp_path / ".lock"):
        assert not FileLock(tmp_path / ".lock").acquire()


def _child(ignore_sigterm: bool) -> subprocess.Popen[bytes]:
    code = "import signal, time\n"
    if ignore_sigterm:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('ready', flush=True)\ntime.sleep(60)\n"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    return child


def test_stop_escalates_to_sigkill_only_for_a_process_that_ignores_sigterm() -> None:
    polite, stubborn = _child(ignore_sigterm=False), _child(ignore_sigterm=True)
    assert stop_child(polite, 5.0) is True
    assert polite.returncode == -signal.SIGTERM
    started = time.monotonic()
    assert stop_child(stubborn, 0.3) is False
    assert stubborn.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_end_processes_waits_without_signalling_when_the_first_step_sends_none() -> None:
    child = _child(ignore_sigterm=False)
    running = lambda: [] if child.poll() is not None else [child.pid]  # noqa: E731
    assert end_processes(running, [(None, 0.2), (signal.SIGKILL, 5.0)]) is False
    assert child.returncode == -signal.SIGKILL
