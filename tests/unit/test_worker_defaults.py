"""`make run` serves on every core by default (DATAINFRA_WORKERS still chooses), and each run's
workers share one metrics directory that starts empty."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datainfra.__main__ import server_options
from datainfra.config import Settings, available_cores
from datainfra.supervisor import StartRefused, metrics_dir


def test_the_default_is_one_worker_per_core_this_process_may_use() -> None:
    cores = len(os.sched_getaffinity(0))
    assert available_cores() == min(64, cores)
    assert Settings.from_env({}).workers == min(64, cores)
    assert server_options(Settings.from_env({}))["workers"] == min(64, cores)
    assert Settings().workers == min(64, cores)


def test_datainfra_workers_still_chooses() -> None:
    assert Settings.from_env({"DATAINFRA_WORKERS": "1"}).workers == 1
    assert Settings.from_env({"DATAINFRA_WORKERS": "3"}).workers == 3


def test_an_operator_metrics_dir_is_wiped_of_an_earlier_runs_values_and_kept(tmp_path: Path) -> None:
    where = tmp_path / "metrics"
    where.mkdir()
    (where / "counter_123.db").write_bytes(b"old")
    (where / "histogram_123.db").write_bytes(b"old")
    (where / "README").write_text("not ours")
    settings = Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(where)})
    assert settings.metrics_dir == where
    with metrics_dir(settings) as chosen:
        assert chosen == where
        assert sorted(p.name for p in where.iterdir()) == ["README"]
    assert where.is_dir()


def test_a_run_holding_the_data_dir_keeps_its_metrics_there_wiped_at_start(tmp_path: Path) -> None:
    settings = Settings.from_env({"DATAINFRA_DATA_DIR": str(tmp_path / "data")})
    (tmp_path / "data" / "metrics").mkdir(parents=True)
    (tmp_path / "data" / "metrics" / "counter_9.db").write_bytes(b"a killed run's")
    with metrics_dir(settings, data_dir_claimed=True) as chosen:
        assert chosen == (tmp_path / "data" / "metrics").absolute()
        assert not any(chosen.iterdir())
    assert chosen.is_dir()


def test_without_one_each_run_gets_a_fresh_directory_removed_at_the_end() -> None:
    with metrics_dir(Settings.from_env({})) as first, metrics_dir(Settings.from_env({})) as second:
        assert first != second and first.is_dir() and not any(first.iterdir())
    assert not first.exists() and not second.exists()


def test_an_unusable_metrics_dir_is_refused_naming_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with (
        pytest.raises(StartRefused, match="PROMETHEUS_MULTIPROC_DIR"),
        metrics_dir(Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(blocker / "metrics")})),
    ):
        pass
