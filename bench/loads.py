"""Issue 12's load targets (BENCH_PHASES=loads): for the 6-column table and a 16-column TPC-H
`lineitem`-shaped one (bigint, numeric, date, short and long text), each upload path of the API
beside the raw driver in the same run:

- CSV (one streamed request) vs `COPY ... FROM STDIN (FORMAT csv)` of the very same bytes;
- JSON (chunked requests) and NDJSON (one streamed request) vs binary COPY of the same rows.

Every load goes into a fresh, identical table (same key), so each measures the same work."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import psycopg
from psycopg import sql

from bench.config import BenchConfig
from bench.report import Report, say

SECTION = "Issue 12 - uploads vs raw COPY"
CSV_TARGET = 0.8
JSON_TARGET = 0.5
PIECE = 1 << 20
RAW_SCHEMA = "datainfra_bench_loads"

_WORDS = [
    "carefully",
    "final",
    "deposits",
    "sleep",
    "quickly",
    "ironic",
    "requests",
    "haggle",
    "furiously",
    "express",
    "accounts",
    "slyly",
    "bold",
    "pinto",
    "beans",
    "blithely",
    "regular",
    "packages",
    "nag",
    "fluffily",
    "even",
    "theodolites",
]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[tuple[str, str, str], ...]
    """(name, API type, raw DDL type)"""
    key: tuple[str, ...]
    copy_types: tuple[str, ...]
    rows: Callable[[int, int], list[tuple[Any, ...]]]
    cell: Callable[[tuple[Any, ...]], str]

    def schema(self) -> dict[str, Any]:
        return {
            "columns": [{"name": n, "type": t, "nullable": n not in self.key} for n, t, _ in self.columns],
            "primary_key": list(self.key),
        }

    def ddl(self, table: sql.Composable) -> sql.Composed:
        columns = sql.SQL(", ").join(sql.SQL(f"{{}} {raw}").format(sql.Identifier(n)) for n, _, raw in self.columns)
        key = sql.SQL(", ").join(map(sql.Identifier, self.key))
        return sql.SQL("CREATE TABLE {} ({}, PRIMARY KEY ({}))").format(table, columns, key)

    @property
    def names(self) -> list[str]:
        return [n for n, _, _ in self.columns]


def _six(count: int, seed: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    epoch = dt.date(2020, 1, 1)
    return [
        (
            i,
            f"name-{i}-{rng.getrandbits(32):08x}",
            rng.randrange(1000),
            round(rng.random() * 10_000, 4),
            rng.random() < 0.5,
            epoch + dt.timedelta(days=i % 3650),
        )
        for i in range(1, count + 1)
    ]


def _six_csv(r: tuple[Any, ...]) -> str:
    return f"{r[0]},{r[1]},{r[2]},{r[3]!r},{'true' if r[4] else 'false'},{r[5].isoformat()}"


def _lineitem(count: int, seed: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    start = dt.date(1992, 1, 1)
    rows = []
    for i in range(count):
        ship = start + dt.timedelta(days=rng.randrange(2500))
        rows.append(
            (
                i // 4 + 1,
                rng.randrange(1, 200_000),
                rng.randrange(1, 10_000),
                i % 4 + 1,
                Decimal(f"{rng.randrange(1, 51)}.00"),
                Decimal(f"{rng.randrange(90_000, 10_000_000) / 100:.2f}"),
                Decimal(f"0.0{rng.randrange(10)}"),
                Decimal(f"0.0{rng.randrange(9)}"),
                rng.choice("RAN"),
                rng.choice("OF"),
                ship,
                ship + dt.timedelta(days=rng.randrange(-60, 60)),
                ship + dt.timedelta(days=rng.randrange(1, 30)),
                rng.choice(("DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN")),
                rng.choice(("TRUCK", "MAIL", "SHIP", "AIR", "RAIL", "FOB", "REG AIR")),
                " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(2, 7))),
            )
        )
    return rows


def _lineitem_csv(r: tuple[Any, ...]) -> str:
    return ",".join(v.isoformat() if isinstance(v, dt.date) else str(v) for v in r)


SIX = Table(
    "six",
    (
        ("id", "integer", "bigint"),
        ("name", "text", 'text COLLATE "C"'),
        ("grp", "integer", "bigint"),
        ("score", "float", "double precision"),
        ("flag", "boolean", "boolean"),
        ("day", "date", "date"),
    ),
    ("id",),
    ("int8", "text", "int8", "float8", "bool", "date"),
    _six,
    _six_csv,
)
_LI = "l_"
LINEITEM = Table(
    "lineitem",
    tuple(
        (_LI + n, t, raw)
        for n, t, raw in (
            ("orderkey", "integer", "bigint"),
            ("partkey", "integer", "bigint"),
            ("suppkey", "integer", "bigint"),
            ("linenumber", "integer", "bigint"),
            ("quantity", "numeric", "numeric"),
            ("extendedprice", "numeric", "numeric"),
            ("discount", "numeric", "numeric"),
            ("tax", "numeric", "numeric"),
            ("returnflag", "text", 'text COLLATE "C"'),
            ("linestatus", "text", 'text COLLATE "C"'),
            ("shipdate", "date", "date"),
            ("commitdate", "date", "date"),
            ("receiptdate", "date", "date"),
            ("shipinstruct", "text", 'text COLLATE "C"'),
            ("shipmode", "text", 'text COLLATE "C"'),
            ("comment", "text", 'text COLLATE "C"'),
        )
    ),
    ("l_orderkey", "l_linenumber"),
    ("int8",) * 4 + ("numeric",) * 4 + ("text",) * 2 + ("date",) * 3 + ("text",) * 3,
    _lineitem,
    _lineitem_csv,
)


async def _pieces(body: bytes) -> AsyncIterator[bytes]:
    view = memoryview(body)
    for start in range(0, len(body), PIECE):
        yield bytes(view[start : start + PIECE])


def _check(response: httpx.Response, expected: int) -> None:
    if response.status_code != 201 or response.json().get("inserted") != expected:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:500]}")


async def run_loads(config: BenchConfig, client: httpx.AsyncClient, pg_url: str, report: Report) -> None:
    response = await client.post("/sessions", json={"name": "bench-loads"})
    response.raise_for_status()
    session_id = response.json()["id"]
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(RAW_SCHEMA)))
        for table in (SIX, LINEITEM):
            await _measure(config, client, conn, session_id, table, report)


async def _measure(
    config: BenchConfig,
    client: httpx.AsyncClient,
    conn: psycopg.AsyncConnection[Any],
    session_id: str,
    table: Table,
    report: Report,
) -> None:
    count = config.rows
    say(f"loads: {table.name}: generating {count:,} rows")
    rows = table.rows(count, config.seed)
    csv = ("\n".join([",".join(table.names), *map(table.cell, rows)]) + "\n").encode()
    encoder = msgspec.json.Encoder(decimal_format="number")
    dicts = [dict(zip(table.names, r, strict=True)) for r in rows]
    jsons = [encoder.encode({"records": dicts[s : s + config.json_chunk]}) for s in range(0, count, config.json_chunk)]
    ndjson = b"".join(encoder.encode(d) + b"\n" for d in dicts)
    del dicts
    names = sql.SQL(", ").join(map(sql.Identifier, table.names))
    serial = 0

    async def raw_table() -> sql.Identifier:
        nonlocal serial
        serial += 1
        ident = sql.Identifier(RAW_SCHEMA, f"{table.name}_{int(time.time() * 1000)}_{serial}")
        await conn.execute(table.ddl(ident))
        return ident

    async def dataset() -> str:
        nonlocal serial
        serial += 1
        body = {"name": f"{table.name}_{serial}", "kind": "tabular", "schema": table.schema()}
        answer = await client.post(f"/sessions/{session_id}/datasets", json=body)
        answer.raise_for_status()
        return f"/sessions/{session_id}/datasets/{answer.json()['id']}/records"

    async def raw_csv() -> float:
        ident = await raw_table()
        began = time.perf_counter()
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER)").format(ident, names)
        async with conn.transaction(), conn.cursor().copy(statement) as copy:
            async for piece in _pieces(csv):
                await copy.write(piece)
        return time.perf_counter() - began

    async def raw_binary() -> float:
        ident = await raw_table()
        began = time.perf_counter()
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(ident, names)
        async with conn.transaction(), conn.cursor().copy(statement) as copy:
            copy.set_types(list(table.copy_types))
            for row in rows:
                await copy.write_row(row)
        return time.perf_counter() - began

    async def api_csv() -> float:
        url = await dataset()
        began = time.perf_counter()
        answer = await client.post(url, content=_pieces(csv), headers={"content-type": "text/csv"})
        seconds = time.perf_counter() - began
        _check(answer, count)
        return seconds

    async def api_ndjson() -> float:
        url = await dataset()
        began = time.perf_counter()
        answer = await client.post(url, content=_pieces(ndjson), headers={"content-type": "application/x-ndjson"})
        seconds = time.perf_counter() - began
        _check(answer, count)
        return seconds

    async def api_json() -> float:
        url = await dataset()
        began = time.perf_counter()
        for body, start in zip(jsons, range(0, count, config.json_chunk), strict=True):
            answer = await client.post(url, content=body, headers={"content-type": "application/json"})
            _check(answer, min(config.json_chunk, count - start))
        return time.perf_counter() - began

    # Interleaved and repeated: the machine is shared, so each figure is the best of its tries.
    best: dict[str, float] = {}
    runs: Sequence[tuple[str, Callable[[], Any]]] = (
        ("raw csv", raw_csv),
        ("api csv", api_csv),
        ("raw binary", raw_binary),
        ("api json", api_json),
        ("api ndjson", api_ndjson),
    )
    for attempt in range(config.load_repeats):
        for label, run in runs:
            say(f"loads: {table.name}: {label} ({attempt + 1}/{config.load_repeats})")
            seconds = await run()
            best[label] = min(best.get(label, seconds), seconds)
    rate = {label: count / seconds for label, seconds in best.items()}
    width = len(table.columns)
    report.rate(SECTION, f"{table.name} ({width} cols): raw COPY csv", rate["raw csv"], rate["raw csv"], "rows/s")
    report.rate(SECTION, f"{table.name}: raw COPY binary", rate["raw binary"], rate["raw binary"], "rows/s")
    report.rate(SECTION, f"{table.name}: API CSV vs COPY csv", rate["api csv"], rate["raw csv"], "rows/s", CSV_TARGET)
    report.rate(
        SECTION, f"{table.name}: API JSON vs COPY binary", rate["api json"], rate["raw binary"], "rows/s", JSON_TARGET
    )
    report.rate(
        SECTION,
        f"{table.name}: API NDJSON vs COPY binary",
        rate["api ndjson"],
        rate["raw binary"],
        "rows/s",
        JSON_TARGET,
    )
    report.notes.append(
        f"loads: {table.name}: {count:,} rows, CSV {len(csv) / 1e6:.1f} MB, NDJSON {len(ndjson) / 1e6:.1f} MB; "
        f"best of {config.load_repeats} interleaved tries each"
    )
