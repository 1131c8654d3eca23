"""Hostile SQL: the attacker, in its own session, against the victim's marker data (issue #5).

Every case is one POST /sessions/{attacker session}/query. Each asserts what it expects (a clean
problem document with a given status, a bounded 504, or exact harmless rows), that the response
carries nothing of the victim (secret, names, ids, schema and role names) and no traceback, and
that the victim's data (through the API and in the stores) and the attacker's own are unchanged.

Placeholders in a query or parameter, filled from the world before sending: <victim_schema>,
<victim_schema2> (the victim's second session), <victim_role>, <service_role>, <catalog>. The
attacker could not know these; the cases assume the worst (it does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

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
TIMEOUT_MS = 500
WALL_CLOCK_BOUND_S = 15.0


@dataclass(frozen=True)
class Case:
    id: str
    query: str
    parameters: list[Any] | None = None
    read_only: bool = True
    status: frozenset[int] = frozenset({400})
    """Acceptable statuses; 504 only ever with the wall-clock bound."""
    field: str | None = "query"
    """The problem document's `field` for a 400 (None: not checked)."""
    rows: Any = None
    """For a 200: the exact rows."""
    timeout_ms: int = TIMEOUT_MS
    xfail: str | None = None


R = frozenset({400})
OK = frozenset({200})
BOUNDED = frozenset({400, 504})
"""Resource exhaustion: refused, or cancelled by the time limit (within WALL_CLOCK_BOUND_S)."""
CROSS20 = "SELECT count(*) FROM " + ", ".join(f"people p{i}" for i in range(20))  # noqa: S608 - a fixed text

