"""The connection pool (opened and closed by the app lifespan) and the translation of driver errors
into domain errors, done once here so every adapter reports the same thing for the same failure."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
import psycopg
from psycopg import errors as pg_errors
from psycopg.abc import PQGen
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from datainfra.adapters.postgres.errors import is_concurrency_failure, is_limit, limit_exceeded, relayed
from datainfra.adapters.postgres.special_values import load_special_values
from datainfra.domain.errors import Conflict, InvalidInput, StoreTimeout, StoreUnavailable
from datainfra.domain.json_depth import MAX_JSON_DEPTH, json_depth_exceeds, result_depth_refusal

_json_encoder = msgspec.json.Encoder(decimal_format="number")
_json_decoder = msgspec.json.Decoder(float_hook=Decimal)


RV = TypeVar("RV")

ANSWER_GRACE_S = 5.0
"""How long past a statement's server-side time limit the client still waits for the server's
answer. Past it the server is taken for stopped (a frozen process, a lost network): the
connection is closed and the request fails with StoreTimeout (504), never waits on."""
PING_ANSWER_S = 2.0
"""The pool's ping of a connection that sat idle must be answered within this (else it is replaced)."""
TCP_KEEPALIVES: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
"""libpq TCP keepalives: a peer gone from the network is noticed within about 25 s even on an idle
connection (a stopped server process on a live host still has its kernel answer them: that case is
the answer deadline's)."""


def answer_timeout_for(statement_timeout_ms: int) -> float | None:
    """The answer deadline that goes with a server-side statement limit (None: no limit)."""
    return statement_timeout_ms / 1000 + ANSWER_GRACE_S if statement_timeout_ms > 0 else None


def tcp_options(answer_timeout: float | None) -> dict[str, int]:
    """libpq TCP options: the keepalives, and `tcp_user_timeout` (data the peer leaves unacknowledged
    this long, e.g. across a lost network, fails the connection in the kernel) at the answer deadline."""
    return TCP_KEEPALIVES | {"tcp_user_timeout": int(answer_timeout * 1000) if answer_timeout else 0}


class ServerStopped(psycopg.OperationalError):
    """The server did not answer within the connection's answer deadline; the connection is closed."""


class AnsweringConnection(psycopg.AsyncConnection[Any]):
    """A connection on which every wait for the server is bounded by `answer_timeout` seconds.

    psycopg runs every exchange with the server (a statement and its results, one fetch of a
    cursor, one chunk of a COPY in either direction, BEGIN/COMMIT/ROLLBACK, the pool's ping)
    through `wait`, so this one override bounds every store call, and a COPY or a streamed export
    is bounded per chunk: a stall, not the length of the stream. A server that stops answering
    (SIGSTOP, a lost network) would otherwise hold the request for as long as it stays stopped:
    the server-side statement_timeout needs the server to run, and the kernel of a stopped
    process's host still acknowledges TCP. The wait ends through psycopg's own wait timeout, not
    task cancellation, so no cancel request is sent to a server that cannot answer it."""

    answer_timeout: float | None = None
    answered_at: float | None = None
    """time.monotonic() when the server last completed an exchange (None: never yet)."""

    async def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        limit = self.answer_timeout
        if limit is None or (timeout is not None and timeout <= limit):
            answer = await super().wait(gen, interval, timeout)
        else:
            try:
                answer = await super().wait(gen, interval, limit)
            except pg_errors._WaitTimeout:
                self.pgconn.finish()
                raise ServerStopped(f"PostgreSQL did not answer within {limit:g} s") from None
        self.answered_at = time.monotonic()
        return answer


@contextlib.contextmanager
def answer_within(conn: psycopg.AsyncConnection[Any], seconds: float | None) -> Iterator[None]:
    """Another answer deadline for a block on `conn` (e.g. a statement with its own time limit)."""
    if not isinstance(conn, AnsweringConnection):
        yield
        return
    before, conn.answer_timeout = conn.answer_timeout, seconds
    try:
        yield
    finally:
        conn.answer_timeout = before


