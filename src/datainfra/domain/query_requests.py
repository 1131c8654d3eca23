"""What the query endpoint is asked, typed: one SQL statement, one Cypher query over a graph dataset,
or a structured query, each with the limits it runs under. The HTTP edge decodes a body into one of
these (checking the text and the parameters with the rules of `domain.queries`); the service only
resolves whose session and which dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.json_value import JsonValue
from datainfra.domain.queries import QueryLimits, check_query_text, cypher_parameters, sql_parameters
from datainfra.domain.structured_query import StructuredQuery


@dataclass(frozen=True, slots=True)
class SqlRequest:
    """One SQL statement over the session's tabular datasets; `parameters` bind to $1, $2, ..."""

    text: str
    parameters: tuple[JsonValue, ...] = ()
    limits: QueryLimits = field(default_factory=QueryLimits)

    @classmethod
    def of(cls, text: object, parameters: list[JsonValue] | None, limits: QueryLimits) -> SqlRequest:
        """Checked: the text (non-empty, at most MAX_QUERY_BYTES, no NUL) and at most MAX_PARAMETERS."""
        return cls(check_query_text(text), tuple(sql_parameters(parameters)), limits)


@dataclass(frozen=True, slots=True)
class CypherRequest:
    """One Cypher query over the graph dataset named (or identified) by `dataset`; `parameters`
    bind to $name."""

    text: str
    dataset: str
    parameters: Mapping[str, JsonValue] = field(default_factory=dict)
    limits: QueryLimits = field(default_factory=QueryLimits)

    @classmethod
    def of(
        cls, text: object, dataset: str, parameters: dict[str, JsonValue] | None, limits: QueryLimits
    ) -> CypherRequest:
        """Checked: the text, the parameter names and the dataset reference (non-empty), in that order."""
        checked_text, checked_parameters = check_query_text(text), dict(cypher_parameters(parameters))
        if not dataset:
            raise InvalidRequest(
                "Cypher runs against one graph dataset: give its name or id as `dataset`", field="dataset"
            )
        return cls(checked_text, dataset, checked_parameters, limits)


@dataclass(frozen=True, slots=True)
class StructuredRequest:
    """A structured query (shape checked), always read-only."""

    query: StructuredQuery
    limits: QueryLimits = field(default_factory=QueryLimits)


QueryRequest: TypeAlias = SqlRequest | CypherRequest | StructuredRequest
