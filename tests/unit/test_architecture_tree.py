"""ARCHITECTURE.md's folder tree is the map of the code: every module it names exists, and every module
of the package is named in it, so the map cannot silently drift from the folders."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "datainfra"
ENTRY = re.compile(r"^[A-Za-z0-9_]+(?:\.py|/)$")


def _tree_block() -> list[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    match = re.search(r"```\n(src/datainfra/\n.*?)```", text, re.DOTALL)
    assert match, "ARCHITECTURE.md has no ``` block starting with src/datainfra/"
    return match.group(1).splitlines()


def named_in_tree() -> set[str]:
    """Paths relative to src/datainfra: the leading `name.py` / `name/` tokens of each line, nested by
    indentation (a line whose first token is not such a name continues a description)."""
    names: set[str] = set()
    stack: list[tuple[int, str]] = []  # (indent, directory path)
    for line in _tree_block()[1:]:
        stripped = line.lstrip(" ")
        if not stripped:
            continue
        indent = len(line) - len(stripped)
        tokens = stripped.split()
        entries = []
        for token in tokens:
            if not ENTRY.match(token):
                break
            entries.append(token)
        if not entries:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        for entry in entries:
            path = parent + entry
            names.add(path.rstrip("/"))
            if entry.endswith("/"):
                stack.append((indent, path))
    return names


def modules_on_disk() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if path.name == "__init__.py" or "__pycache__" in relative.parts:
            continue
        found.add(relative.as_posix())
    for path in PACKAGE.rglob("*"):
        if path.is_dir() and path.name != "__pycache__" and (path / "__init__.py").exists():
            found.add(path.relative_to(PACKAGE).as_posix())
    return found


def test_every_module_the_tree_names_exists() -> None:
    missing = named_in_tree() - modules_on_disk()
    assert not missing, f"ARCHITECTURE.md names modules that do not exist: {sorted(missing)}"


def test_every_module_is_in_the_tree() -> None:
    unnamed = modules_on_disk() - named_in_tree()
    assert not unnamed, f"modules missing from ARCHITECTURE.md's tree: {sorted(unnamed)}"