def dump_json(value: Any) -> bytes:
    """JSON with Decimal numbers written as numbers (exact), as the domain holds them."""
    return _json_encoder.encode(value)


def load_json(data: str | bytes) -> Any:
    """JSON with non-integer numbers read as Decimal (exact), integers as int. An integer msgspec
    cannot read (thousands of digits, which SQL can store in jsonb) makes the whole value go the
    slow way, with such integers read as Decimal. A value nested past MAX_JSON_DEPTH (client SQL
    can build one) is refused before either decoder recurses into it."""
    if json_depth_exceeds(data, MAX_JSON_DEPTH):
        raise InvalidInput(result_depth_refusal(MAX_JSON_DEPTH))
    try:
        return _json_decoder.decode(data)
    except msgspec.ValidationError:
        return json.loads(data, parse_float=Decimal, parse_int=_json_int)


def _json_int(text: str) -> int | Decimal:
    return int(text) if len(text) <= 19 else Decimal(text)


@dataclass(frozen=True, slots=True)
class PostgresSettings:
    """Pool sizing and time limits; seconds unless the name says otherwise."""

    url: str
    min_size: int = 1
    max_size: int = 10
    pool_timeout: float = 5.0
    """How long a request waits for a free connection before StoreUnavailable."""
    connect_timeout: int = 5
    """Seconds to open a connection (TCP and the server's answer to the login)."""
    statement_timeout_ms: int = 30_000
    """Statements running longer are cancelled by the server (StoreTimeout); 0 = no limit."""
    max_idle: float = 300.0
    max_lifetime: float = 3600.0
    application_name: str = "datainfra"


def register_value_conversions(conn: psycopg.AsyncConnection[Any]) -> None:
    """How values travel on every connection of ours, pooled or not (client SQL opens its own): JSON
    with exact Decimal numbers and bounded depth, and the values Python cannot carry into JSON (NaN,
    infinite or out-of-range dates and timestamps) as PostgreSQL's own JSON writes them."""
    set_json_dumps(dump_json, conn)
    set_json_loads(load_json, conn)
    load_special_values(conn)


def _configure_with(answer_timeout: float | None) -> Any:
    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        register_value_conversions(conn)
        if isinstance(conn, AnsweringConnection):
            conn.answer_timeout = answer_timeout

    return configure


IDLE_CHECK_SECONDS = 5.0
"""A pooled connection idle for longer than this is pinged before it is handed out."""


class _IdleCheck:
    """The pool's `check`, made cheap on a busy pool. Pinging on every checkout costs a round trip
    per checkout (as long as the statement itself for a small indexed read). A connection whose
    server answered moments ago was working then, so only one that has not heard from its server
    for more than `after` seconds (long enough for the server, a proxy or the network to have
    dropped it) or of unknown age is pinged; a broken one is then discarded and replaced by the
    pool as before. A connection that died in the last few seconds still fails its statement, which
    reaches the caller as StoreUnavailable, exactly as a connection dying mid-request always could.

    The age is the connection's own `answered_at` (AnsweringConnection stamps every exchange), not
    a return time recorded by a pool `reset` callback: with a `reset` callback psycopg_pool hands
    every returned connection to a background worker task (a queue hop and a task switch per
    request, and the connection is not available again until the worker ran)."""

    def __init__(self, after: float = IDLE_CHECK_SECONDS) -> None:
        self._after = after

    async def check(self, conn: psycopg.AsyncConnection[Any]) -> None:
        answered = getattr(conn, "answered_at", None)
        if answered is None or time.monotonic() - answered > self._after:
            with answer_within(conn, PING_ANSWER_S):
                await AsyncConnectionPool.check_connection(conn)


