"""PostgresGraphBookmarks: each graph dataset's Neo4j bookmarks as one row of the catalog's
`graph_bookmarks` table (migration 7). `replace` is one UPSERT under the row's lock, so concurrent
writers merge (each removes only the bookmarks it started from): the set stays as small as the
number of writes running at once."""

from __future__ import annotations

from collections.abc import Collection

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.migrations import DEFAULT_CATALOG_SCHEMA
from datainfra.adapters.postgres.pool import connection
from datainfra.domain.ports.graph_bookmarks import GraphBookmarks

_LATEST = "SELECT bookmarks FROM {table} WHERE dataset_id = %s"
_REPLACE = """
INSERT INTO {table} AS t (dataset_id, bookmarks) VALUES (%(dataset)s, %(new)s::text[])
ON CONFLICT (dataset_id) DO UPDATE SET bookmarks = ARRAY(
    SELECT DISTINCT b FROM unnest(t.bookmarks || %(new)s::text[]) AS b
    WHERE NOT b = ANY(%(previous)s::text[]) OR b = ANY(%(new)s::text[])
)
"""
_FORGET = "DELETE FROM {table} WHERE dataset_id = %s"


class PostgresGraphBookmarks(GraphBookmarks):
    def __init__(self, pool: AsyncConnectionPool, *, schema: str = DEFAULT_CATALOG_SCHEMA) -> None:
        self._pool = pool
        table = sql.SQL("{}.graph_bookmarks").format(sql.Identifier(schema))
        self._latest, self._replace, self._forget = (
            sql.SQL(s).format(table=table) for s in (_LATEST, _REPLACE, _FORGET)
        )

    async def latest(self, dataset_id: str) -> frozenset[str]:
        async with connection(self._pool) as conn:
            row = await (await conn.execute(self._latest, (dataset_id,))).fetchone()
        return frozenset(row[0]) if row else frozenset()

    async def replace(self, dataset_id: str, previous: Collection[str], new: Collection[str]) -> None:
        params = {"dataset": dataset_id, "previous": sorted(previous), "new": sorted(new)}
        async with connection(self._pool) as conn:
            await conn.execute(self._replace, params)

    async def forget(self, dataset_id: str) -> None:
        async with connection(self._pool) as conn:
            await conn.execute(self._forget, (dataset_id,))
