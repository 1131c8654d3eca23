"""PostgresWorkSlots: the WorkSlots port as rows of the catalog's `work_slots` table (migration 6),
one per (owner, kind, slot) held, so every API process on every host counts the same slots.

A claim is one INSERT of the lowest slot no live lease holds, taking over a row whose lease ran out
(its holder died) in the same statement; two processes racing for one slot cannot both win (the
primary key), and the loser tries the next free slot. Leases are read on the database's clock, so the
hosts' clocks do not matter."""

from __future__ import annotations

import uuid

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.migrations import DEFAULT_CATALOG_SCHEMA
from datainfra.adapters.postgres.pool import connection
from datainfra.domain.ports.work_slots import HeldSlot, WorkSlots

_CLAIM = """
INSERT INTO {table} AS t (owner_id, kind, slot, token, leased_until)
SELECT %(owner)s, %(kind)s, s, %(token)s, now() + %(lease)s * interval '1 second'
FROM generate_series(1, %(limit)s) AS s
WHERE NOT EXISTS (
    SELECT 1 FROM {table} h WHERE h.owner_id = %(owner)s AND h.kind = %(kind)s AND h.slot = s AND h.leased_until > now()
)
ORDER BY s LIMIT 1
ON CONFLICT (owner_id, kind, slot) DO UPDATE SET token = EXCLUDED.token, leased_until = EXCLUDED.leased_until
    WHERE t.leased_until <= now()
RETURNING t.slot
"""

_RELEASE = "DELETE FROM {table} WHERE owner_id = %s AND kind = %s AND slot = %s AND token = %s"


class PostgresWorkSlots(WorkSlots):
    def __init__(self, pool: AsyncConnectionPool, *, schema: str = DEFAULT_CATALOG_SCHEMA) -> None:
        self._pool = pool
        table = sql.SQL("{}.work_slots").format(sql.Identifier(schema))
        self._claim = sql.SQL(_CLAIM).format(table=table)
        self._release = sql.SQL(_RELEASE).format(table=table)

    async def claim(self, owner: str, kind: str, limit: int, lease_s: float) -> HeldSlot | None:
        token = uuid.uuid4().hex
        params = {"owner": owner, "kind": kind, "token": token, "lease": lease_s, "limit": limit}
        async with connection(self._pool) as conn:
            for _ in range(limit):  # a lost race for one slot: another may still be free
                cur = await conn.execute(self._claim, params)
                row = await cur.fetchone()
                if row is not None:
                    return HeldSlot(owner, kind, int(row[0]), token)
        return None

    async def release(self, held: HeldSlot) -> None:
        async with connection(self._pool) as conn:
            await conn.execute(self._release, (held.owner, held.kind, held.slot, held.token))
