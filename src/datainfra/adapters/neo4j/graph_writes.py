"""Writes of the Neo4j graph store: bulk node and edge writes (optimistic, then checked and planned
again when concurrent requests race for the same keys), node updates, deletes by filter.

Every statement is a fixed template: user-chosen labels and property names reach it only validated
and backtick-quoted, values only as parameters. One call is one transaction (all-or-nothing); bulk
statements UNWIND batches of rows, sorted so every request takes its locks in one order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neo4j import exceptions as neo4j_errors

from datainfra.adapters.neo4j import cypher_filters
from datainfra.adapters.neo4j.graph_rows import edge_match, node_match, single
from datainfra.adapters.neo4j.graph_transactions import TransactionRunner, Tx
from datainfra.adapters.neo4j.graph_write_plan import (
    EdgeIdentity,
    EdgeTypes,
    KeyRace,
    NodeChanges,
    Shortfall,
    WritePlan,
    edge_row,
    encoded_changes,
)
from datainfra.adapters.neo4j.namespacing import KEY, LABELS, Q_KEY, Q_LABELS, Q_TYPE, Namespace
from datainfra.adapters.neo4j.values import encode_properties
from datainfra.domain.errors import Conflict, InvalidInput
from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import Edge, Node
from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.model import Dataset
from datainfra.domain.ports.graph_store import NodeUpdate
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.domain.types import FieldType

KEY_RACE_ATTEMPTS = 20
"""How often a checked write is planned at most when concurrent requests create its keys meanwhile.
Each race means one more of its keys exists, so a request creating n new keys needs at most n + 1
plans (unless others delete them again meanwhile)."""


async def write(
    runner: TransactionRunner, dataset: Dataset, nodes: Sequence[Node], edges: Sequence[Edge], on_conflict: OnConflict
) -> WriteResult:
    """Under ERROR, first an optimistic write without lookups (a clean load is the common case:
    the key constraints catch existing ids, the in-statement MATCH missing endpoints); when it
    fails it is rolled back and the checked write below runs, so errors (kind, index, field,
    key, and which one wins) are exactly the checked write's.

    The checked write reads which keys exist, then creates the others; a concurrent request may
    create one of those keys in between (the key constraint then refuses ours). The whole
    checked write is then planned again, seeing that key: an upsert updates it, an ERROR write
    says it exists (KEY_RACE_ATTEMPTS plans at most), so concurrent upserts of the same keys
    never conflict with each other."""
    ns = Namespace.of(dataset.id)
    schema = dataset.graph_schema

    if on_conflict is OnConflict.ERROR:
        try:
            return await runner.write(lambda tx: _create_all(runner, tx, ns, schema, nodes, edges))
        except (Conflict, InvalidInput, Shortfall):
            pass

    async def work(tx: Tx) -> WriteResult:
        try:
            return await checked(tx)
        except neo4j_errors.ConstraintError as exc:
            if KEY in (exc.message or ""):
                raise KeyRace from exc
            raise

    async def checked(tx: Tx) -> WriteResult:
        wanted = list(dict.fromkeys([n.id for n in nodes] + [e.source for e in edges] + [e.target for e in edges]))
        existing = await _node_labels(runner, tx, ns, wanted)
        old_edges = await _existing_edges(runner, tx, ns, list(dict.fromkeys(e.id for e in edges)))
        plan = WritePlan(on_conflict)
        for node in nodes:
            plan.node(node, node.id in existing)
        present = set(existing) | set(plan.node_creates)
        for i, edge in enumerate(edges):
            for end in ("source", "target"):
                if getattr(edge, end) not in present:
                    raise InvalidInput(
                        f"edge {edge.id!r}: {end} node {getattr(edge, end)!r} does not exist",
                        index=i,
                        field=f"edges[{i}].{end}",
                    )
            plan.edge(i, edge, old_edges.get(edge.id))
        await _create_nodes(runner, tx, ns, schema, plan.node_creates)
        await _update_nodes(runner, tx, ns, schema, plan.node_updates, existing, merge=True)
        await _update_edges(runner, tx, ns, schema, plan.edge_updates)
        await _create_edges(runner, tx, ns, schema, plan.edge_creates)
        return WriteResult(plan.inserted, plan.updated, plan.ignored)

    for _attempt in range(KEY_RACE_ATTEMPTS - 1):
        try:
            return await runner.write(work)
        except KeyRace:
            continue  # another request created one of these keys meanwhile: plan again, seeing it
    try:
        return await runner.write(work)
    except KeyRace:
        raise Conflict("other requests kept creating the same node or edge ids meanwhile; try again") from None


async def update_nodes(runner: TransactionRunner, dataset: Dataset, updates: Sequence[NodeUpdate]) -> int:
    ns = Namespace.of(dataset.id)
    schema = dataset.graph_schema

    async def work(tx: Tx) -> int:
        existing = await _node_labels(runner, tx, ns, list(dict.fromkeys(u.id for u in updates)))
        merged: dict[str, NodeChanges] = {}
        for i, update in enumerate(updates):
            if update.id not in existing:
                raise InvalidInput(f"node {update.id!r} does not exist", index=i, field="id")
            labels, changes = merged.get(update.id, (None, {}))
            if update.labels is not None:
                labels = tuple(dict.fromkeys(update.labels))
            changes = {**changes, **update.properties}
            merged[update.id] = (labels, changes)
        await _update_nodes(runner, tx, ns, schema, merged, existing, merge=False)
        return len(updates)

    return await runner.write(work)


async def update_nodes_where(
    runner: TransactionRunner, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec, changes: dict[str, Any]
) -> int:
    ns = Namespace.of(dataset.id)
    declared = dataset.graph_schema.node_property_types(labels or None)
    params = cypher_filters.Params()
    match = node_match(ns, labels, filter, params)
    values = encoded_changes(changes, declared)
    text = f"{match} SET n += {params.add(values)} RETURN count(n) AS changed"
    return await runner.write(lambda tx: single(tx, text, params.values, "changed"))


async def delete_nodes_where(
    runner: TransactionRunner, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec
) -> int:
    ns = Namespace.of(dataset.id)
    params = cypher_filters.Params()
    text = f"{node_match(ns, labels, filter, params)} DETACH DELETE n RETURN count(*) AS deleted"
    return await runner.write(lambda tx: single(tx, text, params.values, "deleted"))


async def delete_edges_where(
    runner: TransactionRunner, dataset: Dataset, types: tuple[str, ...], filter: FilterSpec
) -> int:
    ns = Namespace.of(dataset.id)
    params = cypher_filters.Params()
    text = f"{edge_match(ns, types, filter, params)} DELETE r RETURN count(*) AS deleted"
    return await runner.write(lambda tx: single(tx, text, params.values, "deleted"))


# -- the statements -------------------------------------------------------------------------------


async def _node_labels(runner: TransactionRunner, tx: Tx, ns: Namespace, ids: list[str]) -> dict[str, tuple[str, ...]]:
    """The client labels of the nodes among `ids` that exist."""
    found: dict[str, tuple[str, ...]] = {}
    text = f"UNWIND $ids AS k MATCH (n:{ns.n} {{{Q_KEY}: k}}) RETURN k AS id, n.{Q_LABELS} AS labels"
    for batch in runner.batches(ids):
        result = await tx.run(text, ids=list(batch))
        for record in await result.data():
            found[record["id"]] = tuple(record["labels"] or ())
    return found


async def _existing_edges(runner: TransactionRunner, tx: Tx, ns: Namespace, ids: list[str]) -> dict[str, EdgeIdentity]:
    """(source, target, type) of the edges among `ids` that exist."""
    found: dict[str, EdgeIdentity] = {}
    text = (
        f"UNWIND $ids AS k MATCH (a)-[r:{ns.r} {{{Q_KEY}: k}}]->(b) "
        f"RETURN k AS id, a.{Q_KEY} AS s, b.{Q_KEY} AS t, r.{Q_TYPE} AS type"
    )
    for batch in runner.batches(ids):
        result = await tx.run(text, ids=list(batch))
        for record in await result.data():
            found[record["id"]] = (record["s"], record["t"], record["type"])
    return found


async def _create_nodes(
    runner: TransactionRunner,
    tx: Tx,
    ns: Namespace,
    schema: GraphSchema,
    creates: Mapping[str, tuple[tuple[str, ...], dict[str, Any]]],
) -> None:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    declared: dict[tuple[str, ...], dict[str, FieldType]] = {}
    for node_id, (labels, properties) in creates.items():
        if labels not in declared:
            declared[labels] = schema.node_property_types(labels)
        row = {KEY: node_id, LABELS: list(labels), **encode_properties(properties, declared[labels])}
        groups.setdefault(labels, []).append({k: v for k, v in row.items() if v is not None})
    for labels, rows in sorted(groups.items()):
        rows.sort(key=lambda row: row[KEY])  # one lock order for every request: fewer deadlocks
        text = f"UNWIND $rows AS row CREATE (n:{ns.n}{ns.labels(labels)}) SET n = row"
        for batch in runner.batches(rows):
            await (await tx.run(text, rows=list(batch))).consume()


async def _update_nodes(
    runner: TransactionRunner,
    tx: Tx,
    ns: Namespace,
    schema: GraphSchema,
    updates: Mapping[str, NodeChanges],
    current: Mapping[str, tuple[str, ...]],
    *,
    merge: bool,
) -> None:
    """Set (merge) properties and replace labels of existing nodes; MERGE on the key for
    upserts, so a node created concurrently is updated rather than duplicated."""
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[dict[str, Any]]] = {}
    for node_id, (labels, changes) in updates.items():
        old = current.get(node_id, ())
        final = old if labels is None else labels
        props = encoded_changes(changes, schema.node_property_types(final))
        props[LABELS] = list(final)
        remove = tuple(sorted(set(old) - set(final)))
        add = tuple(sorted(set(final) - set(old)))
        groups.setdefault((remove, add), []).append({"id": node_id, "props": props})
    head = "MERGE" if merge else "MATCH"
    for (remove, add), rows in sorted(groups.items()):
        rows.sort(key=lambda row: row["id"])
        text = f"UNWIND $rows AS row {head} (n:{ns.n} {{{Q_KEY}: row.id}}) SET n += row.props"
        if remove:
            text += f" REMOVE n{ns.labels(remove)}"
        if add:
            text += f" SET n{ns.labels(add)}"
        for batch in runner.batches(rows):
            await (await tx.run(text, rows=list(batch))).consume()


async def _create_all(
    runner: TransactionRunner, tx: Tx, ns: Namespace, schema: GraphSchema, nodes: Sequence[Node], edges: Sequence[Edge]
) -> WriteResult:
    """The optimistic ERROR write: every item is new. Ids repeated in the request raise Conflict
    here, ids that exist raise it from the key constraints; an edge whose endpoint is missing
    creates nothing, which the created count reveals (Shortfall)."""
    plan = WritePlan(OnConflict.ERROR)
    for node in nodes:
        plan.node(node, False)
    for i, edge in enumerate(edges):
        plan.edge(i, edge, None)
    await _create_nodes(runner, tx, ns, schema, plan.node_creates)
    await _create_edges(runner, tx, ns, schema, plan.edge_creates, checked=True)
    return WriteResult(plan.inserted, plan.updated, plan.ignored)


async def _create_edges(
    runner: TransactionRunner,
    tx: Tx,
    ns: Namespace,
    schema: GraphSchema,
    creates: Mapping[str, Edge],
    *,
    checked: bool = False,
) -> None:
    """With `checked`, raise Shortfall when a batch creates fewer edges than it has rows (an
    endpoint is missing: the MATCH found no node)."""
    declared = EdgeTypes(schema)
    rows = [edge_row(edge, declared(edge.type)) for _id, edge in sorted(creates.items())]
    text = (
        f"UNWIND $rows AS row MATCH (a:{ns.n} {{{Q_KEY}: row.source}}) MATCH (b:{ns.n} {{{Q_KEY}: row.target}}) "
        f"CREATE (a)-[r:{ns.r}]->(b) SET r = row.props"
    )
    for batch in runner.batches(rows):
        summary = await (await tx.run(text, rows=list(batch))).consume()
        if checked and summary.counters.relationships_created != len(batch):
            raise Shortfall


async def _update_edges(
    runner: TransactionRunner, tx: Tx, ns: Namespace, schema: GraphSchema, updates: Mapping[str, Edge]
) -> None:
    """Merge properties into existing edges (their endpoints and type never change)."""
    declared = EdgeTypes(schema)
    rows = [edge_row(edge, declared(edge.type), merge=True) for _id, edge in sorted(updates.items())]
    text = f"UNWIND $rows AS row MATCH ()-[r:{ns.r} {{{Q_KEY}: row.id}}]->() SET r += row.props"
    for batch in runner.batches(rows):
        await (await tx.run(text, rows=list(batch))).consume()
