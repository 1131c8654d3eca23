"""Client SQL over a session's tables: the SqlQueryRunner port on PostgreSQL.

Two lines of defence, each enough on its own for what it covers:
1. the statement runs on a connection that logged in as the user's own role (adapters.postgres.
   client_sql.roles), whose privileges reach only that user's session schemas and tables: the server
   itself refuses everything else, whatever the text says. `search_path` is the session's schema,
   so its datasets are found by their own names;
2. before anything reaches the server, client_sql.guard parses the text with PostgreSQL's own parser and
   refuses what safe mode does not allow (other statement types, functions outside an allowlist,
   catalog relations, session-state changes).

Connections are the role's own logins, kept between requests of that role only and reset with
DISCARD ALL before reuse (client_sql.connections): nothing a statement does (settings, temp tables,
prepared statements, cursors, locks, LISTEN) reaches the next request. What a request runs under is
set at its start, inside its own transaction (`BEGIN READ ONLY|READ WRITE; SET LOCAL search_path,
statement_timeout`, one round trip). The time limit is the server's statement_timeout, so a runaway
statement is cancelled in the database, not just abandoned.

A read is streamed (libpq's chunked-rows mode) by a plain statement, not a server-side cursor: a
cursor's plan is never parallel, a plain statement's is exactly what PostgreSQL plans for the same
text sent by any client. Once the row cap or the byte budget bites, the rest is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Iterator, Sequence
from typing import Any, cast

import psycopg
from psycopg import capabilities, sql
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.generators import execute
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.client_sql.connections import RoleConnections
from datainfra.adapters.postgres.client_sql.guard import GuardedStatement, check_statement
from datainfra.adapters.postgres.client_sql.results import (
    approximate_size,
    columns_of,
    json_value,
    load_as_text,
    type_name,
)
from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.errors import scrub
from datainfra.adapters.postgres.identifiers import session_schema_name
from datainfra.adapters.postgres.pool import (
    AnsweringConnection,
    answer_timeout_for,
    connection,
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
from datainfra.domain.queries import MAX_TIMEOUT_MS, QueryLimits, QueryResult, ResultColumn

MAX_RESULT_BYTES = 32 * 1024 * 1024
"""About this much result text per request; `truncated` says when the budget (or max_rows) cut it."""

STREAM_CHUNK_ROWS = 64
"""Rows libpq hands over at a time while a read streams (the byte budget is checked per row)."""

APPLICATION_NAME = "datainfra-query"
"""The query endpoint's logins say this, so its idle kept connections can be told apart."""
IDLE_ELSEWHERE_WAIT_S = 6.0
"""How long a login refused by the role's CONNECTION LIMIT waits while some of the role's connections
are only kept idle (RoleConnections closes them after 5 s of idleness, in every API process)."""

_REUSABLE = (TransactionStatus.IDLE, TransactionStatus.INTRANS, TransactionStatus.INERROR)


