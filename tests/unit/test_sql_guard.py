"""The safe-mode SQL guard refuses what a session's raw query must not do, and lets ordinary row work through."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datainfra.adapters.postgres.client_sql import guard
from datainfra.adapters.postgres.client_sql.guard import (
    MAX_SQL_BYTES,
    MAX_SQL_NESTING,
    GuardedStatement,
    check_statement,
)
from datainfra.domain.errors import InvalidRequest
from tests.support.hypothesis_budget import examples

# (statement, a fragment the refusal's detail must contain)
HOSTILE: list[tuple[str, str]] = [
    # several / no statements
    ("SELECT 1; SELECT 2", "exactly one"),
    ("SELECT 1; DROP TABLE t", "exactly one"),
    ("", "exactly one"),
    ("  ;  ", "exactly one"),
    # DDL and utility statements
    ("DROP TABLE t", "DropStmt"),
    ("CREATE TABLE x (a int)", "CreateStmt"),
    ("CREATE TEMP TABLE x (a int)", "CreateStmt"),
    ("CREATE TABLE x AS SELECT 1", "CreateTableAsStmt"),
    ("ALTER TABLE t ADD COLUMN b int", "AlterTableStmt"),
    ("CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql", "CreateFunctionStmt"),
    ("GRANT SELECT ON t TO public", "GrantStmt"),
    ("TRUNCATE t", "TruncateStmt"),
    ("COPY t TO '/tmp/x'", "CopyStmt"),
    ("COPY t FROM PROGRAM 'id'", "CopyStmt"),
    ("LISTEN chan", "ListenStmt"),
    ("NOTIFY chan, 'x'", "NotifyStmt"),
    ("SET search_path = public", "VariableSetStmt"),
    ("SET ROLE postgres", "VariableSetStmt"),
    ("RESET ALL", "VariableSetStmt"),
    ("SHOW search_path", "VariableShowStmt"),
    ("DO $$ BEGIN PERFORM 1; END $$", "DoStmt"),
    ("CALL p()", "CallStmt"),
    ("PREPARE q AS SELECT 1", "PrepareStmt"),
    ("EXECUTE q", "ExecuteStmt"),
    ("LOCK TABLE t", "LockStmt"),
    ("VACUUM t", "VacuumStmt"),
    ("BEGIN", "TransactionStmt"),
    ("COMMIT", "TransactionStmt"),
    ("EXPLAIN ANALYZE DELETE FROM t", "ExplainStmt"),
    ("MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "MergeStmt"),
    ("DISCARD ALL", "DiscardStmt"),
    ("LOAD 'plpgsql'", "LoadStmt"),
    ("DECLARE c CURSOR FOR SELECT 1", "DeclareCursorStmt"),
    # SELECT INTO creates a table
    ("SELECT * INTO newtab FROM t", "INTO"),
    ("SELECT * INTO TEMP newtab FROM t", "INTO"),
    # catalogs and other schemas
    ("SELECT * FROM pg_catalog.pg_class", "schema-qualified"),
    ("SELECT * FROM pg_class", "system catalog"),
    ("SELECT * FROM pg_shadow", "system catalog"),
    ("SELECT * FROM information_schema.tables", "schema-qualified"),
    ("SELECT * FROM other_session.t", "schema-qualified"),
    ("SELECT * FROM db.s.t", "schema-qualified"),
    ("INSERT INTO other.t VALUES (1)", "schema-qualified"),
    ("SELECT * FROM t WHERE id IN (SELECT oid FROM pg_roles)", "system catalog"),
    ("SELECT * FROM t, LATERAL (SELECT * FROM pg_authid) x", "system catalog"),
    ("WITH c AS (SELECT * FROM pg_stat_activity) SELECT * FROM c", "system catalog"),
    # functions outside the allowlist, wherever they hide
    ("SELECT pg_sleep(10)", "pg_sleep"),
    ("SELECT set_config('search_path', 'public', false)", "set_config"),
    ("SELECT current_setting('data_directory')", "current_setting"),
    ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
    ("SELECT lo_import('/etc/passwd')", "lo_import"),
    ("SELECT dblink('host=x', 'select 1')", "dblink"),
    ("SELECT pg_advisory_lock(1)", "pg_advisory_lock"),
    ("SELECT txid_current()", "txid_current"),
    ("SELECT pg_terminate_backend(1)", "pg_terminate_backend"),
    ("SELECT query_to_xml('select 1', true, true, '')", "query_to_xml"),
    ("SELECT * FROM generate_series(1, 1000000000)", "generate_series"),
    ("SELECT repeat('x', 1000000000)", "repeat"),
    ("SELECT nextval('s')", "nextval"),
    ("SELECT pg_notify('c', 'x')", "pg_notify"),
    ("SELECT pg_catalog.pg_sleep(1)", "pg_sleep"),
    ("SELECT public.lower(a) FROM t", "public.lower"),
    ("SELECT count(*) FROM t WHERE a = (SELECT pg_sleep(1))", "pg_sleep"),
    ("SELECT lower(upper(pg_backend_pid()::text)) FROM t", "pg_backend_pid"),
    ("SELECT sum(a) OVER (ORDER BY version()) FROM t", "version"),
    ("UPDATE t SET a = 1 WHERE id = pg_backend_pid()", "pg_backend_pid"),
    ("INSERT INTO t VALUES (pg_sleep(5))", "pg_sleep"),
    ("SELECT * FROM t ORDER BY pg_sleep(1)", "pg_sleep"),
    ("SELECT xmlelement(name a)", "XML"),
    ("SELECT * FROM XMLTABLE('/a' PASSING '<a/>' COLUMNS x int)", "XMLTABLE"),
    # OID-alias casts look up catalog objects by name
    ("SELECT 'pg_class'::regclass", "regclass"),
    ("SELECT CAST('now' AS regproc)", "regproc"),
    ("SELECT $1::regnamespace", "regnamespace"),
    ("SELECT 'postgres'::regrole", "regrole"),
    ("SELECT a::oid FROM t", "oid"),
    ("SELECT '1'::pg_catalog.regclass", "regclass"),
    # cursors, recursion, table samples with odd methods
    ("DELETE FROM t WHERE CURRENT OF c", "CURRENT OF"),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r", "RECURSIVE"),
    ("SELECT * FROM t TABLESAMPLE system_rows(10)", "TABLESAMPLE"),
    # syntax errors name the parser's message
    ("SELEC 1", "syntax error"),
    ("SELECT * FROM", "syntax error"),
    ("SELECT 'unterminated", "syntax error"),
]

HOSTILE_READ_ONLY: list[tuple[str, str]] = [
    ("INSERT INTO t VALUES (1)", "INSERT"),
    ("UPDATE t SET a = 1", "UPDATE"),
    ("DELETE FROM t", "DELETE"),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "data-modifying"),
    ("SELECT * FROM (SELECT 1) x, LATERAL (SELECT 1) y FOR UPDATE", "FOR UPDATE"),
    ("SELECT * FROM t FOR SHARE", "FOR UPDATE"),
]

BENIGN: list[tuple[str, str, set[str]]] = [
    ("SELECT * FROM t", "select", {"t"}),
    ("SELECT a, b FROM t WHERE a = $1 AND b > $2 ORDER BY a DESC NULLS LAST LIMIT $3 OFFSET $4", "select", {"t"}),
    ("SELECT t.a, u.b FROM t JOIN u ON t.id = u.t_id LEFT JOIN v USING (id)", "select", {"t", "u", "v"}),
    ("SELECT city, count(*), sum(amount), avg(amount), min(a), max(a) FROM t GROUP BY city HAVING count(*) > 1",
     "select", {"t"}),
    ("WITH c AS (SELECT city, sum(x) AS s FROM orders GROUP BY city) SELECT * FROM c WHERE s > $1",
     "select", {"orders"}),
    ("SELECT a, row_number() OVER (PARTITION BY b ORDER BY c), lag(a) OVER w FROM t WINDOW w AS (ORDER BY c)",
     "select", {"t"}),
    ("SELECT coalesce(a, 0), nullif(b, ''), greatest(a, b), least(a, b), lower(name), upper(name) FROM t",
     "select", {"t"}),
    ("SELECT date_trunc('day', ts), extract(year FROM ts), to_char(ts, 'YYYY'), now() FROM events",
     "select", {"events"}),
    ("SELECT substring(s FROM 1 FOR 3), trim(BOTH ' ' FROM s), position('a' IN s), s || 'x' FROM t",
     "select", {"t"}),
    ("SELECT string_agg(name, ',' ORDER BY name), array_agg(id), jsonb_agg(x) FROM t", "select", {"t"}),
    ("SELECT jsonb_build_object('a', a), doc->>'k', doc #> '{a,b}' FROM t", "select", {"t"}),
    ("SELECT * FROM t WHERE id IN (SELECT t_id FROM u WHERE EXISTS (SELECT 1 FROM v WHERE v.id = u.id))",
     "select", {"t", "u", "v"}),
    ("SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.t_id = t.id LIMIT 1) x", "select", {"t", "u"}),
    ("SELECT CAST($1 AS integer), $2::text, ctid FROM t", "select", {"t"}),
    ("VALUES (1, 'a'), (2, 'b')", "select", set()),
    ("SELECT a FROM t UNION ALL SELECT a FROM u EXCEPT SELECT a FROM v", "select", {"t", "u", "v"}),
    ("SELECT CASE WHEN a > 0 THEN 'pos' ELSE 'neg' END, a BETWEEN 1 AND 2, b LIKE 'x%' FROM t", "select", {"t"}),
    ("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) RETURNING id, a", "insert", {"t"}),
    ("INSERT INTO t (a) SELECT a FROM u ON CONFLICT (a) DO UPDATE SET a = excluded.a", "insert", {"t", "u"}),
    ("UPDATE t SET a = (SELECT max(b) FROM u WHERE u.id = t.id) WHERE id = $1", "update", {"t", "u"}),
    ("UPDATE t SET a = u.b FROM u WHERE u.id = t.id RETURNING t.*", "update", {"t", "u"}),
    ("DELETE FROM t WHERE id = ANY($1) RETURNING *", "delete", {"t"}),
    ("DELETE FROM t USING u WHERE t.id = u.id", "delete", {"t", "u"}),
    ("WITH moved AS (DELETE FROM t WHERE a < $1 RETURNING *) INSERT INTO archive SELECT * FROM moved",
     "insert", {"t", "archive"}),
    ("SELECT * FROM t TABLESAMPLE BERNOULLI (10)", "select", {"t"}),
    ("SELECT * FROM t FOR UPDATE", "select", {"t"}),
    ("SELECT x FROM t, unnest(t.tags) AS x", "select", {"t"}),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "reason"), HOSTILE, ids=[s for s, _ in HOSTILE])
def test_hostile_statement_is_refused_with_its_reason(sql: str, reason: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_statement(sql, read_only=False)
    assert reason in info.value.detail
    assert info.value.field == "query"


@pytest.mark.parametrize(("sql", "reason"), HOSTILE, ids=[s for s, _ in HOSTILE])
def test_hostile_statement_is_refused_in_read_only_mode_too(sql: str, reason: str) -> None:
    with pytest.raises(InvalidRequest):
        check_statement(sql, read_only=True)


@pytest.mark.parametrize(("sql", "reason"), HOSTILE_READ_ONLY, ids=[s for s, _ in HOSTILE_READ_ONLY])
def test_writes_and_row_locks_are_refused_in_read_only_mode(sql: str, reason: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_statement(sql, read_only=True)
    assert reason in info.value.detail
    assert info.value.field == "query"


@pytest.mark.parametrize(("sql", "kind", "tables"), BENIGN, ids=[s for s, _, _ in BENIGN])
def test_benign_statement_is_accepted(sql: str, kind: str, tables: set[str]) -> None:
    result = check_statement(sql, read_only=False)
    assert result == GuardedStatement(
        text=sql, kind=kind, writes=result.writes, tables=frozenset(tables), parameters=result.parameters
    )
    assert result.writes == (kind != "select")
    assert result.parameters == max((int(n) for n in re.findall(r"\$(\d+)", sql)), default=0)


@pytest.mark.parametrize(
    "sql", [s for s, kind, _ in BENIGN if kind == "select" and "FOR UPDATE" not in s], ids=lambda s: str(s)
)
def test_benign_select_is_accepted_read_only(sql: str) -> None:
    assert check_statement(sql, read_only=True).kind == "select"


def test_data_modifying_cte_under_select_is_reported_as_writing() -> None:
    result = check_statement("WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d", read_only=False)
    assert (result.kind, result.writes, result.tables) == ("select", True, frozenset({"t"}))


def test_input_over_64_kib_is_refused_without_parsing() -> None:
    sql = "SELECT " + "1" * (65 * 1024)
    with (
        mock.patch.object(guard, "parse_sql", side_effect=AssertionError("parser called")) as parser,
        pytest.raises(InvalidRequest) as info,
    ):
        check_statement(sql, read_only=True)
    parser.assert_not_called()
    assert "longer than" in info.value.detail


def test_input_over_64_kib_in_utf8_bytes_is_refused_without_parsing() -> None:
    sql = "SELECT '" + "é" * (MAX_SQL_BYTES // 2) + "'"  # fewer characters than the cap, more bytes
    assert len(sql) < MAX_SQL_BYTES
    with (
        mock.patch.object(guard, "parse_sql", side_effect=AssertionError("parser called")) as parser,
        pytest.raises(InvalidRequest),
    ):
        check_statement(sql, read_only=True)
    parser.assert_not_called()


def test_input_just_under_the_cap_is_parsed() -> None:
    sql = "SELECT '" + "x" * (MAX_SQL_BYTES - 10) + "'"
    assert check_statement(sql, read_only=True).kind == "select"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "(" * 20000 + "1" + ")" * 20000,
        "SELECT " + "+".join(["a"] * 20000),
        "SELECT \x00 1",
        "SELECT '\ud800'",
    ],
    ids=["deep-parens", "long-chain", "nul", "surrogate"],
)
def test_pathological_input_is_an_invalid_request_or_accepted(sql: str) -> None:
    try:
        check_statement(sql, read_only=True)
    except InvalidRequest as exc:
        assert exc.field == "query"


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=300))
def test_random_text_raises_nothing_but_invalid_request(text: str) -> None:
    try:
        check_statement(text, read_only=False)
    except InvalidRequest as exc:
        assert exc.field == "query"
        assert exc.detail


_TOKENS = st.sampled_from(
    ["SELECT", "FROM", "t", "(", ")", ",", ";", "WITH", "AS", "INSERT", "INTO", "VALUES", "$1", "'x'", "1",
     "::", "regclass", "pg_sleep", "WHERE", "=", "DELETE", "UPDATE", "SET", "a", "*", "JOIN", "ON", "RETURNING"]
)  # fmt: skip


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(_TOKENS, max_size=40))
def test_random_token_soup_raises_nothing_but_invalid_request(tokens: list[str]) -> None:
    try:
        check_statement(" ".join(tokens), read_only=False)
    except InvalidRequest as exc:
        assert exc.field == "query"


def _chain(operator: str, term: str, size: int) -> str:
    """`SELECT term op term op ...` as long as fits in *size* bytes."""
    head = "SELECT "
    count = (size - len(head) + len(operator)) // (len(term) + len(operator))
    return head + operator.join([term] * count)


# Shapes whose syntax tree grows one or two levels a term; at the 64 KiB cap each is far deeper than pglast can
# build without overflowing the C stack (the first one killed the API process before the depth bound).
_DEEP_AT_THE_CAP = {
    "plus-chain": _chain("+", "1", MAX_SQL_BYTES - 1),
    "plus-chain-60kb": _chain("+", "1", 60_000),
    "concat-chain": _chain("||", "'x'", MAX_SQL_BYTES - 1),
    "minus-chain": _chain("-", "a", MAX_SQL_BYTES - 1),
    "comparison-chain": _chain(" < ", "1", MAX_SQL_BYTES - 1),
    "union-chain": " UNION ".join(["SELECT 1"] * ((MAX_SQL_BYTES - 1) // 15)),
    "unary-minus": "SELECT " + "- " * ((MAX_SQL_BYTES - 10) // 2) + "1",
    "not-chain": "SELECT " + "NOT " * ((MAX_SQL_BYTES - 15) // 4) + "true",
    "nested-arrays": "SELECT " + "ARRAY[" * 9000 + "1" + "]" * 9000,
    "nested-case": "SELECT " + "CASE WHEN true THEN " * 2700 + "1" + " END" * 2700,
    "nested-subqueries": "SELECT " + "(SELECT " * 7000 + "1" + ")" * 7000,
}


def test_deep_statements_at_the_size_cap_are_refused_and_the_process_survives() -> None:
    """Run in a child process: a crash in the parser shows as a failed test, not as the end of the test run."""
    script = (
        "import json, sys\n"
        "from datainfra.adapters.postgres.client_sql.guard import check_statement\n"
        "from datainfra.domain.errors import InvalidRequest\n"
        "out = {}\n"
        "for name, sql in json.load(sys.stdin).items():\n"
        "    try:\n"
        "        check_statement(sql, read_only=True)\n"
        "        out[name] = 'accepted'\n"
        "    except InvalidRequest as exc:\n"
        "        out[name] = exc.field + ': ' + exc.detail\n"
        "print(json.dumps(out))\n"
    )
    assert all(len(sql.encode()) <= MAX_SQL_BYTES for sql in _DEEP_AT_THE_CAP.values())
    child = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(_DEEP_AT_THE_CAP), capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr[-2000:]
    answers = json.loads(child.stdout)
    for name, answer in answers.items():
        assert answer.startswith("query: "), (name, answer)
        assert "nested too deeply" in answer or "syntax error" in answer, (name, answer)


def test_a_chain_under_the_nesting_bound_is_accepted() -> None:
    sql = _chain("+", "a", 2 * 1_900)
    assert sql.count("+") > 1_800
    assert check_statement(sql, read_only=True).kind == "select"


def test_a_chain_over_the_nesting_bound_names_the_limit() -> None:
    with pytest.raises(InvalidRequest) as info:
        check_statement("SELECT " + "+".join(["a"] * (MAX_SQL_NESTING // 2 + 10)), read_only=True)
    assert info.value.field == "query"
    assert f"at most {MAX_SQL_NESTING}" in info.value.detail


@settings(max_examples=examples(100), deadline=None)
@given(
    st.sampled_from(["({})", "ARRAY[{}]", "(SELECT {})", "CASE WHEN true THEN {} END", "- {}", "NOT {}", "{} + 1"]),
    st.integers(min_value=1, max_value=6_000),
)
def test_any_nesting_depth_of_a_shape_is_answered_or_refused(shape: str, depth: int) -> None:
    prefix, suffix = shape.split("{}")
    depth = min(depth, (MAX_SQL_BYTES - 20) // (len(prefix) + len(suffix)))
    expression = prefix * depth + ("true" if "NOT" in shape else "1") + suffix * depth
    try:
        check_statement("SELECT " + expression, read_only=True)
    except InvalidRequest as exc:
        assert exc.field == "query"
