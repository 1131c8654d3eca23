"""The first line alone: with the statement guard out of the way, the user's own database role
still keeps the attacker's SQL away from the victim, the catalog, files, programs and the server.

`client_sql.runner.check_statement` is replaced by a stand-in that lets everything through as a write
(`writes=True`: the statement runs as sent, inside a transaction, not inside DECLARE CURSOR), so
only PostgreSQL's privileges stand between the statement and what it names. Every refusal must be
PostgreSQL's own ("permission denied ..."), answered as a clean 4xx.

Tests marked xfail(strict) are where the role alone does NOT hold (the guard is the only line).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from datainfra.adapters.postgres.client_sql import runner
from datainfra.adapters.postgres.client_sql.guard import GuardedStatement
from datainfra.adapters.postgres.identifiers import session_schema_name
from tests.security.support import (
    INTERNAL_NAME,
    Guarded,
    World,
    assert_clean_problem,
    assert_no_leak,
    send,
)
from tests.support.citus_fixtures import ALL_TABULAR_ENGINES

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]
TABULAR_ENGINES = ALL_TABULAR_ENGINES
"""The module runs on the single PostgreSQL and on the Citus cluster (tests/support/citus_fixtures.py)."""

GUARD_SCOPE = "sql"


def permissive(text: str, *, read_only: bool) -> GuardedStatement:
    """Lets any text through, as a write so it runs exactly as sent."""
    del read_only
    numbers = [int(n) for n in re.findall(r"\$(\d+)", text)]
    return GuardedStatement(text, "select", writes=True, tables=frozenset(), parameters=max(numbers, default=0))


@pytest.fixture
def no_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(runner, "check_statement", permissive)
    yield


def fill(world: World, text: str) -> str:
    victim = world.victim
    return (
        text.replace("<victim_schema2>", session_schema_name(victim.extra["sid2"]))
        .replace("<victim_schema>", victim.schema)
        .replace("<victim_role>", victim.role)
        .replace("<service_role>", world.service_role)
        .replace("<catalog>", world.catalog_schema)
    )


def run(world: World, text: str, *parameters: Any, read_only: bool = False) -> Any:
    query = fill(world, text)
    response, elapsed = send(world, "sql", query, list(parameters) or None, read_only=read_only, timeout_ms=5_000)
    assert elapsed < 15
    assert response.status_code < 500, response.text[:2000]
    request_text = query + json.dumps(parameters)
    assert_no_leak(world, response, request_text)
    leaked = [name for name in INTERNAL_NAME.findall(response.text) if name not in request_text]
    assert not leaked, f"internal names leaked: {leaked}: {response.text[:2000]}"
    return response


def ok_rows(response: Any) -> list[list[Any]]:
    assert response.status_code == 200, response.text[:2000]
    rows: list[list[Any]] = response.json()["rows"]
    return rows


@pytest.mark.usefixtures("no_guard", "unchanged")
def test_the_guard_is_really_out_of_the_way(world: World) -> None:
    """What the guard refuses (a catalog relation, a non-allowlisted function, SHOW) now runs."""
    assert ok_rows(run(world, "SELECT count(*) > 0 FROM pg_catalog.pg_type")) == [[True]]
    assert ok_rows(run(world, "SHOW work_mem")) == [["16MB"]]


@pytest.mark.usefixtures("no_guard", "unchanged")
def test_the_statement_runs_as_the_users_own_role(world: World) -> None:
    rows = ok_rows(run(world, "SELECT current_user, session_user, current_user = $1::text", world.attacker.role))
    assert rows == [[world.attacker.role, world.attacker.role, True]]
    assert world.attacker.role != world.service_role
    attributes = (
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolinherit "
        "FROM pg_roles WHERE rolname = current_user"
    )
    assert ok_rows(run(world, attributes)) == [[False, False, False, False, False]]
    assert ok_rows(run(world, "SELECT count(*) FROM pg_auth_members WHERE member = current_user::regrole")) == [[0]]


ROLE_REFUSES: list[Any] = [
    # (id, statement, what PostgreSQL says)
    ("victim-table-schema-qualified", 'SELECT * FROM "<victim_schema>".people', "permission denied for schema"),
    ("victim-second-session-vault", 'SELECT * FROM "<victim_schema2>".zebra_vault', "permission denied for schema"),
    (
        "victim-table-insert",
        "INSERT INTO \"<victim_schema>\".people (name) VALUES ('x')",
        "permission denied for schema",
    ),
    ("victim-table-update", "UPDATE \"<victim_schema>\".people SET note = 'x'", "permission denied for schema"),
    ("victim-table-delete", 'DELETE FROM "<victim_schema>".people', "permission denied for schema"),
    ("victim-table-alter", 'ALTER TABLE "<victim_schema>".people ADD COLUMN x int', "permission denied for schema"),
    ("victim-table-drop", 'DROP TABLE "<victim_schema>".people', "permission denied for schema"),
    ("victim-schema-drop", 'DROP SCHEMA "<victim_schema>" CASCADE', "must be owner of schema"),
    ("catalog-api-keys", 'SELECT * FROM "<catalog>".api_keys', "permission denied for schema"),
    ("catalog-secrets", 'SELECT value FROM "<catalog>".secrets', "permission denied for schema"),
    ("set-role-service", "SET ROLE <service_role>", "permission denied to set role"),
    ("set-role-victim", 'SET ROLE "<victim_role>"', "permission denied to set role"),
    ("set-session-authorization", "SET SESSION AUTHORIZATION <service_role>", "permission denied to set session"),
    ("set-config-role-service", "SELECT set_config('role', '<service_role>', false)", "permission denied to set role"),
    ("set-config-role-victim", "SELECT set_config('role', '<victim_role>', true)", "permission denied to set role"),
    ("grant-victim-role-to-self", 'GRANT "<victim_role>" TO CURRENT_USER', "permission denied to grant role"),
    ("alter-victim-role", "ALTER ROLE \"<victim_role>\" PASSWORD 'pwned'", "permission denied to alter role"),
    ("alter-own-role-attributes", "ALTER ROLE CURRENT_USER CREATEROLE", "permission denied to alter role"),
    ("create-role", "CREATE ROLE evil SUPERUSER", "permission denied to create role"),
    ("pg-read-file", "SELECT pg_read_file('/etc/passwd')", "permission denied for function pg_read_file"),
    ("pg-read-binary-file", "SELECT pg_read_binary_file('postgresql.conf')", "permission denied for function"),
    ("pg-ls-dir", "SELECT pg_ls_dir('.')", "permission denied for function pg_ls_dir"),
    ("pg-stat-file", "SELECT pg_stat_file('postgresql.conf')", "permission denied for function pg_stat_file"),
    ("lo-import", "SELECT lo_import('/etc/passwd')", "permission denied for function lo_import"),
    ("lo-export", "SELECT lo_export(1, '/tmp/datainfra-stolen')", "permission denied for function lo_export"),
    ("copy-to-file", "COPY people TO '/tmp/datainfra-stolen'", "permission denied to COPY to a file"),
    # Citus checks COPY into a distributed table first, in PostgreSQL's older words ("must be superuser").
    (
        "copy-from-file",
        "COPY people FROM '/etc/passwd'",
        "(permission denied|must be superuser) to COPY (from|to or from) a file",
    ),
    ("copy-to-program", "COPY people TO PROGRAM 'id'", "permission denied to COPY to or from an external program"),
    (
        "copy-from-program",
        "COPY people FROM PROGRAM 'id'",
        "(permission denied|must be superuser) to COPY to or from an external program",
    ),
    ("create-extension-dblink", "CREATE EXTENSION dblink", "permission denied to create extension"),
    ("create-extension-available", "CREATE EXTENSION cube", "permission denied to create extension"),
    ("load-library", "LOAD 'auto_explain'", "access to library"),
    ("create-table-in-own-schema", "CREATE TABLE stolen (a int)", "permission denied for schema"),
    ("create-table-as-in-own-schema", "CREATE TABLE stolen AS SELECT * FROM people", "permission denied for schema"),
    ("create-temp-table", "CREATE TEMP TABLE t (a int)", "permission denied to create temporary tables"),
    (
        "create-function-in-own-schema",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "permission denied",
    ),
    ("create-schema", "CREATE SCHEMA evil", "permission denied for database"),
    ("alter-own-table", "ALTER TABLE people ADD COLUMN x int", "must be owner of table"),
    ("drop-own-table", "DROP TABLE people", "must be owner of table"),
    ("truncate-own-table", "TRUNCATE people", "permission denied for table"),
    ("create-index-on-own-table", "CREATE INDEX evil ON people (note)", "must be owner of table"),
    ("read-own-sequence", "SELECT nextval(pg_get_serial_sequence('people', 'id'))", "permission denied for sequence"),
    ("pg-authid", "SELECT rolpassword FROM pg_authid", "permission denied for table pg_authid"),
    ("pg-shadow", "SELECT passwd FROM pg_shadow", "permission denied for view pg_shadow"),
    ("data-directory-setting", "SELECT current_setting('data_directory')", "permission denied to examine"),
    ("reload-configuration", "SELECT pg_reload_conf()", "permission denied for function pg_reload_conf"),
    ("reassign-owned-to-service", "REASSIGN OWNED BY CURRENT_USER TO <service_role>", "permission denied to reassign"),
    (
        "terminate-service-backends",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '<service_role>'",
        "permission denied to terminate process",
    ),
]


@pytest.mark.usefixtures("no_guard", "unchanged")
@pytest.mark.parametrize(("statement", "refusal"), [pytest.param(s, r, id=i) for i, s, r in ROLE_REFUSES])
def test_the_role_alone_refuses(world: World, statement: str, refusal: str) -> None:
    response = run(world, statement)
    body = assert_clean_problem(response, {400})
    assert body.get("field") == "query"
    assert refusal in body["detail"] or re.search(refusal, body["detail"]), body["detail"]
    follow = ok_rows(run(world, "SELECT count(*) FROM people"))
    assert follow == [[3]]


@pytest.mark.usefixtures("no_guard", "unchanged")
def test_read_only_is_enforced_by_the_server_too(world: World) -> None:
    refused = run(world, "DELETE FROM people", read_only=True)
    assert "read-only transaction" in assert_clean_problem(refused, {400})["detail"]
    smuggled = run(
        world,
        "DO $$ BEGIN PERFORM set_config('transaction_read_only', 'off', true); DELETE FROM people; END $$",
        read_only=True,
    )
    assert "read-write mode must be set before any query" in assert_clean_problem(smuggled, {400})["detail"]
    # a setting switched off in one request does not make the next one writable
    assert ok_rows(run(world, "SELECT set_config('default_transaction_read_only', 'off', false)", read_only=True))
    again = run(world, "DELETE FROM people", read_only=True)
    assert "read-only transaction" in assert_clean_problem(again, {400})["detail"]


# -- pooled-connection leftovers: state a request leaves behind is gone for the next -----------


@pytest.mark.usefixtures("no_guard", "unchanged")
@pytest.mark.parametrize(
    ("setup", "check", "expected"),
    [
        pytest.param("SET work_mem = '1GB'", "SHOW work_mem", [["16MB"]], id="session-setting"),
        pytest.param("SET statement_timeout = 0", "SHOW statement_timeout", [["5s"]], id="statement-timeout"),
        pytest.param(
            "SELECT set_config('search_path', '<victim_schema>', false)",
            "SELECT note FROM people WHERE name = 'ada'",
            [["otter-attacker-own-5517"]],
            id="search-path",
        ),
        pytest.param(
            "PREPARE leftover AS SELECT 1", "SELECT count(*) FROM pg_prepared_statements", [[0]], id="prepare"
        ),
        pytest.param("LISTEN leftover", "SELECT count(*) FROM pg_listening_channels()", [[0]], id="listen"),
        pytest.param(
            "DECLARE leftover CURSOR WITH HOLD FOR SELECT 1",
            "SELECT count(*) FROM pg_cursors",
            [[0]],
            id="cursor-with-hold",
        ),
    ],
)
def test_no_session_state_survives_a_request(world: World, setup: str, check: str, expected: Any) -> None:
    ok_rows(run(world, setup))
    for _ in range(3):
        assert ok_rows(run(world, fill(world, check))) == expected


@pytest.mark.usefixtures("no_guard", "unchanged")
def test_the_role_cannot_take_advisory_locks(world: World) -> None:
    """They are shared by the whole database (the service's own locks included): catalog migration 4
    takes them from PUBLIC, so the role is refused outright and nothing can be left held."""
    refused = run(world, "SELECT pg_advisory_lock(424242)")
    assert "permission denied for function pg_advisory_lock" in assert_clean_problem(refused, {400})["detail"]
    check = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242"
    assert ok_rows(run(world, check)) == [[0]]


# -- where the role alone does not hold ----------------------------------------------------------


@pytest.mark.usefixtures("no_guard", "unchanged")
@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("SELECT relname FROM pg_class WHERE relname LIKE 'zebra%'", id="pg-class-table-names"),
        pytest.param("SELECT attname FROM pg_attribute WHERE attname LIKE 'zebra%'", id="pg-attribute-column-names"),
        pytest.param("SELECT nspname FROM pg_namespace WHERE nspname = '<victim_schema>'", id="pg-namespace"),
        pytest.param("SELECT rolname FROM pg_roles WHERE rolname = '<victim_role>'", id="pg-roles"),
    ],
)
@pytest.mark.xfail(
    strict=True,
    reason="the system catalogs are readable by PUBLIC: without the guard, any role sees every tenant's "
    "schema, table and column names (dataset names) and every user's role",
)
def test_the_role_alone_hides_other_tenants_names(world: World, statement: str) -> None:
    response = run(world, statement)
    if response.status_code == 200:
        assert response.json()["rows"] == [], response.text
    else:
        assert_clean_problem(response, {400})


@pytest.mark.usefixtures("no_guard", "unchanged")
def test_the_roles_own_limits_cannot_be_lifted(world: World) -> None:
    try:
        run(world, "ALTER ROLE CURRENT_USER SET work_mem = '1GB'")
        assert ok_rows(run(world, "SHOW work_mem")) == [["16MB"]]
    finally:
        world.pg.execute(f"ALTER ROLE \"{world.attacker.role}\" SET work_mem = '16MB'")


@pytest.mark.usefixtures("no_guard", "unchanged")
def test_large_objects_do_not_outlive_the_request(world: World) -> None:
    try:
        run(world, "SELECT lo_from_bytea(0, '\\x00'::bytea)")
        count = "SELECT count(*) FROM pg_largeobject_metadata WHERE lomowner = current_user::regrole"
        assert ok_rows(run(world, count)) == [[0]]
    finally:
        world.pg.execute(
            "SELECT lo_unlink(m.oid) FROM pg_largeobject_metadata m JOIN pg_roles r ON r.oid = m.lomowner "
            "WHERE r.rolname = %s",
            (world.attacker.role,),
        )


def test_after_everything_both_tenants_are_exactly_as_before(baseline: dict[str, Guarded]) -> None:
    baseline["victim"].assert_unchanged()
    baseline["attacker"].assert_unchanged()
