"""Exporting a large table through the API (CSV and NDJSON, one streamed GET) against
`COPY ... TO STDOUT` read through raw psycopg in the same run, and the API's memory while it exports
(peak RSS growth over its RSS before the request, summed over the API's worker processes, sampled
from /proc/<pid>/status). Parquet is measured against the API's own CSV paths over the same rows:
its export against the CSV export just measured, and the upload of that Parquet file into a new
dataset against the upload of the CSV export's bytes into another. Size: BENCH_EXPORT_ROWS
(default: BENCH_ROWS)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from psycopg import sql

from bench.api_process import Api
from bench.config import BenchConfig
from bench.figures import measured
from bench.report import Report, say
from datainfra.adapters.postgres.identifiers import session_schema_name

SCHEMA = {
    "columns": [
        {"name": "name", "type": "text", "nullable": False},
        {"name": "grp", "type": "integer"},
        {"name": "score", "type": "float"},
        {"name": "price", "type": "numeric"},
        {"name": "flag", "type": "boolean"},
        {"name": "at", "type": "timestamp"},
    ]
}
COLUMNS = ("id", "name", "grp", "score", "price", "flag", "at")


def _rss_kb(pids: list[int], field: str = "VmRSS") -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


@contextmanager
def peak_rss(pids: list[int], every: float = 0.01) -> Iterator[list[int]]:
    """[baseline kB, peak kB] of the processes' summed RSS while the block runs."""
    result = [_rss_kb(pids), 0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            result[1] = max(result[1], _rss_kb(pids))
            stop.wait(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        result[1] = max(result[1], _rss_kb(pids))


@dataclass(frozen=True, slots=True)
class Measure:
    seconds: float
    first_byte: float
    size: int
    rss_growth_mb: float = 0.0
    rss_peak_mb: float = 0.0


def load_rows(url: str, session_id: str, rows: int) -> None:
    table = sql.Identifier(session_schema_name(session_id), "big")
    rng = random.Random(6)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            table, sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
        )
        with cur.copy(statement) as copy:
            copy.set_types(["int8", "text", "int8", "float8", "numeric", "bool", "timestamptz"])
            for i in range(1, rows + 1):
                copy.write_row(
                    (
                        i,
                        f'name {i} "q", {"ü" if i % 7 == 0 else ""}',
                        rng.randrange(1000),
                        rng.random() * 1000,
                        Decimal(rng.randrange(100_000)) / 100,
                        i % 2 == 0,
                        start + dt.timedelta(seconds=i),
                    )
                )
        cur.execute(sql.SQL("ANALYZE {}").format(table))


def raw_copy(url: str, session_id: str, ndjson: bool) -> Measure:
    table = sql.Identifier(session_schema_name(session_id), "big")
    cols = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    if ndjson:
        select = sql.SQL("SELECT row_to_json(t) FROM (SELECT {} FROM {} ORDER BY id) AS t").format(cols, table)
        options = sql.SQL("FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'")
    else:
        select = sql.SQL("SELECT {} FROM {} ORDER BY id").format(cols, table)
        options = sql.SQL("FORMAT csv, HEADER")
    statement = sql.SQL("COPY ({}) TO STDOUT WITH ({})").format(select, options)
    with psycopg.connect(url, options="-c TimeZone=UTC") as conn, conn.cursor() as cur:
        began = time.perf_counter()
        first = 0.0
        size = 0
        with cur.copy(statement) as copy:
            for data in copy:
                if not size:
                    first = time.perf_counter() - began
                size += len(data)
        return Measure(time.perf_counter() - began, first, size)


def api_export(
    api: Api, url: str, fmt: str, keep: bytearray | None = None, filters: dict[str, str] | None = None
) -> Measure:
    with httpx.Client(timeout=600.0) as client, peak_rss(api.worker_pids()) as rss:
        began = time.perf_counter()
        first = 0.0
        size = 0
        # The body as it is, the like of the bytes COPY hands over (httpx asks for gzip by default).
        headers = api.headers | {"Accept-Encoding": "identity"}
        params = {"format": fmt, **(filters or {})}
        with client.stream("GET", url, params=params, headers=headers) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(1 << 16):
                if not size:
                    first = time.perf_counter() - began
                size += len(chunk)
                if keep is not None:
                    keep += chunk
        seconds = time.perf_counter() - began
    return Measure(seconds, first, size, (rss[1] - rss[0]) / 1024, rss[1] / 1024)


async def run_export(config: BenchConfig, api: Api, pg_url: str, report: Report) -> None:
    """The export figures (run in a thread: the measurement is blocking I/O and a sampling thread)."""
    await asyncio.to_thread(_run_export, config, api, pg_url, report)


def _run_export(config: BenchConfig, api: Api, pg_url: str, report: Report) -> None:
    rows = config.export_rows
    with httpx.Client(base_url=api.base_url, headers=api.headers, timeout=120.0) as client:
        response = client.post("/sessions", json={"name": f"export {rows}"})
        response.raise_for_status()
        session_id = response.json()["id"]
        created = client.post(
            f"/sessions/{session_id}/datasets", json={"name": "big", "kind": "tabular", "schema": SCHEMA}
        )
        created.raise_for_status()
        dataset_id = created.json()["id"]
    say(f"export: filling a {rows:,}-row table by raw COPY")
    load_rows(pg_url, session_id, rows)
    export_url = f"{api.base_url}/sessions/{session_id}/datasets/{dataset_id}/export"
    growth = 0.0
    peak_mb = 0.0
    before_mb = _rss_kb(api.worker_pids()) / 1024
    for fmt, name in (("csv", "export_csv"), ("ndjson", "export_ndjson")):
        say(f"export: {fmt}, raw COPY TO STDOUT and through the API")
        raw = raw_copy(pg_url, session_id, ndjson=fmt == "ndjson")
        got = api_export(api, export_url, fmt)
        growth = max(growth, got.rss_growth_mb)
        peak_mb = max(peak_mb, got.rss_peak_mb)
        detail = {
            "rows": rows,
            "api_seconds": round(got.seconds, 3),
            "raw_seconds": round(raw.seconds, 3),
            "api_bytes": got.size,
            "raw_bytes": raw.size,
            "api_first_byte_ms": round(got.first_byte * 1000, 1),
        }
        report.add(measured(name, rows / got.seconds, rows / raw.seconds, detail=detail))
    say("export: parquet through the API, against the CSV export")
    for _ in api.worker_pids():  # a worker's first pyarrow writer and thread pool are one-time costs
        api_export(api, export_url, "parquet", None, {"id": "lt:0"})
    csv_body = bytearray()
    csv_export = api_export(api, export_url, "csv", csv_body)
    parquet_body = bytearray()
    parquet = api_export(api, export_url, "parquet", parquet_body)
    growth = max(growth, parquet.rss_growth_mb)
    peak_mb = max(peak_mb, parquet.rss_peak_mb)
    detail = {
        "rows": rows,
        "api_seconds": round(parquet.seconds, 3),
        "csv_export_seconds": round(csv_export.seconds, 3),
        "parquet_bytes": parquet.size,
        "csv_bytes": csv_export.size,
    }
    report.add(measured("export_parquet", rows / parquet.seconds, rows / csv_export.seconds, detail=detail))
    say("export: parquet upload through the API, against the CSV upload of the same rows")
    csv_seconds = _upload(api, session_id, "csv_copy", bytes(csv_body), "text/csv")
    parquet_seconds = _upload(api, session_id, "parquet_copy", bytes(parquet_body), "application/vnd.apache.parquet")
    detail = {
        "rows": rows,
        "api_seconds": round(parquet_seconds, 3),
        "csv_upload_seconds": round(csv_seconds, 3),
        "parquet_bytes": len(parquet_body),
        "csv_bytes": len(csv_body),
    }
    report.add(measured("upload_parquet", rows / parquet_seconds, rows / csv_seconds, detail=detail))
    rss: dict[str, Any] = {
        "rows": rows,
        "workers": len(api.worker_pids()),
        "rss_before_mb": round(before_mb, 1),
        "rss_peak_mb": round(peak_mb, 1),
        "measured": "peak of the workers' summed RSS during each export over the sum just before it",
    }
    report.add(measured("export_rss_growth", growth, None, detail=rss))


def _upload(api: Api, session_id: str, name: str, body: bytes, media_type: str) -> float:
    """Seconds to POST `body` into a new dataset `name` of the export's schema (one request)."""
    with httpx.Client(base_url=api.base_url, headers=api.headers, timeout=600.0) as client:
        created = client.post(
            f"/sessions/{session_id}/datasets", json={"name": name, "kind": "tabular", "schema": SCHEMA}
        )
        created.raise_for_status()
        url = f"/sessions/{session_id}/datasets/{created.json()['id']}/records"
        began = time.perf_counter()
        response = client.post(url, content=body, headers={"content-type": media_type})
        seconds = time.perf_counter() - began
        response.raise_for_status()
    return seconds
