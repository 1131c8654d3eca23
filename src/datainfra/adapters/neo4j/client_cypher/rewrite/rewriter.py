"""`rewrite`: a client's Cypher text → the text Neo4j runs for one dataset (see the package docstring).

The checks that need no parse run first, on the significant tokens: the query's shape
(`client_cypher.bounds`) and its nested loops (`client_cypher.budget`). Then one `Rewriter` reads
the tokens by recursive descent and writes the scoped text.
"""

from __future__ import annotations

from datainfra.adapters.neo4j.client_cypher.bounds import check_shape
from datainfra.adapters.neo4j.client_cypher.budget import check_iterations
from datainfra.adapters.neo4j.client_cypher.rewrite.clauses import ClauseRules
from datainfra.adapters.neo4j.client_cypher.rewrite.expressions import ExpressionRules
from datainfra.adapters.neo4j.client_cypher.rewrite.labels import LabelRules
from datainfra.adapters.neo4j.client_cypher.rewrite.patterns import PatternRules
from datainfra.adapters.neo4j.client_cypher.rewrite.state import Collected, RewrittenQuery, Variables
from datainfra.adapters.neo4j.client_cypher.rewrite.updates import UpdateRules
from datainfra.adapters.neo4j.client_cypher.significant import SignificantToken, significant
from datainfra.adapters.neo4j.client_cypher.tokens import tokenize
from datainfra.adapters.neo4j.namespacing import Namespace


def rewrite(text: str, ns: Namespace) -> RewrittenQuery:
    """`text` scoped to namespace `ns`, or InvalidRequest when it cannot be."""
    tokens = significant(tokenize(text))
    check_shape(tokens)
    guards = check_iterations(tokens)
    rewriter = Rewriter(tokens, text, ns)
    rewriter.guards = guards
    out = rewriter.statement()
    return rewriter.collected.result(out.strip())


class Rewriter(ClauseRules, UpdateRules, PatternRules, ExpressionRules, LabelRules):
    """Recursive descent over the significant tokens, emitting the scoped text.

    Expressions are not parsed into a tree: they are scanned, and only what needs scoping is
    rewritten (patterns, label predicates, `.id`, a few functions, subqueries). `scope` tracks the
    variables bound at each clause, which CREATE and MERGE need (a bound `(a)` is a reference, an
    unbound one a new node that must get the dataset label); it errs towards "unbound", so a doubt
    ends in a Neo4j error, never in a node outside the dataset."""

    def __init__(self, toks: list[SignificantToken], source: str, ns: Namespace) -> None:
        super().__init__(toks, source, Collected())
        self.ns = ns
        self.variables = Variables()
        self.on_create: list[str] = []
        self.returned: set[str] = set()
        self.guards = {}
