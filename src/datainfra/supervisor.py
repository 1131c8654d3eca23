"""The process `python -m datainfra` runs: it owns the locally started stores and the workers.

It starts the local stores itself (an embedded PostgreSQL when DATAINFRA_DATABASE_URL is unset, a
local Neo4j when DATAINFRA_NEO4J_URI is unset and Java is there), hands their URLs and credentials
to the serving processes through the environment, and runs uvicorn's own `Multiprocess` supervisor
even for one worker: a worker that dies (a segfault in a C extension, an OOM kill) is replaced
within about a second, and the stores, owned here, live on. On SIGINT/SIGTERM the workers stop first
(finishing in-flight requests within DATAINFRA_SHUTDOWN_TIMEOUT_S), then the stores. The workers
(by default one per core) share one metrics directory (prometheus_client's multiprocess mode), so
`/metrics` counts every worker's requests whichever worker answers it.

If this process is killed outright (SIGKILL), each worker gets SIGTERM from the kernel
(PR_SET_PDEATHSIG, set in the worker by `die_with_parent`), so none keeps the port; the stores are
left running and the next start stops and restarts them (every datainfra.local_stores store clears a
server left on its data dir).

Before any store starts it claims the data dir (a second run on it is refused with one line naming
the first) and binds the port (a busy port is refused with one line saying to set DATAINFRA_PORT):
both are cheap to check and a store start is not. The port is bound here and handed to the workers,
so nothing takes it while the stores start, and clients are refused, not left waiting, until a
worker listens; the "serving" announcement waits for the port to accept a connection."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import structlog

from datainfra.config import Settings
from datainfra.local_stores.process import FileLock

log = structlog.get_logger("datainfra.supervisor")

_PR_SET_PDEATHSIG = 1
_PROBE_INTERVAL_S = 0.1
DATA_DIR_LOCK = "datainfra.lock"
"""The file in DATAINFRA_DATA_DIR that the running supervisor holds locked (its pid and start inside)."""


class StartRefused(Exception):
    """The service cannot start for a reason the user can fix; the message is one line saying how."""


def uses_data_dir(settings: Settings) -> bool:
    """Whether this run starts a local store, and so keeps files in the data dir."""
    return settings.local_stores and (not settings.database_url or not settings.neo4j_uri)


@contextlib.contextmanager
def data_dir_claimed(data_dir: Path) -> Iterator[None]:
    """Hold the data dir for this process, or refuse at once naming the process that holds it."""
    where = data_dir.expanduser().absolute()
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartRefused(f"cannot create the data dir {where}: {exc.strerror}; set DATAINFRA_DATA_DIR") from None
    lock = FileLock(where / DATA_DIR_LOCK)
    if not lock.acquire():
        owner = lock.owner()
        holder = str(owner) if owner is not None else "another process"
        raise StartRefused(f"the data dir {where} is in use by {holder}; stop it or set DATAINFRA_DATA_DIR")
    try:
        yield
    finally:
        lock.release()


def bound_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound but not yet listening (uvicorn's own binding, done before the stores
    start so a busy port is found first). The workers inherit it and listen on it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartRefused(
                f"port {port} on {host} is in use by another program; set DATAINFRA_PORT to a free port"
            ) from None
        raise StartRefused(
            f"cannot listen on {host}:{port}: {exc.strerror}; check DATAINFRA_HOST and DATAINFRA_PORT"
        ) from None
    sock.set_inheritable(True)
    return sock


def _probe_address(host: str, port: int) -> tuple[str, int]:
    """Where a local client reaches a server bound to `host` (a wildcard is reached on loopback)."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
    return wildcard.get(host, host), port


def accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection(_probe_address(host, port), timeout=1.0):
            return True
    except OSError:
        return False


def announce_when_serving(host: str, port: int, announce: Callable[[], None]) -> Callable[[], None]:
    """Call `announce` (once) in a background thread as soon as the port accepts connections, i.e. a
    worker has started its app and listens. Returns how to give up waiting (when the run ends first)."""
    stopped = threading.Event()

    def wait() -> None:
        while not stopped.is_set():
            if accepts_connections(host, port):
                announce()
                return
            stopped.wait(_PROBE_INTERVAL_S)

    threading.Thread(target=wait, name="datainfra-serving-probe", daemon=True).start()
    return stopped.set


