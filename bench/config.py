"""What a run measures and how big it is, read from the environment once.

BENCH_SCALE multiplies the default sizes (1,000,000 rows; 200,000 nodes; 1,000,000 edges), so
`BENCH_SCALE=0.01 make bench` is a quick smoke run; BENCH_ROWS / BENCH_NODES / BENCH_EDGES set a
size outright. BENCH_DATABASE_URL / BENCH_NEO4J_URI (+ _USER, _PASSWORD) reuse running servers
instead of starting throwaway ones."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


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
    phases: tuple[str, ...] = ("tabular", "loads", "graph")
    """BENCH_PHASES: which parts run (comma-separated: tabular, loads, graph)."""
    load_repeats: int = 1
    """BENCH_LOAD_REPEATS: tries of each upload in the loads phase (the best one counts; 1 keeps
    `BENCH_SCALE=0.3 make bench` short, 2+ steadies the figures on a shared machine)."""

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
            phases=_phases(env.get("BENCH_PHASES") or "tabular,loads,graph"),
            load_repeats=_int(env, "BENCH_LOAD_REPEATS", 1),
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
    phases = tuple(p.strip().lower() for p in raw.split(",") if p.strip())
    unknown = set(phases) - {"tabular", "loads", "graph"}
    if unknown or not phases:
        raise BenchConfigError(f"BENCH_PHASES={raw!r}: choose from tabular, loads, graph")
    return phases


def _index(raw: str) -> tuple[str, ...]:
    columns = tuple(c.strip() for c in raw.split(",") if c.strip())
    allowed = ("id", "name", "grp", "score", "flag", "day")
    if not columns or any(c not in allowed for c in columns) or len(set(columns)) != len(columns):
        raise BenchConfigError(f"BENCH_INDEX={raw!r}: distinct columns among {', '.join(allowed)}")
    return columns
