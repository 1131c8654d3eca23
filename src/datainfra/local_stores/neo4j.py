"""A real Neo4j Community server run from the jars Maven Central publishes: no Docker, no tarball.

Used by ``make run`` when ``DATAINFRA_NEO4J_URI`` is unset, and by the tests when
``DATAINFRA_TEST_NEO4J_URI`` is unset. The life cycle is
:class:`~datainfra.local_stores.process.LocalStore`'s; this module supplies what is Neo4j's own:
the JVM command line on the jars :mod:`datainfra.local_stores.neo4j_runtime` fetches (entry point
``org.neo4j.server.CommunityEntryPoint``), ``conf/neo4j.conf``, the initial password, "ready" as
``RETURN 1`` answered over Bolt, and a server left by a killed owner found through its pid file and
the JVMs whose command line names this data dir.

Layout of ``data_dir`` (a directory dedicated to this one server, kept across restarts)::

    data_dir/
        conf/neo4j.conf   written on every start (edits are overwritten)
        data/             databases, transaction logs, dbms/auth.ini
        logs/             neo4j.log, debug.log, console.log (the JVM's stdout/stderr)
        plugins/ import/  empty, for the server
        run/              the server's run dir; datainfra-neo4j.pid
        password          the ``neo4j`` user's password (mode 0600), made on first start
        .lock             flock held while a LocalNeo4j of this process runs the server

Authentication: **on**, user ``neo4j``, with a random password generated on the first start,
kept in ``data_dir/password`` and set with ``neo4j-admin dbms set-initial-password`` (the
``org.neo4j.cli.AdminTool`` class of the same jars, ~1.5 s, first start only) before the
database is created, so later starts reuse it. Chosen over ``auth_enabled=false`` because the
service and its tests then connect exactly as they do to a production server, and another
local user cannot write to the graph through the loopback port.

Network: Bolt only, on ``127.0.0.1`` (a free port unless one is given); the HTTP and HTTPS
connectors are off; usage reporting is off. Memory: heap ``2g`` (``-Xms``=``-Xmx``), page
cache ``512m`` by default, sized to run beside PostgreSQL and the tests on a 2-core 24 GiB machine.
One transaction may use at most 1 GiB of tracked memory (``db.memory.transaction.max``), all
together 70% of the heap (1.4 GiB): a client's Cypher query cannot take the whole pool from the
others, and a bulk write of about 300,000 nodes and edges (each request is one transaction) fits.

A server left running by a process that died without :meth:`LocalNeo4j.stop` is found through
``run/datainfra-neo4j.pid`` (or its command line) and stopped by the next :meth:`LocalNeo4j.start`.

Command line (e.g. for a Makefile)::

    python -m datainfra.local_stores.neo4j fetch            # prefetch the jars (CI)
    python -m datainfra.local_stores.neo4j run DATA_DIR [--port 7687]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final

import neo4j
import neo4j.exceptions

from datainfra.local_stores.neo4j_runtime import NEO4J_VERSION, LocalNeo4jError, cache_dir, fetch_jars, find_java
from datainfra.local_stores.process import (
    LocalServerError,
    LocalStore,
    end_processes,
    log_tail,
    processes_where,
    read_pid_file,
    stop_child,
)

__all__ = ["NEO4J_USER", "LocalNeo4j", "Neo4jEndpoint"]

NEO4J_USER: Final = "neo4j"
"""The user the endpoint authenticates as."""

_ENTRY_POINT: Final = "org.neo4j.server.CommunityEntryPoint"
_ADMIN_TOOL: Final = "org.neo4j.cli.AdminTool"
_PASSWORD: Final = "password"
_PID: Final = "datainfra-neo4j.pid"
_CONSOLE_LOG: Final = "console.log"
_SUBDIRS: Final = ("conf", "data", "logs", "plugins", "import", "run")

# The options Neo4j's own launcher passes (neo4j.conf's server.jvm.additional defaults), less
# -XX:+AlwaysPreTouch (slow start) and the JFR/diagnostic ones.
_JVM_OPTIONS: Final = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
)


@dataclass(frozen=True)
class Neo4jEndpoint:
    """Where and how to connect to a Neo4j server over Bolt."""

    uri: str
    user: str
    password: str

    @property
    def auth(self) -> tuple[str, str]:
        """``(user, password)``, as the ``neo4j`` driver's ``auth=`` takes it."""
        return (self.user, self.password)


