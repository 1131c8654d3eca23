"""A real Neo4j Community server run from the jars Maven Central publishes: no Docker, no tarball.

Used by ``make run`` when ``DATAINFRA_NEO4J_URI`` is unset, and by the tests when
``DATAINFRA_TEST_NEO4J_URI`` is unset. ``org.neo4j:neo4j`` (:data:`NEO4J_VERSION`, an LTS
that runs on Java 17) carries the server entry point ``org.neo4j.server.CommunityEntryPoint``
and depends on everything it needs (Bolt included). :func:`fetch_jars` copies those jars once
into a cache folder with Maven (``deploy/neo4j-local/pom.xml``, the same as
``deploy/neo4j-local/neo4j-local.sh fetch``); :class:`LocalNeo4j` starts ``java`` on them.

Cache (``DATAINFRA_NEO4J_CACHE_DIR``, default
``${XDG_CACHE_HOME:-~/.cache}/datainfra/neo4j-<version>``)::

    lib/          the jars (about 125 MB); complete once ``.complete`` exists
    cds/          class-data-sharing archives made by a first start (cut later starts by ~40%)

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
``run/datainfra-neo4j.pid`` and stopped by the next :meth:`LocalNeo4j.start` on that data dir.

Command line (e.g. for a Makefile)::

    python -m datainfra.local_stores.neo4j fetch            # prefetch the jars (CI)
    python -m datainfra.local_stores.neo4j run DATA_DIR [--port 7687]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

import neo4j
import neo4j.exceptions

from datainfra.local_stores.process import DataDirLock, LocalServerError, free_port, log_tail

__all__ = [
    "NEO4J_USER",
    "NEO4J_VERSION",
    "LocalNeo4j",
    "LocalNeo4jError",
    "Neo4jEndpoint",
    "cache_dir",
    "fetch_jars",
    "java_available",
]

NEO4J_VERSION: Final = "5.26.30"
"""Version of ``org.neo4j:neo4j`` run (keep in step with deploy/neo4j-local/)."""

NEO4J_USER: Final = "neo4j"
"""The user the endpoint authenticates as."""

CACHE_DIR_ENV: Final = "DATAINFRA_NEO4J_CACHE_DIR"

_ENTRY_POINT: Final = "org.neo4j.server.CommunityEntryPoint"
_ADMIN_TOOL: Final = "org.neo4j.cli.AdminTool"
_MARKER: Final = ".complete"
_PASSWORD: Final = "password"
_LOCK: Final = ".lock"
_PID: Final = "datainfra-neo4j.pid"
_CONSOLE_LOG: Final = "console.log"
_SUBDIRS: Final = ("conf", "data", "logs", "plugins", "import", "run")
_PORT_ATTEMPTS: Final = 3
_MIN_JAVA: Final = 17

# Fallback when the package runs outside the repository (no deploy/neo4j-local/pom.xml).
_POM: Final = f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>datainfra.deploy</groupId>
  <artifactId>neo4j-local</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <properties><neo4j.version>{NEO4J_VERSION}</neo4j.version></properties>
  <dependencies>
    <dependency>
      <groupId>org.neo4j</groupId>
      <artifactId>neo4j</artifactId>
      <version>${{neo4j.version}}</version>
    </dependency>
  </dependencies>
</project>
"""

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


class LocalNeo4jError(LocalServerError):
    """Fetching, starting or stopping the local Neo4j server failed."""

    tail_lines = 40
    tail_bytes = 65536


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


# -- jars ---------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """The folder the jars are cached in (``DATAINFRA_NEO4J_CACHE_DIR`` or the XDG default)."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().absolute() / "datainfra" / f"neo4j-{NEO4J_VERSION}"


