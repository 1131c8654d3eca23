"""Prints the compatibility suite's tally (formats x libraries x types) after the run."""

from __future__ import annotations

from typing import Any

from tests.compat.tally import checks


def pytest_terminal_summary(terminalreporter: Any) -> None:
    counted = checks()
    if not counted:
        return
    formats = sorted({fmt for fmt, _, _ in counted})
    libraries = sorted({lib for _, lib, _ in counted})
    types = sorted({kind for _, _, kind in counted})
    terminalreporter.section("interchange compatibility (issue 14)")
    for fmt in formats:
        for lib in libraries:
            kinds = sorted({kind for f, lib2, kind in counted if f == fmt and lib2 == lib})
            if kinds:
                terminalreporter.write_line(f"{fmt:<14} {lib:<22} {len(kinds):>3} types: {', '.join(kinds)}")
    pairs = {(fmt, lib) for fmt, lib, _ in counted}
    terminalreporter.write_line(
        f"{len(formats)} formats x {len(libraries)} libraries ({len(pairs)} format-library pairs) x "
        f"{len(types)} value types: {sum(counted.values())} value checks"
    )
