"""What the rewriter gathers while it writes: the result beside the text, and what it knows of variables.

Two small records instead of a dozen fields on the rewriter: `Collected` becomes the
`RewrittenQuery` (parameters, columns, whether the query writes), `Variables` is what later clauses
need to know about earlier ones (which variables are nodes and which relationships, and the count
behind the names the rewriter generates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from datainfra.adapters.neo4j.client_cypher.tokens import string_value
from datainfra.adapters.neo4j.namespacing import quote

OWN_PARAM_PREFIX = "_ds_"
"""Parameters the rewrite adds start with this; client parameter names must not start with `_`."""
ORDER_KEY_PARAM_PREFIX = OWN_PARAM_PREFIX + "o_"
"""`SET n += $p` also binds `$_ds_o_p`: the order keys of p's properties, set to null."""


@dataclass(frozen=True, slots=True)
class RewrittenQuery:
    """The text to run (with `parameters` bound beside the client's), whether it writes, the client
    parameters used as whole property maps (`SET n += $p`: the runner checks them and binds their
    order-key parameter), and result columns to rename (generated alias → the client's text)."""

    text: str
    writes: bool
    parameters: Mapping[str, Any] = field(default_factory=dict)
    map_parameters: frozenset[str] = frozenset()
    client_parameters: frozenset[str] = frozenset()
    columns: Mapping[str, str] = field(default_factory=dict)
    literals: Mapping[str, str] = field(default_factory=dict)
    """Our string parameters → the literal the client wrote (to put back into error messages)."""
    guarded_parameters: Mapping[str, int] = field(default_factory=dict)
    """Client list parameters iterated in guarded nested loops → their cap (`budget.Guard`): the runner
    refuses a longer list before the query runs."""


@dataclass(slots=True)
class Collected:
    """The parts of a `RewrittenQuery` other than its text, filled in as the text is written."""

    writes: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    literals: dict[str, str] = field(default_factory=dict)
    map_params: set[str] = field(default_factory=set)
    client_params: set[str] = field(default_factory=set)
    columns: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    guarded_params: dict[str, int] = field(default_factory=dict)

    def string_parameter(self, literal: str) -> str:
        """The name of a new parameter bound to string literal `literal` (as the client wrote it)."""
        name = f"{OWN_PARAM_PREFIX}s{len(self.params)}"
        self.params[name] = string_value(literal)
        self.literals[name] = literal
        return name

    def column_alias(self, original: str) -> str:
        """The generated alias of a result column the client wrote as `original` (one per text)."""
        alias = self.aliases.setdefault(original, f"#c{len(self.aliases)}")
        self.columns[alias] = original
        return alias

    def result(self, text: str) -> RewrittenQuery:
        return RewrittenQuery(
            text=text,
            writes=self.writes,
            parameters=dict(self.params),
            map_parameters=frozenset(self.map_params),
            client_parameters=frozenset(self.client_params),
            columns=dict(self.columns),
            literals=dict(self.literals),
            guarded_parameters=dict(self.guarded_params),
        )


@dataclass(slots=True)
class Variables:
    """The query's node and relationship variables (bound anywhere so far), and generated names."""

    nodes: set[str] = field(default_factory=set)
    relationships: set[str] = field(default_factory=set)
    generated: int = 0

    def fresh(self, letter: str) -> str:
        """A new quoted variable name no client can write (`#n1`, `#r2`, ...)."""
        self.generated += 1
        return quote(f"#{letter}{self.generated}")
