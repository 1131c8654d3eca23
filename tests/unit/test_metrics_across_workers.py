"""`/metrics` in multiprocess mode: each worker keeps its values in its own files in the run's shared
directory, and the exposition (whichever worker renders it) is the sum over all of them. Two workers
are simulated in one process by giving prometheus_client two process identities."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import values

from datainfra.adapters.http.observability import Metrics, PoolStats


def _line(exposition: bytes, prefix: str) -> str:
    lines = [line for line in exposition.decode().splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, exposition.decode()
    return lines[0]


def test_the_exposition_sums_every_workers_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    workers = []
    for pid, requests in ((111, 3), (222, 4)):
        monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda pid=pid: pid))
        metrics = Metrics(multiprocess_dir=tmp_path)
        for _ in range(requests):
            metrics.observe("GET", "/health", 200, 0.002)
        metrics.store_errors.labels("timeout", "/sessions").inc()
        workers.append(metrics)
    assert sorted(p.name for p in tmp_path.glob("counter_*.db")) == ["counter_111.db", "counter_222.db"]

    workers[0].pool.latest = PoolStats(size=3, available=1, waiting=0, max_size=10)
    for metrics in workers:
        exposition = metrics.exposition()
        requests = 'datainfra_http_requests_total{method="GET",route="/health",status="200"}'
        assert _line(exposition, requests + " ") == f"{requests} 7.0"
        count = 'datainfra_http_request_duration_seconds_count{method="GET",route="/health",status="200"}'
        assert _line(exposition, count + " ") == f"{count} 7.0"
        errors = 'datainfra_store_errors_total{kind="timeout",route="/sessions"}'
        assert _line(exposition, errors + " ") == f"{errors} 2.0"
    # The pool gauges are the answering worker's own (read at scrape time).
    assert _line(workers[0].exposition(), "datainfra_pg_pool_in_use ") == "datainfra_pg_pool_in_use 2.0"
    assert b"datainfra_pg_pool_in_use" not in workers[1].exposition()


def test_one_process_without_a_directory_reports_its_own_registry() -> None:
    metrics = Metrics()
    metrics.observe("GET", "/health", 200, 0.002)
    assert b'datainfra_http_requests_total{method="GET",route="/health",status="200"} 1.0' in metrics.exposition()