CASES: list[Case] = [
    # -- role and setting changes --------------------------------------------------------------
    Case("set-role-service-role", "SET ROLE <service_role>"),
    Case("set-role-victim-role", 'SET ROLE "<victim_role>"'),
    Case("reset-role", "RESET ROLE"),
    Case("set-session-authorization", "SET SESSION AUTHORIZATION <service_role>"),
    Case("set-config-role", "SELECT set_config('role', '<service_role>', false)"),
    Case(
        "set-config-role-in-where",
        "SELECT name FROM people WHERE set_config('role', '<victim_role>', true) IS NOT NULL",
    ),
    Case(
        "set-config-search-path-to-victim",
        "SELECT set_config('search_path', '<victim_schema>', false), (SELECT count(*) FROM people)",
    ),
    Case("set-search-path-to-victim", 'SET search_path TO "<victim_schema>", public'),
    Case("set-local-statement-timeout-off", "SET LOCAL statement_timeout = 0"),
    Case("reset-all", "RESET ALL"),
    Case("show-all-settings", "SHOW ALL"),
    Case("show-data-directory", "SHOW data_directory"),
    Case("current-setting-search-path", "SELECT current_setting('search_path')"),
    Case("alter-own-role-set-work-mem", "ALTER ROLE CURRENT_USER SET work_mem = '1GB'", read_only=False),
    Case("alter-victim-role-password", "ALTER ROLE \"<victim_role>\" PASSWORD 'pwned'", read_only=False),
    # -- catalog probing -----------------------------------------------------------------------
    Case("pg-class-listing", "SELECT relname, relnamespace FROM pg_class"),
    Case("pg-namespace-qualified", "SELECT nspname FROM pg_catalog.pg_namespace"),
    Case("pg-roles", "SELECT rolname FROM pg_roles"),
    Case("pg-stat-activity", "SELECT usename, query FROM pg_stat_activity"),
    Case("pg-attribute-unicode-escaped-name", 'SELECT attname FROM U&"\\0070g_attribute"'),
    Case("pg-class-uppercase-quoted", 'SELECT relname FROM "PG_CLASS"'),
    Case("pg-class-in-cte-subquery", "WITH t AS (SELECT relname FROM pg_class) SELECT * FROM t"),
    Case("information-schema-tables", "SELECT table_schema, table_name FROM information_schema.tables"),
    Case("information-schema-columns", "SELECT table_name, column_name FROM information_schema.columns"),
    Case("to-regclass-victim-table", "SELECT to_regclass('\"<victim_schema>\".people')"),
    Case("regclass-cast-victim-table", "SELECT '\"<victim_schema>\".people'::regclass"),
    Case("regclass-array-cast", "SELECT '{pg_class}'::pg_catalog.regclass[]"),
    Case("regnamespace-cast-syntax", "SELECT CAST('<victim_schema>' AS regnamespace)"),
    Case("regrole-cast-parameter", "SELECT $1::regrole", ["<victim_role>"]),
    Case("oid-cast", "SELECT 1259::oid"),
    Case("has-table-privilege", "SELECT has_table_privilege('\"<victim_schema>\".people', 'select')"),
    Case("pg-get-userbyid", "SELECT pg_get_userbyid(10)"),
    Case("pg-get-viewdef", "SELECT pg_get_viewdef('pg_roles')"),
    Case("version-string", "SELECT version()"),
    Case("txid-current", "SELECT txid_current()"),
    Case(
        "aclitem-cast-is-a-role-existence-oracle",
        "SELECT $1::aclitem::text",
        ["<victim_role>=r/<victim_role>"],
    ),
    # -- the victim's schema and the service's catalog, schema-qualified ---------------------
    Case("victim-schema-qualified-select", 'SELECT * FROM "<victim_schema>".people'),
    Case("victim-second-session-vault", 'SELECT * FROM "<victim_schema2>".zebra_vault'),
    Case("victim-qualified-in-scalar-subquery", 'SELECT (SELECT count(*) FROM "<victim_schema>".people)'),
    Case("victim-qualified-join", 'SELECT b.note FROM people a JOIN "<victim_schema>".people b USING (name)'),
    Case("victim-qualified-in-exists", 'SELECT 1 WHERE EXISTS (SELECT 1 FROM "<victim_schema>".people)'),
    Case("victim-three-part-name", 'SELECT * FROM postgres."<victim_schema>".people'),
    Case(
        "insert-select-from-victim",
        'INSERT INTO people (name, note) SELECT name, note FROM "<victim_schema>".people',
        read_only=False,
    ),
    Case("update-victim-table", "UPDATE \"<victim_schema>\".people SET note = 'pwned'", read_only=False),
    Case("delete-victim-table", 'DELETE FROM "<victim_schema>".people', read_only=False),
    Case("victim-row-type-cast", 'SELECT (NULL::"<victim_schema>".people).*'),
    Case("victim-qualified-operator", 'SELECT 1 OPERATOR("<victim_schema>".+) 1'),
    Case("victim-qualified-collation", 'SELECT \'a\' COLLATE "<victim_schema>"."C"'),
    Case("catalog-api-keys", 'SELECT * FROM "<catalog>".api_keys'),
    Case("catalog-secrets", 'SELECT value FROM "<catalog>".secrets'),
    Case("default-catalog-secrets", "SELECT value FROM datainfra.secrets"),
    Case("catalog-users-update", "UPDATE \"<catalog>\".api_keys SET user_id = 'x'", read_only=False),
    Case("public-schema-table", "SELECT * FROM public.anything"),
    # -- functions that run SQL from strings ---------------------------------------------------
    Case("query-to-xml", "SELECT query_to_xml('SELECT * FROM \"<victim_schema>\".people', true, true, '')"),
    Case(
        "xpath-over-query-to-xml",
        "SELECT xpath('//note/text()', query_to_xml('SELECT note FROM \"<victim_schema>\".people', true, true, ''))",
    ),
    Case("table-to-xml", "SELECT table_to_xml('\"<victim_schema>\".people', true, true, '')"),
    Case("xmltable", "SELECT * FROM XMLTABLE('/a' PASSING '<a/>' COLUMNS x text)"),
    Case("dblink", "SELECT * FROM dblink('dbname=postgres', 'SELECT value FROM datainfra.secrets') AS t(v text)"),
    Case("do-block-execute", "DO $$ BEGIN EXECUTE 'DROP TABLE people'; END $$", read_only=False),
    Case(
        "create-security-definer-function",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'",
        read_only=False,
    ),
    Case("prepare", 'PREPARE p AS SELECT * FROM "<victim_schema>".people'),
    Case("execute-prepared", "EXECUTE p"),
    Case("qualified-allowed-name-other-schema", "SELECT \"<victim_schema>\".lower('x')"),
    # -- file and program access ---------------------------------------------------------------
    Case("pg-read-file", "SELECT pg_read_file('/etc/passwd')"),
    Case("pg-read-binary-file", "SELECT pg_read_binary_file('postgresql.conf')"),
    Case("pg-ls-dir", "SELECT pg_ls_dir('.')"),
    Case("pg-stat-file", "SELECT pg_stat_file('postgresql.conf')"),
    Case("lo-import", "SELECT lo_import('/etc/passwd')"),
    Case("lo-from-bytea", "SELECT lo_from_bytea(0, 'x')", read_only=False),
    Case("copy-from-program", "COPY people FROM PROGRAM 'id'", read_only=False),
    Case("copy-to-file", "COPY people TO '/tmp/datainfra-stolen'"),
    Case("copy-to-stdout", "COPY (SELECT 1) TO STDOUT"),
    # -- extension loading ---------------------------------------------------------------------
    Case("create-extension-dblink", "CREATE EXTENSION dblink", read_only=False),
    Case("load-library", "LOAD 'auto_explain'", read_only=False),
    # -- multi-statement and quoting tricks ----------------------------------------------------
    Case("select-then-drop", "SELECT 1; DROP TABLE people"),
    Case("select-then-select", "SELECT 1; SELECT 2"),
    Case("backslash-quote-breakout", "SELECT 'a\\'; DROP TABLE people; --'"),
    Case(
        "dollar-quote-with-inner-tag",
        "SELECT $a$x$b$; DROP TABLE people; --$a$",
        status=OK,
        rows=[["x$b$; DROP TABLE people; --"]],
    ),
    Case("trailing-semicolon-and-comment", "SELECT 1; -- nothing after", status=OK, rows=[[1]]),
    Case("block-comment-hides-drop", "SELECT 1 /* ; DROP TABLE people; */", status=OK, rows=[[1]]),
    Case("nested-block-comment-hides-drop", "SELECT 1 /* /* */ ; DROP TABLE people; */", status=OK, rows=[[1]]),
    Case("line-comment-hides-drop", "SELECT 1 -- ; DROP TABLE people", status=OK, rows=[[1]]),
    Case("semicolon-in-string", "SELECT ';DROP TABLE people;'", status=OK, rows=[[";DROP TABLE people;"]]),
    Case("dollar-quoted-drop", "SELECT $tag$; DROP TABLE people; $tag$", status=OK, rows=[["; DROP TABLE people; "]]),
    Case(
        "e-string-escaped-quote",
        "SELECT E'a\\'; DROP TABLE people; --'",
        status=OK,
        rows=[["a'; DROP TABLE people; --"]],
    ),
    Case(
        "parameter-is-data",
        "SELECT count(*) FROM people WHERE name = $1",
        ["x'; DROP TABLE people; --"],
        status=OK,
        rows=[[0]],
    ),
    # -- writes in read-only mode --------------------------------------------------------------
    Case("insert-in-read-only", "INSERT INTO people (name) VALUES ('x')"),
    Case("data-modifying-cte-in-read-only", "WITH d AS (DELETE FROM people RETURNING *) SELECT count(*) FROM d"),
    Case("select-for-update-in-read-only", "SELECT * FROM people FOR UPDATE"),
    Case("nextval", "SELECT nextval('x')"),
    Case("select-into", "SELECT * INTO stolen FROM people"),
    Case("call-procedure", "CALL anything()"),
    Case("side-effect-function-read-write", "SELECT set_config('default_transaction_read_only', 'off', false)"),
    Case("merge", "MERGE INTO people p USING orders o ON p.name = o.person WHEN MATCHED THEN DELETE", read_only=False),
    Case("writable-cte-update-in-read-only", "WITH u AS (UPDATE people SET note = 'x' RETURNING 1) SELECT 1"),
    # -- DDL -----------------------------------------------------------------------------------
    Case("drop-table", "DROP TABLE people", read_only=False),
    Case("drop-victim-schema-cascade", 'DROP SCHEMA "<victim_schema>" CASCADE', read_only=False),
    Case("alter-table", "ALTER TABLE people ADD COLUMN x int", read_only=False),
    Case("truncate", "TRUNCATE people", read_only=False),
    Case("create-table", "CREATE TABLE stolen AS SELECT * FROM people", read_only=False),
    Case("create-index", "CREATE INDEX i ON people (note)", read_only=False),
    Case("grant-to-public", "GRANT ALL ON people TO PUBLIC", read_only=False),
    Case("revoke-from-victim", 'REVOKE ALL ON people FROM "<victim_role>"', read_only=False),
    Case("create-role", "CREATE ROLE evil SUPERUSER", read_only=False),
    Case("comment-on-table", "COMMENT ON TABLE people IS 'x'", read_only=False),
    # -- transaction control -------------------------------------------------------------------
    Case("begin", "BEGIN"),
    Case("commit", "COMMIT"),
    Case("savepoint", "SAVEPOINT s"),
    Case("set-transaction-read-write", "SET TRANSACTION READ WRITE"),
    Case("start-transaction-read-write", "START TRANSACTION READ WRITE"),
    # -- session state -------------------------------------------------------------------------
    Case("listen", "LISTEN datainfra"),
    Case("notify", "NOTIFY datainfra, 'x'"),
    Case("pg-notify", "SELECT pg_notify('datainfra', 'x')"),
    Case("advisory-lock", "SELECT pg_advisory_lock(1)"),
    Case("create-temp-table", "CREATE TEMP TABLE people AS SELECT 1 AS name"),
    Case("declare-cursor", "DECLARE c CURSOR WITH HOLD FOR SELECT * FROM people"),
    Case("discard-all", "DISCARD ALL"),
    Case("lock-table", "LOCK TABLE people IN ACCESS EXCLUSIVE MODE", read_only=False),
    # -- resource exhaustion -------------------------------------------------------------------
    Case("pg-sleep", "SELECT pg_sleep(30)"),
    Case("pg-sleep-qualified", "SELECT pg_catalog.pg_sleep(30)"),
    Case("generate-series-1e10", "SELECT count(*) FROM generate_series(1, 1e10::bigint)"),
    Case("repeat-1e9", "SELECT length(repeat('x', 1000000000))"),
    Case(
        "with-recursive-forever",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    ),
    Case("cartesian-product-20-way", CROSS20, status=frozenset({504})),
    Case(
        "unnest-cartesian-1e12",
        "SELECT count(*) FROM unnest($1::int[]) a, unnest($1::int[]) b, unnest($1::int[]) c, unnest($1::int[]) d",
        [list(range(1000))],
        status=frozenset({504}),
    ),
    Case("deep-parentheses", "SELECT " + "(" * 20_000 + "1" + ")" * 20_000),
    Case("deep-arrays", "SELECT " + "ARRAY[" * 5_000 + "1" + "]" * 5_000),
    Case("deep-scalar-subqueries", "SELECT " + "(SELECT " * 3_000 + "1" + ")" * 3_000, status=BOUNDED),
    Case(
        "format-width-string-agg-over-1gb",
        "SELECT length(string_agg(format('%*s', 200000000, 'x'), '')) FROM unnest(ARRAY[1, 2, 3, 4, 5, 6])",
        status=BOUNDED,
    ),
    Case(
        "cube-grouping-sets-explosion",
        "SELECT count(*) FROM people GROUP BY CUBE(name, age, note, id, name || 'a', age + 1, note || 'b', id + 1, "
        "name || 'c', age + 2, note || 'd', id + 2), CUBE(name, age, note, id, name || 'e', age + 3, note || 'f', "
        "id + 3, name || 'g', age + 4, note || 'h', id + 4)",
    ),
    Case("two-thousand-columns", "SELECT " + ", ".join(["1"] * 2_000)),
    Case("numeric-power-overflow", "SELECT 10::numeric ^ 1000000", status=frozenset({422})),
    Case("jsonb-text-nested-100k", "SELECT $1::jsonb", ["[" * 100_000 + "]" * 100_000]),
    Case("regex-bomb-nested-quantifiers", "SELECT $1::text ~ '^(a+)+$'", ["a" * 40 + "b"], status=OK, rows=[[False]]),
    Case(
        "regex-bomb-backreferences", "SELECT $1::text ~ '(.*)\\1\\1\\1\\1x'", ["ab" * 3000], status=OK, rows=[[False]]
    ),
    Case(
        "regex-too-complex",
        "SELECT $1::text ~ '(((a{1,100}){1,100}){1,100}){1,100}'",
        ["a" * 100],
        status=frozenset({422, 504}),
    ),
    Case(
        "like-regex-bomb-in-jsonpath",
        "SELECT jsonb_path_exists($1::jsonb, '$ ? (@ like_regex \"^(a+)+$\")')",
        ['"' + "a" * 40 + "b" + '"'],
        status=OK,
        rows=[[False]],
    ),
    Case("seventy-kb-query", "SELECT 1 " + "-- padding\n" * 6_500),
    Case("hundred-thousand-parameters", "SELECT $1", list(range(100_000)), field="parameters"),
    Case("nul-in-parameter", "SELECT $1::text", ["a\x00b"], field="parameters"),
]


