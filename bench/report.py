"""The results table: each figure beside the raw-driver figure of the same run, the ratio, the
issue's target and PASS/SHORT. A SHORT is information, never a failure of the run."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from typing import TextIO


@dataclass(frozen=True, slots=True)
class Row:
    section: str
    metric: str
    api: str
    raw: str = "-"
    ratio: float | None = None
    target: str = "-"
    status: str = ""
    """PASS, SHORT, or empty when the issue sets no target."""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def rate(
        self, section: str, metric: str, api: float, raw: float, unit: str, min_ratio: float | None = None
    ) -> float:
        """A throughput row; returns the ratio api/raw."""
        ratio = api / raw if raw > 0 else 0.0
        target = f">= {min_ratio:g}x raw" if min_ratio is not None else "-"
        status = "" if min_ratio is None else ("PASS" if ratio >= min_ratio else "SHORT")
        self.add(Row(section, metric, f"{api:,.0f} {unit}", f"{raw:,.0f} {unit}", ratio, target, status))
        return ratio

    def latency(
        self,
        section: str,
        metric: str,
        api_ms: tuple[float, float],
        raw_ms: tuple[float, float] | None = None,
        max_p99_ms: float | None = None,
    ) -> None:
        """A p50/p99 row (milliseconds); the target, when given, is on the API's p99."""
        api = f"{api_ms[0]:.2f} / {api_ms[1]:.2f} ms"
        raw = f"{raw_ms[0]:.2f} / {raw_ms[1]:.2f} ms" if raw_ms is not None else "-"
        ratio = raw_ms[1] / api_ms[1] if raw_ms is not None and api_ms[1] > 0 else None
        if max_p99_ms is None:
            self.add(Row(section, metric, api, raw, ratio))
        else:
            status = "PASS" if api_ms[1] < max_p99_ms else "SHORT"
            self.add(Row(section, metric, api, raw, ratio, f"p99 < {max_p99_ms:g} ms", status))

    def render(self, out: TextIO = sys.stdout) -> None:
        headers: tuple[str, ...] = ("metric", "API", "raw driver", "ratio", "target", "")
        cells: list[tuple[str, ...]] = [
            (r.metric, r.api, r.raw, f"{r.ratio:.2f}x" if r.ratio is not None else "-", r.target, r.status)
            for r in self.rows
        ]
        sections: dict[str, list[tuple[str, ...]]] = {}
        for row, cell in zip(self.rows, cells, strict=True):
            sections.setdefault(row.section, []).append(cell)
        widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]

        def line(values: tuple[str, ...]) -> str:
            parts = [values[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(values[1:4], widths[1:4], strict=True)]
            parts += [values[4].ljust(widths[4]), values[5]]
            return "  ".join(parts).rstrip()

        rule = "-" * len(line(headers))
        print(rule, file=out)
        print(line(headers), file=out)
        for section, section_cells in sections.items():
            print(rule, file=out)
            print(section, file=out)
            for cell in section_cells:
                print(line(cell), file=out)
        print(rule, file=out)
        shorts = sum(1 for r in self.rows if r.status == "SHORT")
        passes = sum(1 for r in self.rows if r.status == "PASS")
        print(f"{passes} PASS, {shorts} SHORT (ratio = API / raw; for latency rows, raw p99 / API p99)", file=out)
        for note in self.notes:
            print(f"note: {note}", file=out)
        out.flush()

    def to_json(self) -> str:
        return json.dumps({"rows": [asdict(r) for r in self.rows], "notes": self.notes}, indent=2)


def say(message: str) -> None:
    """Progress on stderr, so the table on stdout stays clean."""
    print(f"bench: {message}", file=sys.stderr, flush=True)
