"""The openCypher TCK's feature files, read by a small Gherkin parser of the subset they use.

Feature, Background, Scenario, Scenario Outline with Examples (placeholders `<name>` substituted in
step text, doc strings and table cells), steps with a doc string (`\"\"\"`) or a table (`| a | b |`,
`\\|` an escaped pipe), tags (`@...`) and comments (`#` at the start of a line) skipped. A scenario
is its name plus its steps in order (Background steps first)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Scenario", "Step", "load_features", "parse_feature"]

_KEYWORD = re.compile(r"^(Given|When|Then|And|But)\s+(.*?)\s*:?\s*$")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_ -]+)>")


@dataclass(frozen=True)
class Step:
    keyword: str
    text: str
    doc: str | None = None
    table: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Scenario:
    feature: str
    folder: str
    """The feature's folder below features/ (`clauses/match`)."""
    name: str
    steps: tuple[Step, ...]
    ignored: bool = False
    """Tagged @ignore in the kit."""

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.feature}: {self.name}"


@dataclass
class _Block:
    kind: str  # "background" | "scenario" | "outline"
    name: str
    tags: set[str] = field(default_factory=set)
    steps: list[Step] = field(default_factory=list)
    examples: list[tuple[tuple[str, ...], ...]] = field(default_factory=list)


def split_row(line: str) -> tuple[str, ...]:
    """`| a | b\\|c |` → ("a", "b|c"): cells between unescaped pipes, trimmed."""
    body = line.strip()
    if body == "|":
        return ()  # an empty table (a procedure with no columns)
    if not (body.startswith("|") and body.endswith("|") and len(body) >= 2):
        raise ValueError(f"not a table row: {line!r}")
    cells, current, i = [], [], 1
    while i < len(body) - 1:
        char = body[i]
        if char == "\\" and i + 1 < len(body) - 1:
            nxt = body[i + 1]
            current.append({"|": "|", "\\": "\\", "n": "\n"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    cells.append("".join(current).strip())
    return tuple(cells)


def parse_feature(text: str, folder: str = "", feature_file: str = "") -> list[Scenario]:
    lines = text.splitlines()
    feature = feature_file
    blocks: list[_Block] = []
    tags: set[str] = set()
    current: _Block | None = None
    in_examples = False
    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            tags |= set(line.split())
            continue
        if line.startswith("Feature:"):
            feature = line[len("Feature:") :].strip() or feature
            continue
        if line.startswith("Background:"):
            current = _Block("background", "", set())
            blocks.append(current)
            in_examples = False
            continue
        if line.startswith(("Scenario Outline:", "Scenario Template:")):
            current = _Block("outline", line.split(":", 1)[1].strip(), tags)
            blocks.append(current)
            tags, in_examples = set(), False
            continue
        if line.startswith("Scenario:"):
            current = _Block("scenario", line.split(":", 1)[1].strip(), tags)
            blocks.append(current)
            tags, in_examples = set(), False
            continue
        if line.startswith(("Examples:", "Scenarios:")):
            if current is None or current.kind != "outline":
                raise ValueError(f"line {i}: Examples outside a Scenario Outline")
            current.examples.append(())
            tags, in_examples = set(), True
            continue
        if current is None:
            continue  # the feature's description
        if line.startswith("|"):
            row = split_row(line)
            if in_examples:
                current.examples[-1] = (*current.examples[-1], row)
            elif current.steps:
                last = current.steps[-1]
                current.steps[-1] = Step(last.keyword, last.text, last.doc, (*last.table, row))
            else:
                raise ValueError(f"line {i}: a table before any step")
            continue
        if line.startswith('"""'):
            indent = len(raw) - len(raw.lstrip())
            body: list[str] = []
            while i < len(lines) and lines[i].strip() != '"""':
                body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i].lstrip())
                i += 1
            if i >= len(lines):
                raise ValueError("an unclosed doc string")
            i += 1
            if not current.steps:
                raise ValueError(f"line {i}: a doc string before any step")
            last = current.steps[-1]
            current.steps[-1] = Step(last.keyword, last.text, "\n".join(body), last.table)
            continue
        match = _KEYWORD.match(line)
        if match is None:
            raise ValueError(f"line {i}: cannot read {line!r}")
        current.steps.append(Step(match.group(1), match.group(2)))
        in_examples = False
    return _expand(blocks, feature, folder)


def _expand(blocks: list[_Block], feature: str, folder: str) -> list[Scenario]:
    background: list[Step] = []
    scenarios: list[Scenario] = []
    for block in blocks:
        if block.kind == "background":
            background = list(block.steps)
            continue
        ignored = "@ignore" in block.tags
        if block.kind == "scenario":
            scenarios.append(Scenario(feature, folder, block.name, (*background, *block.steps), ignored))
            continue
        number = 0
        for table in block.examples:
            if not table:
                continue
            header, *rows = table
            for row in rows:
                number += 1
                values = dict(zip(header, row, strict=True))
                steps = tuple(_substitute(step, values) for step in block.steps)
                name = f"{block.name} #{number}"
                scenarios.append(Scenario(feature, folder, name, (*background, *steps), ignored))
    return scenarios


def _substitute(step: Step, values: dict[str, str]) -> Step:
    def put(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    return Step(
        step.keyword,
        put(step.text),
        None if step.doc is None else put(step.doc),
        tuple(tuple(put(cell) for cell in row) for row in step.table),
    )


def load_features(root: Path) -> list[Scenario]:
    """Every scenario of every `*.feature` below `root`, in path order."""
    scenarios: list[Scenario] = []
    for path in sorted(root.rglob("*.feature")):
        folder = path.parent.relative_to(root).as_posix()
        scenarios.extend(parse_feature(path.read_text(encoding="utf-8"), folder, path.stem))
    return scenarios
