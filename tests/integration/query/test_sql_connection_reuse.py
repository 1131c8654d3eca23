"""Client SQL keeps each role's logged-in connections between its requests (issue 12): nothing one
request sets is visible to the next, of the same user or another, and a read gets the plan any
client gets (parallel where PostgreSQL chooses it: no server-side cursor).

The statement guard would refuse every leftover below before PostgreSQL sees it, so it is replaced by
a stand-in that lets everything through: what is tested is the reset between requests alone. Every
case first checks that the two requests really ran on the same server process (the kept connection),
so a test cannot pass by a fresh login.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient
from psycopg import sql

from datainfra.adapters.postgres.client_sql import runner
from datainfra.adapters.postgres.client_sql.guard import GuardedStatement
from datainfra.adapters.postgres.identifiers import session_schema_name, user_role_name
from tests.support.citus_fixtures import ALL_TABULAR_ENGINES
from tests.support.citus_server import node_url_of_schema
from tests.support.real_app import real_app_client
from tests.unit.http.api import create_dataset, create_session, new_key

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]
TABULAR_ENGINES = ALL_TABULAR_ENGINES
"""The module runs on the single PostgreSQL and on the Citus cluster (tests/support/citus_fixtures.py)."""

BIG_ROWS = 1_500_000


def permissive(text: str, *, read_only: bool) -> GuardedStatement:
    """Any text, run as sent: reads (SELECT, SHOW) streamed, anything else as a write."""
    del read_only
    numbers = [int(n) for n in re.findall(r"\$(\d+)", text)]
    reads = text.lstrip().upper().startswith(("SELECT", "SHOW"))
    return GuardedStatement(text, "select", writes=not reads, tables=frozenset(), parameters=max(numbers, default=0))


@pytest.fixture
def no_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(runner, "check_statement", permissive)
    yield


@pytest.fixture(scope="module")
def client(tabular_runtime: Any, neo4j_runtime: Any) -> Iterator[TestClient[Any]]:
    with real_app_client(tabular_runtime, neo4j_runtime) as client:
        yield client


@pytest.fixture(scope="module")
def admin(tabular_runtime: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(tabular_runtime.url(), autocommit=True) as conn:
        yield conn


def tenant(client: TestClient[Any]) -> dict[str, Any]:
    auth = new_key(client)
    sid = create_session(client, auth)
    create_dataset(client, auth, sid, "items", {"columns": [{"name": "n", "type": "integer"}]})
    user_id = client.get("/users/me", headers=auth).json()["id"]
    return {"auth": auth, "sid": sid, "role": user_role_name(user_id)}


@pytest.fixture(scope="module")
def alice(client: TestClient[Any]) -> dict[str, Any]:
    return tenant(client)


@pytest.fixture(scope="module")
def bob(client: TestClient[Any]) -> dict[str, Any]:
    return tenant(client)


def run(client: TestClient[Any], who: dict[str, Any], text: str, **options: Any) -> Any:
    body = {"language": "sql", "query": text, **options}
    return client.post(f"/sessions/{who['sid']}/query", json=body, headers=who["auth"])


def rows(response: Any) -> list[list[Any]]:
    assert response.status_code == 200, response.text
    result: list[list[Any]] = response.json()["rows"]
    return result


def backend(client: TestClient[Any], who: dict[str, Any]) -> int:
    pid: int = rows(run(client, who, "SELECT pg_backend_pid()"))[0][0]
    return pid


LEFTOVERS = [
    pytest.param("SET work_mem = '1GB'", "SHOW work_mem", [["16MB"]], id="setting"),
    pytest.param("SET statement_timeout = 0", "SHOW statement_timeout", [["5s"]], id="statement-timeout"),
    pytest.param("SET search_path = pg_catalog", "SELECT count(*) FROM items", [[0]], id="search-path"),
    pytest.param("SET my.leftover = 'x'", "SELECT current_setting('my.leftover', true)", [[""]], id="custom-setting"),
    pytest.param("SET default_transaction_read_only = off", "DELETE FROM items", None, id="read-only-default"),
    pytest.param("SET ROLE NONE", "SELECT current_user = session_user", [[True]], id="set-role-none"),
    pytest.param("SET SESSION AUTHORIZATION DEFAULT", "SELECT current_user = session_user", [[True]], id="set-authz"),
    pytest.param("PREPARE leftover AS SELECT 1", "SELECT count(*) FROM pg_prepared_statements", [[0]], id="prepare"),
    pytest.param(
        "DECLARE leftover CURSOR WITH HOLD FOR SELECT 1",
        "SELECT name FROM pg_cursors WHERE name <> ''",
        [],
        id="cursor-with-hold",
    ),
    pytest.param("LISTEN leftover", "SELECT count(*) FROM pg_listening_channels()", [[0]], id="listen"),
]


@pytest.mark.usefixtures("no_guard")
@pytest.mark.parametrize(("setup", "check", "expected"), LEFTOVERS)
def test_nothing_a_request_sets_reaches_the_next_on_the_same_connection(
    client: TestClient[Any], alice: dict[str, Any], setup: str, check: str, expected: Any
) -> None:
    first = backend(client, alice)
    assert run(client, alice, setup, read_only=False).status_code == 200
    assert backend(client, alice) == first  # the kept connection served both: the reset is what is tested
    response = run(client, alice, check, timeout_ms=5_000)
    if expected is None:  # the request's read-only transaction holds whatever the last one set
        assert response.status_code == 400 and "read-only transaction" in response.json()["detail"], response.text
    else:
        assert rows(response) == expected
    assert backend(client, alice) == first


@pytest.mark.usefixtures("no_guard")
def test_a_setting_is_gone_within_the_same_connection_even_for_the_same_session(
    client: TestClient[Any], alice: dict[str, Any]
) -> None:
    """The per-request limits are the request's own: 60 s then 1 s on one kept connection."""
    first = backend(client, alice)
    assert rows(run(client, alice, "SHOW statement_timeout", timeout_ms=60_000)) == [["1min"]]
    assert rows(run(client, alice, "SHOW statement_timeout", timeout_ms=1_000)) == [["1s"]]
    assert rows(run(client, alice, "SHOW transaction_read_only", read_only=False)) == [["off"]]
    assert rows(run(client, alice, "SHOW transaction_read_only")) == [["on"]]
    assert backend(client, alice) == first


