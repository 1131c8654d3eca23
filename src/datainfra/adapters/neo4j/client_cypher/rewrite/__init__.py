"""A client's Cypher, scoped to one dataset's namespace: see `rewriter` (being split by concern)."""

from datainfra.adapters.neo4j.client_cypher.rewrite.rewriter import (
    ORDER_KEY_PARAM_PREFIX,
    RANGE_LIMIT_MARKER,
    RewrittenQuery,
    range_refusal,
    rewrite,
)

__all__ = ["ORDER_KEY_PARAM_PREFIX", "RANGE_LIMIT_MARKER", "RewrittenQuery", "range_refusal", "rewrite"]
