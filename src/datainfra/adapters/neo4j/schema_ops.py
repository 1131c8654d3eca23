"""Schema objects of one dataset: the key constraints, the edge-type index and declared property
indexes. Schema statements cannot share a transaction with data, so each runs on its own; a
migration that fails half-way drops what it created."""

from __future__ import annotations

from dataclasses import dataclass

import neo4j
from neo4j import exceptions as neo4j_errors

from datainfra.adapters.neo4j.namespacing import Q_KEY, Q_TYPE, Namespace, order_key, quote
from datainfra.domain.errors import InvalidInput
from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.types import FieldType

INDEX_WAIT_SECONDS = 300


@dataclass(frozen=True, slots=True)
class SchemaObject:
    name: str
    create: str
    constraint: bool


def base_objects(ns: Namespace) -> list[SchemaObject]:
    return [
        SchemaObject(
            ns.node_key_constraint,
            f"CREATE CONSTRAINT {quote(ns.node_key_constraint)} IF NOT EXISTS "
            f"FOR (n:{ns.n}) REQUIRE n.{Q_KEY} IS UNIQUE",
            True,
        ),
        SchemaObject(
            ns.edge_key_constraint,
            f"CREATE CONSTRAINT {quote(ns.edge_key_constraint)} IF NOT EXISTS "
            f"FOR ()-[r:{ns.r}]-() REQUIRE r.{Q_KEY} IS UNIQUE",
            True,
        ),
        SchemaObject(
            ns.edge_type_index,
            f"CREATE INDEX {quote(ns.edge_type_index)} IF NOT EXISTS FOR ()-[r:{ns.r}]-() ON (r.{Q_TYPE})",
            False,
        ),
    ]


def declared_objects(ns: Namespace, schema: GraphSchema) -> list[SchemaObject]:
    """One index (or uniqueness constraint) per declared PropertyIndex; numeric properties are
    indexed by their order key, so 1.0 and 1.00 are one value to a unique index, as in SQL."""
    objects: list[SchemaObject] = []
    for label in schema.node_labels:
        types = {p.name: p.type for p in label.properties}
        for index in label.indexes:
            stored = tuple(order_key(p) if types.get(p) is FieldType.NUMERIC else p for p in index.properties)
            name = ns.property_index(label.name, stored, index.unique)
            keys = ", ".join(f"n.{quote(p)}" for p in stored)
            target = f"(n:{quote(ns.label(label.name))})"
            if index.unique:
                text = f"CREATE CONSTRAINT {quote(name)} IF NOT EXISTS FOR {target} REQUIRE ({keys}) IS UNIQUE"
            else:
                text = f"CREATE INDEX {quote(name)} IF NOT EXISTS FOR {target} ON ({keys})"
            objects.append(SchemaObject(name, text, index.unique))
    return objects


async def existing_objects(session: neo4j.AsyncSession, ns: Namespace) -> dict[str, bool]:
    """Name → is-a-constraint, for every schema object of the dataset."""
    found: dict[str, bool] = {}
    result = await session.run("SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH $prefix", prefix=ns.schema_prefix)
    for record in await result.data():
        found[record["name"]] = True
    result = await session.run(
        "SHOW INDEXES YIELD name, owningConstraint WHERE name STARTS WITH $prefix AND owningConstraint IS NULL",
        prefix=ns.schema_prefix,
    )
    for record in await result.data():
        found[record["name"]] = False
    return found


async def create_objects(session: neo4j.AsyncSession, objects: list[SchemaObject]) -> None:
    for obj in objects:
        try:
            await (await session.run(obj.create)).consume()
        except neo4j_errors.Neo4jError as exc:
            if obj.constraint and "ConstraintCreationFailed" in (exc.code or ""):
                raise InvalidInput(
                    f"existing nodes hold duplicate values for a unique index: {exc.message}", field="schema"
                ) from exc
            raise
    await (await session.run("CALL db.awaitIndexes($seconds)", seconds=INDEX_WAIT_SECONDS)).consume()


async def drop_objects(session: neo4j.AsyncSession, names: dict[str, bool]) -> None:
    for name, constraint in names.items():
        kind = "CONSTRAINT" if constraint else "INDEX"
        await (await session.run(f"DROP {kind} {quote(name)} IF EXISTS")).consume()