@dataclass(frozen=True)
class _Java:
    """The java program and the classpath of the server's jars a start runs."""

    program: str
    classpath: str


class LocalNeo4j(LocalStore[Neo4jEndpoint]):
    """One Neo4j Community server whose files all live in ``data_dir``.

    ``start()`` fetches the jars if needed, sets the initial password on first use, writes
    ``conf/neo4j.conf``, starts ``java`` in the background (its own process group) and waits
    until a Bolt query succeeds. Data survives ``stop()``/``start()``. One server per
    ``data_dir``: a second live ``LocalNeo4j`` on it (in any process) raises
    :class:`LocalNeo4jError`.

    Usable as a context manager: ``with LocalNeo4j(d) as server: use(server.endpoint)``.
    """

    description: ClassVar[str] = "the local Neo4j"
    error: ClassVar[type[LocalServerError]] = LocalNeo4jError
    probe_interval: ClassVar[float] = 0.2

    def __init__(
        self,
        data_dir: Path,
        *,
        bolt_port: int | None = None,
        heap: str = "2g",
        pagecache: str = "512m",
        stop_timeout: float = 30.0,
        class_data_sharing: bool = True,
    ) -> None:
        super().__init__(data_dir, port=bolt_port, stop_timeout=stop_timeout)
        self.log_path: Final = self.data_dir / "logs" / _CONSOLE_LOG
        self.heap: Final = heap
        self.pagecache: Final = pagecache
        self.class_data_sharing: Final = class_data_sharing
        self._java: _Java | None = None
        self._password = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[..., LocalNeo4j] | None = None
        self._cds_pending: tuple[Path, Path] | None = None  # (archive being dumped, final name)

    @property
    def endpoint(self) -> Neo4jEndpoint:
        """The running server's endpoint; only while started."""
        return self._started_address()

    @property
    def pid(self) -> int | None:
        """The server JVM's process id while started, else None."""
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        """Whether this instance started a server JVM that has not exited since."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 120.0) -> Neo4jEndpoint:
        """Start the server and return its endpoint once it answers ``RETURN 1`` over Bolt.

        Waits at most ``timeout`` seconds for readiness (the jar fetch is not counted).
        Idempotent: a started instance returns its endpoint again.
        """
        return self._start(timeout)

    # -- the lifecycle's steps ------------------------------------------------------------------------

    def _prepare(self) -> None:
        java = find_java()
        if java is None:
            raise LocalNeo4jError("no java on JAVA_HOME or PATH: Neo4j needs Java 17 or 21")
        lib = fetch_jars()
        for sub in _SUBDIRS:
            (self.data_dir / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        self._java = _Java(java, os.pathsep.join(str(p) for p in sorted(lib.glob("*.jar"))))

    def _clear_leftover_server(self) -> None:
        """Stop a server of this data dir left by a process that died without ``stop()`` (e.g. a
        SIGKILLed supervisor): the one its pid file names, and any JVM whose command line names this
        data dir (the owner may have died between starting it and writing the pid file)."""
        pid_file = self.data_dir / "run" / _PID
        pids = set(processes_where(self._is_server))
        if (named := read_pid_file(pid_file)) is not None:
            pids.add(named)
        end_processes(
            lambda: [pid for pid in pids if self._is_server(pid)],
            [(signal.SIGTERM, self.stop_timeout), (signal.SIGKILL, 10.0)],
            group=True,
        )
        pid_file.unlink(missing_ok=True)

    def _initialise(self) -> None:
        """The neo4j user's password; generated and set before the very first start."""
        java = self._runtime()
        password_file = self.data_dir / _PASSWORD
        initialised = (self.data_dir / "data" / "databases" / "system").exists()
        if password_file.exists():
            password = password_file.read_text(encoding="utf-8").strip()
        elif initialised:
            raise LocalNeo4jError(
                f"{password_file} is missing but {self.data_dir / 'data'} holds databases: "
                "they were not made by LocalNeo4j, or the file was deleted"
            )
        else:
            # Hex, not urlsafe: a password starting with "-" reads as an option to neo4j-admin.
            password = secrets.token_hex(24)
            fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(password + "\n")
        if not initialised:
            self._write_config(self._requested_port or 7687)  # the admin tool reads it too
            env = os.environ | {"NEO4J_HOME": str(self.data_dir), "NEO4J_CONF": str(self.data_dir / "conf")}
            result = subprocess.run(
                [
                    java.program,
                    f"-Xmx{self.heap}",
                    *self._cds_options(java, dump=False),
                    "-cp",
                    java.classpath,
                    _ADMIN_TOOL,
                    "dbms",
                    "set-initial-password",
                    "--",  # end of options, whatever the stored password starts with
                    password,
                ],
                cwd=self.data_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=120,
                check=False,
            )
            if result.returncode != 0:
                raise LocalNeo4jError(
                    f"neo4j-admin dbms set-initial-password failed in {self.data_dir}",
                    detail=result.stdout.replace(password, "***"),
                )
        self._password = password

    def _address_on(self, port: int) -> Neo4jEndpoint:
        return Neo4jEndpoint(f"bolt://127.0.0.1:{port}", NEO4J_USER, self._password)

    def _launch(self, port: int) -> None:
        self._write_config(port)
        java = self._runtime()
        args = [java.program, f"-Xms{self.heap}", f"-Xmx{self.heap}", *_JVM_OPTIONS, *self._cds_options(java)]
        args += [
            "-cp",
            java.classpath,
            _ENTRY_POINT,
            f"--home-dir={self.data_dir}",
            f"--config-dir={self.data_dir / 'conf'}",
            "--console-mode",
        ]
        with self.log_path.open("ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting Neo4j {NEO4J_VERSION}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                args,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (self.data_dir / "run" / _PID).write_text(f"{self._process.pid}\n", encoding="ascii")
        # Stop the JVM if this interpreter exits while the server still runs.
        self._finalizer = weakref.finalize(self, stop_child, self._process, self.stop_timeout)

    def _probe(self, address: Neo4jEndpoint) -> str | None:
        process = self._process
        if process is None or process.poll() is not None:
            code = process.returncode if process is not None else None
            raise LocalNeo4jError(
                f"Neo4j in {self.data_dir} exited during startup (exit code {code})",
                log_path=self.log_path,
                detail=self._debug_log_errors(),
            )
        if not _port_open(int(address.uri.rsplit(":", 1)[1])):
            return "the Bolt port never opened"
        try:
            with neo4j.GraphDatabase.driver(
                address.uri,
                auth=address.auth,
                connection_timeout=3.0,
                connection_acquisition_timeout=5.0,
                max_connection_pool_size=1,
            ) as driver:
                driver.verify_connectivity()
                driver.execute_query("RETURN 1", database_="neo4j")
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def _not_ready(self, address: Neo4jEndpoint, timeout: float, last_error: str | None) -> LocalServerError:
        return LocalNeo4jError(
            f"Neo4j in {self.data_dir} was not ready on {address.uri} within {timeout:.0f}s (last error: {last_error})",
            log_path=self.log_path,
            detail=self._debug_log_errors(),
        )

    def _port_was_taken(self) -> bool:
        return any(
            "Address already in use" in log_tail(log, 400, 65536)
            for log in (self.log_path, self.data_dir / "logs" / "debug.log")
        )

    def _abort(self) -> None:
        """Stop a server that failed to start (no clean-exit CDS dump kept)."""
        process = self._forget_process()
        if process is not None:
            stop_child(process, 10.0)
            (self.data_dir / "run" / _PID).unlink(missing_ok=True)
        self._finish_cds(False)

    def _shut_down(self) -> None:
        """SIGTERM (a clean shutdown), up to stop_timeout to exit, then SIGKILL."""
        process = self._forget_process()
        if process is None:
            return
        exited_cleanly = stop_child(process, self.stop_timeout)
        (self.data_dir / "run" / _PID).unlink(missing_ok=True)
        self._finish_cds(exited_cleanly and process.returncode == 0)

    # -- Neo4j's own ----------------------------------------------------------------------------------

    def _runtime(self) -> _Java:
        if self._java is None:
            raise self._not_started()
        return self._java

    def _is_server(self, pid: int) -> bool:
        """Whether `pid` runs the server entry point on this data dir (Linux /proc)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return _ENTRY_POINT.encode() in cmdline and f"--home-dir={self.data_dir}".encode() in cmdline

    def _forget_process(self) -> subprocess.Popen[bytes] | None:
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        return process

    def _cds_archive(self, java: _Java) -> Path:
        """Where the AppCDS archive for this JVM, heap size and classpath lives (maybe not yet)."""
        java_path = Path(java.program).resolve()
        key = hashlib.sha256(
            f"{java_path}|{java_path.stat().st_mtime_ns}|{self.heap}|{java.classpath}".encode()
        ).hexdigest()[:16]
        return cache_dir() / "cds" / f"neo4j-{key}.jsa"

    def _cds_options(self, java: _Java, *, dump: bool = True) -> list[str]:
        """Use an AppCDS archive of the server's classes, or make one on this run's exit.

        A JVM that cannot use the archive (another JVM build, flags) silently runs without it.
        """
        self._cds_pending = None
        if not self.class_data_sharing:
            return []
        archive = self._cds_archive(java)
        quiet = ["-Xlog:cds=off", "-Xlog:cds+dynamic=off"]
        if archive.exists():
            return [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto", *quiet]
        if not dump:
            return []
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(f"{archive.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
        self._cds_pending = (partial, archive)
        return [f"-XX:ArchiveClassesAtExit={partial}", *quiet]

    def _finish_cds(self, keep: bool) -> None:
        pending, self._cds_pending = self._cds_pending, None
        if pending is None:
            return
        partial, archive = pending
        if keep and partial.exists() and partial.stat().st_size > 0:
            partial.replace(archive)
        else:
            partial.unlink(missing_ok=True)

    def _write_config(self, port: int) -> None:
        d = self.data_dir
        settings = {
            "server.default_listen_address": "127.0.0.1",
            "server.default_advertised_address": "127.0.0.1",
            "server.bolt.enabled": "true",
            "server.bolt.listen_address": f"127.0.0.1:{port}",
            "server.bolt.advertised_address": f"127.0.0.1:{port}",
            "server.http.enabled": "false",
            "server.https.enabled": "false",
            "dbms.security.auth_enabled": "true",
            "dbms.usage_report.enabled": "false",
            "server.memory.pagecache.size": self.pagecache,
            "server.directories.data": str(d / "data"),
            "server.directories.logs": str(d / "logs"),
            "server.directories.plugins": str(d / "plugins"),
            "server.directories.import": str(d / "import"),
            "server.directories.run": str(d / "run"),
            "db.tx_log.preallocate": "false",
            # Transaction time limits are enforced by a monitor; check every 100 ms, not every 2 s.
            "db.transaction.monitor.check.interval": "100ms",
            # One transaction may use at most this much tracked memory (see the module docstring).
            "db.memory.transaction.max": "1g",
            # Bolt otherwise waits 2 x 5 s for idle connection/thread pools on shutdown.
            "internal.server.bolt.connection_shutdown_wait_time": "0s",
            "internal.server.bolt.thread_pool_shutdown_wait_time": "0s",
        }
        lines = [f"# Written by {__name__} on every start; edits are overwritten.\n"]
        lines += [f"{key}={value}\n" for key, value in settings.items()]
        (d / "conf" / "neo4j.conf").write_text("".join(lines), encoding="utf-8")

    def _debug_log_errors(self) -> str:
        lines = [
            line
            for line in log_tail(self.data_dir / "logs" / "debug.log", 400, 65536).splitlines()
            if " ERROR " in line or "Exception" in line
        ]
        return "debug.log errors:\n" + "\n".join(lines[-15:]) if lines else ""


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


# -- command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``fetch``: prefetch the jars; ``run DATA_DIR [--port N]``: run a server until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m datainfra.local_stores.neo4j")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="copy the Neo4j jars into the cache (idempotent); print the lib dir")
    run = commands.add_parser("run", help="run a local Neo4j in the foreground until SIGINT/SIGTERM")
    run.add_argument("data_dir", type=Path)
    run.add_argument("--port", type=int, default=None, help="Bolt port (default: a free one)")
    run.add_argument("--heap", default="2g")
    run.add_argument("--pagecache", default="512m")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(fetch_jars())
        return 0
    server = LocalNeo4j(args.data_dir, bolt_port=args.port, heap=args.heap, pagecache=args.pagecache)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with server:
        endpoint = server.endpoint
        print(
            f"Neo4j {NEO4J_VERSION} on {endpoint.uri} (user {endpoint.user}, password in "
            f"{server.data_dir / _PASSWORD})",
            flush=True,
        )
        try:
            while server.is_running():
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
