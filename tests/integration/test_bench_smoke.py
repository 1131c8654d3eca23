"""`make bench` works: the benchmark suite runs end to end at a tiny size against this run's
PostgreSQL and Neo4j (it starts its own API process) and prints every row of its table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_ROWS = (
    "raw COPY (binary)",
    "API CSV (one streamed request)",
    "API JSON (chunked requests)",
    "1 client: requests/s",
    "5 clients: p50 / p99",
    "nodes + edges",
    "2-hop neighbours (out): p50 / p99",
    "shortest path (hops, out): p50 / p99",
)


@pytest.mark.timeout(240)
def test_bench_runs_end_to_end_at_a_tiny_size(postgres_url: str, neo4j_endpoint: Any, tmp_path: Path) -> None:
    env = os.environ | {
        "BENCH_DATABASE_URL": postgres_url,
        "BENCH_NEO4J_URI": neo4j_endpoint.uri,
        "BENCH_NEO4J_USER": neo4j_endpoint.user,
        "BENCH_NEO4J_PASSWORD": neo4j_endpoint.password,
        "BENCH_ROWS": "2000",
        "BENCH_JSON_CHUNK": "800",
        "BENCH_NODES": "500",
        "BENCH_EDGES": "2000",
        "BENCH_GRAPH_CHUNK": "900",
        "BENCH_CLIENTS": "1,5",
        "BENCH_GET_SECONDS": "0.5",
        "BENCH_GRAPH_QUERIES": "10",
        "BENCH_PHASE_TIMEOUT": "90",
        "BENCH_OUTPUT": str(tmp_path / "bench.json"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=220, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for row in EXPECTED_ROWS:
        assert row in result.stdout, f"{row!r} missing from the table:\n{result.stdout}"
    assert "PASS" in result.stdout or "SHORT" in result.stdout
    assert (tmp_path / "bench.json").read_text().count('"metric"') >= len(EXPECTED_ROWS)