class PostgresSqlRunner(SqlQueryRunner):
    """SqlQueryRunner on PostgreSQL: the statement is guarded, then runs on a connection logged in as
    the session owner's role (`roles`), on the pool's server and database: one kept from an earlier
    request of that role and reset since (`connections`), or a new login."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        roles: PostgresUserRoles,
        *,
        connect_timeout: int = 5,
        connections: RoleConnections | None = None,
    ) -> None:
        self._pool = pool
        self._roles = roles
        self._connect_timeout = connect_timeout
        self._connections = connections or RoleConnections()
        if not isinstance(pool.conninfo, str):
            raise StoreUnavailable("the query runner needs the pool's connection string")
        self._server = {
            key: value
            for key, value in conninfo_to_dict(pool.conninfo).items()
            if key not in ("user", "password", "options", "application_name", "connect_timeout", "passfile")
        }
        """The pool's server and database; each query connects there as the user's role instead."""

    async def close(self) -> None:
        """Close the connections kept for later requests."""
        await self._connections.close()

    async def run_sql(self, session: Session, text: str, parameters: Sequence[Any], limits: QueryLimits) -> QueryResult:
        statement = check_statement(text, read_only=limits.read_only)
        if statement.parameters != len(parameters):
            raise InvalidRequest(
                f"the statement uses {statement.parameters} parameter(s) ($1..${statement.parameters}) "
                f"but {len(parameters)} were given",
                field="parameters",
            )
        values = [_bindable(value) for value in parameters]
        role, conn = await self._begin(session, limits)
        try:
            with _client_errors():
                if statement.writes:
                    return await _run_write(conn, statement, values, limits)
                return await _run_read(conn, statement, values, limits)
        finally:
            reusable = not conn.closed and conn.info.transaction_status in _REUSABLE
            self._connections.give_back(role, conn, reusable=reusable)

    async def _begin(self, session: Session, limits: QueryLimits) -> tuple[str, psycopg.AsyncConnection[Any]]:
        """A connection of the owner's role inside this request's transaction, its limits set."""
        role, _ = await self._roles.credentials(session.owner_id)
        start = sql.SQL("BEGIN {}; SET LOCAL search_path = {}; SET LOCAL statement_timeout = {}").format(
            sql.SQL("READ ONLY" if limits.read_only else "READ WRITE"),
            sql.Identifier(session_schema_name(session.id)),
            sql.Literal(limits.timeout_ms),
        )
        kept = await self._connections.take(role)
        if kept is not None:
            try:
                _answer_within(kept, limits)
                await kept.execute(start)
                return role, kept
            except psycopg.Error:  # the server closed it meanwhile (restart, idle timeout): log in anew
                self._connections.give_back(role, kept, reusable=False)
        conn = await self._connect(session)
        try:
            _answer_within(conn, limits)
            with translate_errors():
                await conn.execute(start)
        except BaseException:
            self._connections.give_back(role, conn, reusable=False)
            raise
        return role, conn

    async def _connect(self, session: Session) -> psycopg.AsyncConnection[Any]:
        """A new login as the owner's role. Its startup options are what DISCARD ALL returns to: the
        role's limits, UTC, read-only transactions by default and only pg_catalog on the path."""
        attempt, waited_until = 0, time.monotonic() + IDLE_ELSEWHERE_WAIT_S
        while True:
            attempt += 1
            role, password = await self._roles.credentials(session.owner_id)
            settings = [
                *(f"{name}={value}" for name, value in self._roles.limits.connection_settings()),
                "search_path=pg_catalog",
                "TimeZone=UTC",
                "default_transaction_read_only=on",
            ]
            conninfo = make_conninfo(
                "",
                **self._server,
                user=role,
                password=password,
                options=" ".join(f"-c {item}" for item in settings),
                application_name=APPLICATION_NAME,
                connect_timeout=self._connect_timeout,
                **tcp_options(answer_timeout_for(MAX_TIMEOUT_MS)),
            )
            try:
                conn = await AnsweringConnection.connect(
                    conninfo, autocommit=True, prepare_threshold=None, cursor_factory=psycopg.AsyncRawCursor
                )
            except psycopg.OperationalError as exc:
                message = str(exc)
                if "too many connections for role" in message:
                    if time.monotonic() < waited_until and await self._kept_idle(role):
                        await asyncio.sleep(0.1)  # kept idle by an API process, closed within its idle time
                        continue
                    raise TooManyRequests(
                        "too many queries of this user are running at once; retry when one has finished"
                    ) from None
                if attempt == 1 and "password authentication failed" in message:
                    self._roles.forget(session.owner_id)  # set the role's password again, then retry once
                    continue
                raise StoreUnavailable("PostgreSQL is not available for queries right now") from exc
            register_value_conversions(conn)
            load_as_text(conn)
            return conn

    async def _kept_idle(self, role: str) -> bool:
        """Whether some of the role's query connections are only kept idle (by any API process):
        they count against its CONNECTION LIMIT, but each process closes them within its idle time,
        so a login they crowd out waits for them rather than answering 429. Needs the service role
        to see other roles' activity (a superuser, or a member of pg_read_all_stats); without that
        nothing is seen idle and the refusal is a 429 at once."""
        async with connection(self._pool) as conn:
            cur = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = %s AND application_name = %s "
                "AND state = 'idle')",
                (role, APPLICATION_NAME),
            )
            row = await cur.fetchone()
        return bool(row and row[0])


async def _run_read(
    conn: psycopg.AsyncConnection[Any], statement: GuardedStatement, values: list[Any], limits: QueryLimits
) -> QueryResult:
    """A read streams as a plain statement (so its plan is the one any client would get, parallel
    where PostgreSQL chooses it); at most max_rows + 1 rows and about MAX_RESULT_BYTES are kept,
    and the rest is cancelled once a cap bites."""
    kept = _Kept(limits.max_rows)
    cursor = conn.cursor()
    chunk = min(STREAM_CHUNK_ROWS, limits.max_rows + 1) if capabilities.has_stream_chunked() else 1
    rows = cast(AsyncGenerator[Any, None], cursor.stream(statement.text, values, size=chunk))
    columns: tuple[ResultColumn, ...] | None = None
    try:
        async for row in rows:
            if columns is None:
                columns = columns_of(conn, cursor.description)
            if not kept.extend((row,)):
                break
    finally:
        await rows.aclose()  # after a break: cancels the statement and reads what was already sent
    if columns is None:  # no row came, and with it no description: ask for the statement's
        columns = await _described(conn)
    # no COMMIT: a read changes nothing, and the reset ends the transaction (ROLLBACK) after the answer
    return QueryResult(columns=columns, rows=kept.rows, truncated=kept.truncated)


def _answer_within(conn: psycopg.AsyncConnection[Any], limits: QueryLimits) -> None:
    """Every wait for the server within the request's time limit (plus a grace)."""
    if isinstance(conn, AnsweringConnection):
        conn.answer_timeout = answer_timeout_for(limits.timeout_ms)


async def _described(conn: psycopg.AsyncConnection[Any]) -> tuple[ResultColumn, ...]:
    """The result columns of the statement just run (the unnamed one), one more round trip."""
    conn.pgconn.send_describe_prepared(b"")
    results = await conn.wait(execute(conn.pgconn))
    described = results[-1]
    if described.status != ExecStatus.COMMAND_OK:
        raise psycopg.OperationalError("PostgreSQL did not describe the statement")
    encoding = conn.info.encoding
    return tuple(
        ResultColumn(name=(described.fname(i) or b"").decode(encoding), type=type_name(conn, described.ftype(i)))
        for i in range(described.nfields)
    )


async def _run_write(
    conn: psycopg.AsyncConnection[Any], statement: GuardedStatement, values: list[Any], limits: QueryLimits
) -> QueryResult:
    """A write runs to its end and commits; RETURNING rows past the caps are dropped (truncated)."""
    kept = _Kept(limits.max_rows)
    cursor = conn.cursor()
    await cursor.execute(statement.text, values)
    columns = columns_of(conn, cursor.description)
    rows = await cursor.fetchmany(limits.max_rows + 1) if cursor.description else []
    affected = cursor.rowcount if cursor.rowcount >= 0 else None
    await conn.execute("COMMIT")
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
