"""clients/python/README.md works as written: its shell walk-through runs in bash (a fresh user made
by `datainfra register --save`) and its Python examples run, against the API on the real stores."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.api_process import RunningApi

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

README = Path(__file__).parents[2] / "clients" / "python" / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_shell_walk_through_runs_as_written(api: RunningApi, cli_env: dict[str, str], tmp_path: Path) -> None:
    shim = tmp_path / "bin" / "datainfra"  # the console script, as pip would install it
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m datainfra_client.cli.main "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {
        **cli_env,
        "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
        "DATAINFRA_API_KEY": "",
        "DATAINFRA_CONFIG": str(tmp_path / "config.toml"),
    }
    [walk_through] = [b for b in blocks("sh") if b.startswith("datainfra register")]
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walk_through],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Grace,45" in done.stdout and "Bob" in done.stdout and "imported people2 (tabular)" in done.stdout
    assert (tmp_path / "demo.zip").stat().st_size > 0


def test_the_python_examples_run_as_written(
    api: RunningApi, api_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATAINFRA_URL", api.base_url)
    monkeypatch.setenv("DATAINFRA_API_KEY", api_key)
    monkeypatch.setenv("DATAINFRA_CONFIG", str(tmp_path / "absent.toml"))
    examples = blocks("python")
    assert len(examples) == 2
    for code in examples:
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})
