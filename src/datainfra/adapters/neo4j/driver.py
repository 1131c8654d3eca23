"""The Neo4j driver's life cycle and the translation of its errors into domain errors.

The driver is opened once per process (a connection pool) and closed at shutdown:
`open_driver(settings)` / `close_driver(driver)`, or `driver_resource(settings)` as an async
generator for a dependency-injector `providers.Resource`.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors

from datainfra.adapters.neo4j import far_temporals
from datainfra.adapters.neo4j.namespacing import client_terms
from datainfra.domain.errors import Conflict, InvalidInput, PayloadTooLarge, StoreTimeout, StoreUnavailable

T = TypeVar("T")
S = TypeVar("S")
P = ParamSpec("P")

ANSWER_GRACE_S = 5.0
"""How long past a transaction's server-side time limit the client still waits for the graph
store. Past it the store is taken for stopped or stuck and the request ends with StoreTimeout (504)."""


@contextmanager
def pipelined_begin(session: neo4j.AsyncSession) -> Iterator[None]:
    """`session.begin_transaction()` inside this sends its BEGIN together with the transaction's first
    statement (one round trip fewer), as the driver's own `execute_query` does. The switch is the
    driver's private `_pipelined_begin` (the driver version is pinned exactly in pyproject.toml;
    tests/unit/test_neo4j_pipelined_begin.py fails if it moves); a BEGIN error then surfaces at
    that first statement."""
    with session._pipelined_begin:
        yield


@dataclass(frozen=True, slots=True)
class Neo4jSettings:
    uri: str
    user: str
    password: str
    database: str = "neo4j"
    max_pool_size: int = 50
    connect_timeout: float = 5.0
    """Seconds to open a Bolt connection (TCP, handshake, login)."""
    acquire_timeout: float = 10.0
    """Seconds to get a connection from the pool, opening one included."""
    liveness_check_timeout: float = 10.0
    """A pooled connection idle for longer than this is checked (a RESET) before it is used."""
    transaction_timeout: float = 60.0
    """Server-side limit of one transaction, seconds; past it the request fails with StoreTimeout."""


def open_driver(settings: Neo4jSettings) -> neo4j.AsyncDriver:
    """A pooled async driver. Opening does not connect; the first query (or `ping`) does."""
    far_temporals.install()
    return neo4j.AsyncGraphDatabase.driver(
        settings.uri,
        auth=(settings.user, settings.password),
        max_connection_pool_size=settings.max_pool_size,
        connection_timeout=settings.connect_timeout,
        connection_acquisition_timeout=settings.acquire_timeout,
        liveness_check_timeout=settings.liveness_check_timeout,
        keep_alive=True,
        max_transaction_retry_time=5.0,
        notifications_min_severity="OFF",
    )


async def close_driver(driver: neo4j.AsyncDriver) -> None:
    await driver.close()


async def driver_resource(settings: Neo4jSettings) -> AsyncIterator[neo4j.AsyncDriver]:
    driver = open_driver(settings)
    try:
        yield driver
    finally:
        await close_driver(driver)


def answered_within(
    seconds: Callable[[S], float | None],
) -> Callable[[Callable[Concatenate[S, P], Awaitable[T]]], Callable[Concatenate[S, P], Coroutine[Any, Any, T]]]:
    """A method of a store whose whole call (each transaction of it, for `_read`/`_write`) must end
    within `seconds(store)` seconds, whatever the server does: the driver reads without a timeout,
    so a stopped server (SIGSTOP, a lost network) would hold the request for as long as it stays
    stopped, and a statement stuck inside the server ignores its own transaction timeout. Past the
    deadline the call is cancelled (the driver closes its connection) and StoreTimeout is raised:
    a 504, not a 503, since a request that makes the server hang must not be resent as is."""

    def decorate(
        method: Callable[Concatenate[S, P], Awaitable[T]],
    ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
        @functools.wraps(method)
        async def bounded(store: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
            limit = seconds(store)
            try:
                async with asyncio.timeout(limit):
                    return await method(store, *args, **kwargs)
            except TimeoutError:
                raise StoreTimeout(
                    f"the graph store did not answer within {limit:g} s; the request was abandoned"
                ) from None

        return bounded

    return decorate


def out_of_memory(exc: neo4j_errors.Neo4jError) -> bool:
    code = exc.code or ""
    return code.startswith("Neo.TransientError.General.MemoryPool") or "OutOfMemory" in code


def too_large() -> PayloadTooLarge:
    """One request is one transaction, and this one needs more memory than a transaction may use:
    retrying cannot help, a smaller request can."""
    return PayloadTooLarge(
        "the graph store cannot hold this request in one transaction; send fewer nodes and edges "
        "per request (a few hundred thousand at most) or ask for less"
    )


def not_retried_when_too_large(work: Callable[[Any], Awaitable[T]]) -> Callable[[Any], Awaitable[T]]:
    """`work` for execute_read/execute_write, except that running out of transaction memory (a
    TransientError, which the driver would retry for up to 30 s, redoing the whole request each
    time) ends the transaction at once as PayloadTooLarge."""

    async def once(tx: Any) -> T:
        try:
            return await work(tx)
        except neo4j_errors.Neo4jError as exc:
            if out_of_memory(exc):
                raise too_large() from exc
            raise

    return once


_VALUE_REFUSALS = (
    "Neo.ClientError.Statement.ArithmeticError",
    "Neo.ClientError.Statement.ArgumentError",
    "Neo.ClientError.Statement.TypeError",
    "Neo.ClientError.Schema.",
)
"""Codes a value from the request causes (our statements are fixed templates)."""

_UNIQUE_LABEL = re.compile(r"label `?L_[0-9a-f]{32}__([A-Za-z0-9_]+)`?")
_UNIQUE_PROPERTIES = re.compile(r"propert(?:y|ies) [`'\[]?([#A-Za-z0-9_:`', ]+?)[`'\]]? =")


def unique_violation(message: str) -> str:
    """A constraint violation in the client's terms: Neo4j's message names our labels, types and
    internal properties (`L_<hex>__Person`, `R_<hex>`, `#id`, `#o:score`) and its own record ids,
    so only the client's label and property names are kept."""
    label = _UNIQUE_LABEL.search(message)
    found = _UNIQUE_PROPERTIES.search(message)
    names = [n.strip("`' ").removeprefix("#o:") for n in found.group(1).split(",")] if found else []
    if "#id" in names or not (names and label):
        kind = "an edge" if "Relationship" in message else "a node" if "Node" in message else "a node or edge"
        return f"{kind} with this id already exists"
    return f"a value that must be unique already exists ({label.group(1)}: {', '.join(names)})"


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise driver errors as the domain's: unreachable → StoreUnavailable (the only 503), a
    constraint violation → Conflict, a transaction past its time limit → StoreTimeout, past its
    memory limit → PayloadTooLarge, a value the store refuses → InvalidInput, a transient failure
    left after the driver's retries (a deadlock with another request) → Conflict. Messages never
    carry our storage names. Anything else is a bug of ours and stays a 500."""
    try:
        yield
    except neo4j_errors.ConstraintError as exc:
        raise Conflict(unique_violation(exc.message or "")) from exc
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as exc:
        raise StoreUnavailable("the graph store cannot be reached") from exc
    except neo4j_errors.AuthError as exc:
        raise StoreUnavailable("the graph store refused our credentials") from exc
    except neo4j_errors.Neo4jError as exc:
        code = exc.code or ""
        message = exc.message or ""
        if "TransactionTimedOut" in code or code.endswith(("Transaction.Terminated", "LockClientStopped")):
            raise StoreTimeout("the graph store gave up on a statement that ran too long") from exc
        if out_of_memory(exc):
            raise too_large() from exc
        if "too large to index" in message or code.startswith(_VALUE_REFUSALS):
            raise InvalidInput(f"the graph store refused a value: {client_terms(message)}") from exc
        if "DatabaseUnavailable" in code or "DatabaseNotFound" in code:
            raise StoreUnavailable("the graph store cannot be reached") from exc
        if code.startswith("Neo.TransientError.") or exc.is_retryable():
            raise Conflict(
                "the graph store was busy with concurrent changes to the same data and gave up on this "
                "request; try again"
            ) from exc
        raise
    except OSError as exc:
        raise StoreUnavailable("the graph store cannot be reached") from exc
