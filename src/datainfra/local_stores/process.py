"""The one lifecycle of a locally started store (embedded PostgreSQL, local Neo4j).

Both run a server process on files of a data dir dedicated to it, so both need the same things, and
they get them from here rather than from copies of their own: one owner per data dir (:class:`FileLock`),
a free loopback port (retried when another process takes it first), a readiness wait, the clean-up of a
server left running by an owner that was killed (:func:`processes_where`, :func:`end_processes`), a
stop that escalates from a polite signal to SIGKILL, and errors that carry the tail of the server's log.
:class:`LocalStore` strings these together; a specialisation supplies only what differs (how to
prepare and launch its server, what "ready" means, which processes are its leftovers)."""

from __future__ import annotations

import abc
import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Final, Generic, Self, TypeVar

__all__ = [
    "FileLock",
    "LocalServerError",
    "LocalStore",
    "LockOwner",
    "end_processes",
    "free_port",
    "is_alive",
    "is_zombie",
    "locked",
    "log_tail",
    "processes_where",
    "read_from",
    "read_pid_file",
    "stop_child",
]

_POLL_S: Final = 0.05

# -- logs and errors ------------------------------------------------------------------------------


def log_tail(path: Path, lines: int, max_bytes: int) -> str:
    """The last `lines` lines within the last `max_bytes` of a log ("" when it cannot be read)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def read_from(path: Path, offset: int) -> str:
    """What a log holds from `offset` on ("" when it cannot be read): the lines of this run only."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


class LocalServerError(RuntimeError):
    """Starting, initialising or stopping a locally run server failed; the message ends with the
    tail of its log when there is one."""

    tail_lines = 20
    tail_bytes = 8192

    def __init__(self, what: str, *, log_path: Path | None = None, detail: str = "") -> None:
        message = what
        if detail:
            message += f"\n{detail.rstrip()}"
        if log_path is not None:
            message += f"\nServer log: {log_path}"
            tail = log_tail(log_path, self.tail_lines, self.tail_bytes)
            if tail:
                message += f"\nLast lines of the server log:\n{tail}"
        super().__init__(message)
        self.log_path = log_path


# -- ports and locks ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class LockOwner:
    """Who holds a :class:`FileLock`: what a refused second owner tells its user."""

    pid: int
    since: str
    """When the holder took the lock, RFC 3339 UTC (seconds)."""

    def __str__(self) -> str:
        return f"process {self.pid} (started {self.since})"


class FileLock:
    """An exclusive flock on a file: one server object per data dir, in this or any other process (a
    second one fails at once instead of fighting over the files), or one writer of a shared cache.
    The holder writes its pid and the time into the file, so a refused one can name it (:meth:`owner`);
    the kernel drops the lock when the holder dies, however it dies, so a stale file never blocks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, wait: bool = False) -> bool:
        """True when the lock is now held (or already was); False when someone else holds it and
        `wait` is False (with `wait`, block until they let go)."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._record_owner(fd)
        return True

    @staticmethod
    def _record_owner(fd: int) -> None:
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with contextlib.suppress(OSError):  # only a courtesy to a refused owner
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n{since}\n".encode(), 0)

    def owner(self) -> LockOwner | None:
        """The live process that holds the lock as its file records it; None when unknown (no
        record yet, or the recorded process is gone: the holder has not written its own yet)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return None
        if len(lines) < 2 or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        if pid <= 0 or not is_alive(pid):
            return None
        return LockOwner(pid, lines[1].strip())

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the :class:`FileLock` on `path` for the block, waiting for it if another holds it."""
    lock = FileLock(path)
    lock.acquire(wait=True)
    try:
        yield
    finally:
        lock.release()


# -- processes ------------------------------------------------------------------------------------


def read_pid_file(path: Path) -> int | None:
    """The positive process id on the first line of a pid file, or None (no file, no number)."""
    try:
        first = path.read_text(encoding="utf-8").split("\n", 1)[0].strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    try:
        pid = int(first)
    except ValueError:
        return None
    return pid if pid > 0 else None


def is_zombie(pid: int) -> bool:
    """Whether `pid` has exited and waits to be reaped (Linux /proc; False elsewhere)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    try:
        return stat_line.rsplit(")", 1)[1].split()[0] == "Z"
    except IndexError:
        return False


def is_alive(pid: int) -> bool:
    """Whether `pid` names a process that has not exited (a zombie has)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, but someone else's
    return not is_zombie(pid)


def processes_where(matches: Callable[[int], bool]) -> list[int]:
    """Live processes for which `matches(pid)` holds, found through Linux /proc ([] elsewhere): how a
    server left by a killed owner is found even when no pid file names it."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    return [int(entry.name) for entry in proc.iterdir() if entry.name.isdigit() and matches(int(entry.name))]


def _send(pid: int, sig: signal.Signals, *, group: bool) -> None:
    """Signal `pid`, or its whole process group when `group` and it leads one."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def end_processes(
    running: Callable[[], Sequence[int]],
    steps: Sequence[tuple[signal.Signals | None, float]],
    *,
    group: bool = False,
) -> bool:
    """The one stop escalation: for each (signal, grace) step, send the signal (None: send nothing,
    only wait) to every process `running()` still lists, then wait up to `grace` seconds for the list
    to empty. True when the processes were gone by the end of the first step (a clean stop)."""
    for number, (sig, grace) in enumerate(steps):
        pids = running()
        if not pids:
            return number == 0
        if sig is not None:
            for pid in pids:
                _send(pid, sig, group=group)
        deadline = time.monotonic() + grace
        while running():
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_S)
        else:
            return number == 0
    return False


