"""The IdempotencyStore contract, over the in-memory store and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from datainfra.domain.ports.idempotency import (
    IDEMPOTENCY_WINDOW,
    IN_FLIGHT_LEASE,
    Claimed,
    Completed,
    IdempotencyStore,
    InFlight,
    StoredAnswer,
)
from tests.contract.conftest import NOW, POSTGRES_ENGINES, runtime_of

ANSWER = StoredAnswer("f" * 64, 201, (("content-type", "application/json"), ("location", "/x/1")), b'{"id": 1}')
SECOND = dt.timedelta(seconds=1)


@pytest.fixture(params=["memory", *POSTGRES_ENGINES])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[IdempotencyStore]:
    if request.param == "memory":
        from datainfra.adapters.memory.idempotency import InMemoryIdempotencyStore

        yield InMemoryIdempotencyStore()
        return
    from psycopg import sql

    from datainfra.adapters.postgres.idempotency import PostgresIdempotencyStore
    from datainfra.adapters.postgres.migrations import migrate_catalog

    runtime: Any = runtime_of(request, request.param)
    pool = await runtime.pool()
    schema = f"catalog_test_{uuid.uuid4().hex[:16]}"
    await migrate_catalog(pool, schema)
    try:
        yield PostgresIdempotencyStore(pool, schema=schema)
    finally:
        async with pool.connection() as conn:
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


async def test_an_unknown_key_is_claimed(store: IdempotencyStore) -> None:
    assert await store.begin("u1", "k", "t1", NOW) == Claimed("t1")


async def test_a_claimed_key_is_in_flight_for_everyone_else(store: IdempotencyStore) -> None:
    await store.begin("u1", "k", "t1", NOW)
    assert await store.begin("u1", "k", "t2", NOW + SECOND) == InFlight()


async def test_a_completed_key_gives_its_answer_back_byte_for_byte(store: IdempotencyStore) -> None:
    await store.begin("u1", "k", "t1", NOW)
    await store.complete("u1", "k", "t1", ANSWER, NOW + SECOND)
    assert await store.begin("u1", "k", "t2", NOW + 2 * SECOND) == Completed(ANSWER)


async def test_keys_of_other_users_are_independent(store: IdempotencyStore) -> None:
    await store.begin("u1", "k", "t1", NOW)
    await store.complete("u1", "k", "t1", ANSWER, NOW)
    assert await store.begin("u2", "k", "t2", NOW) == Claimed("t2")


async def test_a_released_key_can_be_claimed_again(store: IdempotencyStore) -> None:
    await store.begin("u1", "k", "t1", NOW)
    await store.release("u1", "k", "t1")
    assert await store.begin("u1", "k", "t2", NOW) == Claimed("t2")


async def test_only_the_claims_own_token_completes_or_releases_it(store: IdempotencyStore) -> None:
    await store.begin("u1", "k", "t1", NOW)
    await store.release("u1", "k", "stranger")
    await store.complete("u1", "k", "stranger", ANSWER, NOW)
    assert await store.begin("u1", "k", "t2", NOW) == InFlight()


async def test_a_completed_answer_cannot_be_released_or_overwritten(store: IdempotencyStore) -> None:
    await store.begin("u1", "k", "t1", NOW)
    await store.complete("u1", "k", "t1", ANSWER, NOW)
    await store.release("u1", "k", "t1")
    await store.complete("u1", "k", "t1", StoredAnswer("0" * 64, 500, (), b""), NOW)
    assert await store.begin("u1", "k", "t2", NOW) == Completed(ANSWER)


async def test_an_answer_expires_after_the_window(store: IdempotencyStore) -> None:
    await store.begin("u1", "k", "t1", NOW)
    await store.complete("u1", "k", "t1", ANSWER, NOW)
    assert isinstance(await store.begin("u1", "k", "t2", NOW + IDEMPOTENCY_WINDOW), Completed)
    assert await store.begin("u1", "k", "t3", NOW + IDEMPOTENCY_WINDOW + SECOND) == Claimed("t3")


async def test_an_abandoned_claim_is_taken_over_after_its_lease(store: IdempotencyStore) -> None:
    await store.begin("u1", "k", "t1", NOW)
    assert await store.begin("u1", "k", "t2", NOW + IN_FLIGHT_LEASE) == InFlight()
    assert await store.begin("u1", "k", "t3", NOW + IN_FLIGHT_LEASE + SECOND) == Claimed("t3")
    await store.complete("u1", "k", "t1", ANSWER, NOW + IN_FLIGHT_LEASE + SECOND)  # the late one: ignored
    assert await store.begin("u1", "k", "t4", NOW + IN_FLIGHT_LEASE + SECOND) == InFlight()


async def test_purge_deletes_only_expired_answers_and_abandoned_claims(store: IdempotencyStore) -> None:
    await store.begin("u1", "old", "t1", NOW)
    await store.complete("u1", "old", "t1", ANSWER, NOW)
    await store.begin("u1", "orphan", "t2", NOW)
    later = NOW + IDEMPOTENCY_WINDOW + SECOND
    await store.begin("u1", "fresh", "t3", later)
    await store.complete("u1", "fresh", "t3", ANSWER, later)
    await store.begin("u1", "running", "t4", later)
    assert await store.purge(later) == 2
    assert await store.purge(later) == 0
    assert await store.begin("u1", "fresh", "t5", later) == Completed(ANSWER)
    assert await store.begin("u1", "running", "t6", later) == InFlight()


async def test_a_large_binary_answer_survives_the_round_trip(store: IdempotencyStore) -> None:
    body = bytes(range(256)) * 4096
    answer = StoredAnswer("a" * 64, 200, (("content-type", "application/octet-stream"),), body)
    await store.begin("u1", "k", "t1", NOW)
    await store.complete("u1", "k", "t1", answer, NOW)
    assert await store.begin("u1", "k", "t2", NOW) == Completed(answer)
