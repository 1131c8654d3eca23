"""Counts of what the compatibility suite checked: format x library x value type.

Each check that opened an export with a user's library and compared a value of one type calls
`record(format, library, value_type)`; the suite prints the counts at the end (issue 14: "counts of
formats x libraries x types printed"), so a reader sees what was covered, not just that it passed.
"""

from __future__ import annotations

from collections import Counter

_CHECKS: Counter[tuple[str, str, str]] = Counter()


def record(fmt: str, library: str, value_type: str) -> None:
    """Count one value-checked combination (call it after the comparison passed)."""
    _CHECKS[(fmt, library, value_type)] += 1


def checks() -> Counter[tuple[str, str, str]]:
    return _CHECKS
