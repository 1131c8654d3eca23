"""What a run measures and how big it is, read from the environment once.

BENCH_SCALE multiplies the default sizes (1,000,000 rows; 600,000 lineitem rows; 200,000 nodes;
1,000,000 edges), so `BENCH_SCALE=0.01 make bench` is a quick smoke run; BENCH_ROWS /
BENCH_LINEITEM_ROWS / BENCH_EXPORT_ROWS / BENCH_NODES / BENCH_EDGES set a size outright.
BENCH_PHASES picks phases (uploads, get, lineitem, export, graph, sql, scaleout; `tabular` = uploads,get);
the scale-out phase (N tenants on Citus with 1 and 2 workers vs plain PostgreSQL) is sized by
BENCH_TENANTS, BENCH_TENANT_ROWS (50,000 x BENCH_SCALE) and BENCH_TENANT_READS;
BENCH_WORKERS the API's workers (default: its own default, one per core); BENCH_RESULTS_DIR where
the summary goes (default bench/results). BENCH_DATABASE_URL / BENCH_NEO4J_URI (+ _USER, _PASSWORD)
reuse running servers instead of starting throwaway ones."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.figures import PHASES


class BenchConfigError(ValueError):
    """A BENCH_* variable that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class BenchConfig:
    rows: int = 1_000_000
    json_chunk: int = 50_000
    """Records per JSON request (one request of 1M records would be a ~100 MB document)."""
    clients: tuple[int, ...] = (1, 10, 50)
    get_seconds: float = 10.0
    """How long each concurrency level of the GET benchmark runs (after a short warm-up)."""
    page_limit: int = 50
    index: tuple[str, ...] = ("grp", "id")
    """BENCH_INDEX: the tabular dataset's index. The default serves the page exactly (the filter's
    column, then the default sort key); `grp` alone makes PostgreSQL fetch and sort a whole group."""
    groups: int = 1000
    """Distinct values of the indexed `grp` column (rows per group = rows / groups)."""
    nodes: int = 200_000
    edges: int = 1_000_000
    graph_chunk: int = 20_000
    """Nodes or edges per API request (and per raw-driver transaction)."""
    unwind_batch: int = 1000
    """Rows per UNWIND statement in the raw-driver baseline (the store's own batch size)."""
    graph_queries: int = 200
    """Samples of each graph read (2-hop neighbours, shortest path)."""
    phase_timeout: float = 3600.0
    """Upper bound of one phase; a phase that runs longer fails the run."""
    database_url: str | None = None
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    profile_path: Path | None = None
    """BENCH_PROFILE: run the API under cProfile and write its stats here."""
    durable: bool = False
    """BENCH_PG_DURABLE=1: keep fsync/synchronous_commit on in the embedded PostgreSQL."""
    seed: int = 20_240_601
    phases: tuple[str, ...] = PHASES
    """BENCH_PHASES: which parts run (comma-separated, see PHASES); the others' figures are listed as not run."""
    lineitem_rows: int = 600_000
    export_rows: int = 1_000_000
    sql_queries: int = 200
    """Samples of the SQL endpoint's SELECT 1 (API and raw)."""
    sql_runs: int = 5
    """Executions of TPC-H Q1 (API and raw) watched for parallel workers."""
    workers: int | None = None
    """BENCH_WORKERS: the API's worker processes; None: `python -m datainfra`'s default (one per core)."""
    results_dir: Path | None = None
    """BENCH_RESULTS_DIR; None: bench/results."""
    scale: float = 1.0
    tenants: int = 8
    """BENCH_TENANTS: concurrent tenants of the scale-out phase."""
    tenant_rows: int = 50_000
    """BENCH_TENANT_ROWS: rows each scale-out tenant loads."""
    tenant_reads: int = 200
    """BENCH_TENANT_READS: filtered page reads each scale-out tenant makes."""

    def as_json(self) -> dict[str, Any]:
        """What a later run needs to know to compare itself with this one (no credentials)."""
        return {
            "scale": self.scale,
            "rows": self.rows,
            "lineitem_rows": self.lineitem_rows,
            "export_rows": self.export_rows,
            "json_chunk": self.json_chunk,
            "clients": list(self.clients),
            "get_seconds": self.get_seconds,
            "page_limit": self.page_limit,
            "index": list(self.index),
            "groups": self.groups,
            "nodes": self.nodes,
            "edges": self.edges,
            "graph_chunk": self.graph_chunk,
            "unwind_batch": self.unwind_batch,
            "graph_queries": self.graph_queries,
            "sql_queries": self.sql_queries,
            "sql_runs": self.sql_runs,
            "workers": self.workers,
            "phases": list(self.phases),
            "seed": self.seed,
            "configured_stores": self.database_url is not None or self.neo4j_uri is not None,
            "durable": self.durable,
            "tenants": self.tenants,
            "tenant_rows": self.tenant_rows,
            "tenant_reads": self.tenant_reads,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BenchConfig:
        env = os.environ if environ is None else environ
        scale = _float(env, "BENCH_SCALE", 1.0)
        if scale <= 0:
            raise BenchConfigError("BENCH_SCALE must be positive")
        small = scale < 0.1

        def sized(name: str, full: int, low: int) -> int:
            return _int(env, name, max(low, round(full * scale)))

        rows = sized("BENCH_ROWS", 1_000_000, 100)
        nodes = sized("BENCH_NODES", 200_000, 50)
        return cls(
            rows=rows,
            json_chunk=_int(env, "BENCH_JSON_CHUNK", 50_000),
            clients=_clients(env.get("BENCH_CLIENTS") or "1,10,50"),
            get_seconds=_float(env, "BENCH_GET_SECONDS", 1.0 if small else 10.0),
            page_limit=_int(env, "BENCH_PAGE_LIMIT", 50),
            index=_index(env.get("BENCH_INDEX") or "grp,id"),
            groups=_int(env, "BENCH_GROUPS", max(1, min(1000, rows // 100))),
            nodes=nodes,
            edges=sized("BENCH_EDGES", 1_000_000, 100),
            graph_chunk=_int(env, "BENCH_GRAPH_CHUNK", 20_000),
            unwind_batch=_int(env, "BENCH_UNWIND_BATCH", 10_000),  # the store's own DEFAULT_BATCH_SIZE
            graph_queries=_int(env, "BENCH_GRAPH_QUERIES", 20 if small else 200),
            phase_timeout=_float(env, "BENCH_PHASE_TIMEOUT", 3600.0),
            database_url=(env.get("BENCH_DATABASE_URL") or "").strip() or None,
            neo4j_uri=(env.get("BENCH_NEO4J_URI") or "").strip() or None,
            neo4j_user=(env.get("BENCH_NEO4J_USER") or "neo4j").strip(),
            neo4j_password=env.get("BENCH_NEO4J_PASSWORD") or "",
            profile_path=Path(env["BENCH_PROFILE"]).absolute() if env.get("BENCH_PROFILE") else None,
            durable=(env.get("BENCH_PG_DURABLE") or "").strip() in ("1", "true", "yes"),
            seed=_int(env, "BENCH_SEED", 20_240_601),
            phases=_phases(env.get("BENCH_PHASES") or ",".join(PHASES)),
            lineitem_rows=sized("BENCH_LINEITEM_ROWS", 600_000, 100),
            export_rows=_int(env, "BENCH_EXPORT_ROWS", rows),
            sql_queries=_int(env, "BENCH_SQL_QUERIES", 50 if small else 200),
            sql_runs=_int(env, "BENCH_SQL_RUNS", 3 if small else 5),
            workers=_int(env, "BENCH_WORKERS", 1) if (env.get("BENCH_WORKERS") or "").strip() else None,
            results_dir=Path(env["BENCH_RESULTS_DIR"]).absolute() if env.get("BENCH_RESULTS_DIR") else None,
            tenants=_int(env, "BENCH_TENANTS", 8),
            tenant_rows=sized("BENCH_TENANT_ROWS", 50_000, 100),
            tenant_reads=_int(env, "BENCH_TENANT_READS", 20 if small else 200),
            scale=scale,
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise BenchConfigError(f"{name}={env.get(name)!r} is not a number") from None
    if value < 1:
        raise BenchConfigError(f"{name} must be at least 1")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise BenchConfigError(f"{name}={raw!r} is not a number") from None


def _clients(raw: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise BenchConfigError(f"BENCH_CLIENTS={raw!r} must be comma-separated integers") from None
    if not levels or min(levels) < 1:
        raise BenchConfigError("BENCH_CLIENTS needs at least one positive integer")
    return levels


def _phases(raw: str) -> tuple[str, ...]:
    named = [p.strip().lower() for p in raw.split(",") if p.strip()]
    expanded = [q for p in named for q in (("uploads", "get") if p == "tabular" else (p,))]
    unknown = set(expanded) - set(PHASES)
    if unknown or not expanded:
        raise BenchConfigError(f"BENCH_PHASES={raw!r}: choose from {', '.join(PHASES)} (tabular = uploads,get)")
    return tuple(p for p in PHASES if p in expanded)


def _index(raw: str) -> tuple[str, ...]:
    columns = tuple(c.strip() for c in raw.split(",") if c.strip())
    allowed = ("id", "name", "grp", "score", "flag", "day")
    if not columns or any(c not in allowed for c in columns) or len(set(columns)) != len(columns):
        raise BenchConfigError(f"BENCH_INDEX={raw!r}: distinct columns among {', '.join(allowed)}")
    return columns
