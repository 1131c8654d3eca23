"""The TCK figures: per feature folder, scenarios, raw passes, endpoint passes and the endpoint's share
of the raw passes; and the JSON report listing every scenario that differs, with its cause."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.tck.features import Scenario
from tests.tck.harness import Outcome

__all__ = ["Figures", "figures", "table", "write_report"]


@dataclass(frozen=True)
class Figures:
    scenarios: int
    raw: int
    endpoint: int
    endpoint_among_raw: int
    server_errors: int

    @property
    def share(self) -> float:
        return self.endpoint_among_raw / self.raw if self.raw else 0.0


def _folder(scenario: Scenario) -> str:
    return scenario.folder


def figures(results: list[tuple[Scenario, Outcome, Outcome]]) -> Figures:
    return Figures(
        scenarios=len(results),
        raw=sum(r.passed for _, r, _ in results),
        endpoint=sum(e.passed for _, _, e in results),
        endpoint_among_raw=sum(r.passed and e.passed for _, r, e in results),
        server_errors=sum(e.server_error for _, _, e in results),
    )


def table(results: list[tuple[Scenario, Outcome, Outcome]], seconds: dict[str, float]) -> str:
    groups: dict[str, list[tuple[Scenario, Outcome, Outcome]]] = defaultdict(list)
    for item in results:
        groups[_folder(item[0])].append(item)
    lines = [f"{'TCK folder':<44} {'scen.':>6} {'raw':>6} {'endp.':>6} {'endp./raw':>10}"]
    for name in sorted(groups):
        f = figures(groups[name])
        lines.append(f"{name:<44} {f.scenarios:>6} {f.raw:>6} {f.endpoint:>6} {f.share:>9.1%}")
    total = figures(results)
    lines.append(f"{'total':<44} {total.scenarios:>6} {total.raw:>6} {total.endpoint:>6} {total.share:>9.1%}")
    lines.append(
        f"raw Neo4j passes {total.raw} of {total.scenarios}; the endpoint passes {total.endpoint_among_raw} of those "
        f"{total.raw} ({total.share:.1%}), {total.endpoint} in all; endpoint 5xx in {total.server_errors} scenarios; "
        + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
    )
    return "\n".join(lines)


def write_report(path: Path, results: list[tuple[Scenario, Outcome, Outcome]], seconds: dict[str, float]) -> None:
    total = figures(results)
    differing: list[dict[str, Any]] = []
    for scenario, raw, endpoint in results:
        if raw.passed and not endpoint.passed:
            differing.append(
                {
                    "scenario": scenario.key,
                    "cause": endpoint.cause,
                    "detail": endpoint.detail,
                    "statuses": endpoint.statuses,
                }
            )
    raw_failures = [{"scenario": s.key, "cause": r.cause, "detail": r.detail} for s, r, _ in results if not r.passed]
    causes = Counter(item["cause"] for item in differing)
    doc = {
        "scenarios": total.scenarios,
        "raw_passes": total.raw,
        "endpoint_passes": total.endpoint,
        "endpoint_passes_among_raw": total.endpoint_among_raw,
        "endpoint_share_of_raw": round(total.share, 4),
        "endpoint_server_errors": total.server_errors,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "causes": dict(causes.most_common()),
        "differing": differing,
        "raw_failures": raw_failures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