def _fill(world: World, text: str) -> str:
    victim = world.victim
    return (
        text.replace("<victim_schema2>", session_schema_name(victim.extra["sid2"]))
        .replace("<victim_schema>", victim.schema)
        .replace("<victim_role>", victim.role)
        .replace("<service_role>", world.service_role)
        .replace("<catalog>", world.catalog_schema)
    )


def _params(world: World, parameters: list[Any] | None) -> list[Any] | None:
    if parameters is None:
        return None
    return [_fill(world, p) if isinstance(p, str) else p for p in parameters]


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def check_case(world: World, case: Case) -> None:
    query = _fill(world, case.query)
    parameters = _params(world, case.parameters)
    response, elapsed = send(world, "sql", query, parameters, read_only=case.read_only, timeout_ms=case.timeout_ms)
    assert response.status_code < 500 or response.status_code == 504, response.text[:2000]
    assert elapsed < WALL_CLOCK_BOUND_S, f"took {elapsed:.1f}s"
    assert_no_leak(world, response, query + json.dumps(parameters))
    request_text = query + json.dumps(parameters)
    leaked = [name for name in INTERNAL_NAME.findall(response.text) if name not in request_text]
    assert not leaked, f"internal schema/role names leaked: {leaked}: {response.text[:2000]}"
    if response.status_code == 200:
        assert 200 in case.status, f"a hostile statement ran: {response.text[:2000]}"
        assert response.json()["rows"] == case.rows
        return
    body = assert_clean_problem(response, set(case.status))
    if response.status_code == 504:
        assert "timeout_ms" in body["detail"]
    elif response.status_code == 400 and case.field is not None:
        assert body.get("field") == case.field, body
    # the attacker's next request works normally
    follow, _ = send(world, "sql", "SELECT count(*) FROM people")
    assert follow.status_code == 200 and follow.json()["rows"] == [[3]], follow.text


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_sql(world: World, case: Case) -> None:
    check_case(world, case)


