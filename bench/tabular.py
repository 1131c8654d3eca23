"""Issue 3: bulk loads (CSV streamed in one request, JSON in chunks, raw binary COPY) and an indexed
filtered page GET at several concurrencies against the same SELECT through a psycopg pool.

The table: id bigint (primary key), name text, grp bigint (indexed), score double, flag boolean,
day date. Request bodies are encoded before the clock starts (a client would have them ready);
the raw COPY's clock includes psycopg's row encoding, its client-side share of the work."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from bench.api_process import Api
from bench.config import BenchConfig
from bench.http_client import KeepAliveClient
from bench.load import LoadResult, closed_loop
from bench.report import Report, say
from datainfra.adapters.postgres.identifiers import session_schema_name

SECTION_LOAD = "Issue 3 - tabular bulk load"
SECTION_GET = "Issue 3 - indexed filtered page GET"
CSV_TARGET = 0.7
JSON_TARGET = 0.4
GET_TARGET = 0.5
GET_P99_MS = 20.0
GET_P99_AT = 50
CSV_PIECE = 1 << 20
RAW_SCHEMA = "datainfra_bench_raw"

Row = tuple[int, str, int, float, bool, dt.date]
COLUMNS = ("id", "name", "grp", "score", "flag", "day")
SCHEMA = {
    "columns": [
        {"name": "id", "type": "integer"},
        {"name": "name", "type": "text", "nullable": False},
        {"name": "grp", "type": "integer", "nullable": False},
        {"name": "score", "type": "float"},
        {"name": "flag", "type": "boolean"},
        {"name": "day", "type": "date"},
    ],
    "primary_key": ["id"],
}
RAW_DDL = (
    'CREATE TABLE {} (id bigint PRIMARY KEY, name text COLLATE "C" NOT NULL, grp bigint NOT NULL, '
    "score double precision, flag boolean, day date)"
)
COPY_TYPES = ["int8", "text", "int8", "float8", "bool", "date"]


@dataclass(frozen=True, slots=True)
class TabularTarget:
    session_id: str
    dataset_id: str
    table: sql.Composable


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


def csv_body(rows: Sequence[Row]) -> bytes:
    lines = [",".join(COLUMNS)]
    lines += [f"{r[0]},{r[1]},{r[2]},{r[3]!r},{'true' if r[4] else 'false'},{r[5].isoformat()}" for r in rows]
    return ("\n".join(lines) + "\n").encode()


def json_bodies(rows: Sequence[Row], chunk: int) -> list[bytes]:
    encoder = msgspec.json.Encoder()
    return [
        encoder.encode({"records": [dict(zip(COLUMNS, r, strict=True)) for r in rows[start : start + chunk]]})
        for start in range(0, len(rows), chunk)
    ]


async def _pieces(body: bytes) -> AsyncIterator[bytes]:
    view = memoryview(body)
    for start in range(0, len(body), CSV_PIECE):
        yield bytes(view[start : start + CSV_PIECE])


async def create_dataset(client: httpx.AsyncClient, session_id: str, name: str, kind: str, schema: Any) -> str:
    response = await client.post(
        f"/sessions/{session_id}/datasets", json={"name": name, "kind": kind, "schema": schema}
    )
    _expect(response, 201)
    dataset_id: str = response.json()["id"]
    return dataset_id


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}: "
            f"{response.text[:1000]}"
        )


def _inserted(response: httpx.Response, expected: int) -> None:
    _expect(response, 201)
    inserted = response.json()["inserted"]
    if inserted != expected:
        raise RuntimeError(f"the API inserted {inserted} records, expected {expected}")


async def run_tabular(config: BenchConfig, api: Api, client: httpx.AsyncClient, pg_url: str, report: Report) -> None:
    say(f"tabular: generating {config.rows:,} rows")
    rows = make_rows(config.rows, config.groups, config.seed)
    csv = csv_body(rows)
    jsons = json_bodies(rows, config.json_chunk)
    report.notes.append(
        f"tabular: {config.rows:,} rows x 6 columns; CSV {len(csv) / 1e6:.1f} MB streamed in one request; "
        f"JSON in {len(jsons)} request(s) of <= {config.json_chunk:,} records ({sum(map(len, jsons)) / 1e6:.1f} MB); "
        f"index on ({', '.join(config.index)}); raw = one binary COPY in one transaction into an identical table "
        "(same primary key and index)"
    )

    response = await client.post("/sessions", json={"name": "bench-tabular"})
    _expect(response, 201)
    session_id = response.json()["id"]
    schema = SCHEMA | {"indexes": [{"columns": list(config.index)}]}
    csv_id = await create_dataset(client, session_id, "bench_csv", "tabular", schema)
    json_id = await create_dataset(client, session_id, "bench_json", "tabular", schema)
    csv_table = sql.Identifier(session_schema_name(session_id), "bench_csv")

    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(RAW_SCHEMA)))
        raw_table = sql.Identifier(RAW_SCHEMA, f"rows_{int(time.time() * 1000)}")
        await conn.execute(sql.SQL(RAW_DDL).format(raw_table))
        index = sql.SQL(", ").join(map(sql.Identifier, config.index))
        await conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(raw_table, index))

        say("tabular: raw binary COPY")
        began = time.perf_counter()
        async with (
            conn.transaction(),
            conn.cursor().copy(
                sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                    raw_table, sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
                )
            ) as copy,
        ):
            copy.set_types(COPY_TYPES)
            for row in rows:
                await copy.write_row(row)
        raw_seconds = time.perf_counter() - began

        say("tabular: CSV through the API")
        began = time.perf_counter()
        response = await client.post(
            f"/sessions/{session_id}/datasets/{csv_id}/records",
            content=_pieces(csv),
            headers={"content-type": "text/csv"},
        )
        csv_seconds = time.perf_counter() - began
        _inserted(response, config.rows)

        say(f"tabular: JSON through the API ({len(jsons)} requests)")
        began = time.perf_counter()
        for body, start in zip(jsons, range(0, config.rows, config.json_chunk), strict=True):
            response = await client.post(
                f"/sessions/{session_id}/datasets/{json_id}/records",
                content=body,
                headers={"content-type": "application/json"},
            )
            _inserted(response, min(config.json_chunk, config.rows - start))
        json_seconds = time.perf_counter() - began

        await conn.execute(sql.SQL("ANALYZE {}").format(csv_table))
        await conn.execute(sql.SQL("DROP TABLE {}").format(raw_table))
    del rows, csv, jsons

    raw_rate = config.rows / raw_seconds
    report.rate(SECTION_LOAD, "raw COPY (binary)", raw_rate, raw_rate, "rows/s")
    report.rate(
        SECTION_LOAD, "API CSV (one streamed request)", config.rows / csv_seconds, raw_rate, "rows/s", CSV_TARGET
    )
    report.rate(
        SECTION_LOAD, "API JSON (chunked requests)", config.rows / json_seconds, raw_rate, "rows/s", JSON_TARGET
    )

    await run_filtered_get(config, api, pg_url, TabularTarget(session_id, csv_id, csv_table), report)


def page_select(table: sql.Composable, limit: int) -> tuple[sql.Composed, int]:
    """What PostgresTabularStore.page_statement builds for `grp=eq:<g>&limit=<limit>` (default sort:
    the key; one row more than the limit to know whether more follow)."""
    statement = sql.SQL(
        'SELECT "id", "name", "grp", "score", "flag", "day" FROM {} WHERE ("grp" = %s::bigint) '
        'ORDER BY "id" ASC NULLS LAST LIMIT %s OFFSET %s'
    ).format(table)
    return statement, limit + 1


async def run_filtered_get(config: BenchConfig, api: Api, pg_url: str, target: TabularTarget, report: Report) -> None:
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
        say(f"tabular: filtered GET, {clients} client(s), API")
        api_result = await _api_get_load(host, port, api, path, config, clients, rng, warmup)
        say(f"tabular: filtered GET, {clients} client(s), raw psycopg pool")
        raw_result = await _raw_get_load(pg_url, statement, fetch, config, clients, rng, warmup)
        label = f"{clients} client{'s' if clients > 1 else ''}"
        report.rate(SECTION_GET, f"{label}: requests/s", api_result.rate, raw_result.rate, "req/s", GET_TARGET)
        report.latency(
            SECTION_GET,
            f"{label}: p50 / p99",
            (api_result.p50_ms, api_result.p99_ms),
            (raw_result.p50_ms, raw_result.p99_ms),
            GET_P99_MS if clients == GET_P99_AT else None,
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
