"""Issues 6 and 12: exporting a large table through the API (CSV and NDJSON, one streamed GET)
against `COPY ... TO STDOUT` read through raw psycopg in the same run, and the API process's memory
while it exports (peak RSS growth over its RSS before the request, sampled from /proc/<pid>/status).

The target figure asks for the body as it is (`Accept-Encoding: identity`), the like of the bytes
COPY hands over; a second line asks for gzip as most clients do (httpx, browsers, `curl
--compressed`) and is shown for information: compressing is work COPY does not do. Each line also
gives the CPU seconds the API worker spent on the export and those of the raw COPY's server backend,
so a missed ratio says which side bounds it.

Run: `python -m bench.export_bench`. Sizes: BENCH_EXPORT_ROWS (comma-separated, default
250000,1000000: memory must stay flat as the size grows). Stores as in the other benchmarks
(BENCH_DATABASE_URL / BENCH_NEO4J_* to reuse running servers, else throwaway ones)."""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import httpx
import psycopg
from psycopg import sql

from bench.api_process import Api, api_process
from bench.config import BenchConfig
from bench.servers import bench_servers
from datainfra.adapters.postgres.identifiers import session_schema_name

SPEED_TARGET = 0.8
RSS_TARGET_MB = 100.0
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


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


@contextmanager
def peak_rss(pid: int, every: float = 0.01) -> Iterator[list[int]]:
    """[baseline kB, peak kB] of the process while the block runs."""
    result = [_rss_kb(pid), 0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            result[1] = max(result[1], _rss_kb(pid))
            stop.wait(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        result[1] = max(result[1], _rss_kb(pid))


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Measure:
    seconds: float
    first_byte: float
    size: int
    rss_growth_mb: float = 0.0
    cpu_s: float = 0.0
    """CPU seconds of the serving process: the API worker, or the raw COPY's server backend (when
    PostgreSQL runs on this machine)."""


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
        backend = conn.info.backend_pid
        cpu = _cpu_s(backend)
        began = time.perf_counter()
        first = 0.0
        size = 0
        with cur.copy(statement) as copy:
            for data in copy:
                if not size:
                    first = time.perf_counter() - began
                size += len(data)
        return Measure(time.perf_counter() - began, first, size, cpu_s=_cpu_s(backend) - cpu)


def api_export(api: Api, url: str, fmt: str, encoding: str = "identity") -> Measure:
    headers = api.headers | {"Accept-Encoding": encoding}
    cpu = _cpu_s(api.pid)
    with httpx.Client(timeout=600.0) as client, peak_rss(api.pid) as rss:
        began = time.perf_counter()
        first = 0.0
        size = 0
        with client.stream("GET", url, params={"format": fmt}, headers=headers) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(1 << 16):
                if not size:
                    first = time.perf_counter() - began
                size += len(chunk)
        seconds = time.perf_counter() - began
    return Measure(seconds, first, size, (rss[1] - rss[0]) / 1024, _cpu_s(api.pid) - cpu)


def main() -> None:
    config = BenchConfig.from_env()
    scale = float(os.environ.get("BENCH_SCALE") or 1)
    default_sizes = f"{max(1000, int(250_000 * scale))},{max(1000, int(1_000_000 * scale))}"
    sizes = [int(s) for s in (os.environ.get("BENCH_EXPORT_ROWS") or default_sizes).split(",") if s.strip()]
    print(
        f"Issues 6, 12 - streaming export (targets: API >= {SPEED_TARGET}x raw COPY, body as is; "
        f"RSS growth < {RSS_TARGET_MB} MB)"
    )
    with bench_servers(config) as servers, api_process(servers) as api:
        base = api.base_url
        for rows in sizes:
            with httpx.Client(base_url=base, headers=api.headers, timeout=120.0) as client:
                session_id = client.post("/sessions", json={"name": f"export {rows}"}).json()["id"]
                created = client.post(
                    f"/sessions/{session_id}/datasets", json={"name": "big", "kind": "tabular", "schema": SCHEMA}
                )
                created.raise_for_status()
                dataset_id = created.json()["id"]
            load_rows(servers.postgres_url, session_id, rows)
            export_url = f"{base}/sessions/{session_id}/datasets/{dataset_id}/export"
            raw_csv = raw_copy(servers.postgres_url, session_id, ndjson=False)
            raw_ndjson = raw_copy(servers.postgres_url, session_id, ndjson=True)
            for fmt, raw in (("csv", raw_csv), ("ndjson", raw_ndjson)):
                for encoding in ("identity", "gzip"):
                    got = api_export(api, export_url, fmt, encoding)
                    print(_line(rows, fmt, encoding, raw, raw_csv, got), flush=True)


def _line(rows: int, fmt: str, encoding: str, raw: Measure, raw_csv: Measure, got: Measure) -> str:
    ratio = raw.seconds / got.seconds
    if encoding != "identity":
        verdict = "info"
    else:
        verdict = "ok" if ratio >= SPEED_TARGET and got.rss_growth_mb < RSS_TARGET_MB else "MISSED"
    return (
        f"{rows:>9,} rows {fmt:<6} {encoding:<8}  raw COPY {raw.seconds:6.2f}s "
        f"({raw.size / 1e6:7.1f} MB, server CPU {raw.cpu_s:5.2f}s)  API {got.seconds:6.2f}s "
        f"({got.size / 1e6:7.1f} MB, first byte {got.first_byte * 1000:5.0f} ms, API CPU {got.cpu_s:5.2f}s)  "
        f"{ratio:4.2f}x same-format COPY, {raw_csv.seconds / got.seconds:4.2f}x CSV COPY  "
        f"API RSS growth {got.rss_growth_mb:6.1f} MB  [{verdict}]"
    )


if __name__ == "__main__":
    main()
