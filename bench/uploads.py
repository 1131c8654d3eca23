"""Bulk loads of one table shape through the API and through raw psycopg, in the same run:

- CSV: one streamed request vs raw `COPY ... FROM STDIN (FORMAT csv, HEADER)` of the very same bytes;
- JSON (chunked requests of BENCH_JSON_CHUNK records) and NDJSON (one streamed request) vs one raw
  binary COPY of the same rows (its clock includes psycopg's row encoding, its client-side share).

Every table (API or raw) has the same columns, primary key and indexes. Request bodies are encoded
before the clock starts (a client would have them ready)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import psycopg
from psycopg import sql

from bench.figures import measured
from bench.report import Report, say
from datainfra.adapters.postgres.identifiers import session_schema_name

PIECE = 1 << 20
RAW_SCHEMA = "datainfra_bench_raw"


@dataclass(frozen=True, slots=True)
class TableShape:
    label: str
    """The figures' suffix: `6col`, `lineitem`."""
    columns: tuple[str, ...]
    api_schema: dict[str, Any]
    """The dataset schema (its indexes included)."""
    raw_ddl: str
    """CREATE TABLE {} (...) with the same types, collation and primary key as the API's table."""
    raw_indexes: tuple[tuple[str, ...], ...]
    copy_types: tuple[str, ...]
    csv_line: Callable[[Sequence[Any]], str]


@dataclass(frozen=True, slots=True)
class Loaded:
    """The table the CSV upload filled (the GET and SQL phases read it)."""

    session_id: str
    dataset_id: str
    name: str
    table: sql.Identifier


def csv_body(shape: TableShape, rows: Sequence[Sequence[Any]]) -> bytes:
    return ("\n".join([",".join(shape.columns), *map(shape.csv_line, rows)]) + "\n").encode()


def json_bodies(shape: TableShape, rows: Sequence[Sequence[Any]], chunk: int) -> list[bytes]:
    encoder = msgspec.json.Encoder(decimal_format="number")
    return [
        encoder.encode({"records": [dict(zip(shape.columns, r, strict=True)) for r in rows[start : start + chunk]]})
        for start in range(0, len(rows), chunk)
    ]


def ndjson_body(shape: TableShape, rows: Sequence[Sequence[Any]]) -> bytes:
    encoder = msgspec.json.Encoder(decimal_format="number")
    return b"".join(encoder.encode(dict(zip(shape.columns, r, strict=True))) + b"\n" for r in rows)


async def pieces(body: bytes) -> AsyncIterator[bytes]:
    view = memoryview(body)
    for start in range(0, len(body), PIECE):
        yield bytes(view[start : start + PIECE])


def expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}: "
            f"{response.text[:1000]}"
        )


def inserted(response: httpx.Response, count: int) -> None:
    expect(response, 201)
    got = response.json()["inserted"]
    if got != count:
        raise RuntimeError(f"the API inserted {got} records, expected {count}")


async def new_session(client: httpx.AsyncClient, name: str) -> str:
    response = await client.post("/sessions", json={"name": name})
    expect(response, 201)
    session_id: str = response.json()["id"]
    return session_id


async def create_dataset(client: httpx.AsyncClient, session_id: str, name: str, kind: str, schema: Any) -> str:
    response = await client.post(
        f"/sessions/{session_id}/datasets", json={"name": name, "kind": kind, "schema": schema}
    )
    expect(response, 201)
    dataset_id: str = response.json()["id"]
    return dataset_id


async def raw_table(conn: psycopg.AsyncConnection[Any], shape: TableShape, name: str) -> sql.Identifier:
    """A fresh table of `shape` in the bench's own schema (apart from every API session's)."""
    await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(RAW_SCHEMA)))
    table = sql.Identifier(RAW_SCHEMA, f"{name}_{time.time_ns()}")
    await conn.execute(sql.SQL(shape.raw_ddl).format(table))
    for columns in shape.raw_indexes:
        await conn.execute(
            sql.SQL("CREATE INDEX ON {} ({})").format(table, sql.SQL(", ").join(map(sql.Identifier, columns)))
        )
    return table


async def binary_copy(
    conn: psycopg.AsyncConnection[Any], shape: TableShape, table: sql.Composable, rows: Sequence[Sequence[Any]]
) -> float:
    """Seconds of one binary COPY of `rows` in one transaction."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, shape.columns))
    )
    began = time.perf_counter()
    async with conn.transaction(), conn.cursor().copy(statement) as copy:
        copy.set_types(list(shape.copy_types))
        for row in rows:
            await copy.write_row(row)
    return time.perf_counter() - began


async def csv_copy(conn: psycopg.AsyncConnection[Any], shape: TableShape, table: sql.Composable, body: bytes) -> float:
    """Seconds of one `COPY ... FROM STDIN (FORMAT csv, HEADER)` of `body`, sent in the API's pieces."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, shape.columns))
    )
    began = time.perf_counter()
    async with conn.transaction(), conn.cursor().copy(statement) as copy:
        async for piece in pieces(body):
            await copy.write(piece)
    return time.perf_counter() - began


