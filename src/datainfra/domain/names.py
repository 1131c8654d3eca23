"""Names chosen by users: datasets, columns, labels, relationship types, properties.

The rule is deliberately narrower than what PostgreSQL or Neo4j accept, so that one name is valid in both
stores and every adapter can quote it safely. Reserved words are allowed: adapters always quote.
"""

from __future__ import annotations

import functools
import re

from datainfra.domain.errors import InvalidInput

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_NAME_BYTES = 63


def name_problem(name: object) -> str | None:
    """Why `name` is not a valid user-chosen name, or None when it is."""
    if not isinstance(name, str):
        return "must be a string"
    return _text_problem(name)


@functools.lru_cache(maxsize=4096)
def _text_problem(name: str) -> str | None:
    """name_problem of a string, remembered: a bulk write names the same few labels, types and
    properties on every item."""
    if not NAME_PATTERN.fullmatch(name):
        return "must match ^[A-Za-z_][A-Za-z0-9_]*$"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"must be at most {MAX_NAME_BYTES} bytes"
    if name.lower().startswith("pg_"):
        return "must not start with pg_"
    return None


def is_valid_name(name: object) -> bool:
    return name_problem(name) is None


def validate_name(name: object, *, what: str, field: str | None = None) -> str:
    """Return `name` when valid, else raise InvalidInput naming what was wrong."""
    problem = name_problem(name)
    if problem is not None:
        raise InvalidInput(f"{what} {name!r} {problem}", field=field or what)
    assert isinstance(name, str)
    return name
