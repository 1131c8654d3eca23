"""Running one TCK scenario on a backend (Neo4j straight, or the query endpoint) and judging it by the
kit's rules: result tables in any order / in order / ignoring element order for lists, empty results,
expected errors, side effects.

Side effects are the difference between two states of the graph taken before and after the query,
as the kit's own runner counts them: nodes and relationships (by identity), label names in use, and
(entity, key, value) property triples. Each backend reads its state with Cypher of its own."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tests.tck.features import Scenario, Step
from tests.tck.values import Value, parse_value, unordered

__all__ = ["Answer", "Backend", "Outcome", "State", "run_scenario"]

SIDE_EFFECTS = (
    "+nodes",
    "-nodes",
    "+relationships",
    "-relationships",
    "+labels",
    "-labels",
    "+properties",
    "-properties",
)
_ERROR = re.compile(r"^an? (\w+) should be raised at (compile time|runtime|any time): (.*)$")


@dataclass(frozen=True)
class Answer:
    """What one query answered: columns and rows, or an error (`status`: the HTTP status through the
    endpoint, 0 straight on Neo4j; `detail`: the message or Neo4j's code)."""

    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Value, ...], ...] = ()
    error: str | None = None
    status: int = 0

    @property
    def server_error(self) -> bool:
        return self.status >= 500


@dataclass(frozen=True)
class State:
    nodes: frozenset[Any] = frozenset()
    relationships: frozenset[Any] = frozenset()
    labels: frozenset[str] = frozenset()
    properties: frozenset[tuple[Any, str, Value]] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.nodes and not self.relationships

    def effects(self, after: State) -> dict[str, int]:
        return {
            "+nodes": len(after.nodes - self.nodes),
            "-nodes": len(self.nodes - after.nodes),
            "+relationships": len(after.relationships - self.relationships),
            "-relationships": len(self.relationships - after.relationships),
            "+labels": len(after.labels - self.labels),
            "-labels": len(self.labels - after.labels),
            "+properties": len(after.properties - self.properties),
            "-properties": len(self.properties - after.properties),
        }


class Backend(Protocol):
    name: str

    def fresh(self) -> None:
        """An empty graph for the next scenario."""

    def execute(self, query: str, parameters: dict[str, Value]) -> Answer: ...

    def state(self) -> State | Answer:
        """The graph's state, or the Answer of the state query when it failed."""

    def done(self, state: State | None) -> None:
        """The scenario ended; `state` is the graph's last known state (None when unknown)."""


@dataclass
class Outcome:
    passed: bool
    cause: str = ""
    """Short, groupable: what failed (`setup error`, `unexpected error`, `wrong result`, ...)."""
    detail: str = ""
    server_error: bool = False
    unsupported: bool = False
    """The scenario needs what no Neo4j offers a client (a test procedure): counted as failed."""
    statuses: list[int] = field(default_factory=list)


def _fail(cause: str, detail: str = "", answer: Answer | None = None) -> Outcome:
    status = answer.status if answer is not None else 0
    if answer is not None and answer.error:
        detail = (
            f"{detail} [{status or 'neo4j'}: {answer.error}]" if detail else f"[{status or 'neo4j'}] {answer.error}"
        )
    return Outcome(False, cause, detail[:600], server_error=status >= 500)


def _expected_rows(table: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], list[tuple[Value, ...]]]:
    header, *rows = table
    return header, [tuple(parse_value(cell) for cell in row) for row in rows]


def _compare(step: Step, answer: Answer) -> Outcome | None:
    """None when `answer` is what `step` expects."""
    text = step.text
    if answer.error is not None:
        return _fail("unexpected error", "", answer)
    if text == "the result should be empty":
        return None if not answer.rows else _fail("wrong result", f"{len(answer.rows)} rows, none expected")
    header, expected = _expected_rows(step.table)
    if tuple(answer.columns) != tuple(header):
        return _fail("wrong columns", f"columns {list(answer.columns)}, expected {list(header)}")
    actual = list(answer.rows)
    if "ignoring element order for lists" in text:
        expected = [tuple(unordered(v) for v in row) for row in expected]
        actual = [tuple(unordered(v) for v in row) for row in actual]
    same = actual == expected if "in order" in text else Counter(actual) == Counter(expected)
    if same:
        return None
    return _fail("wrong result", f"got {actual[:5]!r}, expected {expected[:5]!r}")


