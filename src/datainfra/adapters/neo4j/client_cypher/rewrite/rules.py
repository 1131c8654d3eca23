"""The base of the rewriter's rule families, and the entry points they use of each other.

The rewriter is a recursive descent split by what it reads: clauses (`clauses`), SET / REMOVE items
(`updates`), patterns (`patterns`), label and type expressions (`labels`), expressions
(`expressions`). The grammar is recursive across them (an expression holds patterns and subqueries,
a pattern holds expressions), so each family is a mixin over this base, which declares the entry
points the others call; `rewriter.Rewriter` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from datainfra.adapters.neo4j.client_cypher.budget import Guard
from datainfra.adapters.neo4j.client_cypher.rewrite.cursor import Cursor
from datainfra.adapters.neo4j.client_cypher.rewrite.state import Variables
from datainfra.adapters.neo4j.namespacing import Namespace

LabelExpr = tuple[Any, ...]
"""A label (or relationship type) expression: ("name", s) | ("any",) | ("not", x) | ("and", [..]) | ("or", [..])."""

CLAUSE_STOPS = frozenset(
    {
        "MATCH", "OPTIONAL", "MERGE", "CREATE", "WITH", "RETURN", "UNWIND", "SET", "REMOVE", "DELETE", "DETACH",
        "NODETACH", "CALL", "FOREACH", "UNION", "WHERE", "ORDER", "SKIP", "LIMIT", "OFFSET", "ON", "USE", "LOAD",
        "FINISH", "USING", "YIELD", "AS", "ASC", "DESC", "ASCENDING", "DESCENDING", "INSERT", "SHOW", "TERMINATE",
    }
)  # fmt: skip
"""Words that end an expression at its top level (a variable with such a name needs backticks)."""


class Rules(Cursor):
    """What every rule family shares: the namespace, the variables seen so far, the ON CREATE SET
    items a MERGE pattern adds, the names the last RETURN exported, and the lists to guard at run time
    (`budget.Guard`, by the index of their first token)."""

    ns: Namespace
    guards: dict[int, Guard]
    variables: Variables
    on_create: list[str]
    returned: set[str]

    # -- defined in `clauses` ---------------------------------------------------------------------

    def query(self, scope: set[str], *, importing: bool = False) -> tuple[str, set[str]]:
        raise NotImplementedError

    # -- defined in `updates` ---------------------------------------------------------------------

    def set_items(self, scope: set[str]) -> str:
        raise NotImplementedError

    def remove_items(self) -> str:
        raise NotImplementedError

    # -- defined in `patterns` --------------------------------------------------------------------

    def patterns(self, scope: set[str], mode: str) -> str:
        raise NotImplementedError

    def pattern_part(self, scope: set[str], mode: str) -> str:
        raise NotImplementedError

    def path(self, scope: set[str], mode: str) -> str:
        raise NotImplementedError

    # -- defined in `labels` ----------------------------------------------------------------------

    def label_expression(self, *, colon_conjunction: bool = True) -> LabelExpr:
        raise NotImplementedError

    def node_labels(self, lx: LabelExpr | None) -> str:
        raise NotImplementedError

    def emit_labels(self, lx: LabelExpr, *, parenthesize: bool = False) -> str:
        raise NotImplementedError

    def type_predicate(self, var: str, lx: LabelExpr) -> str:
        raise NotImplementedError

    # -- defined in `expressions` -----------------------------------------------------------------

    def expr(self, scope: set[str], stop_words: frozenset[str], stop_syms: frozenset[str] = frozenset()) -> str:
        raise NotImplementedError

    def map_entries(self, scope: set[str], key: Callable[[], str]) -> list[tuple[str, str]]:
        raise NotImplementedError
