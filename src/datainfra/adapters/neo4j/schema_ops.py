"""Schema objects of one dataset: the key constraints, the edge-type index and declared property
indexes. Schema statements cannot share a transaction with data; a dataset's (or a migration's)
schema statements share one transaction of their own, so a failure leaves nothing half-made.

The database is shared by every tenant, so nothing here may wait on what another dataset does:
- a schema transaction has a server-side time limit (lock waits included) and is idempotent
  (`IF NOT EXISTS`, `IF EXISTS`), so a transient failure (a deadlock between two tenants' schema
  changes, a lock client stopped) is retried with bounded backoff; what still fails is a 409
  saying to try again;
- after creating, only this dataset's own indexes are awaited (never `db.awaitIndexes`, which
  waits for every index of the database), for a bounded time: a non-unique index still populating
  afterwards is only slower to use, never wrong, and a uniqueness constraint is online once created.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors

from datainfra.adapters.neo4j.namespacing import Q_KEY, Q_TYPE, Namespace, order_key, quote
from datainfra.domain.errors import Conflict, InvalidInput
from datainfra.domain.graph_limits import MAX_INDEXED_BYTES
from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.types import FieldType

STATEMENT_SECONDS = 30.0
"""Server-side limit of one schema transaction (or idempotent statement), waiting for locks
included: nothing another tenant holds can keep a request waiting longer. Migrations, whose new
indexes are built over existing data, get the store's transaction limit instead."""
RETRY_SECONDS = 10.0
"""How long transient failures of one schema statement are retried (backoff 50 ms doubling to 1 s)."""
INDEX_WAIT_SECONDS = 2.0
"""How long a request waits for its own new non-unique indexes to come online (a uniqueness
constraint is online when its statement returns); past it they finish populating on their own, and
queries use them from then on."""
MIGRATION_INDEX_WAIT_SECONDS = 30.0
"""The same for a migration's new indexes, built over existing data (a failed build is a 422)."""
_POLL_SECONDS = 0.05

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SchemaObject:
    name: str
    create: str
    constraint: bool
    what: str = "a key constraint"
    """How a client would name it (`unique index on Person(email)`): messages never show ours."""


def base_objects(ns: Namespace) -> list[SchemaObject]:
    return [
        SchemaObject(
            ns.node_key_constraint,
            f"CREATE CONSTRAINT {quote(ns.node_key_constraint)} IF NOT EXISTS "
            f"FOR (n:{ns.n}) REQUIRE n.{Q_KEY} IS UNIQUE",
            True,
            "the node key constraint",
        ),
        SchemaObject(
            ns.edge_key_constraint,
            f"CREATE CONSTRAINT {quote(ns.edge_key_constraint)} IF NOT EXISTS "
            f"FOR ()-[r:{ns.r}]-() REQUIRE r.{Q_KEY} IS UNIQUE",
            True,
            "the edge key constraint",
        ),
        SchemaObject(
            ns.edge_type_index,
            f"CREATE INDEX {quote(ns.edge_type_index)} IF NOT EXISTS FOR ()-[r:{ns.r}]-() ON (r.{Q_TYPE})",
            False,
            "the edge type index",
        ),
    ]


def declared_objects(ns: Namespace, schema: GraphSchema) -> list[SchemaObject]:
    """One index (or uniqueness constraint) per declared PropertyIndex; numeric properties are
    indexed by their order key, so 1.0 and 1.00 are one value to a unique index, as in SQL."""
    objects: list[SchemaObject] = []
    for label in schema.node_labels:
        types = {p.name: p.type for p in label.properties}
        for index in label.indexes:
            stored = tuple(order_key(p) if types.get(p) is FieldType.NUMERIC else p for p in index.properties)
            name = ns.property_index(label.name, stored, index.unique)
            keys = ", ".join(f"n.{quote(p)}" for p in stored)
            target = f"(n:{quote(ns.label(label.name))})"
            if index.unique:
                text = f"CREATE CONSTRAINT {quote(name)} IF NOT EXISTS FOR {target} REQUIRE ({keys}) IS UNIQUE"
            else:
                text = f"CREATE INDEX {quote(name)} IF NOT EXISTS FOR {target} ON ({keys})"
            what = f"{'unique ' if index.unique else ''}index on {label.name}({', '.join(index.properties)})"
            objects.append(SchemaObject(name, text, index.unique, what))
    return objects


def transient(exc: neo4j_errors.Neo4jError) -> bool:
    """A failure that says nothing about the statement: another transaction was in the way."""
    code = exc.code or ""
    if "MemoryPool" in code or "OutOfMemory" in code:
        return False
    return exc.is_retryable() or "DeadlockDetected" in code or "LockClientStopped" in code


