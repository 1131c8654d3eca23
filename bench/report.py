"""The results: a table on stdout (each figure beside the raw-driver figure of the same run, the ratio,
the issue's target, PASS / SHORT / FAILED) and the machine-readable summary `bench/results/latest.json`
with a dated copy beside it. A SHORT is information, never a failure of the run; a FAILED figure is
one whose phase raised (or did not run), with the error."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bench.figures import TARGETS, Figure, failed

RESULTS_DIR = Path(__file__).resolve().parent / "results"
"""Where summaries go unless BENCH_RESULTS_DIR says otherwise (local artefacts: git ignores them)."""


@dataclass(slots=True)
class PhaseResult:
    name: str
    status: str
    """ok, failed or skipped."""
    seconds: float
    error: str | None = None


@dataclass
class Report:
    figures: dict[str, Figure] = field(default_factory=dict)
    phases: list[PhaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def add(self, figure: Figure) -> None:
        self.figures[figure.name] = figure

    def fail_missing(self, phase: str, error: str) -> None:
        """Every figure of `phase` not yet measured becomes a failed one saying why."""
        for target in TARGETS:
            if target.phase == phase and target.name not in self.figures:
                self.add(failed(target.name, error))

    def ordered(self) -> list[Figure]:
        """Every target's figure in the issue's order (a figure never reported is listed as failed)."""
        return [self.figures.get(t.name) or failed(t.name, "never measured") for t in TARGETS]

    @property
    def any_failed(self) -> bool:
        return any(p.status == "failed" for p in self.phases)

    def render(self, out: TextIO = sys.stdout) -> None:
        headers = ("figure", "API", "raw driver", "api/raw", "target", "")
        rows = [_cells(f) for f in self.ordered()]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

        def line(values: tuple[str, ...]) -> str:
            parts = [values[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(values[1:4], widths[1:4], strict=True)]
            return "  ".join([*parts, values[4].ljust(widths[4]), values[5]]).rstrip()

        rule = "-" * len(line(headers))
        print(rule, file=out)
        print(line(headers), file=out)
        phase = None
        for figure, row in zip(self.ordered(), rows, strict=True):
            if figure.phase != phase:
                phase = figure.phase
                print(rule, file=out)
                print(f"{phase}: {figure.title.split(',')[0]}", file=out)
            print(line(row), file=out)
            if figure.error:
                print(f"    error: {figure.error}", file=out)
        print(rule, file=out)
        figures = self.ordered()
        met = sum(1 for f in figures if f.met)
        broken = sum(1 for f in figures if f.error)
        print(
            f"{met} PASS, {len(figures) - met - broken} SHORT, {broken} FAILED of {len(figures)} "
            "(api/raw: throughput ratio, or for latencies the API's over the raw driver's)",
            file=out,
        )
        for result in self.phases:
            suffix = f": {result.error}" if result.error else ""
            print(f"phase {result.name}: {result.status} in {result.seconds:.0f}s{suffix}", file=out)
        for note in self.notes:
            print(f"note: {note}", file=out)
        out.flush()

    def summary(self, config: dict[str, Any]) -> dict[str, Any]:
        finished = dt.datetime.now(dt.UTC)
        return {
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "seconds": round((finished - self.started_at).total_seconds(), 1),
            "machine": {"cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0))},
            "config": config,
            "figures": [f.as_json() for f in self.ordered()],
            "phases": [
                {"name": p.name, "status": p.status, "seconds": round(p.seconds, 1)}
                | ({"error": p.error} if p.error else {})
                for p in self.phases
            ],
            "notes": self.notes,
        }

    def write(self, directory: Path, config: dict[str, Any]) -> Path:
        """`latest.json` and a dated copy (`bench-<UTC time>.json`) in `directory`; the latest's path."""
        directory.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.summary(config), indent=2) + "\n"
        stamp = self.started_at.strftime("%Y%m%dT%H%M%SZ")
        (directory / f"bench-{stamp}.json").write_text(text, encoding="utf-8")
        latest = directory / "latest.json"
        partial = directory / ".latest.json.tmp"
        partial.write_text(text, encoding="utf-8")
        partial.replace(latest)
        return latest


def _cells(figure: Figure) -> tuple[str, ...]:
    if figure.error:
        return (figure.name, "-", "-", "-", figure.target, "FAILED")
    return (
        figure.name,
        _value(figure.api, figure.unit),
        _value(figure.raw, figure.unit),
        f"{figure.ratio:.2f}x" if figure.ratio is not None else "-",
        figure.target,
        "PASS" if figure.met else "SHORT",
    )


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def say(message: str) -> None:
    """Progress on stderr, so the table on stdout stays clean."""
    print(f"bench: {message}", file=sys.stderr, flush=True)
