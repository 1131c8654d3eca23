"""Raw and structured queries: what a client asks, the limits it runs under, and what comes back.

The query endpoint gives a client SQL over its session's tabular datasets and Cypher over one graph
dataset. The stores run them (the SQL under the user's own database role, the Cypher rewritten into
the dataset's namespace and checked from its plan); this module only says what a request and a
result are, and which limits every query runs under.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.graph import Edge, Node, Path
from datainfra.domain.json_value import JsonValue
from datainfra.domain.types import FieldValue

MAX_QUERY_BYTES = 64 * 1024
"""Longer query texts are refused before any parser sees them (parsers may crash on huge inputs)."""

DEFAULT_TIMEOUT_MS = 10_000
MAX_TIMEOUT_MS = 60_000
DEFAULT_MAX_ROWS = 1_000
MAX_MAX_ROWS = 10_000
MAX_PARAMETERS = 1_000


class QueryLanguage(enum.StrEnum):
    SQL = "sql"
    CYPHER = "cypher"
    STRUCTURED = "structured"


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """What every query runs under: a read-only transaction or not, a time limit enforced by the
    database itself, and a row cap (a result cut by it says so: `QueryResult.truncated`)."""

    read_only: bool = True
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    max_rows: int = DEFAULT_MAX_ROWS

    @classmethod
    def of(cls, *, read_only: object = None, timeout_ms: object = None, max_rows: object = None) -> QueryLimits:
        """Validated limits from a request body (None = the default)."""
        if read_only is None:
            read_only = True
        if not isinstance(read_only, bool):
            raise InvalidRequest("read_only must be true or false", field="read_only")
        timeout = optional_int(timeout_ms, "timeout_ms", 1, MAX_TIMEOUT_MS)
        rows = optional_int(max_rows, "max_rows", 1, MAX_MAX_ROWS)
        return cls(
            read_only=read_only,
            timeout_ms=DEFAULT_TIMEOUT_MS if timeout is None else timeout,
            max_rows=DEFAULT_MAX_ROWS if rows is None else rows,
        )


def optional_int(value: object, name: str, low: int, high: int) -> int | None:
    """A request member that must be an integer in [low, high] when given (a bool is not one)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{name} must be an integer", field=name)
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}", field=name)
    return value


@dataclass(frozen=True, slots=True)
class ResultColumn:
    """A result column: its name and a type name (the store's, e.g. "integer", "text", "node")."""

    name: str
    type: str


ResultValue: TypeAlias = "FieldValue | Node | Edge | Path | list[ResultValue]"
"""One cell of a query result: a typed value, or a graph value (or a list of them) from Cypher."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of typed values (domain.types values; graph nodes, edges and paths as domain.graph
    values). `truncated` is true when the row cap cut the result. `affected` is the number of rows
    a write changed, when the store reports it."""

    columns: tuple[ResultColumn, ...]
    rows: list[list[ResultValue]]
    truncated: bool = False
    affected: int | None = None

    @property
    def row_count(self) -> int:
        return len(self.rows)


def check_query_text(text: object, *, field: str = "query") -> str:
    """The query text, refused when it is not a non-empty string within MAX_QUERY_BYTES."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("query must be a non-empty string", field=field)
    if len(text) > MAX_QUERY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_QUERY_BYTES:
        raise InvalidRequest(f"query is longer than {MAX_QUERY_BYTES} bytes", field=field)
    if "\x00" in text:
        raise InvalidRequest("query contains a NUL character", field=field)
    return text


def sql_parameters(value: object) -> Sequence[JsonValue]:
    """SQL parameters: a JSON array, bound to $1, $2, ... in order."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidRequest("parameters must be a JSON array for SQL ($1 is its first item)", field="parameters")
    if len(value) > MAX_PARAMETERS:
        raise InvalidRequest(f"at most {MAX_PARAMETERS} parameters", field="parameters")
    return tuple(value)


def cypher_parameters(value: object) -> Mapping[str, JsonValue]:
    """Cypher parameters: a JSON object, bound to $name."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("parameters must be a JSON object for Cypher ($name is its key)", field="parameters")
    if len(value) > MAX_PARAMETERS:
        raise InvalidRequest(f"at most {MAX_PARAMETERS} parameters", field="parameters")
    for name in value:
        if not (name.isidentifier() or (name.isascii() and name.isdigit())) or name.startswith("_"):
            raise InvalidRequest(
                f"parameter name {name!r} must be a letter followed by letters, digits or _, or digits ($1)",
                field=f"parameters.{name}",
            )
    return dict(value)
