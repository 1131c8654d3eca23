"""A client's Cypher, scoped to one dataset's namespace (pure, no driver; tokens from `client_cypher.tokens`).

Many tenants' datasets share one Neo4j database (see `namespacing`), so a client query must only ever
touch its own dataset. The client writes its own labels and types; `rewrite` turns them into
the stored scheme: every node pattern gets the dataset label and namespaced client labels, every
relationship pattern the dataset type with the client's types as a `#type` predicate,
`labels(n)` / `type(r)` read `#labels` / `#type`, `datainfra.key(x)` reads the key `#id` (a property
named `id` is the client's own, like any other), CREATE and MERGE add the internal properties, and
SET/REMOVE keep them intact. What cannot be scoped is refused (`InvalidRequest`, field "query") with
a detail saying what to do instead.

Neo4j only ever receives text this package emits, so its lexer cannot see a boundary ours did not
(`client_cypher.significant`). The plan check (`client_cypher.plan_check`) is the second line:
whatever this package misses must still run as a plan anchored on the dataset.

Modules: `rewriter` (the entry point), `cursor` (tokens in, canonical text out), `state` (what is
collected beside the text), `rules` (the base the rule families share), and the rule families
`clauses`, `updates`, `patterns`, `labels`, `expressions`.
"""

from datainfra.adapters.neo4j.client_cypher.rewrite.rewriter import rewrite
from datainfra.adapters.neo4j.client_cypher.rewrite.state import ORDER_KEY_PARAM_PREFIX, RewrittenQuery

__all__ = ["ORDER_KEY_PARAM_PREFIX", "RewrittenQuery", "rewrite"]
