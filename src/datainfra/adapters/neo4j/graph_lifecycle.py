"""A graph dataset's life in Neo4j: its schema objects (key constraints, declared indexes; see
`schema_ops`) made, migrated and dropped with it, and the check that existing data fits a schema
made strict. Each call is bounded in time as a whole (`answered_within`)."""

from __future__ import annotations

from datainfra.adapters.neo4j import schema_ops
from datainfra.adapters.neo4j.driver import answered_within
from datainfra.adapters.neo4j.graph_rows import EDGE_RETURN, edge_out, node_out
from datainfra.adapters.neo4j.graph_transactions import TransactionRunner, Tx, answer_timeout
from datainfra.adapters.neo4j.namespacing import Q_KEY, Namespace
from datainfra.domain.errors import DomainError, InvalidInput
from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.model import Dataset

DROP_BATCH_SIZE = 10_000


@answered_within(answer_timeout)
async def create_graph(runner: TransactionRunner, dataset: Dataset) -> None:
    ns = Namespace.of(dataset.id)
    async with runner.schema_session() as session:
        objects = schema_ops.base_objects(ns) + schema_ops.declared_objects(ns, dataset.graph_schema)
        await schema_ops.apply(session, objects)


@answered_within(answer_timeout)
async def migrate_graph(runner: TransactionRunner, before: Dataset, after: Dataset) -> None:
    """New indexes over existing data may take a while to build: the schema transaction may use
    the store's transaction time limit, and the request waits up to 30 s for them to be online,
    so an index that existing values cannot fit fails the migration (422) rather than later."""
    ns = Namespace.of(after.id)
    schema = after.graph_schema
    if schema.strict:
        await runner.read(lambda tx: _check_conforms(tx, ns, before.graph_schema, schema))
    async with runner.schema_session() as session:
        existing = await schema_ops.existing_objects(session, ns)
        wanted = schema_ops.base_objects(ns) + schema_ops.declared_objects(ns, schema)
        missing = [obj for obj in wanted if obj.name not in existing]
        wanted_names = {obj.name for obj in wanted}
        unwanted = {name: c for name, c in existing.items() if name not in wanted_names}
        await schema_ops.apply(
            session, missing, unwanted, timeout=runner.timeout, wait=schema_ops.MIGRATION_INDEX_WAIT_SECONDS
        )


@answered_within(answer_timeout)
async def drop_graph(runner: TransactionRunner, dataset: Dataset) -> None:
    """Relationships, then nodes, each deleted in inner transactions of bounded size (each
    statement idempotent, so a deadlock with another transaction is retried), then the
    dataset's schema objects."""
    ns = Namespace.of(dataset.id)
    async with runner.schema_session() as session:
        for text in (
            f"MATCH ()-[r:{ns.r}]->() CALL {{ WITH r DELETE r }} IN TRANSACTIONS OF {DROP_BATCH_SIZE} ROWS",
            f"MATCH (n:{ns.n}) CALL {{ WITH n DETACH DELETE n }} IN TRANSACTIONS OF {DROP_BATCH_SIZE} ROWS",
        ):
            await schema_ops.run_idempotent(session, text, timeout=None)
        await schema_ops.drop_objects(session, await schema_ops.existing_objects(session, ns))


async def _check_conforms(tx: Tx, ns: Namespace, before: GraphSchema, after: GraphSchema) -> None:
    """A strict schema over existing data: every label, type and property must be declared and typed.
    Streams the dataset in key order (the same first offender as the in-memory adapter)."""
    result = await tx.run(f"MATCH (n:{ns.n}) RETURN properties(n) AS p ORDER BY n.{Q_KEY}")
    async for record in result:
        node = node_out(record["p"], before)
        try:
            after.coerce_node_properties(node.labels, node.properties, 0)
        except DomainError as exc:
            raise InvalidInput(f"node {node.id!r} does not fit the schema: {exc.detail}", field="schema") from None
    result = await tx.run(f"MATCH (a)-[r:{ns.r}]->(b) RETURN {EDGE_RETURN} ORDER BY r.{Q_KEY}")
    async for record in result:
        edge = edge_out(record, before)
        try:
            after.coerce_edge_properties(edge.type, edge.properties, 0)
        except DomainError as exc:
            raise InvalidInput(f"edge {edge.id!r} does not fit the schema: {exc.detail}", field="schema") from None
