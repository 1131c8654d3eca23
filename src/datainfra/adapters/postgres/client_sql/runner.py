"""Client SQL over a session's tables: the SqlQueryRunner port on PostgreSQL.

Two lines of defence, each enough on its own for what it covers:
1. the statement runs on a connection that logged in as the user's own role (adapters.postgres.
   client_sql.roles), whose privileges reach only that user's session schemas and tables: the server
   itself refuses everything else, whatever the text says. `search_path` is the session's schema,
   so its datasets are found by their own names;
2. before anything reaches the server, client_sql.guard parses the text with PostgreSQL's own parser and
   refuses what safe mode does not allow (other statement types, functions outside an allowlist,
   catalog relations, session-state changes).

Each request gets a fresh connection, closed at its end: nothing a statement does (settings,
temp tables, prepared statements, locks, LISTEN) can outlive it. The time limit is the server's
statement_timeout, so a runaway statement is cancelled in the database, not just abandoned.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.client_sql.guard import GuardedStatement, check_statement
from datainfra.adapters.postgres.client_sql.results import approximate_size, columns_of, json_value, load_as_text
from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.errors import scrub
from datainfra.adapters.postgres.identifiers import session_schema_name
from datainfra.adapters.postgres.pool import (
    AnsweringConnection,
    answer_timeout_for,
    register_value_conversions,
    tcp_options,
    translate_errors,
)
from datainfra.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    InvalidRequest,
    StoreTimeout,
    StoreUnavailable,
    TooManyRequests,
)
from datainfra.domain.model import Session
from datainfra.domain.ports import SqlQueryRunner
from datainfra.domain.queries import QueryLimits, QueryResult

MAX_RESULT_BYTES = 32 * 1024 * 1024
"""About this much result text per request; `truncated` says when the budget (or max_rows) cut it."""


class PostgresSqlRunner(SqlQueryRunner):
    """SqlQueryRunner on PostgreSQL: the statement is guarded, then runs on a fresh connection of its
    own, logged in as the session owner's role (`roles`), on the pool's server and database."""

    def __init__(self, pool: AsyncConnectionPool, roles: PostgresUserRoles, *, connect_timeout: int = 5) -> None:
        self._roles = roles
        self._connect_timeout = connect_timeout
        if not isinstance(pool.conninfo, str):
            raise StoreUnavailable("the query runner needs the pool's connection string")
        self._server = {
            key: value
            for key, value in conninfo_to_dict(pool.conninfo).items()
            if key not in ("user", "password", "options", "application_name", "connect_timeout", "passfile")
        }
        """The pool's server and database; each query connects there as the user's role instead."""

    async def run_sql(self, session: Session, text: str, parameters: Sequence[Any], limits: QueryLimits) -> QueryResult:
        statement = check_statement(text, read_only=limits.read_only)
        if statement.parameters != len(parameters):
            raise InvalidRequest(
                f"the statement uses {statement.parameters} parameter(s) ($1..${statement.parameters}) "
                f"but {len(parameters)} were given",
                field="parameters",
            )
        values = [_bindable(value) for value in parameters]
        conn = await self._connect(session, limits)
        try:
            with _client_errors():
                if statement.writes:
                    return await _run_write(conn, statement, values, limits)
                return await _run_read(conn, statement, values, limits)
        finally:
            await conn.close()

    async def _connect(self, session: Session, limits: QueryLimits) -> psycopg.AsyncConnection[Any]:
        for attempt in (1, 2):
            role, password = await self._roles.credentials(session.owner_id)
            settings = [
                *(f"{name}={value}" for name, value in self._roles.limits.connection_settings()),
                f"search_path={session_schema_name(session.id)}",
                f"statement_timeout={limits.timeout_ms}",  # after the role's ceiling: this one counts
                "TimeZone=UTC",
                f"default_transaction_read_only={'on' if limits.read_only else 'off'}",
            ]
            conninfo = make_conninfo(
                "",
                **self._server,
                user=role,
                password=password,
                options=" ".join(f"-c {item}" for item in settings),
                application_name="datainfra-query",
                connect_timeout=self._connect_timeout,
                **tcp_options(answer_timeout_for(limits.timeout_ms)),
            )
            try:
                conn = await AnsweringConnection.connect(
                    conninfo, autocommit=True, cursor_factory=psycopg.AsyncRawCursor
                )
            except psycopg.OperationalError as exc:
                message = str(exc)
                if "too many connections for role" in message:
                    raise TooManyRequests(
                        "too many queries of this user are running at once; retry when one has finished"
                    ) from None
                if attempt == 1 and "password authentication failed" in message:
                    self._roles.forget(session.owner_id)  # set the role's password again, then retry once
                    continue
                raise StoreUnavailable("PostgreSQL is not available for queries right now") from exc
            register_value_conversions(conn)
            conn.answer_timeout = answer_timeout_for(limits.timeout_ms)
            load_as_text(conn)
            return conn
        raise StoreUnavailable("PostgreSQL refused the user's role")  # pragma: no cover - loop returns or raises


async def _run_read(
    conn: psycopg.AsyncConnection[Any], statement: GuardedStatement, values: list[Any], limits: QueryLimits
) -> QueryResult:
    """A read goes through a server-side cursor, fetched in batches sized from the rows seen so far,
    so at most max_rows + 1 rows, and about MAX_RESULT_BYTES, ever leave the server."""
    kept = _Kept(limits.max_rows)
    async with conn.transaction():
        cursor = psycopg.AsyncRawServerCursor(conn, "datainfra_query")
        await cursor.execute(statement.text, values)
        columns = columns_of(conn, cursor.description)
        while (rows := await cursor.fetchmany(kept.next_batch())) and kept.extend(rows):
            pass
        await cursor.close()
    return QueryResult(columns=columns, rows=kept.rows, truncated=kept.truncated)


async def _run_write(
    conn: psycopg.AsyncConnection[Any], statement: GuardedStatement, values: list[Any], limits: QueryLimits
) -> QueryResult:
    """A write runs to its end and commits; RETURNING rows past the caps are dropped (truncated)."""
    kept = _Kept(limits.max_rows)
    async with conn.transaction():
        cursor = conn.cursor()
        await cursor.execute(statement.text, values)
        columns = columns_of(conn, cursor.description)
        rows = await cursor.fetchmany(limits.max_rows + 1) if cursor.description else []
        affected = cursor.rowcount if cursor.rowcount >= 0 else None
    kept.extend(rows)
    return QueryResult(columns=columns, rows=kept.rows, truncated=kept.truncated, affected=affected)


class _Kept:
    """The rows a result keeps, as the API sends them: at most `max_rows`, and about
    MAX_RESULT_BYTES of values. `truncated` once a row had to be left out."""

    def __init__(self, max_rows: int) -> None:
        self.rows: list[list[Any]] = []
        self.truncated = False
        self._max_rows = max_rows
        self._size = 0

    def extend(self, rows: Sequence[Sequence[Any]]) -> bool:
        """Keep `rows` in order until a cap bites; False once one has (nothing more is kept)."""
        return all(self._add(row) for row in rows)

    def _add(self, row: Sequence[Any]) -> bool:
        if len(self.rows) == self._max_rows:
            self.truncated = True
            return False
        values = [json_value(v) for v in row]
        self._size += approximate_size(values)
        if self._size > MAX_RESULT_BYTES:
            self.truncated = True
            return False
        self.rows.append(values)
        return True

    def next_batch(self) -> int:
        """How many rows to fetch next: one at first, then as many as half the byte budget left
        holds at the average row size so far (at most 500), never past max_rows + 1."""
        batch = 1
        if self.rows:
            average = max(1, self._size // len(self.rows))
            batch = max(1, min(500, (MAX_RESULT_BYTES - self._size) // average // 2))
        return min(batch, self._max_rows + 1 - len(self.rows))


def _bindable(value: Any) -> Any:
    """A JSON parameter as psycopg binds it: objects (and lists holding objects, lists or mixed
    kinds) as jsonb; a list of one scalar kind as an array; text as an untyped literal the server
    types from where it is used ($1::date, a date column ...)."""
    if isinstance(value, dict):
        return Jsonb(value)
    if isinstance(value, list):
        kinds = {type(item) for item in value if item is not None}
        if any(issubclass(kind, dict | list) for kind in kinds) or len(kinds) > 1:
            return Jsonb(value)
        return value
    return value


@contextlib.contextmanager
def _client_errors() -> Iterator[None]:
    """Errors the client's statement caused → 4xx problems (with our internal names scrubbed);
    the rest → the pool's translation (503 for a lost server, ...)."""
    try:
        yield
    except psycopg.Error as exc:
        raise _translated(exc) from None


