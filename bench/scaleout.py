"""Scale-out: N tenants at once, each loading its own session's table and then reading pages of it,
on a Citus cluster of 1 worker, of 2 workers, and on the run's plain PostgreSQL, back to back in the
same run.

The workload is the tabular store's (PostgresTabularStore, the adapter the API runs, in this
process): per tenant, a session schema (a distributed schema on Citus, placed on a worker), one table,
BENCH_TENANT_ROWS rows in one bulk write (COPY), then BENCH_TENANT_READS filtered page reads. The
figures are aggregate rows/s of the loads and reads/s, "api" = the Citus cluster, "raw" = plain
PostgreSQL, so api/raw is what the cluster gives or costs against one server. On one small machine
every node shares the same cores: the figure shows that the cluster serves every tenant correctly
and what the coordinator's extra hop costs, not a speed-up (which needs workers on their own hosts).
Every tenant's rows are read back and compared; a wrong answer fails the phase."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.config import BenchConfig
from bench.figures import TARGETS, failed, measured
from bench.report import Report, say
from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.migrations import migrate_catalog
from datainfra.adapters.postgres.pool import PostgresSettings, close_pool, open_pool
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.domain.filters import filter_term, parse_filters
from datainfra.domain.model import Dataset, DatasetKind, Session
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.domain.records import OnConflict
from datainfra.domain.tabular_schema import parse_tabular_schema
from datainfra.local_stores.citus_build import citus_bin_dir, citus_unavailable_reason
from datainfra.local_stores.citus_cluster import LocalCitusCluster

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SCHEMA = parse_tabular_schema(
    {
        "columns": [
            {"name": "id", "type": "integer", "nullable": False},
            {"name": "grp", "type": "integer", "nullable": False},
            {"name": "label", "type": "text"},
            {"name": "amount", "type": "numeric"},
        ],
        "primary_key": ["id"],
        "indexes": [{"columns": ["grp", "id"]}],
    }
)
GROUPS = 10
PAGE = 50


@dataclass(frozen=True, slots=True)
class Measured:
    load_rows_per_s: float
    reads_per_s: float


async def _records(rows: int) -> AsyncIterator[dict[str, Any]]:
    for i in range(rows):
        yield {"id": i, "grp": i % GROUPS, "label": f"row {i}", "amount": Decimal(f"{i}.25")}


async def _tenant(store: PostgresTabularStore, rows: int) -> Dataset:
    owner = str(uuid.uuid4())
    session = Session(str(uuid.uuid4()), owner, "scaleout", "", NOW, NOW)
    await store.create_session_space(session)
    dataset = Dataset(str(uuid.uuid4()), session.id, owner, "items", DatasetKind.TABULAR, SCHEMA, NOW, NOW)
    await store.create_table(dataset)
    return dataset


async def _load(store: PostgresTabularStore, dataset: Dataset, rows: int) -> None:
    result = await store.insert_records(dataset, _records(rows), OnConflict.ERROR)
    if result.inserted != rows:
        raise AssertionError(f"tenant {dataset.session_id}: {result.inserted} rows stored of {rows}")


async def _reads(store: PostgresTabularStore, dataset: Dataset, rows: int, reads: int) -> None:
    types = SCHEMA.field_types
    for i in range(reads):
        grp = i % GROUPS
        query = RecordQuery(
            filter=parse_filters([filter_term("grp", f"eq:{grp}")], types), sort=(SortKey("id"),), limit=PAGE
        )
        page = await store.query(dataset, query)
        expected = [n for n in range(grp, rows, GROUPS)][:PAGE]
        if [item["id"] for item in page.items] != expected:
            raise AssertionError(f"tenant {dataset.session_id}: a page of group {grp} came back wrong")


async def measure_on(url: str, tenants: int, rows: int, reads: int) -> Measured:
    """The workload on the database at `url` (a superuser's URL): N tenants at once."""
    pool = await open_pool(PostgresSettings(url=url, min_size=1, max_size=max(4, tenants), statement_timeout_ms=0))
    try:
        catalog = f"bench_scaleout_{uuid.uuid4().hex[:12]}"
        await migrate_catalog(pool, catalog)  # the roles' secret, and Citus prepared as the API does
        store = PostgresTabularStore(pool, PostgresUserRoles(pool, catalog_schema=catalog))
        datasets = await asyncio.gather(*(_tenant(store, rows) for _ in range(tenants)))
        began = time.perf_counter()
        await asyncio.gather(*(_load(store, d, rows) for d in datasets))
        loaded = time.perf_counter() - began
        began = time.perf_counter()
        await asyncio.gather(*(_reads(store, d, rows, reads) for d in datasets))
        read = time.perf_counter() - began
        return Measured(tenants * rows / loaded, tenants * reads / read)
    finally:
        await close_pool(pool)


async def run_scaleout(config: BenchConfig, pg_url: str, report: Report) -> None:
    tenants, rows, reads = config.tenants, config.tenant_rows, config.tenant_reads
    unavailable = citus_unavailable_reason()
    if unavailable is not None:  # not a failure of the run: this machine cannot have Citus
        say(f"scale-out: not measured: {unavailable}")
        for target in TARGETS:
            if target.phase == "scaleout":
                report.add(failed(target.name, f"not measured: {unavailable}"))
        return
    bin_dir = await asyncio.to_thread(citus_bin_dir)  # built once per machine (a minute), cached
    say(f"scale-out: {tenants} tenants x {rows} rows, {reads} reads each; plain PostgreSQL first")
    plain = await measure_on(pg_url, tenants, rows, reads)
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix="bench-citus-") as tmp:
            cluster = LocalCitusCluster(Path(tmp) / "citus", workers=workers, durable=config.durable, bin_dir=bin_dir)
            began = time.perf_counter()
            url = await asyncio.to_thread(cluster.start)
            try:
                say(f"scale-out: Citus with {workers} worker(s) up in {time.perf_counter() - began:.1f}s")
                citus = await measure_on(url, tenants, rows, reads)
            finally:
                await asyncio.to_thread(cluster.stop)
        detail = {"tenants": tenants, "rows_per_tenant": rows, "reads_per_tenant": reads, "workers": workers}
        report.add(measured(f"scaleout_load_citus_{workers}w", citus.load_rows_per_s, plain.load_rows_per_s,
                            met=True, detail=detail))  # fmt: skip
        report.add(measured(f"scaleout_read_citus_{workers}w", citus.reads_per_s, plain.reads_per_s,
                            met=True, detail=detail))  # fmt: skip