def test_the_corpus_is_large_and_ids_are_unique() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


# -- requests beyond the query text --------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_a_ten_megabyte_body_is_a_413(world: World) -> None:
    body = {"language": "sql", "query": "SELECT $1::text", "parameters": ["x" * 10_000_000]}
    response = world.client.post(f"/sessions/{world.attacker.sid}/query", json=body, headers=world.attacker.auth)
    assert_clean_problem(response, {413})


@pytest.mark.usefixtures("unchanged")
def test_json_parameters_nested_beyond_the_decoder_limit_are_a_400(world: World) -> None:
    raw = b'{"language":"sql","query":"SELECT $1::jsonb","parameters":[' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    response = world.client.post(
        f"/sessions/{world.attacker.sid}/query",
        content=raw,
        headers={**world.attacker.auth, "content-type": "application/json"},
    )
    assert_clean_problem(response, {400})


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'"\\ud800"', id="lone-high-surrogate"),
        pytest.param(b'"\\udc00\\ud800"', id="reversed-surrogates"),
        pytest.param(b'{"\\ud800": 1}', id="surrogate-object-key"),
    ],
)
def test_unpaired_surrogates_in_parameters_are_a_400(world: World, raw: bytes) -> None:
    body = b'{"language":"sql","query":"SELECT $1","parameters":[' + raw + b"]}"
    response = world.client.post(
        f"/sessions/{world.attacker.sid}/query",
        content=body,
        headers={**world.attacker.auth, "content-type": "application/json"},
    )
    assert_clean_problem(response, {400})


