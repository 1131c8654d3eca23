"""`pip install ./clients/python` into a fresh virtualenv gives a working `datainfra` command, with
the client's own code (not this checkout's sources, not the server package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.api_process import RunningApi

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

CLIENT = Path(__file__).parents[2] / "clients" / "python"


def test_pip_install_into_a_fresh_virtualenv_gives_a_working_datainfra_command(
    api: RunningApi, api_key: str, tmp_path: Path
) -> None:
    source = tmp_path / "client"  # a copy: pip's in-tree build writes build/ and egg-info beside the sources
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    # the base interpreter's packages are visible (httpx, msgspec, ... need no download when there);
    # no pip of its own: this interpreter's pip installs into it (--python), which saves its set-up
    subprocess.run([base, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=60)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    command = venv / "bin" / "datainfra"
    version = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=60, env=env, check=False)
    assert version.returncode == 0 and "0.1.0" in version.stdout, version.stderr

    probe = "import sys, datainfra_client; print(datainfra_client.__file__); print('datainfra' in sys.modules)"
    where = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60, env=env, check=True)
    location, server_imported = where.stdout.split()
    assert Path(location).is_relative_to(venv) and server_imported == "False"

    env |= {"DATAINFRA_URL": api.base_url, "DATAINFRA_API_KEY": api_key, "DATAINFRA_CONFIG": str(tmp_path / "none")}
    made = subprocess.run(
        [command, "sessions", "create", "installed"], capture_output=True, text=True, timeout=60, env=env
    )
    assert made.returncode == 0, made.stderr
    listed = subprocess.run(
        [command, "sessions", "ls", "-f", "csv"], capture_output=True, text=True, timeout=60, env=env
    )
    assert made.stdout.strip() in listed.stdout
    missing = subprocess.run(
        [command, "datasets", "ls", "-s", "no-such-session"], capture_output=True, text=True, timeout=60, env=env
    )
    assert missing.returncode == 4 and missing.stderr.startswith("datainfra: error: 404")
