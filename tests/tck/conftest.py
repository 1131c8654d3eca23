"""The TCK run's figures, printed at the end of the pytest run (under `make test` and `make tck`)."""

from __future__ import annotations

from typing import Any

SUMMARY: list[str] = []
"""Lines the TCK test leaves for the terminal summary."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SUMMARY:
        terminalreporter.section("openCypher TCK: raw Neo4j vs the query endpoint")
        for line in SUMMARY:
            terminalreporter.write_line(line)