@pytest.mark.usefixtures("unchanged")
def test_the_victims_session_id_looks_exactly_like_a_missing_one(world: World) -> None:
    body = {"language": "sql", "query": "SELECT 1"}
    auth = world.attacker.auth
    victims = world.client.post(f"/sessions/{world.victim.sid}/query", json=body, headers=auth)
    missing_id = "00000000-0000-4000-8000-000000000000"
    missing = world.client.post(f"/sessions/{missing_id}/query", json=body, headers=auth)
    assert_clean_problem(victims, {404})
    assert_clean_problem(missing, {404})
    assert victims.json() == {
        **missing.json(),
        "detail": missing.json()["detail"].replace(missing_id, world.victim.sid),
    }


@pytest.mark.usefixtures("unchanged")
def test_a_huge_result_is_refused_or_cut(world: World) -> None:
    response, elapsed = send(
        world, "sql", "SELECT format('%*s', 20000000, 'x') FROM unnest(ARRAY[1, 2, 3, 4, 5])", timeout_ms=10_000
    )
    assert elapsed < WALL_CLOCK_BOUND_S
    if response.status_code == 200:
        assert len(response.content) <= 32 * 1024 * 1024, f"{len(response.content)} bytes in one response"
        assert response.json()["truncated"] is True
    else:
        assert_clean_problem(response, {400, 413})


