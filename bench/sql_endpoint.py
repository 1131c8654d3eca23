"""Issue 12, SQL endpoint: a trivial SELECT through `POST /sessions/{id}/query` against the same
statement over raw psycopg (an open connection), and an aggregate over a large table: its time both
ways and whether the API's run used parallel workers where PostgreSQL's plan for the raw text has a
Gather (parallel workers led by the API's backend, seen in pg_stat_activity while it runs).

Run: `python -m bench.sql_endpoint`. BENCH_SQL_SAMPLES (default 500) trivial requests,
BENCH_SQL_ROWS (default 2,000,000 x BENCH_SCALE) rows in the large table. Stores as in the other
benchmarks (BENCH_DATABASE_URL / BENCH_NEO4J_* to reuse running servers, else throwaway ones).

`measure(servers, api)` returns the figures as summary entries (name, api, raw, unit, ratio, target,
met), for the run's summary file.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from bench.api_process import Api, api_process
from bench.config import BenchConfig
from bench.servers import Servers, bench_servers
from datainfra.adapters.postgres.identifiers import session_schema_name

TRIVIAL = "SELECT 1"
AGGREGATE = "SELECT grp % 10 AS g, count(*), sum(price), avg(qty) FROM big WHERE note LIKE '%ab%' GROUP BY 1 ORDER BY 1"
OVERHEAD_TARGET_MS = 3.0


class RawHttp:
    """One keep-alive HTTP/1.1 connection, requests written by hand: the client costs next to nothing."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._connect()

    def _connect(self) -> None:
        self._sock = socket.create_connection(self._address)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        try:
            return self._post(path, body)
        except (ConnectionError, BrokenPipeError):  # the server's keep-alive timeout closed it meanwhile
            self.close()
            self._connect()
            return self._post(path, body)

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n{self._head}\r\n"
        ).encode() + data
        self._sock.sendall(request)
        head = self._until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
        return status, self._exactly(length)

    def _until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._fill()
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _fill(self) -> None:
        chunk = self._sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the API closed the connection")
        self._buffer += chunk

    def close(self) -> None:
        self._sock.close()


def _p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _entry(name: str, api: float, raw: float, unit: str, ratio: float, target: str, met: bool) -> dict[str, Any]:
    return {
        "name": name,
        "api": round(api, 3),
        "raw": round(raw, 3),
        "unit": unit,
        "ratio": round(ratio, 3),
        "target": target,
        "met": met,
    }


def _load(url: str, session_id: str, rows: int) -> None:
    table = sql.Identifier(session_schema_name(session_id), "big")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (grp, price, qty, note) SELECT g %% 1000, (g %% 10000) / 100.0, g %% 50, md5(g::text) "
                "FROM generate_series(1, %s) g"
            ).format(table),
            (rows,),
        )
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(table))


