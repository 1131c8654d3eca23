"""How every part of the Neo4j graph store talks to the server: one read or write transaction per
call of work, bounded in time (`driver.answered_within`), not retried when it runs out of memory,
its driver errors translated into domain errors; and bulk rows cut into batches. Reads run in READ
sessions (a cluster routes them to followers; the server refuses them a write), writes in WRITE
sessions, on the configured database; `for_dataset` adds the dataset's bookmarks (a routing URI) so
a read follows every write to it answered before (adapters/neo4j/bookmarks.py).

The graph store's parts (writes, reads, paths, projection, lifecycle) are functions over one
`TransactionRunner`, so none of them opens a session or handles a driver error by itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors
from neo4j.api import AsyncBookmarkManager

from datainfra.adapters.neo4j.bookmarks import DatasetBookmarks
from datainfra.adapters.neo4j.driver import (
    ANSWER_GRACE_S,
    answered_within,
    not_retried_when_too_large,
    out_of_memory,
    too_large,
    translated_errors,
)
from datainfra.domain.ports.graph_bookmarks import GraphBookmarks

T = TypeVar("T")
Tx = neo4j.AsyncManagedTransaction

PING_ANSWER_S = 5.0
"""The readiness probe's connectivity check is abandoned after this."""


def answer_timeout(runner: TransactionRunner) -> float | None:
    return runner.answer_timeout


def _ping_timeout(runner: TransactionRunner) -> float:
    return PING_ANSWER_S


class TransactionRunner:
    def __init__(
        self,
        driver: neo4j.AsyncDriver,
        *,
        database: str,
        transaction_timeout: float | None,
        batch_size: int,
        bookmarks: GraphBookmarks | None = None,
        bookmark_manager: AsyncBookmarkManager | None = None,
    ) -> None:
        self.driver = driver
        self.database = database
        self.bookmarks = bookmarks
        """Where each dataset's bookmarks are kept (a routing URI), or None (one server)."""
        self.bookmark_manager = bookmark_manager
        """This runner's dataset's bookmarks (`for_dataset`), for every transaction it runs."""
        self.timeout = transaction_timeout
        self.answer_timeout = transaction_timeout + ANSWER_GRACE_S if transaction_timeout else None
        """Every transaction (and schema change) of one call ends within this, answered or not."""
        self.batch_size = batch_size

    def for_dataset(self, dataset_id: str) -> TransactionRunner:
        """This runner with the dataset's bookmarks (read-your-writes on a cluster), or itself."""
        if self.bookmarks is None:
            return self
        return TransactionRunner(
            self.driver,
            database=self.database,
            transaction_timeout=self.timeout,
            batch_size=self.batch_size,
            bookmarks=self.bookmarks,
            bookmark_manager=DatasetBookmarks(self.bookmarks, dataset_id),
        )

    @answered_within(answer_timeout)
    async def read(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        with translated_errors():
            async with self.driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS, bookmark_manager=self.bookmark_manager
            ) as session:
                return await session.execute_read(
                    neo4j.unit_of_work(timeout=self.timeout)(not_retried_when_too_large(work))
                )

    @answered_within(answer_timeout)
    async def read_records(self, text: str, parameters: dict[str, Any]) -> list[neo4j.Record]:
        """The records of ONE read statement, in a read transaction as `read` runs it (time limit,
        retries of transient errors, running out of memory not retried), but with the BEGIN sent
        together with the statement (the driver's `execute_query`): two round trips instead of
        three. For reads that are a single statement."""
        with translated_errors():
            records: list[neo4j.Record] = await self.driver.execute_query(
                neo4j.Query(text, timeout=self.timeout),
                parameters,
                database_=self.database,
                routing_=neo4j.RoutingControl.READ,
                bookmark_manager_=self.bookmark_manager,
                result_transformer_=_all_records,
            )
        return records

    @answered_within(answer_timeout)
    async def write(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        with translated_errors():
            async with self.driver.session(
                database=self.database, default_access_mode=neo4j.WRITE_ACCESS, bookmark_manager=self.bookmark_manager
            ) as session:
                return await session.execute_write(
                    neo4j.unit_of_work(timeout=self.timeout)(not_retried_when_too_large(work))
                )

    @asynccontextmanager
    async def schema_session(self) -> AsyncIterator[neo4j.AsyncSession]:
        """A session for schema changes (which run outside managed transactions), errors translated.
        Callers bound the whole call with `answered_within(answer_timeout)`."""
        with translated_errors():
            async with self.driver.session(database=self.database, bookmark_manager=self.bookmark_manager) as session:
                yield session

    def batches(self, rows: Sequence[T]) -> Iterable[Sequence[T]]:
        for start in range(0, len(rows), self.batch_size):
            yield rows[start : start + self.batch_size]

    @answered_within(_ping_timeout)
    async def ping(self) -> None:
        """One auto-commit statement (not retried) on the configured database, routed as a read: the
        database exists and a member serving it answers (`verify_connectivity` checks only the
        default database)."""
        with translated_errors():
            async with self.driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
                await (await session.run("RETURN 1")).consume()


async def _all_records(result: neo4j.AsyncResult) -> list[neo4j.Record]:
    """Every record, read inside the transaction; running out of memory is PayloadTooLarge at once
    (not a transient error the driver would retry)."""
    try:
        return [record async for record in result]
    except neo4j_errors.Neo4jError as exc:
        if out_of_memory(exc):
            raise too_large() from exc
        raise