def fetch_jars(*, timeout: float = 900.0) -> Path:
    """Copy the Neo4j server's jars into :func:`cache_dir` (once) and return the lib folder.

    Idempotent and safe to call from concurrent processes: a marker file records a complete
    copy; the copy is made under a lock into a scratch folder that is renamed into place.
    Needs ``mvn`` on PATH the first time (Maven Central or a mirror configured for Maven).
    """
    root = cache_dir()
    lib = root / "lib"
    if (root / _MARKER).exists() and lib.is_dir():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalNeo4jError(f"mvn is not on PATH: it is needed once to fetch org.neo4j:neo4j:{NEO4J_VERSION}")
    root.mkdir(parents=True, exist_ok=True)
    with _flock(root.parent / f"{root.name}.lock"):
        if (root / _MARKER).exists() and lib.is_dir():
            return lib
        scratch = Path(tempfile.mkdtemp(prefix="lib.partial-", dir=root))
        try:
            pom = _repo_pom()
            if pom is None:
                pom = scratch / "pom.xml"
                pom.write_text(_POM, encoding="utf-8")
            jars = scratch / "lib"
            args = [
                mvn,
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(pom),
                f"-Dneo4j.version={NEO4J_VERSION}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={jars}",
            ]
            try:
                result = subprocess.run(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise LocalNeo4jError(f"mvn did not fetch the Neo4j jars within {timeout:.0f}s") from exc
            if result.returncode != 0 or not (jars / f"neo4j-{NEO4J_VERSION}.jar").exists():
                raise LocalNeo4jError(
                    f"mvn could not fetch org.neo4j:neo4j:{NEO4J_VERSION} (exit {result.returncode}): "
                    + " ".join(args),
                    detail=result.stdout[-4000:],
                )
            if lib.exists():
                shutil.rmtree(lib)
            jars.rename(lib)
            (root / _MARKER).write_text(f"org.neo4j:neo4j:{NEO4J_VERSION}\n", encoding="utf-8")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return lib


def java_available() -> bool:
    """Whether a Java runtime Neo4j can run on (17 or newer) is at hand (JAVA_HOME or PATH)."""
    java = _java()
    if java is None:
        return False
    try:
        result = subprocess.run(
            [java, "-version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if result.returncode != 0 or match is None:
        return False
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:  # "1.8.0_x"
        major = int(match.group(2))
    return major >= _MIN_JAVA


# -- the server ---------------------------------------------------------------------------------


class LocalNeo4j:
    """One Neo4j Community server whose files all live in ``data_dir``.

    ``start()`` fetches the jars if needed, sets the initial password on first use, writes
    ``conf/neo4j.conf``, starts ``java`` in the background (its own process group) and waits
    until a Bolt query succeeds. Data survives ``stop()``/``start()``. One server per
    ``data_dir``: a second live ``LocalNeo4j`` on it (in any process) raises
    :class:`LocalNeo4jError`.

    Usable as a context manager: ``with LocalNeo4j(d) as server: use(server.endpoint)``.
    """

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
        self.data_dir: Final = Path(data_dir).expanduser().absolute()
        self.log_path: Final = self.data_dir / "logs" / _CONSOLE_LOG
        self.heap: Final = heap
        self.pagecache: Final = pagecache
        self.stop_timeout: Final = stop_timeout
        self.class_data_sharing: Final = class_data_sharing
        self._requested_port = bolt_port
        self._process: subprocess.Popen[bytes] | None = None
        self._endpoint: Neo4jEndpoint | None = None
        self._lock = DataDirLock(self.data_dir / _LOCK)
        self._finalizer: weakref.finalize[..., LocalNeo4j] | None = None
        self._cds_pending: tuple[Path, Path] | None = None  # (archive being dumped, final name)

    # -- public API ---------------------------------------------------------------------------

    @property
    def endpoint(self) -> Neo4jEndpoint:
        """The running server's endpoint; only while started."""
        if self._endpoint is None:
            raise LocalNeo4jError(f"the local Neo4j in {self.data_dir} is not started")
        return self._endpoint

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
        if self._endpoint is not None:
            return self._endpoint
        java = _java()
        if java is None:
            raise LocalNeo4jError("no java on JAVA_HOME or PATH: Neo4j needs Java 17 or 21")
        lib = fetch_jars()
        for sub in _SUBDIRS:
            (self.data_dir / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            self._clear_leftover_server()
            classpath = os.pathsep.join(str(p) for p in sorted(lib.glob("*.jar")))
            password = self._password(java, classpath)
            self._endpoint = self._start_server(java, classpath, password, timeout)
        except BaseException:
            self._kill()
            self._endpoint = None
            self._release_lock()
            raise
        return self._endpoint

    def stop(self) -> None:
        """Stop the server: SIGTERM (clean shutdown), bounded wait, then SIGKILL. Idempotent."""
        try:
            self._terminate()
        finally:
            self._endpoint = None
            self._release_lock()

    def __enter__(self) -> LocalNeo4j:
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
        state = self._endpoint.uri if self._endpoint is not None else "stopped"
        return f"LocalNeo4j({str(self.data_dir)!r}, {state})"

    # -- steps --------------------------------------------------------------------------------

    def _acquire_lock(self) -> None:
        if not self._lock.acquire():
            raise LocalNeo4jError(
                f"the local Neo4j in {self.data_dir} is already run by another LocalNeo4j "
                f"(this or another process holds {self._lock.path})"
            )

    def _release_lock(self) -> None:
        self._lock.release()

    def _clear_leftover_server(self) -> None:
        """Stop a server of this data dir left by a process that died without ``stop()`` (e.g. a
        SIGKILLed supervisor): the one its pid file names, and any JVM whose command line names this
        data dir (the owner may have died between starting it and writing the pid file)."""
        pid_file = self.data_dir / "run" / _PID
        pids = set(_servers_of(self.data_dir))
        with contextlib.suppress(FileNotFoundError, ValueError):
            pids.add(int(pid_file.read_text(encoding="ascii").strip()))
        for pid in pids:
            if _is_server_of(pid, self.data_dir):
                _signal_group_or_pid(pid, signal.SIGTERM)
                if not _wait_gone(pid, self.data_dir, self.stop_timeout):
                    _signal_group_or_pid(pid, signal.SIGKILL)
                    _wait_gone(pid, self.data_dir, 10.0)
        pid_file.unlink(missing_ok=True)

    def _password(self, java: str, classpath: str) -> str:
        """The neo4j user's password; generated and set before the very first start."""
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
                    java,
                    f"-Xmx{self.heap}",
                    *self._cds_options(java, classpath, dump=False),
                    "-cp",
                    classpath,
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
        return password

    def _start_server(self, java: str, classpath: str, password: str, timeout: float) -> Neo4jEndpoint:
        attempts = 1 if self._requested_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._requested_port if self._requested_port is not None else free_port()
            self._write_config(port)
            self._launch(java, classpath)
            endpoint = Neo4jEndpoint(f"bolt://127.0.0.1:{port}", NEO4J_USER, password)
            try:
                self._wait_until_ready(endpoint, port, timeout)
            except LocalNeo4jError:
                port_taken = any(
                    "Address already in use" in log_tail(log, 400, 65536)
                    for log in (self.log_path, self.data_dir / "logs" / "debug.log")
                )
                self._kill()
                if port_taken and attempt < attempts:
                    continue
                raise
            return endpoint
        raise AssertionError("unreachable")  # pragma: no cover

    def _launch(self, java: str, classpath: str) -> None:
        args = [java, f"-Xms{self.heap}", f"-Xmx{self.heap}", *_JVM_OPTIONS, *self._cds_options(java, classpath)]
        args += [
            "-cp",
            classpath,
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
        self._finalizer = weakref.finalize(self, _kill_process_group, self._process, self.stop_timeout)

    def _cds_archive(self, java: str, classpath: str) -> Path:
        """Where the AppCDS archive for this JVM, heap size and classpath lives (maybe not yet)."""
        java_path = Path(java).resolve()
        key = hashlib.sha256(
            f"{java_path}|{java_path.stat().st_mtime_ns}|{self.heap}|{classpath}".encode()
        ).hexdigest()[:16]
        return cache_dir() / "cds" / f"neo4j-{key}.jsa"

    def _cds_options(self, java: str, classpath: str, *, dump: bool = True) -> list[str]:
        """Use an AppCDS archive of the server's classes, or make one on this run's exit.

        A JVM that cannot use the archive (another JVM build, flags) silently runs without it.
        """
        self._cds_pending = None
        if not self.class_data_sharing:
            return []
        archive = self._cds_archive(java, classpath)
        quiet = ["-Xlog:cds=off", "-Xlog:cds+dynamic=off"]
        if archive.exists():
            return [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto", *quiet]
        if not dump:
            return []
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(f"{archive.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
        self._cds_pending = (partial, archive)
        return [f"-XX:ArchiveClassesAtExit={partial}", *quiet]

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

    def _wait_until_ready(self, endpoint: Neo4jEndpoint, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "the Bolt port never opened"
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                code = process.returncode if process is not None else None
                raise LocalNeo4jError(
                    f"Neo4j in {self.data_dir} exited during startup (exit code {code})",
                    log_path=self.log_path,
                    detail=self._debug_log_errors(),
                )
            if time.monotonic() >= deadline:
                raise LocalNeo4jError(
                    f"Neo4j in {self.data_dir} was not ready on {endpoint.uri} within {timeout:.0f}s "
                    f"(last error: {last_error})",
                    log_path=self.log_path,
                    detail=self._debug_log_errors(),
                )
            if _port_open(port):
                try:
                    with neo4j.GraphDatabase.driver(
                        endpoint.uri,
                        auth=endpoint.auth,
                        connection_timeout=3.0,
                        connection_acquisition_timeout=5.0,
                        max_connection_pool_size=1,
                    ) as driver:
                        driver.verify_connectivity()
                        driver.execute_query("RETURN 1", database_="neo4j")
                    return
                except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError) as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)

    def _debug_log_errors(self) -> str:
        lines = [
            line
            for line in log_tail(self.data_dir / "logs" / "debug.log", 400, 65536).splitlines()
            if " ERROR " in line or "Exception" in line
        ]
        return "debug.log errors:\n" + "\n".join(lines[-15:]) if lines else ""

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is None:
            return
        exited_cleanly = _kill_process_group(process, self.stop_timeout)
        (self.data_dir / "run" / _PID).unlink(missing_ok=True)
        self._finish_cds(exited_cleanly and process.returncode == 0)

    def _kill(self) -> None:
        """Stop a server that failed to start (no clean-exit CDS dump kept)."""
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is not None:
            _kill_process_group(process, 10.0)
            (self.data_dir / "run" / _PID).unlink(missing_ok=True)
        self._finish_cds(False)

    def _finish_cds(self, keep: bool) -> None:
        pending, self._cds_pending = self._cds_pending, None
        if pending is None:
            return
        partial, archive = pending
        if keep and partial.exists() and partial.stat().st_size > 0:
            partial.replace(archive)
        else:
            partial.unlink(missing_ok=True)


# -- helpers ------------------------------------------------------------------------------------


def _java() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java")


def _repo_pom() -> Path | None:
    """deploy/neo4j-local/pom.xml of the source checkout this module runs from, if any."""
    for parent in Path(__file__).resolve().parents:
        pom = parent / "deploy" / "neo4j-local" / "pom.xml"
        if pom.is_file():
            return pom
    return None


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _kill_process_group(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """SIGTERM the process's group, wait up to ``timeout``, then SIGKILL. True if it exited in time."""
    if process.poll() is not None:
        return True
    _signal_group_or_pid(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        _signal_group_or_pid(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10.0)
        return False


def _signal_group_or_pid(pid: int, sig: signal.Signals) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _is_server_of(pid: int, data_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return _ENTRY_POINT.encode() in cmdline and f"--home-dir={data_dir}".encode() in cmdline


def _servers_of(data_dir: Path) -> list[int]:
    """Live processes running the server entry point on `data_dir` (Linux /proc; [] elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    return [
        int(entry.name) for entry in proc.iterdir() if entry.name.isdigit() and _is_server_of(int(entry.name), data_dir)
    ]


def _wait_gone(pid: int, data_dir: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _is_server_of(pid, data_dir):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


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
