"""The figures issue 12 asks of `make bench`: one per target, each with a stable name, so a later
run's `bench/results/latest.json` can be compared with this one entry by entry.

Every figure is measured against the raw driver in the same run. `ratio` is always api / raw (for
a throughput higher is better, for a latency lower is better); `target` says which way and how far;
`met` is the verdict. A figure whose phase failed or did not run is still listed, with `met` false
and an `error` saying why, so the summary always holds every name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    title: str
    phase: str
    unit: str
    target: str
    """The bound, as text (what the issue asks)."""
    kind: str
    """min_ratio: api/raw >= bound; max_ratio: api/raw <= bound; max_excess: api <= raw + bound;
    max_value: api <= bound (no raw); same_plan: decided by the phase (detail says how); works: decided by
    the phase (the workload ran and read back right; the ratio is information, not a bound)."""
    bound: float


TARGETS: tuple[Target, ...] = (
    Target("csv_upload_6col", "CSV upload, 6 columns, one streamed request", "uploads", "rows/s",
           ">= 0.8x raw COPY FROM STDIN (FORMAT csv) of the same bytes", "min_ratio", 0.8),
    Target("json_upload_6col", "JSON upload, 6 columns, chunked requests", "uploads", "rows/s",
           ">= 0.5x raw binary COPY of the same rows", "min_ratio", 0.5),
    Target("ndjson_upload_6col", "NDJSON upload, 6 columns, one streamed request", "uploads", "rows/s",
           ">= 0.5x raw binary COPY of the same rows", "min_ratio", 0.5),
    Target("csv_upload_lineitem", "CSV upload, lineitem (16 columns), one streamed request", "lineitem", "rows/s",
           ">= 0.8x raw COPY FROM STDIN (FORMAT csv) of the same bytes", "min_ratio", 0.8),
    Target("json_upload_lineitem", "JSON upload, lineitem (16 columns), chunked requests", "lineitem", "rows/s",
           ">= 0.5x raw binary COPY of the same rows", "min_ratio", 0.5),
    Target("ndjson_upload_lineitem", "NDJSON upload, lineitem (16 columns), one streamed request", "lineitem",
           "rows/s", ">= 0.5x raw binary COPY of the same rows", "min_ratio", 0.5),
    Target("get_filtered_1_client", "filtered page GET, 1 client", "get", "req/s",
           ">= 0.5x the raw psycopg loop", "min_ratio", 0.5),
    Target("get_filtered_10_clients", "filtered page GET, 10 clients", "get", "req/s",
           ">= 0.5x the raw psycopg loop", "min_ratio", 0.5),
    Target("get_filtered_50_clients_p99", "filtered page GET, 50 clients, p99 latency", "get", "ms",
           "p99 <= 2x the raw driver's p99", "max_ratio", 2.0),
    Target("export_csv", "CSV export, one streamed GET", "export", "rows/s",
           ">= 0.8x COPY (SELECT ...) TO STDOUT (FORMAT csv)", "min_ratio", 0.8),
    Target("export_ndjson", "NDJSON export, one streamed GET", "export", "rows/s",
           ">= 0.8x COPY (SELECT row_to_json ...) TO STDOUT", "min_ratio", 0.8),
    Target("export_parquet", "Parquet export, one streamed GET", "export", "rows/s",
           ">= 0.8x the API's CSV export of the same rows", "min_ratio", 0.8),
    Target("upload_parquet", "Parquet upload, one request", "export", "rows/s",
           ">= 0.8x the API's CSV upload of the same rows", "min_ratio", 0.8),
    Target("export_rss_growth", "API RSS growth during the exports (peak over start)", "export", "MB",
           "flat: <= 100 MB whatever the size", "max_value", 100.0),
    Target("graph_load", "graph load, nodes then edges, chunked requests", "graph", "items/s",
           ">= 0.7x the raw driver's batched UNWIND (same storage model)", "min_ratio", 0.7),
    Target("graph_2hop_p50", "2-hop neighbours (out), p50", "graph", "ms",
           "p50 <= 2x raw Cypher", "max_ratio", 2.0),
    Target("graph_shortest_path_p50", "shortest path (hops, out), p50", "graph", "ms",
           "p50 <= 2x raw Cypher shortestPath", "max_ratio", 2.0),
    Target("graph_cypher_2hop_overhead_p50", "Cypher query endpoint, 2-hop pattern, p50", "graph", "ms",
           "p50 <= raw Cypher p50 + 5 ms (rewrite, plan check and run, warm)", "max_excess", 5.0),
    Target("sql_trivial_select_p50", "SQL endpoint, SELECT 1, p50", "sql", "ms",
           "p50 <= raw psycopg p50 + 3 ms", "max_excess", 3.0),
    Target("sql_aggregate_plan", "SQL endpoint, TPC-H Q1 over lineitem, p50", "sql", "ms",
           "the same plan as raw: parallel workers run under the API iff raw EXPLAIN has a Gather",
           "same_plan", 0.0),
    # Scale-out (issue 17): "api" is the Citus cluster, "raw" plain PostgreSQL, same workload, same run.
    Target("scaleout_load_citus_1w", "N tenants loading at once, Citus 1 worker vs plain PostgreSQL", "scaleout",
           "rows/s", "works (every tenant's rows read back); the ratio is what the coordinator costs", "works", 0.0),
    Target("scaleout_read_citus_1w", "N tenants reading pages at once, Citus 1 worker vs plain PostgreSQL",
           "scaleout", "req/s", "works; the ratio is what the coordinator's hop costs", "works", 0.0),
    Target("scaleout_load_citus_2w", "N tenants loading at once, Citus 2 workers vs plain PostgreSQL", "scaleout",
           "rows/s", "works; on one machine the workers share its cores (no speed-up expected)", "works", 0.0),
    Target("scaleout_read_citus_2w", "N tenants reading pages at once, Citus 2 workers vs plain PostgreSQL",
           "scaleout", "req/s", "works; on one machine the workers share its cores (no speed-up expected)", "works",
           0.0),
)  # fmt: skip

BY_NAME = {t.name: t for t in TARGETS}
PHASES: tuple[str, ...] = tuple(dict.fromkeys(t.phase for t in TARGETS))


@dataclass(slots=True)
class Figure:
    name: str
    title: str
    phase: str
    api: float | None
    raw: float | None
    unit: str
    ratio: float | None
    target: str
    met: bool
    error: str | None = None
    detail: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "phase": self.phase,
            "api": _rounded(self.api),
            "raw": _rounded(self.raw),
            "unit": self.unit,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "target": self.target,
            "met": self.met,
        }
        if self.error is not None:
            doc["error"] = self.error
        if self.detail:
            doc["detail"] = self.detail
        return doc


def _rounded(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, 3) if abs(value) < 1000 else round(value, 1)


def measured(
    name: str, api: float, raw: float | None, *, met: bool | None = None, detail: dict[str, Any] | None = None
) -> Figure:
    """The figure `name` from its two measurements; `met` from its target's rule unless given."""
    target = BY_NAME[name]
    ratio = api / raw if raw is not None and raw > 0 else None
    if met is None:
        if target.kind == "min_ratio":
            met = ratio is not None and ratio >= target.bound
        elif target.kind == "max_ratio":
            met = ratio is not None and ratio <= target.bound
        elif target.kind == "max_excess":
            met = raw is not None and api <= raw + target.bound
        elif target.kind == "max_value":
            met = api <= target.bound
        else:
            raise ValueError(f"{name}: the phase must decide whether its target is met")
    return Figure(name, target.title, target.phase, api, raw, target.unit, ratio, target.target, met, None, detail)


def failed(name: str, error: str) -> Figure:
    """The figure `name` not measured: its phase failed or did not run."""
    target = BY_NAME[name]
    return Figure(name, target.title, target.phase, None, None, target.unit, None, target.target, False, error)
