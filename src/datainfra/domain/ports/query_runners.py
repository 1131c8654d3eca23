"""The raw query runners: SQL over a session's tabular datasets, Cypher over one graph dataset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from datainfra.domain.model import Dataset, Session
from datainfra.domain.queries import QueryLimits, QueryResult


class SqlQueryRunner(Protocol):
    """Runs one client SQL statement over `session`'s tabular datasets, which it sees by their own
    names. Contract:
    - exactly one SELECT / INSERT / UPDATE / DELETE (optionally under WITH); anything else, more
      than one statement, or a construct safe mode refuses raises `InvalidRequest` (field "query");
    - `parameters` bind to $1, $2, ... as values, never as text;
    - it runs with the privileges of the session owner's own database role only, in one
      transaction (read-only when `limits.read_only`), cancelled by the database after
      `limits.timeout_ms` (raises `StoreTimeout`); nothing it does outlives the request;
    - at most `limits.max_rows` rows come back; `truncated` says when more were there;
    - a database error caused by the statement (bad column, type error, constraint) raises a 4xx
      `DomainError`, never a 5xx."""

    async def run_sql(
        self, session: Session, text: str, parameters: Sequence[object], limits: QueryLimits
    ) -> QueryResult: ...


class CypherQueryRunner(Protocol):
    """Runs one client Cypher query against graph `dataset`. The client writes its own labels,
    relationship types and property names (and `id` for a node's or relationship's key) and sees
    them in results; nodes, relationships and paths come back as domain.graph values. Contract:
    - the query is scoped to the dataset's namespace and its plan is checked before it runs: a
      query that could reach outside the dataset (unanchored scans, internal-id seeks, procedures,
      LOAD CSV, other databases, schema or admin commands) raises `InvalidRequest` (field "query");
    - `parameters` bind to $name;
    - read-only limits run in a read transaction; every query is bounded by `limits.timeout_ms`
      (raises `StoreTimeout`) and `limits.max_rows` (`truncated`)."""

    async def run_cypher(
        self, dataset: Dataset, text: str, parameters: Mapping[str, object], limits: QueryLimits
    ) -> QueryResult: ...