@pytest.mark.usefixtures("no_guard")
def test_temporary_tables_do_not_survive(
    client: TestClient[Any], alice: dict[str, Any], admin: psycopg.Connection[Any], tabular_runtime: Any
) -> None:
    """The role has no TEMPORARY on the database; granted here, so the reset is what drops the table."""
    database = admin.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    admin.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO "{alice["role"]}"')
    try:
        first = backend(client, alice)
        assert run(client, alice, "CREATE TEMP TABLE leftover AS SELECT 1 AS a", read_only=False).status_code == 200
        assert backend(client, alice) == first
        gone = run(client, alice, "SELECT count(*) FROM pg_class WHERE relname = 'leftover' AND relpersistence = 't'")
        assert rows(gone) == [[0]]
    finally:
        admin.execute(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM "{alice["role"]}"')


@pytest.mark.usefixtures("no_guard")
def test_advisory_locks_do_not_survive(
    client: TestClient[Any], alice: dict[str, Any], admin: psycopg.Connection[Any]
) -> None:
    """The role may not take advisory locks (catalog migration 4); granted here, so the reset is what
    releases the session lock the first request took."""
    admin.execute(f'GRANT EXECUTE ON FUNCTION pg_advisory_lock(bigint) TO "{alice["role"]}"')
    try:
        first = backend(client, alice)
        assert rows(run(client, alice, "SELECT 1 FROM (SELECT pg_advisory_lock(515151)) taken")) == [[1]]
        assert backend(client, alice) == first
        held = admin.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 515151")
        assert held.fetchone() == (0,)
        assert admin.execute("SELECT pg_try_advisory_lock(515151)").fetchone() == (True,)
        admin.execute("SELECT pg_advisory_unlock(515151)")
    finally:
        admin.execute(f'REVOKE EXECUTE ON FUNCTION pg_advisory_lock(bigint) FROM "{alice["role"]}"')


@pytest.mark.usefixtures("no_guard")
def test_a_connection_is_never_shared_between_users(
    client: TestClient[Any], alice: dict[str, Any], bob: dict[str, Any]
) -> None:
    alices = {backend(client, alice) for _ in range(3)}
    assert run(client, alice, "SET work_mem = '1GB'", read_only=False).status_code == 200
    for _ in range(3):
        response = run(client, bob, "SELECT pg_backend_pid(), current_user, current_setting('work_mem')")
        pid, user, work_mem = rows(response)[0]
        assert pid not in alices and user == bob["role"] and work_mem == "16MB"


@pytest.mark.usefixtures("no_guard")
def test_the_random_seed_does_not_survive(
    client: TestClient[Any], alice: dict[str, Any], admin: psycopg.Connection[Any]
) -> None:
    admin.execute("SELECT setseed(0.5)")
    seeded = admin.execute("SELECT random()").fetchone()
    first = backend(client, alice)
    assert rows(run(client, alice, "SELECT 1 FROM (SELECT setseed(0.5)) seeded")) == [[1]]
    assert backend(client, alice) == first
    assert (rows(run(client, alice, "SELECT random()"))[0][0],) != seeded


def test_without_the_stand_in_the_guard_still_refuses(client: TestClient[Any], alice: dict[str, Any]) -> None:
    for text in ("SET work_mem = '1GB'", "LISTEN x", "PREPARE p AS SELECT 1", "SELECT setseed(0.5)"):
        assert run(client, alice, text).status_code == 400


def test_a_read_gets_a_parallel_plan_where_postgresql_chooses_one(
    client: TestClient[Any], alice: dict[str, Any], admin: psycopg.Connection[Any], tabular_runtime: Any
) -> None:
    """Seen from outside: parallel workers led by the request's backend while the aggregate runs (a
    server-side cursor never gets them). First the same text, planned for a raw client, must be parallel."""
    auth, sid = alice["auth"], alice["sid"]
    create_dataset(
        client, auth, sid, "big", {"columns": [{"name": "n", "type": "integer"}, {"name": "t", "type": "text"}]}
    )
    schema = session_schema_name(sid)
    big = sql.Identifier(schema, "big")
    fill = sql.SQL("INSERT INTO {} (n, t) SELECT g, md5(g::text) FROM generate_series(1, %s) g").format(big)
    admin.execute(fill, (BIG_ROWS,))
    admin.execute(sql.SQL("ANALYZE {}").format(big))
    text = "SELECT count(*), max(t), sum(length(t)) FROM big WHERE t LIKE '%ab%'"
    admin.execute(f'SET search_path = "{schema}"')
    plan = "\n".join(row[0] for row in admin.execute(f"EXPLAIN {text}").fetchall())
    admin.execute("RESET search_path")
    assert "Gather" in plan, plan

    seen: list[int] = []
    running = threading.Event()
    node = node_url_of_schema(tabular_runtime.url(), schema)  # on Citus, the worker holding the session

    def watch() -> None:
        with psycopg.connect(node, autocommit=True) as conn:
            while running.is_set():
                cur = conn.execute(
                    "SELECT w.pid FROM pg_stat_activity w JOIN pg_stat_activity l ON l.pid = w.leader_pid "
                    "WHERE w.backend_type = 'parallel worker' AND l.usename = %s",
                    (alice["role"],),
                )
                seen.extend(row[0] for row in cur.fetchall())
                time.sleep(0.002)

    for _ in range(3):
        running.set()
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            response = run(client, alice, text)
        finally:
            running.clear()
            watcher.join()
        assert response.status_code == 200, response.text
        if seen:
            break
    assert seen, "no parallel worker ever ran for the API's read"
    raw = sql.SQL("SELECT count(*), max(t), sum(length(t)) FROM {} WHERE t LIKE %s").format(big)
    expected = admin.execute(raw, ("%ab%",))
    assert [list(expected.fetchone() or ())] == rows(response)


def test_a_result_with_no_row_still_names_its_columns(client: TestClient[Any], alice: dict[str, Any]) -> None:
    response = run(client, alice, "SELECT n, n::text AS label FROM items WHERE false")
    assert response.status_code == 200, response.text
    assert response.json()["columns"] == [{"name": "n", "type": "integer"}, {"name": "label", "type": "text"}]
    assert response.json()["rows"] == []


@pytest.mark.usefixtures("no_guard")
def test_a_capped_read_is_cut_short_and_the_connection_serves_on(
    client: TestClient[Any], alice: dict[str, Any]
) -> None:
    """The rest of a long result is cancelled, not read: 50 million rows would take far longer."""
    first = backend(client, alice)
    started = time.monotonic()
    text = "SELECT a * b FROM generate_series(1, 10000) a, generate_series(1, 5000) b"
    body = run(client, alice, text, max_rows=3).json()
    assert body["rows"] == [[1], [2], [3]] and body["truncated"] is True, body
    assert time.monotonic() - started < 5
    assert rows(run(client, alice, "SELECT count(*) FROM items")) == [[0]]
    assert backend(client, alice) == first
