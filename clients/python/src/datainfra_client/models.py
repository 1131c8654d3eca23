"""What the API answers, as typed values (msgspec Structs; members the API adds later are ignored)."""

from __future__ import annotations

from typing import Any

import msgspec


class IssuedKey(msgspec.Struct, frozen=True, kw_only=True):
    """A new user's id and API key (POST /users); the key is shown only this once."""

    user_id: str
    api_key: str


class Session(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    description: str = ""
    created_at: str = ""
    updated_at: str = ""


class Dataset(msgspec.Struct, frozen=True, kw_only=True):
    """A dataset; `schema` is the typed schema document, `etag` the tag a migration's If-Match takes."""

    id: str
    session_id: str
    name: str
    kind: str
    schema: dict[str, Any]
    created_at: str = ""
    updated_at: str = ""
    record_count: int | None = None
    etag: str | None = None


class WriteResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a bulk write stored: rows (or nodes and edges) inserted, updated, ignored."""

    inserted: int = 0
    updated: int = 0
    ignored: int = 0


class Column(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: str


class QueryResult(msgspec.Struct, frozen=True, kw_only=True):
    """The query endpoint's answer (SQL, Cypher or structured): columns, then rows in their order."""

    columns: list[Column]
    rows: list[list[Any]]
    row_count: int = 0
    truncated: bool = False
    elapsed_ms: float = 0.0
    affected: int | None = None

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts by column name."""
        names = [c.name for c in self.columns]
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def to_pandas(self) -> Any:
        """A pandas DataFrame of the rows (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=[c.name for c in self.columns])

    def to_polars(self) -> Any:
        """A polars DataFrame of the rows (needs polars)."""
        import polars as pl

        names = [c.name for c in self.columns]
        return pl.DataFrame(self.rows, schema=names, orient="row", infer_schema_length=None)


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """One page of records, nodes, edges or ranked algorithm results. `next` is a URL to GET (or
    to POST the same body to, for algorithms) or, for a search, the body to POST next."""

    items: list[Any]
    limit: int = 0
    offset: int = 0
    total: int | None = None
    next: Any = None


class Subgraph(msgspec.Struct, frozen=True, kw_only=True):
    """Nodes and edges around a node (neighbours)."""

    nodes: list[dict[str, Any]] = msgspec.field(default_factory=list)
    edges: list[dict[str, Any]] = msgspec.field(default_factory=list)


class Path(msgspec.Struct, frozen=True, kw_only=True):
    """A shortest path: `found`, its `length` in hops, `cost` when weighted, its nodes and edges."""

    found: bool
    length: int | None = None
    cost: float | None = None
    nodes: list[dict[str, Any]] = msgspec.field(default_factory=list)
    edges: list[dict[str, Any]] = msgspec.field(default_factory=list)


class Paths(msgspec.Struct, frozen=True, kw_only=True):
    """Every shortest path; `truncated` when more exist beyond the limit asked for."""

    found: bool
    length: int | None = None
    cost: float | None = None
    truncated: bool = False
    paths: list[dict[str, Any]] = msgspec.field(default_factory=list)


class ImportResult(msgspec.Struct, frozen=True, kw_only=True):
    """A session archive's import: the datasets it made, each with its counts."""

    session_id: str
    datasets: list[dict[str, Any]]
