"""The catalog guard: one SQL predicate saying the facts a process cached still hold — the key is the
dataset owner's active key and the dataset row is unchanged (id, session, owner, name, kind,
updated_at and schema document). `PostgresCatalog.facts_hold` asks it alone (beside a Neo4j read);
`PostgresJsonPages` puts it in the page statement, so guard and rows share one snapshot. One text and
one parameter builder, so the two checks cannot drift apart."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from psycopg import sql

from datainfra.domain.graph_schema import GraphSchema, graph_schema_document
from datainfra.domain.model import Dataset
from datainfra.domain.tabular_schema import TabularSchema, tabular_schema_document

DEFINITIONS_CACHED = 10_000
"""Schema documents remembered (as JSON text) by dataset version; the cache is emptied when full."""

_encoder = msgspec.json.Encoder()


def guard_exists(catalog: sql.Composable) -> sql.Composed:
    """`EXISTS (...)` over the catalog schema `catalog`; its parameters are `CatalogGuard.params`."""
    return sql.SQL(
        "EXISTS (SELECT 1 FROM {cat}.api_keys k JOIN {cat}.datasets d ON d.owner_id = k.user_id "
        "WHERE k.key_hash = %s AND k.revoked_at IS NULL AND d.id = %s AND d.session_id = %s AND d.owner_id = %s "
        "AND d.name = %s AND d.kind = %s AND d.updated_at = %s AND d.definition = %s::jsonb)"
    ).format(cat=catalog)


def schema_document(dataset: Dataset) -> dict[str, Any]:
    """The dataset's schema as the catalog stores it (its `definition` column)."""
    if isinstance(dataset.schema, TabularSchema):
        return tabular_schema_document(dataset.schema)
    assert isinstance(dataset.schema, GraphSchema)
    return graph_schema_document(dataset.schema)


class CatalogGuard:
    """The guard's parameters, with each dataset version's schema document remembered as JSON text
    (checked to be that version's schema: the same object, as a cached dataset's is, or an equal one)."""

    def __init__(self) -> None:
        self._definitions: dict[tuple[str, dt.datetime], tuple[TabularSchema | GraphSchema, str]] = {}

    def params(self, key_hash: str, dataset: Dataset) -> tuple[Any, ...]:
        return (
            key_hash,
            dataset.id,
            dataset.session_id,
            dataset.owner_id,
            dataset.name,
            dataset.kind.value,
            dataset.updated_at,
            self._definition(dataset),
        )

    def _definition(self, dataset: Dataset) -> str:
        version = (dataset.id, dataset.updated_at)
        known = self._definitions.get(version)
        if known is not None and (known[0] is dataset.schema or known[0] == dataset.schema):
            return known[1]
        if len(self._definitions) >= DEFINITIONS_CACHED:
            self._definitions.clear()
        text = _encoder.encode(schema_document(dataset)).decode()
        self._definitions[version] = (dataset.schema, text)
        return text