def measure(servers: Servers, api: Api, *, samples: int = 500, rows: int = 2_000_000) -> list[dict[str, Any]]:
    http = RawHttp(api.base_url, api.headers)
    try:
        status, body = http.post("/sessions", {"name": "sql endpoint"})
        assert status == 201, body
        session_id = json.loads(body)["id"]
        schema = {
            "columns": [
                {"name": "grp", "type": "integer"},
                {"name": "price", "type": "numeric"},
                {"name": "qty", "type": "integer"},
                {"name": "note", "type": "text"},
            ]
        }
        status, body = http.post(
            f"/sessions/{session_id}/datasets", {"name": "big", "kind": "tabular", "schema": schema}
        )
        assert status == 201, body
        query_path = f"/sessions/{session_id}/query"

        def api_query(text: str) -> float:
            began = time.perf_counter()
            status, answer = http.post(query_path, {"language": "sql", "query": text})
            elapsed = time.perf_counter() - began
            assert status == 200, answer
            return elapsed

        with psycopg.connect(servers.postgres_url, autocommit=True) as raw:

            def raw_query(text: str) -> float:
                began = time.perf_counter()
                raw.execute(text).fetchall()
                return time.perf_counter() - began

            for _ in range(50):  # warm both: the role's login, caches, the interpreter
                api_query(TRIVIAL)
                raw_query(TRIVIAL)
            api_times, raw_times = [], []
            for _ in range(samples):  # interleaved, so both see the same machine
                api_times.append(api_query(TRIVIAL))
                raw_times.append(raw_query(TRIVIAL))
            api_p50, raw_p50 = _p50_ms(api_times), _p50_ms(raw_times)
            overhead = api_p50 - raw_p50
            figures = [
                _entry(
                    "sql endpoint: trivial SELECT p50",
                    api_p50,
                    raw_p50,
                    "ms",
                    api_p50 / raw_p50,
                    f"API p50 - raw p50 <= {OVERHEAD_TARGET_MS} ms",
                    overhead <= OVERHEAD_TARGET_MS,
                )
            ]

            _load(servers.postgres_url, session_id, rows)
            raw.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(session_schema_name(session_id))))
            plan = "\n".join(row[0] for row in raw.execute(f"EXPLAIN {AGGREGATE}").fetchall())
            raw_parallel = "Gather" in plan
            raw_agg = [raw_query(AGGREGATE) for _ in range(3)]
            workers_seen: list[int] = []
            api_agg = []
            for _ in range(3):
                with ParallelWorkers(servers.postgres_url, workers_seen):
                    api_agg.append(api_query(AGGREGATE))
            api_ms, raw_ms = _p50_ms(api_agg), _p50_ms(raw_agg)
            same_plan = raw_parallel == bool(workers_seen)
            figures.append(
                _entry(
                    "sql endpoint: aggregate over a large table p50",
                    api_ms,
                    raw_ms,
                    "ms",
                    raw_ms / api_ms,
                    "parallel in the API when PostgreSQL plans it parallel (raw: "
                    f"{'Gather' if raw_parallel else 'serial'}; API: "
                    f"{len(set(workers_seen))} parallel worker(s) seen)",
                    same_plan,
                )
            )
            return figures
    finally:
        http.close()


class ParallelWorkers:
    """Collects the pids of parallel workers led by a client-SQL backend while the block runs."""

    def __init__(self, url: str, seen: list[int]) -> None:
        self._url = url
        self._seen = seen
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> None:
        self._running.set()
        self._thread.start()
        time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self._running.clear()
        self._thread.join()

    def _watch(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as conn:
            while self._running.is_set():
                cursor = conn.execute(
                    "SELECT w.pid FROM pg_stat_activity w JOIN pg_stat_activity l ON l.pid = w.leader_pid "
                    "WHERE w.backend_type = 'parallel worker' AND l.application_name = 'datainfra-query'"
                )
                self._seen.extend(row[0] for row in cursor.fetchall())
                time.sleep(0.002)


def main() -> None:
    config = BenchConfig.from_env()
    scale = float(os.environ.get("BENCH_SCALE") or 1)
    samples = int(os.environ.get("BENCH_SQL_SAMPLES") or 500)
    rows = int(os.environ.get("BENCH_SQL_ROWS") or max(200_000, int(2_000_000 * scale)))
    print(f"Issue 12 - SQL endpoint ({samples} trivial SELECTs, {rows:,} rows in the large table)", flush=True)
    with bench_servers(config) as servers, api_process(servers) as api:
        for figure in measure(servers, api, samples=samples, rows=rows):
            verdict = "ok" if figure["met"] else "MISSED"
            print(
                f"{figure['name']:<48} API {figure['api']:8.3f} {figure['unit']}  raw {figure['raw']:8.3f} "
                f"{figure['unit']}  ratio {figure['ratio']:5.2f}  target: {figure['target']}  [{verdict}]",
                flush=True,
            )


if __name__ == "__main__":
    main()
