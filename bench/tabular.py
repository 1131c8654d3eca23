"""The 6-column table of issue 3: its uploads (bench/uploads.py) and an indexed filtered page GET at
1, 10 and 50 concurrent clients against the same SELECT through a psycopg pool.

The table: id bigint (primary key), name text, grp bigint (indexed), score double, flag boolean,
day date."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from bench.api_process import Api
from bench.config import BenchConfig
from bench.figures import measured
from bench.http_client import KeepAliveClient
from bench.load import LoadResult, closed_loop
from bench.report import Report, say
from bench.uploads import Loaded, TableShape, fill_through_copy, run_uploads

GET_LEVELS = (1, 10, 50)
"""The concurrencies issue 12 sets targets at (throughput at 1 and 10, p99 at 50)."""

Row = tuple[int, str, int, float, bool, dt.date]
COLUMNS = ("id", "name", "grp", "score", "flag", "day")


def shape(index: Sequence[str]) -> TableShape:
    return TableShape(
        label="6col",
        columns=COLUMNS,
        api_schema={
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "name", "type": "text", "nullable": False},
                {"name": "grp", "type": "integer", "nullable": False},
                {"name": "score", "type": "float"},
                {"name": "flag", "type": "boolean"},
                {"name": "day", "type": "date"},
            ],
            "primary_key": ["id"],
            "indexes": [{"columns": list(index)}],
        },
        raw_ddl=(
            'CREATE TABLE {} (id bigint PRIMARY KEY, name text COLLATE "C" NOT NULL, grp bigint NOT NULL, '
            "score double precision, flag boolean, day date)"
        ),
        raw_indexes=(tuple(index),),
        copy_types=("int8", "text", "int8", "float8", "bool", "date"),
        csv_line=lambda r: f"{r[0]},{r[1]},{r[2]},{r[3]!r},{'true' if r[4] else 'false'},{r[5].isoformat()}",
    )


def make_rows(count: int, groups: int, seed: int) -> list[Row]:
    rng = random.Random(seed)
    epoch = dt.date(2020, 1, 1)
    return [
        (
            i,
            f"name-{i}-{rng.getrandbits(32):08x}",
            rng.randrange(groups),
            round(rng.random() * 10_000, 4),
            rng.random() < 0.5,
            epoch + dt.timedelta(days=i % 3650),
        )
        for i in range(1, count + 1)
    ]


async def run_uploads_6col(config: BenchConfig, client: httpx.AsyncClient, pg_url: str, report: Report) -> Loaded:
    say(f"uploads 6col: generating {config.rows:,} rows")
    rows = make_rows(config.rows, config.groups, config.seed)
    return await run_uploads(shape(config.index), rows, config.json_chunk, client, pg_url, report)


async def filled_6col(config: BenchConfig, client: httpx.AsyncClient, pg_url: str) -> Loaded:
    """The GET phase's table when the uploads did not make one (their phase failed or did not run)."""
    rows = make_rows(config.rows, config.groups, config.seed)
    return await fill_through_copy(client, pg_url, shape(config.index), rows, "get_6col")


def page_select(table: sql.Composable, limit: int) -> tuple[sql.Composed, int]:
    """What PostgresTabularStore.page_statement builds for `grp=eq:<g>&limit=<limit>` (default sort:
    the key; one row more than the limit to know whether more follow)."""
    statement = sql.SQL(
        'SELECT "id", "name", "grp", "score", "flag", "day" FROM {} WHERE ("grp" = %s::bigint) '
        'ORDER BY "id" ASC NULLS LAST LIMIT %s OFFSET %s'
    ).format(table)
    return statement, limit + 1