async def _retried(attempt: Callable[[], Awaitable[T]], retry_for: float) -> T:
    """`attempt()` until it succeeds or fails for a reason of its own, retrying transient failures
    with jittered exponential backoff (50 ms doubling to 1 s) for at most `retry_for` seconds;
    then Conflict: other transactions kept getting in the way."""
    deadline = time.monotonic() + retry_for
    delay = 0.05
    while True:
        try:
            return await attempt()
        except neo4j_errors.Neo4jError as exc:
            if not transient(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise Conflict(
                    "the graph store was busy with other requests' changes and this one did not get through in time; "
                    "try again"
                ) from exc
        await asyncio.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 1.0)


async def run_idempotent(
    session: neo4j.AsyncSession,
    text: str,
    params: Mapping[str, Any] | None = None,
    *,
    timeout: float | None = STATEMENT_SECONDS,
    retry_for: float = RETRY_SECONDS,
) -> list[dict[str, Any]]:
    """Run one idempotent statement as its own (auto-commit) transaction, server-side limit
    `timeout` seconds (None: the server's), transient failures retried for `retry_for` seconds."""

    async def attempt() -> list[dict[str, Any]]:
        result = await session.run(neo4j.Query(text, timeout=timeout), dict(params or {}))
        return await result.data()

    return await _retried(attempt, retry_for)


async def _run_together(
    session: neo4j.AsyncSession, texts: list[str], *, timeout: float | None, retry_for: float = RETRY_SECONDS
) -> None:
    """Schema statements in one transaction: one commit (schema commits are serialized by the
    server, so seven commits a dataset made eight concurrent creations queue for seconds), and a
    failure leaves nothing half-made."""
    if not texts:
        return

    async def attempt() -> None:
        tx = await session.begin_transaction(timeout=timeout)
        try:
            for text in texts:
                await (await tx.run(text)).consume()
            await tx.commit()
        finally:
            await tx.close()

    await _retried(attempt, retry_for)


async def existing_objects(session: neo4j.AsyncSession, ns: Namespace) -> dict[str, bool]:
    """Name → is-a-constraint, for every schema object of the dataset."""
    found: dict[str, bool] = {}
    constraints = "SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH $prefix RETURN name"
    for record in await run_idempotent(session, constraints, {"prefix": ns.schema_prefix}):
        found[record["name"]] = True
    indexes = (
        "SHOW INDEXES YIELD name, owningConstraint WHERE name STARTS WITH $prefix AND owningConstraint IS NULL "
        "RETURN name"
    )
    for record in await run_idempotent(session, indexes, {"prefix": ns.schema_prefix}):
        found[record["name"]] = False
    return found


async def apply(
    session: neo4j.AsyncSession,
    create: list[SchemaObject],
    drop: Mapping[str, bool] | None = None,
    *,
    timeout: float | None = STATEMENT_SECONDS,
    wait: float = INDEX_WAIT_SECONDS,
) -> None:
    """Create `create` and drop `drop` (name → is-a-constraint) in one transaction, then wait
    (at most `wait` seconds) for the new indexes to be online. A unique index over existing duplicates, or an
    index over values too large for it, is InvalidInput naming the index as the client declared it."""
    texts = [obj.create for obj in create]
    texts += [f"DROP {'CONSTRAINT' if c else 'INDEX'} {quote(name)} IF EXISTS" for name, c in (drop or {}).items()]
    try:
        await _run_together(session, texts, timeout=timeout)
    except neo4j_errors.Neo4jError as exc:
        if "ConstraintCreationFailed" in (exc.code or "") or "IndexCreationFailed" in (exc.code or ""):
            failed = next((obj for obj in create if obj.name in (exc.message or "")), None)
            what = failed.what if failed else "a declared unique index"
            raise InvalidInput(
                f"existing nodes hold duplicate values (or values too large to index) for the {what}",
                field="schema",
            ) from exc
        raise
    await _await_online(session, create, wait)


async def _await_online(session: neo4j.AsyncSession, objects: list[SchemaObject], wait: float) -> None:
    if not objects:
        return
    named = {obj.name: obj for obj in objects}
    query = (
        "SHOW INDEXES YIELD name, state, owningConstraint WHERE name IN $names OR owningConstraint IN $names "
        "RETURN name, state, owningConstraint"
    )
    deadline = time.monotonic() + wait
    while True:
        waiting = False
        for record in await run_idempotent(session, query, {"names": list(named)}):
            obj = named.get(record["owningConstraint"] or record["name"])
            if obj is None:
                continue
            if record["state"] == "FAILED":
                await drop_objects(session, {obj.name: obj.constraint})
                raise InvalidInput(
                    f"existing nodes hold values the {obj.what} cannot hold (too large: an index holds at most "
                    f"{MAX_INDEXED_BYTES} bytes of values per node); change or remove them first",
                    field="schema",
                )
            waiting = waiting or record["state"] != "ONLINE"
        if not waiting or time.monotonic() >= deadline:
            return
        await asyncio.sleep(_POLL_SECONDS)


async def drop_objects(
    session: neo4j.AsyncSession, names: Mapping[str, bool], *, timeout: float | None = STATEMENT_SECONDS
) -> None:
    await apply(session, [], names, timeout=timeout)
