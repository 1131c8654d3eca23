"""Client Cypher: the raw query endpoint's Cypher side, in a room of its own beside the graph store.

A client query goes `tokens` (the lexer) → `bounds` (shape limits, before anything recurses) →
`rewrite` (scoped to the dataset's namespace; its nested loops bounded by `budget`) → `plan_check`
(the EXPLAIN plan must stay inside the dataset) → `runner` (runs it under the limits and converts
the results). Nothing here is used by the graph store, which compiles its own filters.
"""