async def run_filtered_get(config: BenchConfig, api: Api, pg_url: str, target: Loaded, report: Report) -> None:
    url = urlsplit(api.base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    path = f"/sessions/{target.session_id}/datasets/{target.dataset_id}/records"
    statement, fetch = page_select(target.table, config.page_limit)
    rng = random.Random(config.seed + 1)
    decoder = msgspec.json.Decoder()
    warmup = min(1.0, config.get_seconds / 2)

    # The API's page and the raw SELECT must be the same rows, or the comparison means nothing.
    async with KeepAliveClient(host, port, api.headers) as http, await psycopg.AsyncConnection.connect(pg_url) as conn:
        group = config.groups // 2
        api_ids = [
            r["id"] for r in decoder.decode(await http.get(f"{path}?grp=eq:{group}&limit={config.page_limit}"))["items"]
        ]
        cur = await conn.execute(statement, [group, fetch, 0])
        raw_ids = [r[0] for r in await cur.fetchall()][: config.page_limit]
        if api_ids != raw_ids:
            raise RuntimeError(f"the API page and the raw SELECT differ: {api_ids[:5]}... vs {raw_ids[:5]}...")

    for clients in config.clients:
        say(f"get: filtered GET, {clients} client(s), API")
        api_result = await _api_get_load(host, port, api, path, config, clients, rng, warmup)
        say(f"get: filtered GET, {clients} client(s), raw psycopg pool")
        raw_result = await _raw_get_load(pg_url, statement, fetch, config, clients, rng, warmup)
        detail = {
            "api_p50_ms": round(api_result.p50_ms, 3),
            "api_p99_ms": round(api_result.p99_ms, 3),
            "raw_p50_ms": round(raw_result.p50_ms, 3),
            "raw_p99_ms": round(raw_result.p99_ms, 3),
            "api_req_s": round(api_result.rate, 1),
            "raw_req_s": round(raw_result.rate, 1),
            "api_requests": api_result.requests,
        }
        if clients == 1:
            report.add(measured("get_filtered_1_client", api_result.rate, raw_result.rate, detail=detail))
        elif clients == 10:
            report.add(measured("get_filtered_10_clients", api_result.rate, raw_result.rate, detail=detail))
        elif clients == 50:
            report.add(measured("get_filtered_50_clients_p99", api_result.p99_ms, raw_result.p99_ms, detail=detail))
        else:
            report.notes.append(
                f"filtered GET at {clients} clients: API {api_result.rate:,.0f} req/s "
                f"(p99 {api_result.p99_ms:.1f} ms), raw {raw_result.rate:,.0f} req/s (p99 {raw_result.p99_ms:.1f} ms)"
            )


async def _api_get_load(
    host: str, port: int, api: Api, path: str, config: BenchConfig, clients: int, rng: random.Random, warmup: float
) -> LoadResult:
    connections = [KeepAliveClient(host, port, api.headers) for _ in range(clients)]
    for connection in connections:
        await connection.__aenter__()
    limit = config.page_limit
    groups = config.groups

    def operation(connection: KeepAliveClient) -> Any:
        async def call() -> None:
            await connection.get(f"{path}?grp=eq:{rng.randrange(groups)}&limit={limit}")

        return call

    try:
        return await closed_loop([operation(c) for c in connections], config.get_seconds, warmup)
    finally:
        for connection in connections:
            await connection.close()


async def _raw_get_load(
    pg_url: str,
    statement: sql.Composed,
    fetch: int,
    config: BenchConfig,
    clients: int,
    rng: random.Random,
    warmup: float,
) -> LoadResult:
    pool = AsyncConnectionPool(
        pg_url, min_size=clients, max_size=clients, kwargs={"autocommit": True}, open=False, name="bench-raw"
    )
    await pool.open(wait=True, timeout=60.0)
    groups = config.groups

    async def call() -> None:
        async with pool.connection() as conn:
            cur = await conn.execute(statement, [rng.randrange(groups), fetch, 0])
            await cur.fetchall()

    try:
        return await closed_loop([call] * clients, config.get_seconds, warmup)
    finally:
        await pool.close()
