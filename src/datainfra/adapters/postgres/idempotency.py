"""PostgresIdempotencyStore: idempotency keys in the catalog's `idempotency_keys` table (migration 5).

One row per (user, key). A claim is an INSERT that, on conflict, takes the row over only when it is
expired or abandoned, in one statement, so two workers racing for a key cannot both win; the row
carries the claim's token, and `complete`/`release` touch only the row of their own token."""

from __future__ import annotations

import datetime as dt
import json

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.migrations import DEFAULT_CATALOG_SCHEMA
from datainfra.adapters.postgres.pool import connection
from datainfra.domain.ports.idempotency import (
    IDEMPOTENCY_WINDOW,
    IN_FLIGHT_LEASE,
    Claim,
    Claimed,
    Completed,
    IdempotencyStore,
    InFlight,
    StoredAnswer,
)

_CLAIM = """
INSERT INTO {table} AS t (user_id, idem_key, token, claimed_at) VALUES (%(user)s, %(key)s, %(token)s, %(now)s)
ON CONFLICT (user_id, idem_key) DO UPDATE
    SET token = EXCLUDED.token, claimed_at = EXCLUDED.claimed_at, completed_at = NULL,
        fingerprint = NULL, status = NULL, headers = NULL, body = NULL
    WHERE (t.completed_at IS NULL AND t.claimed_at < %(abandoned)s)
       OR (t.completed_at IS NOT NULL AND t.completed_at < %(expired)s)
RETURNING t.token
"""

_HOLDER = """
SELECT completed_at IS NOT NULL, fingerprint, status, headers, body FROM {table} WHERE user_id = %s AND idem_key = %s
"""

_COMPLETE = """
UPDATE {table} SET completed_at = %s, fingerprint = %s, status = %s, headers = %s, body = %s
WHERE user_id = %s AND idem_key = %s AND token = %s AND completed_at IS NULL
"""

_RELEASE = "DELETE FROM {table} WHERE user_id = %s AND idem_key = %s AND token = %s AND completed_at IS NULL"

_PURGE = """
DELETE FROM {table}
WHERE coalesce(completed_at, claimed_at) < %s
  AND ((completed_at IS NULL AND claimed_at < %s) OR (completed_at IS NOT NULL AND completed_at < %s))
"""


class PostgresIdempotencyStore(IdempotencyStore):
    def __init__(self, pool: AsyncConnectionPool, *, schema: str = DEFAULT_CATALOG_SCHEMA) -> None:
        self._pool = pool
        self._table = sql.SQL("{}.idempotency_keys").format(sql.Identifier(schema))

    def _sql(self, statement: str) -> sql.Composed:
        return sql.SQL(statement).format(table=self._table)

    async def begin(self, user_id: str, key: str, token: str, now: dt.datetime) -> Claim:
        claim = {
            "user": user_id,
            "key": key,
            "token": token,
            "now": now,
            "abandoned": now - IN_FLIGHT_LEASE,
            "expired": now - IDEMPOTENCY_WINDOW,
        }
        async with connection(self._pool) as conn:
            for _ in range(3):  # the holder may release between our INSERT and SELECT: claim again
                cur = await conn.execute(self._sql(_CLAIM), claim)
                if await cur.fetchone() is not None:
                    return Claimed(token)
                cur = await conn.execute(self._sql(_HOLDER), (user_id, key))
                row = await cur.fetchone()
                if row is None:
                    continue
                done, fingerprint, status, headers, body = row
                if not done:
                    return InFlight()
                pairs = tuple((str(name), str(value)) for name, value in headers)
                return Completed(StoredAnswer(fingerprint, int(status), pairs, bytes(body)))
        return InFlight()

    async def complete(self, user_id: str, key: str, token: str, answer: StoredAnswer, now: dt.datetime) -> None:
        headers = json.dumps([list(pair) for pair in answer.headers])
        async with connection(self._pool) as conn:
            await conn.execute(
                self._sql(_COMPLETE),
                (now, answer.fingerprint, answer.status, headers, answer.body, user_id, key, token),
            )

    async def release(self, user_id: str, key: str, token: str) -> None:
        async with connection(self._pool) as conn:
            await conn.execute(self._sql(_RELEASE), (user_id, key, token))

    async def purge(self, now: dt.datetime) -> int:
        async with connection(self._pool) as conn:
            cur = await conn.execute(
                self._sql(_PURGE), (now - IN_FLIGHT_LEASE, now - IN_FLIGHT_LEASE, now - IDEMPOTENCY_WINDOW)
            )
            return cur.rowcount