def create_pool(settings: PostgresSettings) -> AsyncConnectionPool:
    """A pool that is not open yet (opening needs a running event loop: call `open_pool`)."""
    options = f"-c statement_timeout={int(settings.statement_timeout_ms)} -c TimeZone=UTC"
    idle_check = _IdleCheck()
    return AsyncConnectionPool(
        settings.url,
        min_size=settings.min_size,
        max_size=settings.max_size,
        timeout=settings.pool_timeout,
        max_idle=settings.max_idle,
        max_lifetime=settings.max_lifetime,
        kwargs={
            # Autocommit: a single read or write is one round trip, with no BEGIN before it and no
            # COMMIT/ROLLBACK when the connection goes back. Every unit of more than one statement
            # that must be atomic (bulk writes and their staging tables, schema DDL, role creation,
            # migrations under their advisory lock, exports with SET LOCAL) runs inside an explicit
            # `conn.transaction()`, which issues BEGIN/COMMIT itself.
            "autocommit": True,
            "connect_timeout": settings.connect_timeout,
            "options": options,
            "application_name": settings.application_name,
            **tcp_options(answer_timeout_for(settings.statement_timeout_ms)),
        },
        connection_class=AnsweringConnection,
        configure=_configure_with(answer_timeout_for(settings.statement_timeout_ms)),
        check=idle_check.check,
        open=False,
        name=settings.application_name,
    )


async def open_pool(settings: PostgresSettings, *, wait: bool = True) -> AsyncConnectionPool:
    """Open a pool for the app lifespan. With `wait`, fail now (StoreUnavailable) when the server
    cannot be reached within `pool_timeout`, rather than on the first request."""
    pool = create_pool(settings)
    try:
        await pool.open(wait=wait, timeout=settings.pool_timeout)
    except PoolTimeout as exc:
        await pool.close()
        raise StoreUnavailable(f"PostgreSQL cannot be reached: {exc}") from exc
    return pool


async def close_pool(pool: AsyncConnectionPool) -> None:
    await pool.close()


@contextlib.asynccontextmanager
async def connection(pool: AsyncConnectionPool) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled connection (autocommit: each statement commits on its own; group statements that
    must be atomic in `conn.transaction()`) with errors translated. The pool rolls back whatever
    transaction a failed or cancelled block left open, and closes a connection returned mid-statement."""
    with translate_errors():
        async with pool.connection() as conn:
            yield conn


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Driver failures that any statement can meet → domain errors. Statement-specific ones
    (unique violations naming a key, NOT NULL with a record index) are handled by the callers
    first; what reaches here gets a generic but correct class."""
    try:
        try:
            yield
        except psycopg.Error as exc:
            raise relayed(exc) from None  # Citus: a worker's error, relayed as XX000
    except (PoolTimeout, PoolClosed) as exc:
        raise StoreUnavailable(f"PostgreSQL is not available: {exc}") from exc
    except pg_errors.QueryCanceled as exc:
        raise StoreTimeout("the database gave up on a statement that ran too long") from exc
    except ServerStopped as exc:
        # Not 503: a statement the server cannot finish looks the same, and must not be resent.
        raise StoreTimeout(f"{exc}; the request was abandoned") from exc
    except (pg_errors.UniqueViolation, pg_errors.ExclusionViolation) as exc:
        raise Conflict(_detail(exc)) from exc
    except (pg_errors.IntegrityError, pg_errors.DataError) as exc:
        raise InvalidInput(_detail(exc), field=_column(exc)) from exc
    except psycopg.OperationalError as exc:
        if is_limit(exc):  # class 54: the request was too big, not an outage
            raise limit_exceeded(exc) from None
        if is_concurrency_failure(exc):
            raise Conflict(
                "a concurrent request changed the same records and this one was rolled back whole; send it again"
            ) from exc
        raise StoreUnavailable(f"PostgreSQL is not available: {exc}") from exc
    except psycopg.InterfaceError as exc:
        raise StoreUnavailable(f"PostgreSQL connection lost: {exc}") from exc


def _detail(exc: psycopg.Error) -> str:
    primary = exc.diag.message_primary or str(exc)
    detail = exc.diag.message_detail
    return f"{primary}: {detail}" if detail else primary


def _column(exc: psycopg.Error) -> str | None:
    return exc.diag.column_name
