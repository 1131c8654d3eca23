"""`make bench`'s summary, without servers: every figure of issue 12 is in `latest.json` (and its
dated copy) with the fields a later run compares; a phase that raises is reported as failed while
the next phase still runs; shortest-path pairs never join a node to itself."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from bench.api_process import Api
from bench.config import BenchConfig, BenchConfigError
from bench.figures import PHASES, TARGETS, failed, measured
from bench.graph import distinct_pairs
from bench.report import Report
from bench.run_bench import Run, measure
from bench.servers import Servers
from hypothesis import given
from hypothesis import strategies as st

FIELDS = {"name", "api", "raw", "unit", "ratio", "target", "met"}


@given(nodes=st.integers(2, 50), seed=st.integers(0, 2**32))
def test_shortest_path_pairs_always_join_two_different_nodes(nodes: int, seed: int) -> None:
    pairs = distinct_pairs(random.Random(seed), nodes, 40)
    assert len(pairs) == 40
    assert all(source != target for source, target in pairs)
    assert {int(s[1:]) for pair in pairs for s in pair} <= set(range(nodes))


def test_a_graph_of_one_node_has_no_pair() -> None:
    with pytest.raises(ValueError, match="two nodes"):
        distinct_pairs(random.Random(1), 1, 3)


def test_each_target_is_judged_by_its_own_rule() -> None:
    assert measured("csv_upload_6col", 80.0, 100.0).met and not measured("csv_upload_6col", 79.0, 100.0).met
    assert measured("graph_2hop_p50", 20.0, 10.0).met and not measured("graph_2hop_p50", 20.1, 10.0).met
    assert measured("sql_trivial_select_p50", 3.2, 0.2).met and not measured("sql_trivial_select_p50", 3.3, 0.2).met
    assert measured("export_rss_growth", 12.0, None).met and not measured("export_rss_growth", 101.0, None).met
    assert measured("csv_upload_6col", 80.0, 100.0).ratio == pytest.approx(0.8)
    with pytest.raises(ValueError):
        measured("sql_aggregate_plan", 1.0, 1.0)  # the phase decides, never a default


def test_the_summary_lists_every_figure_with_its_fields_and_a_dated_copy(tmp_path: Path) -> None:
    report = Report()
    report.add(measured("csv_upload_6col", 50_000.0, 100_000.0, detail={"rows": 10}))
    report.add(failed("graph_load", "phase graph failed: RuntimeError: boom"))
    latest = report.write(tmp_path, {"scale": 0.01})
    doc = json.loads(latest.read_text())
    assert latest.name == "latest.json"
    assert [f["name"] for f in doc["figures"]] == [t.name for t in TARGETS]
    for figure in doc["figures"]:
        assert figure.keys() >= FIELDS, figure
        assert isinstance(figure["met"], bool) and isinstance(figure["target"], str)
    by_name = {f["name"]: f for f in doc["figures"]}
    assert by_name["csv_upload_6col"] | {"detail": None} == by_name["csv_upload_6col"] | {
        "api": 50_000.0, "raw": 100_000.0, "ratio": 0.5, "met": False, "unit": "rows/s", "detail": None,
    }  # fmt: skip
    assert by_name["graph_load"]["met"] is False and "boom" in by_name["graph_load"]["error"]
    assert by_name["sql_aggregate_plan"]["error"] == "never measured"
    dated = [p for p in tmp_path.iterdir() if p.name.startswith("bench-") and p.suffix == ".json"]
    assert len(dated) == 1 and json.loads(dated[0].read_text()) == doc


async def test_a_failing_phase_is_reported_and_the_next_one_still_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async def raises(report: Report) -> None:
        report.add(measured("csv_upload_6col", 1.0, 2.0))  # measured before the failure: kept
        raise RuntimeError("a shortest path between a node and itself")

    async def works(report: Report) -> None:
        report.add(measured("export_csv", 90.0, 100.0))
        report.add(measured("export_ndjson", 90.0, 100.0))

    def phases(self: Run) -> dict[str, Any]:
        return {"uploads": raises, "get": raises, "export": works, "graph": works}

    monkeypatch.setattr(Run, "phases", phases)
    config = BenchConfig(phases=("uploads", "export"), phase_timeout=5.0)
    servers = Servers("postgresql://unused", None, tmp_path, True, 0.0)
    report = Report()
    await measure(config, servers, Api("http://127.0.0.1:9", "k", 1, tmp_path / "log"), report)

    by_name = {f.name: f for f in report.ordered()}
    assert by_name["csv_upload_6col"].error is None and by_name["csv_upload_6col"].met is False
    assert "a shortest path between a node and itself" in (by_name["json_upload_6col"].error or "")
    assert by_name["export_csv"].met and by_name["export_ndjson"].met
    assert by_name["export_rss_growth"].error == "phase export did not measure it"
    assert by_name["graph_load"].error == "not run (BENCH_PHASES)"
    assert by_name["get_filtered_1_client"].error == "not run (BENCH_PHASES)"
    assert [(p.name, p.status) for p in report.phases] == [
        ("uploads", "failed"), ("get", "skipped"), ("export", "ok"), ("graph", "skipped"),
    ]  # fmt: skip
    assert report.any_failed


def test_phases_are_chosen_by_name_and_tabular_means_uploads_and_get() -> None:
    assert BenchConfig.from_env({}).phases == PHASES
    assert BenchConfig.from_env({"BENCH_PHASES": "graph,tabular"}).phases == ("uploads", "get", "graph")
    with pytest.raises(BenchConfigError, match="BENCH_PHASES"):
        BenchConfig.from_env({"BENCH_PHASES": "tabular,nope"})
