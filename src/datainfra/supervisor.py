"""The process `python -m datainfra` runs: it owns the locally started stores and the workers.

It starts the local stores itself (an embedded PostgreSQL when DATAINFRA_DATABASE_URL is unset, a
local Neo4j when DATAINFRA_NEO4J_URI is unset and Java is there), hands their URLs and credentials
to the serving processes through the environment, and runs uvicorn's own `Multiprocess` supervisor
even for one worker: a worker that dies (a segfault in a C extension, an OOM kill) is replaced
within about a second, and the stores, owned here, live on. On SIGINT/SIGTERM the workers stop first
(finishing in-flight requests within DATAINFRA_SHUTDOWN_TIMEOUT_S), then the stores.

If this process is killed outright (SIGKILL), each worker gets SIGTERM from the kernel
(PR_SET_PDEATHSIG, set in the worker by `die_with_parent`), so none keeps the port; the stores are
left running and the next start stops and restarts them (every datainfra.local_stores store clears a
server left on its data dir)."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import structlog

from datainfra.config import Settings

log = structlog.get_logger("datainfra.supervisor")

_PR_SET_PDEATHSIG = 1


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


def _stopped(stop: Any, event: str) -> None:
    stop()
    log.info(event)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def supervise(settings: Settings, app: str, options: dict[str, Any]) -> int:
    """Start the local stores, serve `app` with `options` in supervised workers, stop everything."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from datainfra.logs import configure_logging

    configure_logging(json_lines=settings.log_format == "json", level=settings.log_level)
    # Until the workers run, SIGTERM/SIGINT unwind the start (stopping whatever store started).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_on_signal)
    with local_stores(settings) as env:
        os.environ.update(env)  # the workers are spawned with this environment
        config = uvicorn.Config(app, **options)
        sockets = [config.bind_socket()]
        supervisor = Multiprocess(config, sockets=sockets)  # takes over SIGINT/SIGTERM
        try:
            supervisor.run()
        finally:
            for sock in sockets:
                sock.close()
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
