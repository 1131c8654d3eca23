"""The embedded PostgreSQL server (datainfra.local_stores.postgres) against the real binaries."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from datainfra.local_stores.postgres import EmbeddedPostgres
from datainfra.local_stores.postgres_runtime import EmbeddedPostgresError
from tests.support.postgres_server import postgres_url_for_tests

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with postgres_url_for_tests() as url:
        yield url


@pytest.fixture
def data_dir() -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="datainfra-pg-test-"))
    try:
        yield tmp / "postgres"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _postmaster_pid(pg: EmbeddedPostgres) -> int:
    return int((pg.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


def test_server_runs_postgresql_16_or_later_and_we_are_superuser(server_url: str) -> None:
    with psycopg.connect(server_url) as conn:
        version = conn.execute("select version()").fetchone()
        version_num = conn.execute("show server_version_num").fetchone()
        is_super = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    assert version is not None and version[0].startswith("PostgreSQL ")
    assert version_num is not None and int(version_num[0]) >= 160000
    assert is_super == (True,)


def test_login_role_connects_over_tcp_with_its_password(server_url: str) -> None:
    params = conninfo_to_dict(server_url)
    role = f"tenant_login_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"create role {role} login password 'secret-pw'")
    try:
        tenant = psycopg.connect(
            host="127.0.0.1", port=params["port"], dbname="postgres", user=role, password="secret-pw"
        )
        with tenant:
            row = tenant.execute("select current_user, inet_server_addr()::text").fetchone()
        assert row is not None and row[0] == role and row[1].startswith("127.0.0.1")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(
                host="127.0.0.1", port=params["port"], dbname="postgres", user=role, password="wrong"
            ).close()
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"drop role {role}")


def test_data_survives_stop_and_start(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as pg, psycopg.connect(pg.url) as conn:
        conn.execute("create table kept (v text)")
        conn.execute("insert into kept values ('survives')")
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
    with EmbeddedPostgres(data_dir) as pg, psycopg.connect(pg.url) as conn:
        assert conn.execute("select v from kept").fetchall() == [("survives",)]
    assert (data_dir / "postgresql.log").is_file()


def test_start_and_stop_are_idempotent(data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir, durable=False)
    pg.stop()  # never started
    url = pg.start()
    assert pg.start() == url
    pg.stop()
    pg.stop()
    with pytest.raises(EmbeddedPostgresError):
        _ = pg.url


def test_second_instance_on_a_running_data_dir_is_refused(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir, durable=False) as pg:
        with pytest.raises(EmbeddedPostgresError, match="already run"):
            EmbeddedPostgres(data_dir, durable=False).start()
        with psycopg.connect(pg.url) as conn:
            conn.execute("select 1")


def test_recovers_from_stale_pid_file_of_killed_postmaster(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir)  # durable: the commit must survive the kill
    with psycopg.connect(first.start(), autocommit=True) as conn:
        conn.execute("create table t as select 1 as v")
    pid = _postmaster_pid(first)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    first.stop()  # nothing left to stop: must not raise
    assert (data_dir / "pgdata" / "postmaster.pid").exists()  # stale

    with EmbeddedPostgres(data_dir) as second, psycopg.connect(second.url) as conn:
        assert conn.execute("select v from t").fetchall() == [(1,)]


def test_recovers_from_pid_file_naming_a_dead_process(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir, durable=False):
        pass
    proc = subprocess.Popen(["true"])
    proc.wait()
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    pid_file.write_text(f"{proc.pid}\n{data_dir / 'pgdata'}\n0\n5432\n\n127.0.0.1\n0 0\nready\n")

    with EmbeddedPostgres(data_dir, durable=False) as pg, psycopg.connect(pg.url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_recovers_from_server_left_running_by_a_killed_process(data_dir: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, psycopg
        from pathlib import Path
        from datainfra.local_stores.postgres import EmbeddedPostgres
        pg = EmbeddedPostgres(Path({str(data_dir)!r}), durable=False)
        with psycopg.connect(pg.start(), autocommit=True) as conn:
            conn.execute("create table left_behind as select 42 as v")
        os._exit(0)  # dies without stop(): the server keeps running
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    orphan = int((data_dir / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])
    assert _pid_alive(orphan)

    with EmbeddedPostgres(data_dir, durable=False) as pg, psycopg.connect(pg.url) as conn:
        assert conn.execute("select v from left_behind").fetchall() == [(42,)]
        assert _postmaster_pid(pg) != orphan
    assert not _pid_alive(orphan)