@contextlib.contextmanager
def local_stores(settings: Settings) -> Iterator[dict[str, str]]:
    """Start the stores this process must run; yield the environment that points workers at them.
    Stops them (Neo4j, then PostgreSQL) on the way out, whatever ended the block."""
    env: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if settings.local_stores and not settings.database_url:
            from datainfra.local_stores.postgres import EmbeddedPostgres

            data_dir = (settings.data_dir / "postgres").resolve()
            postgres = EmbeddedPostgres(data_dir)
            stack.callback(_stopped, postgres.stop, "postgres_embedded_stopped")
            env["DATAINFRA_DATABASE_URL"] = postgres.start()
            log.info("postgres_embedded_started", data_dir=str(data_dir), port=postgres.port)
        if settings.local_stores and not settings.neo4j_uri:
            from datainfra.local_stores.neo4j import LocalNeo4j
            from datainfra.local_stores.neo4j_runtime import java_available

            if java_available():
                data_dir = (settings.data_dir / "neo4j").resolve()
                neo4j = LocalNeo4j(data_dir)
                stack.callback(_stopped, neo4j.stop, "neo4j_local_stopped")
                endpoint = neo4j.start()
                env |= {
                    "DATAINFRA_NEO4J_URI": endpoint.uri,
                    "DATAINFRA_NEO4J_USER": endpoint.user,
                    "DATAINFRA_NEO4J_PASSWORD": endpoint.password,
                }
                log.info("neo4j_local_started", data_dir=str(data_dir), uri=endpoint.uri)
            # Without Java the workers find none either and serve the graph routes as 503.
        yield env


METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own switch: set in a process's environment before it imports the library, its
metric values live in files there (one per process), which `/metrics` sums over every worker."""


@contextlib.contextmanager
def metrics_dir(settings: Settings, *, data_dir_claimed: bool = False) -> Iterator[Path]:
    """The run's shared metrics directory, empty of values at start: the operator's
    PROMETHEUS_MULTIPROC_DIR, else `<data dir>/metrics` when this run holds the data dir (so a killed
    run leaves nothing elsewhere), both wiped of an earlier run's value files and kept afterwards; else
    a fresh temporary directory, removed at the end. A stale value file would add another run's counts
    to this run's."""
    if settings.metrics_dir is not None or data_dir_claimed:
        chosen = settings.metrics_dir if settings.metrics_dir is not None else settings.data_dir / "metrics"
        where = chosen.expanduser().absolute()
        try:
            where.mkdir(parents=True, exist_ok=True)
            for stale in where.glob("*.db"):
                stale.unlink()
        except OSError as exc:
            raise StartRefused(
                f"cannot prepare the metrics dir {where}: {exc.strerror}; set {METRICS_DIR_ENV} to a writable directory"
            ) from None
        yield where
        return
    where = Path(tempfile.mkdtemp(prefix="datainfra-metrics-"))
    try:
        yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _stopped(stop: Any, event: str) -> None:
    stop()
    log.info(event)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def supervise(
    settings: Settings, app: str, options: dict[str, Any], on_serving: Callable[[], None] = lambda: None
) -> int:
    """Claim the data dir, bind the port, start the local stores, serve `app` with `options` in
    supervised workers (calling `on_serving` once the port accepts connections), stop everything.
    Raises :class:`StartRefused` when the data dir or the port is taken, before any store starts."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from datainfra.logs import configure_logging

    configure_logging(json_lines=settings.log_format == "json", level=settings.log_level)
    # Until the workers run, SIGTERM/SIGINT unwind the start (stopping whatever store started).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_on_signal)
    with contextlib.ExitStack() as stack:
        # The data dir first: a second run on it usually has the same port too, and "it is in use
        # by process N" says more than "the port is taken".
        claimed = uses_data_dir(settings)
        if claimed:
            stack.enter_context(data_dir_claimed(settings.data_dir))
        sock = stack.enter_context(bound_socket(settings.host, settings.port))
        shared_metrics = stack.enter_context(metrics_dir(settings, data_dir_claimed=claimed))
        env = stack.enter_context(local_stores(settings))
        env[METRICS_DIR_ENV] = str(shared_metrics)
        os.environ.update(env)  # the workers are spawned with this environment
        config = uvicorn.Config(app, **options)
        supervisor = Multiprocess(config, sockets=[sock])  # takes over SIGINT/SIGTERM
        stack.callback(announce_when_serving(settings.host, settings.port, on_serving))
        supervisor.run()
    return 0


def die_with_parent() -> None:
    """In a worker: be sent SIGTERM when the supervisor dies, even by SIGKILL (Linux), so no worker
    outlives it holding the port and the stores' connections."""
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return  # not a supervised worker (e.g. the app run by another ASGI server)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent.pid:  # the supervisor died before the call
        os.kill(os.getpid(), signal.SIGTERM)
