"""`python -m datainfra` with two workers on one PostgreSQL: `/metrics` is the sum over both workers
whichever one answers the scrape, and whatever a worker may cache, a rotated key and a dropped
dataset are refused by every worker on the very next request.

Which worker answered is read from the run's shared metrics directory (prometheus_client's
multiprocess mode keeps one value file per worker process, `counter_<pid>.db`), so each test proves
that both workers took part rather than hoping the kernel spread the connections."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
START_S = 120
BURST = 80
"""Requests per burst, each on a new connection, 16 at a time: enough for both workers to accept some."""

Served = dict[int, collections.Counter[tuple[str, str, str]]]
"""Per worker pid: requests answered by (method, route template, status)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    base: str
    metrics_dir: Path
    log: Path

    def served(self) -> Served:
        """What each worker has answered so far, read from its own value file."""
        found: Served = {}
        for path in self.metrics_dir.glob("counter_*.db"):
            pid = int(path.stem.rsplit("_", 1)[1])
            counts = found.setdefault(pid, collections.Counter())
            for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
                metric, _sample, labels, _help = json.loads(key)
                if metric == "datainfra_http_requests":
                    counts[(labels["method"], labels["route"], labels["status"])] += int(value)
        return found

    def burst(self, method: str, path: str, headers: dict[str, str]) -> list[int]:
        """BURST requests, each on a fresh connection, 16 in flight: their statuses."""

        def one(_: int) -> int:
            return httpx.request(method, self.base + path, headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(one, range(BURST)))


def _statuses_by_worker(before: Served, after: Served, status: str) -> dict[int, int]:
    """How many answers with `status` each worker gave between the two readings."""
    return {
        pid: sum(n for (_, _, s), n in counts.items() if s == status)
        - sum(n for (_, _, s), n in before.get(pid, collections.Counter()).items() if s == status)
        for pid, counts in after.items()
    }


def _wait(check: Callable[[], bool], run: Run) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert run.process.poll() is None, run.log.read_text(errors="replace")[-4000:]
        with contextlib.suppress(httpx.HTTPError):
            if check():
                return
        time.sleep(0.2)
    raise AssertionError(f"not serving within {START_S}s\n{run.log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def two_workers(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("two-workers")
    metrics_dir = tmp / "metrics"
    metrics_dir.mkdir()
    # An earlier run's value file: it must be wiped at start, or its counts (here: unreadable bytes)
    # would be added to this run's.
    (metrics_dir / "counter_1.db").write_bytes(b"\x10\x00\x00\x00stale run")
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DATAINFRA_PORT": str(port),
        "DATAINFRA_WORKERS": "2",
        "DATAINFRA_DATA_DIR": str(tmp / "data"),
        "DATAINFRA_DATABASE_URL": postgres_url,
        # Graph routes are not used here: a Neo4j address nobody listens on (no local Neo4j starts).
        "DATAINFRA_NEO4J_URI": "bolt://127.0.0.1:9",
        "DATAINFRA_NEO4J_PASSWORD": "unused",
        "DATAINFRA_LOG_LEVEL": "WARNING",
        "DATAINFRA_SHUTDOWN_TIMEOUT_S": "5",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    env.pop("ALLOWED_KEYS", None)
    log = tmp / "api.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "datainfra"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp
        )
    run = Run(process, f"http://127.0.0.1:{port}", metrics_dir, log)
    try:
        _wait(lambda: httpx.get(run.base + "/health", timeout=5).status_code == 200, run)
        yield run
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _request_count(exposition: str, method: str, route: str, status: int) -> float:
    prefix = f'datainfra_http_requests_total{{method="{method}",route="{route}",status="{status}"}} '
    lines = [line for line in exposition.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"one series {prefix!r} expected:\n{exposition}"
    return float(lines[0].removeprefix(prefix))


def test_metrics_count_every_workers_requests_whichever_worker_answers(two_workers: Run) -> None:
    assert not (two_workers.metrics_dir / "counter_1.db").exists(), "the stale file of an earlier run is wiped"
    before = two_workers.served()
    statuses = two_workers.burst("GET", "/health", {}) + two_workers.burst("GET", "/health", {})
    assert statuses == [200] * (2 * BURST)
    per_worker = _statuses_by_worker(before, two_workers.served(), "200")
    assert len([n for n in per_worker.values() if n > 0]) == 2, f"both workers answered: {per_worker}"

    total = sum(n for counts in two_workers.served().values() for (m, r, s), n in counts.items() if r == "/health")
    scrapes = []
    for _ in range(12):  # on new connections: both workers answer some of them
        response = httpx.get(two_workers.base + "/metrics", timeout=10)
        assert response.status_code == 200
        scrapes.append(_request_count(response.text, "GET", "/health", 200))
    assert scrapes == [total] * len(scrapes), "every scrape, by either worker, reports the sum over both"
    assert total >= 2 * BURST
    assert "datainfra_http_request_duration_seconds_bucket" in response.text


def test_a_rotated_key_is_refused_by_every_worker_on_the_next_request(two_workers: Run) -> None:
    old = httpx.post(two_workers.base + "/users", timeout=10).json()["api_key"]
    # Both workers have served the key (and so could have cached whatever they cache about it).
    before = two_workers.served()
    assert two_workers.burst("GET", "/users/me", {"X-API-Key": old}) == [200] * BURST
    warmed = _statuses_by_worker(before, two_workers.served(), "200")
    assert len([n for n in warmed.values() if n > 0]) == 2, warmed

    rotated = httpx.post(two_workers.base + "/users/key", headers={"X-API-Key": old}, timeout=10)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["api_key"]

    before = two_workers.served()
    assert two_workers.burst("GET", "/users/me", {"X-API-Key": old}) == [401] * BURST
    refused = _statuses_by_worker(before, two_workers.served(), "401")
    assert len([n for n in refused.values() if n > 0]) == 2, f"both workers refused the old key: {refused}"
    assert two_workers.burst("GET", "/users/me", {"X-API-Key": new}) == [200] * BURST


def test_a_dropped_dataset_is_gone_for_every_worker(two_workers: Run) -> None:
    headers = {"X-API-Key": httpx.post(two_workers.base + "/users", timeout=10).json()["api_key"]}
    session = httpx.post(two_workers.base + "/sessions", json={"name": "s"}, headers=headers, timeout=10).json()["id"]
    created = httpx.post(
        f"{two_workers.base}/sessions/{session}/datasets",
        json={"name": "t", "kind": "tabular", "schema": {"columns": [{"name": "a", "type": "integer"}]}},
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    dataset = f"/sessions/{session}/datasets/{created.json()['id']}"
    before = two_workers.served()
    assert two_workers.burst("GET", dataset + "/records", headers) == [200] * BURST
    warmed = _statuses_by_worker(before, two_workers.served(), "200")
    assert len([n for n in warmed.values() if n > 0]) == 2, warmed

    assert httpx.delete(two_workers.base + dataset, headers=headers, timeout=10).status_code == 204

    before = two_workers.served()
    assert two_workers.burst("GET", dataset + "/records", headers) == [404] * BURST
    assert two_workers.burst("GET", dataset, headers) == [404] * BURST
    gone = _statuses_by_worker(before, two_workers.served(), "404")
    assert len([n for n in gone.values() if n > 0]) == 2, f"both workers answered 404: {gone}"