def _translated(exc: psycopg.Error) -> Exception:
    state = exc.sqlstate or ""
    detail = _scrub(_message(exc))
    field = "query"
    if isinstance(exc, pg_errors.QueryCanceled):
        return StoreTimeout("the query ran longer than its time limit (timeout_ms) and was cancelled")
    if state == "53300":
        return TooManyRequests("too many queries of this user are running at once")
    if state.startswith("53") or state.startswith("54"):
        return InvalidRequest(f"the query exceeds a resource limit: {detail}", field=field)
    if isinstance(exc, pg_errors.UniqueViolation | pg_errors.ExclusionViolation):
        return Conflict(detail)
    if state.startswith("40"):
        return Conflict(f"the query conflicted with a concurrent change, retry it: {detail}")
    if state.startswith("23") or state.startswith("22") or state == "21000":
        return InvalidInput(detail, field=field)
    if state.startswith(("42", "0A", "25", "2B", "2D", "3B", "3D", "3F", "44", "55", "39", "38", "2F", "0L", "0P")):
        return InvalidRequest(detail, field=field)
    if isinstance(exc, psycopg.DataError | psycopg.ProgrammingError) and not state:
        return InvalidRequest(f"a parameter cannot be bound: {detail}", field="parameters")
    try:
        with translate_errors():
            raise exc
    except DomainError as translated:
        return translated
    except psycopg.Error:
        return exc


def _message(exc: psycopg.Error) -> str:
    lines = str(exc).splitlines()
    text = exc.diag.message_primary or (lines[0] if lines else "") or type(exc).__name__
    detail = exc.diag.message_detail
    hint = exc.diag.message_hint
    if detail:
        text += f" ({detail})"
    if hint:
        text += f" Hint: {hint}"
    return text


def _scrub(text: str) -> str:
    """Our opaque schema, role and index names mean nothing to the client and are not its business."""
    return scrub(text)