def _effects(step: Step, before: State | Answer | None, after: State | Answer | None) -> Outcome | None:
    for state in (before, after):
        if isinstance(state, Answer):
            return _fail("state query failed", "", state)
    if before is None or after is None:
        return _fail("no state", "side effects of a query that did not run")
    effects = before.effects(after)
    expected = dict.fromkeys(SIDE_EFFECTS, 0)
    if step.text.startswith("the side effects should be"):
        for row in step.table:
            expected[row[0]] = int(row[1])
    if effects == expected:
        return None
    wrong = {k: f"{effects[k]} (expected {expected[k]})" for k in SIDE_EFFECTS if effects[k] != expected[k]}
    return _fail("wrong side effects", str(wrong))


def _graph_script(graphs: Path, text: str) -> str | None:
    match = re.match(r"^the ([\w-]+) graph$", text)
    if match is None:
        return None
    script = graphs / match.group(1) / f"{match.group(1)}.cypher"
    return script.read_text(encoding="utf-8")


def run_scenario(scenario: Scenario, backend: Backend, graphs: Path) -> Outcome:
    backend.fresh()
    state: State | Answer | None = State()
    try:
        outcome = _run(scenario, backend, graphs)
        state = outcome.pop("state", None)
        return outcome["outcome"]
    finally:
        backend.done(state if isinstance(state, State) else None)


def _run(scenario: Scenario, backend: Backend, graphs: Path) -> dict[str, Any]:
    parameters: dict[str, Value] = {}
    statuses: list[int] = []
    before: State | Answer | None = State()
    after: State | Answer | None = State()
    answer: Answer | None = None
    wrote = False  # whether the graph may have changed since the last state read
    server_error = False

    def result(outcome: Outcome | None) -> dict[str, Any]:
        if outcome is None:
            outcome = Outcome(True)
        outcome.statuses = statuses
        outcome.server_error = outcome.server_error or server_error
        return {"outcome": outcome, "state": after if not wrote else None}

    for step in scenario.steps:
        text = step.text
        if text in ("an empty graph", "any graph"):
            continue
        if text.startswith("there exists a procedure"):
            outcome = _fail("test procedure", "the kit's test procedures cannot be declared on a Neo4j server")
            outcome.unsupported = True
            return result(outcome)
        script = _graph_script(graphs, text)
        if script is not None or text == "having executed":
            setup = backend.execute(script if script is not None else step.doc or "", {})
            statuses.append(setup.status)
            server_error = server_error or setup.server_error
            wrote = True
            if setup.error is not None:
                return result(_fail("setup error", "", setup))
            continue
        if text == "parameters are":
            parameters = {row[0]: parse_value(row[1]) for row in step.table}
            continue
        if text in ("executing query", "executing control query"):
            control = text == "executing control query"
            if not control:
                before = backend.state() if wrote else after
            answer = backend.execute(step.doc or "", {} if control else parameters)
            statuses.append(answer.status)
            server_error = server_error or answer.server_error
            if not control:
                after = backend.state() if answer.error is None else before
                wrote = False
            continue
        if answer is None:
            return result(_fail("harness", f"a check before any query: {text!r}"))
        error = _ERROR.match(text)
        if error is not None:
            if answer.error is None:
                return result(_fail("error not raised", f"expected {error.group(1)} ({error.group(3)})"))
            continue
        if text.startswith("the result should be"):
            outcome = _compare(step, answer)
            if outcome is not None:
                return result(outcome)
            continue
        if text == "no side effects" or text.startswith("the side effects should be"):
            if answer.error is None:
                outcome = _effects(step, before, after)
                if outcome is not None:
                    return result(outcome)
            continue
        return result(_fail("harness", f"an unknown step: {text!r}"))
    return result(None)