# -- pooled-connection leftovers: a request tries to leave state behind, the next one checks ------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("setup", "check", "expected"),
    [
        pytest.param(
            "SELECT set_config('search_path', '\"<victim_schema>\"', false)",
            "SELECT note FROM people ORDER BY name",
            [["otter-attacker-own-5517"], ["otter-attacker-own-5517 (bob)"], [None]],
            id="search-path-to-victim-then-unqualified-read",
        ),
        pytest.param(
            "CREATE TEMP TABLE people AS SELECT 'shadow' AS note",
            "SELECT count(*) FROM people",
            [[3]],
            id="temp-table-shadowing-people",
        ),
        pytest.param(
            "SET SESSION ROLE <service_role>",
            "SELECT count(*) FROM people",
            [[3]],
            id="session-role-then-read",
        ),
        pytest.param(
            "PREPARE leftover AS SELECT 1",
            "SELECT 1",
            [[1]],
            id="prepared-statement",
        ),
    ],
)
def test_no_state_survives_a_request(world: World, setup: str, check: str, expected: Any) -> None:
    first, _ = send(world, "sql", _fill(world, setup))
    assert_clean_problem(first, {400})
    for _ in range(3):  # more than one request, in case connections were pooled
        second, _ = send(world, "sql", check)
        assert second.status_code == 200, second.text
        assert second.json()["rows"] == expected


@pytest.mark.usefixtures("unchanged")
def test_the_time_limit_still_holds_after_a_request_tried_to_lift_it(world: World) -> None:
    first, _ = send(world, "sql", "SET statement_timeout = 0")
    assert_clean_problem(first, {400})
    second, elapsed = send(world, "sql", CROSS20, timeout_ms=300)
    assert_clean_problem(second, {504})
    assert elapsed < WALL_CLOCK_BOUND_S


def test_after_the_whole_corpus_both_tenants_are_exactly_as_before(baseline: dict[str, Guarded]) -> None:
    baseline["victim"].assert_unchanged()
    baseline["attacker"].assert_unchanged()