def stop_child(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Stop a server this process started in its own session: SIGTERM to its group, up to `timeout`
    seconds to exit, then SIGKILL. True when it exited within `timeout`."""
    return end_processes(
        lambda: [] if process.poll() is not None else [process.pid],
        [(signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)],
        group=True,
    )


# -- the lifecycle --------------------------------------------------------------------------------

AddressT = TypeVar("AddressT")


class LocalStore(abc.ABC, Generic[AddressT]):
    """One server whose files all live in ``data_dir``, owned by this object while it runs.

    ``_start`` holds the data dir's lock (a second live object on it, in any process, is refused),
    clears a server left there by an owner that died without stopping it, initialises the store on
    first use, then launches the server on a free port (up to ``_PORT_ATTEMPTS`` ports when another
    process takes one first) and waits until it is ready. ``stop`` shuts it down and lets the lock go.
    Both are idempotent. Usable as a context manager.
    """

    description: ClassVar[str]
    """How errors name the store, e.g. "the local Neo4j"."""
    error: ClassVar[type[LocalServerError]]
    """The error a start or stop failure raises."""
    probe_interval: ClassVar[float] = 0.1

    _LOCK: Final = ".lock"
    _PORT_ATTEMPTS: Final = 3

    def __init__(self, data_dir: Path, *, port: int | None, stop_timeout: float) -> None:
        self.data_dir: Final = Path(data_dir).expanduser().absolute()
        self.stop_timeout: Final = stop_timeout
        self._requested_port = port
        self._port: int | None = None
        self._address: AddressT | None = None
        self._lock = FileLock(self.data_dir / self._LOCK)

    # -- what a specialisation supplies ---------------------------------------------------------------

    @abc.abstractmethod
    def _prepare(self) -> None:
        """Before the lock: find the programs, make the data dir (raise when they are missing)."""

    @abc.abstractmethod
    def _clear_leftover_server(self) -> None:
        """Under the lock: stop a server of this data dir whose owner died without stopping it."""

    @abc.abstractmethod
    def _initialise(self) -> None:
        """Under the lock: first-use set-up (cluster, password) and what every start reads."""

    @abc.abstractmethod
    def _address_on(self, port: int) -> AddressT:
        """How clients reach the server on `port`."""

    @abc.abstractmethod
    def _launch(self, port: int) -> None:
        """Write the configuration for `port` and start the server process (raise if it fails)."""

    @abc.abstractmethod
    def _probe(self, address: AddressT) -> str | None:
        """None once the server answers at `address`; else why not yet. Raise if it never will."""

    @abc.abstractmethod
    def _not_ready(self, address: AddressT, timeout: float, last_error: str | None) -> LocalServerError:
        """The error for a server that did not get ready within `timeout` seconds."""

    @abc.abstractmethod
    def _port_was_taken(self) -> bool:
        """After a failed launch: whether the server's log says another process had the port."""

    @abc.abstractmethod
    def _abort(self) -> None:
        """Stop a server whose start failed (quickly; no clean shutdown needed)."""

    @abc.abstractmethod
    def _shut_down(self) -> None:
        """Stop the running server cleanly, escalating when it does not exit in time."""

    # -- the lifecycle ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the server listens on; only while started."""
        if self._port is None:
            raise self._not_started()
        return self._port

    def _started_address(self) -> AddressT:
        if self._address is None:
            raise self._not_started()
        return self._address

    def _not_started(self) -> LocalServerError:
        return self.error(f"{self.description} in {self.data_dir} is not started")

    def _start(self, timeout: float) -> AddressT:
        if self._address is not None:
            return self._address
        self._prepare()
        if not self._lock.acquire():
            owner = self._lock.owner()
            holder = str(owner) if owner is not None else "this or another process"
            raise self.error(
                f"{self.description} in {self.data_dir} is already run by another {type(self).__name__} "
                f"({holder} holds {self._lock.path})"
            )
        try:
            self._clear_leftover_server()
            self._initialise()
            self._address = self._launch_on_a_free_port(timeout)
        except BaseException:
            with contextlib.suppress(LocalServerError):
                self._abort()
            self._address = None
            self._port = None
            self._lock.release()
            raise
        return self._address

    def _launch_on_a_free_port(self, timeout: float) -> AddressT:
        attempts = 1 if self._requested_port is not None else self._PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._requested_port if self._requested_port is not None else free_port()
            address = self._address_on(port)
            try:
                self._launch(port)
                self._wait_until_ready(address, timeout)
            except LocalServerError:
                if attempt < attempts and self._port_was_taken():
                    self._abort()
                    continue
                raise
            self._port = port
            return address
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_until_ready(self, address: AddressT, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: str | None = None
        while True:
            last_error = self._probe(address)
            if last_error is None:
                return
            if time.monotonic() >= deadline:
                raise self._not_ready(address, timeout, last_error)
            time.sleep(self.probe_interval)

    def stop(self) -> None:
        """Stop the server (a clean shutdown, escalating to SIGKILL) and let the lock go. Idempotent."""
        try:
            if self._address is not None or self._lock.held:
                self._shut_down()
        finally:
            self._address = None
            self._port = None
            self._lock.release()

    @abc.abstractmethod
    def start(self) -> AddressT:
        """Start the server (see the class) and return how to reach it; a specialisation calls
        ``_start`` with its readiness timeout."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self._port}" if self._address is not None else "stopped"
        return f"{type(self).__name__}({str(self.data_dir)!r}, {state})"