async def run_uploads(
    shape: TableShape,
    rows: Sequence[Sequence[Any]],
    json_chunk: int,
    client: httpx.AsyncClient,
    pg_url: str,
    report: Report,
) -> Loaded:
    """Measure the three uploads of `rows`; report csv/json/ndjson_upload_<label>; the CSV table."""
    label, count = shape.label, len(rows)
    csv = csv_body(shape, rows)
    jsons = json_bodies(shape, rows, json_chunk)
    ndjson = ndjson_body(shape, rows)
    report.notes.append(
        f"uploads {label}: {count:,} rows x {len(shape.columns)} columns; CSV {len(csv) / 1e6:.1f} MB and NDJSON "
        f"{len(ndjson) / 1e6:.1f} MB each in one streamed request; JSON in {len(jsons)} request(s) of "
        f"<= {json_chunk:,} records; raw tables have the same primary key and indexes"
    )
    session_id = await new_session(client, f"bench-uploads-{label}")
    names = {fmt: f"{fmt}_{label}" for fmt in ("csv", "json", "ndjson")}
    ids = {fmt: await create_dataset(client, session_id, name, "tabular", shape.api_schema)
           for fmt, name in names.items()}  # fmt: skip
    base = f"/sessions/{session_id}/datasets"

    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        binary_table = await raw_table(conn, shape, f"{label}_binary")
        csv_table = await raw_table(conn, shape, f"{label}_csv")
        try:
            say(f"uploads {label}: raw binary COPY and raw COPY csv of {count:,} rows")
            raw_binary_s = await binary_copy(conn, shape, binary_table, rows)
            raw_csv_s = await csv_copy(conn, shape, csv_table, csv)

            say(f"uploads {label}: CSV through the API")
            began = time.perf_counter()
            response = await client.post(f"{base}/{ids['csv']}/records", content=pieces(csv),
                                         headers={"content-type": "text/csv"})  # fmt: skip
            api_csv_s = time.perf_counter() - began
            inserted(response, count)

            say(f"uploads {label}: JSON through the API ({len(jsons)} requests)")
            began = time.perf_counter()
            for body, start in zip(jsons, range(0, count, json_chunk), strict=True):
                response = await client.post(
                    f"{base}/{ids['json']}/records", content=body, headers={"content-type": "application/json"}
                )
                inserted(response, min(json_chunk, count - start))
            api_json_s = time.perf_counter() - began

            say(f"uploads {label}: NDJSON through the API")
            began = time.perf_counter()
            response = await client.post(f"{base}/{ids['ndjson']}/records", content=pieces(ndjson),
                                         headers={"content-type": "application/x-ndjson"})  # fmt: skip
            api_ndjson_s = time.perf_counter() - began
            inserted(response, count)
        finally:
            for table in (binary_table, csv_table):
                await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        loaded = sql.Identifier(session_schema_name(session_id), names["csv"])
        await conn.execute(sql.SQL("ANALYZE {}").format(loaded))

    def seconds(api_s: float, raw_s: float) -> dict[str, Any]:
        return {"api_seconds": round(api_s, 3), "raw_seconds": round(raw_s, 3), "rows": count}

    report.add(measured(f"csv_upload_{label}", count / api_csv_s, count / raw_csv_s,
                        detail=seconds(api_csv_s, raw_csv_s) | {"bytes": len(csv)}))  # fmt: skip
    report.add(measured(f"json_upload_{label}", count / api_json_s, count / raw_binary_s,
                        detail=seconds(api_json_s, raw_binary_s) | {"requests": len(jsons)}))  # fmt: skip
    report.add(measured(f"ndjson_upload_{label}", count / api_ndjson_s, count / raw_binary_s,
                        detail=seconds(api_ndjson_s, raw_binary_s) | {"bytes": len(ndjson)}))  # fmt: skip
    return Loaded(session_id, ids["csv"], names["csv"], loaded)


async def fill_through_copy(
    client: httpx.AsyncClient, pg_url: str, shape: TableShape, rows: Sequence[Sequence[Any]], name: str
) -> Loaded:
    """A dataset of `shape` made through the API and filled by a raw binary COPY into its table (for a
    phase that needs data but does not measure its upload)."""
    session_id = await new_session(client, f"bench-{name}")
    dataset_id = await create_dataset(client, session_id, name, "tabular", shape.api_schema)
    table = sql.Identifier(session_schema_name(session_id), name)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await binary_copy(conn, shape, table, rows)
        await conn.execute(sql.SQL("ANALYZE {}").format(table))
    return Loaded(session_id, dataset_id, name, table)
