"""Neo4jGraphStore: graph datasets in one shared Neo4j (Community) database.

Isolation and naming are described in `namespacing`; value storage in `values`; filters in `cypher_filters`.
Every statement is a fixed template: user-chosen labels and property names reach it only validated
and backtick-quoted, values only as parameters. One request is one transaction (all-or-nothing);
bulk statements UNWIND batches of rows. Driver errors are translated in `driver.translated_errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors

from datainfra.adapters.neo4j import cypher_filters as cypher
from datainfra.adapters.neo4j import schema_ops
from datainfra.adapters.neo4j.driver import (
    ANSWER_GRACE_S,
    answered_within,
    not_retried_when_too_large,
    translated_errors,
)
from datainfra.adapters.neo4j.namespacing import KEY, LABELS, Q_KEY, Q_LABELS, Q_TYPE, TYPE, Namespace, order_key, quote
from datainfra.adapters.neo4j.values import decode_properties, decode_value, encode_properties
from datainfra.domain import algorithms
from datainfra.domain.algorithms import ProjectedEdge, Projection, Step, check_projection_size, least_cost
from datainfra.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PayloadTooLarge
from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import MAX_PATH_DEPTH, MAX_TRAVERSAL_DEPTH, Direction, Edge, Node, Path, Subgraph
from datainfra.domain.graph_schema import NODE_KEY, GraphSchema
from datainfra.domain.model import Dataset
from datainfra.domain.names import validate_name
from datainfra.domain.ports.graph_store import EdgePage, GraphStore, NodePage, NodeUpdate
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.domain.types import FieldType

T = TypeVar("T")
Tx = neo4j.AsyncManagedTransaction

DEFAULT_BATCH_SIZE = 10_000
DROP_BATCH_SIZE = 10_000
MAX_WEIGHTED_EDGES = 200_000
"""The most edges a path search (weighted, or all shortest paths) fetches before giving up."""
KEY_RACE_ATTEMPTS = 20
"""How often a checked write is planned at most when concurrent requests create its keys meanwhile.
Each race means one more of its keys exists, so a request creating n new keys needs at most n + 1
plans (unless others delete them again meanwhile)."""
PROJECTION_BATCH = 20_000
"""Rows per statement when projecting a graph for the algorithms."""
PING_ANSWER_S = 5.0
"""The readiness probe's connectivity check is abandoned after this."""

_EdgeIdentity = tuple[str, str, str]
"""(source, target, type) of a stored edge."""

_ARROWS = {Direction.OUT: ("-", "->"), Direction.IN: ("<-", "-"), Direction.BOTH: ("-", "-")}


def _answer_timeout(store: Neo4jGraphStore) -> float | None:
    return store._answer_timeout


def _ping_timeout(store: Neo4jGraphStore) -> float:
    return PING_ANSWER_S


class Neo4jGraphStore(GraphStore):
    def __init__(
        self,
        driver: neo4j.AsyncDriver,
        *,
        database: str = "neo4j",
        transaction_timeout: float | None = 60.0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_weighted_edges: int = MAX_WEIGHTED_EDGES,
        projection_batch: int = PROJECTION_BATCH,
    ) -> None:
        self._driver = driver
        self._database = database
        self._timeout = transaction_timeout
        self._answer_timeout = transaction_timeout + ANSWER_GRACE_S if transaction_timeout else None
        """Every transaction (and schema change) of one call ends within this, answered or not."""
        self._batch = batch_size
        self._max_weighted_edges = max_weighted_edges
        self._projection_batch = projection_batch

    @property
    def driver(self) -> neo4j.AsyncDriver:
        """The driver, shared with the Cypher query runner (one pool of Bolt connections)."""
        return self._driver

    # -- plumbing ---------------------------------------------------------------------------------

    @answered_within(_answer_timeout)
    async def _read(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        with translated_errors():
            async with self._driver.session(database=self._database) as session:
                return await session.execute_read(
                    neo4j.unit_of_work(timeout=self._timeout)(not_retried_when_too_large(work))
                )

    @answered_within(_answer_timeout)
    async def _write(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        with translated_errors():
            async with self._driver.session(database=self._database) as session:
                return await session.execute_write(
                    neo4j.unit_of_work(timeout=self._timeout)(not_retried_when_too_large(work))
                )

    def _batches(self, rows: Sequence[T]) -> Iterable[Sequence[T]]:
        for start in range(0, len(rows), self._batch):
            yield rows[start : start + self._batch]

    # -- lifecycle --------------------------------------------------------------------------------

    @answered_within(_ping_timeout)
    async def ping(self) -> None:
        with translated_errors():
            await self._driver.verify_connectivity()

    @answered_within(_answer_timeout)
    @answered_within(_answer_timeout)
    async def create_graph(self, dataset: Dataset) -> None:
        ns = Namespace.of(dataset.id)
        with translated_errors():
            async with self._driver.session(database=self._database) as session:
                objects = schema_ops.base_objects(ns) + schema_ops.declared_objects(ns, dataset.graph_schema)
                await schema_ops.apply(session, objects)

    @answered_within(_answer_timeout)
    async def migrate_graph(self, before: Dataset, after: Dataset) -> None:
        """New indexes over existing data may take a while to build: the schema transaction may use
        the store's transaction time limit, and the request waits up to 30 s for them to be online,
        so an index that existing values cannot fit fails the migration (422) rather than later."""
        ns = Namespace.of(after.id)
        schema = after.graph_schema
        if schema.strict:
            await self._read(lambda tx: _check_conforms(tx, ns, before.graph_schema, schema))
        with translated_errors():
            async with self._driver.session(database=self._database) as session:
                existing = await schema_ops.existing_objects(session, ns)
                wanted = schema_ops.base_objects(ns) + schema_ops.declared_objects(ns, schema)
                missing = [obj for obj in wanted if obj.name not in existing]
                wanted_names = {obj.name for obj in wanted}
                unwanted = {name: c for name, c in existing.items() if name not in wanted_names}
                await schema_ops.apply(
                    session, missing, unwanted, timeout=self._timeout, wait=schema_ops.MIGRATION_INDEX_WAIT_SECONDS
                )

    @answered_within(_answer_timeout)
    async def drop_graph(self, dataset: Dataset) -> None:
        """Relationships, then nodes, each deleted in inner transactions of bounded size (each
        statement idempotent, so a deadlock with another transaction is retried), then the
        dataset's schema objects."""
        ns = Namespace.of(dataset.id)
        with translated_errors():
            async with self._driver.session(database=self._database) as session:
                for text in (
                    f"MATCH ()-[r:{ns.r}]->() CALL {{ WITH r DELETE r }} IN TRANSACTIONS OF {DROP_BATCH_SIZE} ROWS",
                    f"MATCH (n:{ns.n}) CALL {{ WITH n DETACH DELETE n }} IN TRANSACTIONS OF {DROP_BATCH_SIZE} ROWS",
                ):
                    await schema_ops.run_idempotent(session, text, timeout=None)
                await schema_ops.drop_objects(session, await schema_ops.existing_objects(session, ns))

    # -- writes -----------------------------------------------------------------------------------

    async def write(
        self, dataset: Dataset, nodes: Sequence[Node], edges: Sequence[Edge], on_conflict: OnConflict
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
                return await self._write(lambda tx: self._create_all(tx, ns, schema, nodes, edges))
            except (Conflict, InvalidInput, _Shortfall):
                pass

        async def work(tx: Tx) -> WriteResult:
            try:
                return await checked(tx)
            except neo4j_errors.ConstraintError as exc:
                if KEY in (exc.message or ""):
                    raise _KeyRace from exc
                raise

        async def checked(tx: Tx) -> WriteResult:
            wanted = list(dict.fromkeys([n.id for n in nodes] + [e.source for e in edges] + [e.target for e in edges]))
            existing = await self._node_labels(tx, ns, wanted)
            old_edges = await self._existing_edges(tx, ns, list(dict.fromkeys(e.id for e in edges)))
            plan = _WritePlan(on_conflict)
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
            await self._create_nodes(tx, ns, schema, plan.node_creates)
            await self._update_nodes(tx, ns, schema, plan.node_updates, existing, merge=True)
            await self._update_edges(tx, ns, schema, plan.edge_updates)
            await self._create_edges(tx, ns, schema, plan.edge_creates)
            return WriteResult(plan.inserted, plan.updated, plan.ignored)

        for _attempt in range(KEY_RACE_ATTEMPTS - 1):
            try:
                return await self._write(work)
            except _KeyRace:
                continue  # another request created one of these keys meanwhile: plan again, seeing it
        try:
            return await self._write(work)
        except _KeyRace:
            raise Conflict("other requests kept creating the same node or edge ids meanwhile; try again") from None

    async def update_nodes(self, dataset: Dataset, updates: Sequence[NodeUpdate]) -> int:
        ns = Namespace.of(dataset.id)
        schema = dataset.graph_schema

        async def work(tx: Tx) -> int:
            existing = await self._node_labels(tx, ns, list(dict.fromkeys(u.id for u in updates)))
            merged: dict[str, tuple[tuple[str, ...] | None, dict[str, Any]]] = {}
            for i, update in enumerate(updates):
                if update.id not in existing:
                    raise InvalidInput(f"node {update.id!r} does not exist", index=i, field="id")
                labels, changes = merged.get(update.id, (None, {}))
                if update.labels is not None:
                    labels = tuple(dict.fromkeys(update.labels))
                changes = {**changes, **{k: v for k, v in update.properties.items() if k != NODE_KEY}}
                merged[update.id] = (labels, changes)
            await self._update_nodes(tx, ns, schema, merged, existing, merge=False)
            return len(updates)

        return await self._write(work)

    async def update_nodes_where(
        self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec, changes: dict[str, Any]
    ) -> int:
        ns = Namespace.of(dataset.id)
        declared = dataset.graph_schema.node_property_types(labels or None)
        params = cypher.Params()
        match = _node_match(ns, labels, filter, params)
        values = _encoded_changes({k: v for k, v in changes.items() if k != NODE_KEY}, declared)
        text = f"{match} SET n += {params.add(values)} RETURN count(n) AS changed"
        return await self._write(lambda tx: _single(tx, text, params.values, "changed"))

    async def delete_nodes_where(self, dataset: Dataset, labels: tuple[str, ...], filter: FilterSpec) -> int:
        ns = Namespace.of(dataset.id)
        params = cypher.Params()
        text = f"{_node_match(ns, labels, filter, params)} DETACH DELETE n RETURN count(*) AS deleted"
        return await self._write(lambda tx: _single(tx, text, params.values, "deleted"))

    async def delete_edges_where(self, dataset: Dataset, types: tuple[str, ...], filter: FilterSpec) -> int:
        ns = Namespace.of(dataset.id)
        params = cypher.Params()
        text = f"{_edge_match(ns, types, filter, params)} DELETE r RETURN count(*) AS deleted"
        return await self._write(lambda tx: _single(tx, text, params.values, "deleted"))

    # -- reads ------------------------------------------------------------------------------------

    async def find_nodes(self, dataset: Dataset, labels: tuple[str, ...], query: RecordQuery) -> NodePage:
        ns = Namespace.of(dataset.id)
        schema = dataset.graph_schema
        declared = schema.node_property_types(labels or None)
        field = cypher.node_field("n")

        async def work(tx: Tx) -> NodePage:
            params = cypher.Params()
            match = _node_match(ns, labels, query.filter, params)
            total = None
            if query.count is not None:
                total = await _single(tx, f"{match} RETURN count(n) AS total", params.values, "total")
            page = _page_clause(query, field, declared, params)
            result = await tx.run(f"{match} {page.where} RETURN properties(n) AS p {page.tail}", params.values)
            rows = [_node_out(record["p"], schema) for record in await result.fetch(query.limit + 1)]
            await result.consume()
            return NodePage(rows[: query.limit], len(rows) > query.limit, total)

        return await self._read(work)

    async def get_node(self, dataset: Dataset, node_id: str) -> Node | None:
        ns = Namespace.of(dataset.id)
        found = await self._read(lambda tx: _fetch_nodes(tx, ns, dataset.graph_schema, [node_id]))
        return found.get(node_id)

    async def find_edges(self, dataset: Dataset, types: tuple[str, ...], query: RecordQuery) -> EdgePage:
        ns = Namespace.of(dataset.id)
        schema = dataset.graph_schema
        declared = schema.edge_property_types(types or None)
        field = cypher.edge_field("r", "a", "b")

        async def work(tx: Tx) -> EdgePage:
            params = cypher.Params()
            match = _edge_match(ns, types, query.filter, params)
            total = None
            if query.count is not None:
                total = await _single(tx, f"{match} RETURN count(r) AS total", params.values, "total")
            page = _page_clause(query, field, declared, params)
            result = await tx.run(f"{match} {page.where} RETURN {_EDGE_RETURN} {page.tail}", params.values)
            rows = [_edge_out(record, schema) for record in await result.fetch(query.limit + 1)]
            await result.consume()
            return EdgePage(rows[: query.limit], len(rows) > query.limit, total)

        return await self._read(work)

    async def count_nodes(self, dataset: Dataset) -> int:
        ns = Namespace.of(dataset.id)
        return await self._read(lambda tx: _single(tx, f"MATCH (n:{ns.n}) RETURN count(n) AS c", {}, "c"))

    async def neighbors(
        self,
        dataset: Dataset,
        node_id: str,
        *,
        direction: Direction,
        types: tuple[str, ...],
        depth: int,
        limit: int,
    ) -> Subgraph:
        ns = Namespace.of(dataset.id)
        schema = dataset.graph_schema
        depth = max(0, min(int(depth), MAX_TRAVERSAL_DEPTH))
        limit = max(0, int(limit))
        left, right = _ARROWS[direction]
        type_test = f"r.{Q_TYPE} IN $types" if types else "true"
        hop = (
            f"UNWIND $frontier AS k MATCH (a:{ns.n} {{{Q_KEY}: k}}){left}[r:{ns.r}]{right}(b) "
            f"WHERE {type_test} RETURN DISTINCT b.{Q_KEY} AS id"
        )
        links = (
            f"UNWIND $tails AS k MATCH (a:{ns.n} {{{Q_KEY}: k}}){left}[r:{ns.r}]{right}(b) "
            f"WHERE {type_test} AND b.{Q_KEY} IN $kept "
            f"WITH DISTINCT r RETURN {_EDGE_RETURN_R}"
        )

        async def work(tx: Tx) -> Subgraph:
            start = await _fetch_nodes(tx, ns, schema, [node_id])
            if node_id not in start:
                raise NotFound(f"node {node_id!r} does not exist", key=node_id)
            distance = {node_id: 0}
            frontier = [node_id]
            for step in range(1, depth + 1):
                if not frontier or len(distance) - 1 >= limit:
                    break
                result = await tx.run(hop, frontier=frontier, types=list(types))
                found = sorted({record["id"] for record in await result.data()} - distance.keys())
                for far in found:
                    distance[far] = step
                frontier = found
            reached = sorted((d, n) for n, d in distance.items() if n != node_id)[:limit]
            kept = {node_id: 0} | {n: d for d, n in reached}
            tails = [n for n, d in kept.items() if d < depth]
            edges: dict[str, Edge] = {}
            if tails:
                result = await tx.run(links, tails=tails, kept=list(kept), types=list(types))
                for record in await result.data():
                    edge = _edge_out(record, schema)
                    edges[edge.id] = edge
            fetched = await _fetch_nodes(tx, ns, schema, [n for _d, n in reached])
            return Subgraph(
                nodes=tuple(fetched[n] for _d, n in reached),
                edges=tuple(edges[k] for k in sorted(edges)),
            )

        return await self._read(work)

    async def shortest_path(
        self,
        dataset: Dataset,
        source: str,
        target: str,
        *,
        direction: Direction,
        types: tuple[str, ...],
        weight: str | None,
        max_depth: int,
    ) -> Path | None:
        ns = Namespace.of(dataset.id)
        schema = dataset.graph_schema
        max_depth = max(0, min(int(max_depth), MAX_PATH_DEPTH))

        async def work(tx: Tx) -> Path | None:
            ends = await _fetch_nodes(tx, ns, schema, list(dict.fromkeys([source, target])))
            if source not in ends or target not in ends:
                return None
            if source == target:
                return Path(nodes=(ends[source],), edges=(), cost=None if weight is None else 0)
            if max_depth < 1:
                return None
            if weight is None:
                return await _fewest_hops(tx, ns, schema, source, target, direction, types, max_depth)
            return await self._least_cost(tx, ns, schema, source, target, direction, types, weight, max_depth)

        return await self._read(work)

    async def _least_cost(
        self,
        tx: Tx,
        ns: Namespace,
        schema: GraphSchema,
        source: str,
        target: str,
        direction: Direction,
        types: tuple[str, ...],
        weight: str,
        max_depth: int,
    ) -> Path | None:
        """Fetch the subgraph within `max_depth` hops (bounded by `max_weighted_edges`), then
        Dijkstra in Python."""
        adjacency = await self._ball(tx, ns, schema, source, target, direction, types, weight, max_depth)
        for steps in adjacency.values():
            steps.sort(key=lambda s: s.edge_id)
        found = least_cost(lambda node: adjacency.get(node, ()), source, target, weight, max_depth)
        if found is None:
            return None
        steps, cost = found
        return await _assemble_path(tx, ns, schema, source, [s.edge_id for s in steps], [s.far for s in steps], cost)

    async def all_shortest_paths(
        self,
        dataset: Dataset,
        source: str,
        target: str,
        *,
        direction: Direction,
        types: tuple[str, ...],
        weight: str | None,
        max_depth: int,
        limit: int,
    ) -> list[Path]:
        """Fetch the edges around the source (as `_ball` says), then the shared search of
        `domain.algorithms`, so the paths and their order are the in-memory adapter's."""
        ns = Namespace.of(dataset.id)
        schema = dataset.graph_schema
        max_depth = max(0, min(int(max_depth), MAX_PATH_DEPTH))

        async def work(tx: Tx) -> list[Path]:
            ends = await _fetch_nodes(tx, ns, schema, list(dict.fromkeys([source, target])))
            if source not in ends or target not in ends:
                return []
            adjacency = await self._ball(tx, ns, schema, source, target, direction, types, weight, max_depth)
            found = algorithms.all_shortest_paths(
                adjacency, source, target, weight=weight, max_depth=max_depth, limit=limit
            )
            return await self._assemble_paths(tx, ns, schema, found)

        return await self._read(work)

    async def _ball(
        self,
        tx: Tx,
        ns: Namespace,
        schema: GraphSchema,
        source: str,
        target: str,
        direction: Direction,
        types: tuple[str, ...],
        weight: str | None,
        max_depth: int,
    ) -> dict[str, list[Step]]:
        """The followable steps of every node within max_depth - 1 hops of the source, hop by hop;
        unweighted the walk stops once the target is reached (no shortest path goes further);
        weighted it only follows edges that have the weight. At most `max_weighted_edges` steps,
        else PayloadTooLarge."""
        left, right = _ARROWS[direction]
        type_test = f"r.{Q_TYPE} IN $types" if types else "true"
        declared = schema.edge_property_types()
        if weight is None:
            weight_test, weight_value = "", "null"
        else:
            stored = quote(validate_name(weight, what="weight property", field="weight"))
            weight_test, weight_value = f" AND r.{stored} IS NOT NULL", f"r.{stored}"
        hop = (
            f"UNWIND $frontier AS k MATCH (a:{ns.n} {{{Q_KEY}: k}}){left}[r:{ns.r}]{right}(b) "
            f"WHERE {type_test}{weight_test} "
            f"RETURN k AS tail, r.{Q_KEY} AS id, b.{Q_KEY} AS far, r.{Q_TYPE} AS type, {weight_value} AS w"
        )
        adjacency: dict[str, list[Step]] = {}
        seen = {source}
        frontier = [source]
        fetched = 0
        for _hop in range(max_depth):
            if not frontier or (weight is None and target in seen):
                break
            result = await tx.run(hop, frontier=frontier, types=list(types))
            following: list[str] = []
            async for record in result:
                fetched += 1
                if fetched > self._max_weighted_edges:
                    raise PayloadTooLarge(
                        f"a path search may look at most {self._max_weighted_edges} edges; "
                        "narrow it with types or max_depth",
                        field="weight" if weight is not None else "max_depth",
                    )
                value = None
                if weight is not None:
                    edge_types = schema.edge_property_types((record["type"],)) if declared else {}
                    value = decode_value(record["w"], edge_types.get(weight))
                adjacency.setdefault(record["tail"], []).append(Step(record["id"], record["far"], value))
                if record["far"] not in seen:
                    seen.add(record["far"])
                    following.append(record["far"])
            frontier = following
        return adjacency

    async def _assemble_paths(
        self, tx: Tx, ns: Namespace, schema: GraphSchema, found: Sequence[algorithms.FoundPath]
    ) -> list[Path]:
        """Paths of ids to paths of nodes and edges, each node and edge read once."""
        node_ids = list(dict.fromkeys(n for path in found for n in path.nodes))
        edge_ids = list(dict.fromkeys(e for path in found for e in path.edges))
        nodes: dict[str, Node] = {}
        for batch in self._batches(node_ids):
            nodes.update(await _fetch_nodes(tx, ns, schema, list(batch)))
        edges: dict[str, Edge] = {}
        text = f"UNWIND $ids AS k MATCH (a)-[r:{ns.r} {{{Q_KEY}: k}}]->(b) RETURN {_EDGE_RETURN}"
        for batch in self._batches(edge_ids):
            result = await tx.run(text, ids=list(batch))
            for record in await result.data():
                edge = _edge_out(record, schema)
                edges[edge.id] = edge
        return [
            Path(
                nodes=tuple(nodes[n] for n in path.nodes),
                edges=tuple(edges[e] for e in path.edges),
                cost=path.cost,
            )
            for path in found
        ]

    # -- algorithms -------------------------------------------------------------------------------

    async def project(
        self, dataset: Dataset, *, types: tuple[str, ...], weight: str | None, max_nodes: int, max_edges: int
    ) -> Projection:
        """Count first (refusing an oversized graph before reading it), then read node ids and edges
        in key order, `projection_batch` rows per statement, each collected into one list (far
        cheaper for the driver than a record per row) and each in its own short transaction, so
        no single transaction runs into the timeout however big the graph. An edge created
        meanwhile may name a node the node scan missed: its ends join the node ids."""
        ns = Namespace.of(dataset.id)
        schema = dataset.graph_schema
        type_test = f"r.{Q_TYPE} IN $types" if types else "true"
        weight_value = "null"
        if weight is not None:
            weight_value = f"r.{quote(validate_name(weight, what='weight property', field='weight'))}"
        limits = {"max_nodes": max_nodes, "max_edges": max_edges}

        async def counts(tx: Tx) -> tuple[int, int]:
            nodes = await _single(tx, f"MATCH (n:{ns.n}) RETURN count(n) AS c", {}, "c")
            text = f"MATCH ()-[r:{ns.r}]->() WHERE {type_test} RETURN count(r) AS c"
            return nodes, await _single(tx, text, {"types": list(types)}, "c")

        check_projection_size(*await self._read(counts), **limits)
        node_ids: list[str] = []
        node_text = (
            f"MATCH (n:{ns.n}) WHERE n.{Q_KEY} > $after WITH n ORDER BY n.{Q_KEY} LIMIT $batch "
            f"RETURN collect(n.{Q_KEY}) AS rows"
        )
        async for batch in self._key_ordered(node_text, {}):
            node_ids.extend(batch)
            check_projection_size(len(node_ids), 0, **limits)
        edges: list[ProjectedEdge] = []
        weight_types: dict[str, FieldType | None] = {}
        edge_text = (
            f"MATCH (a)-[r:{ns.r}]->(b) WHERE r.{Q_KEY} > $after AND {type_test} "
            f"WITH r, a, b ORDER BY r.{Q_KEY} LIMIT $batch "
            f"RETURN collect([r.{Q_KEY}, a.{Q_KEY}, b.{Q_KEY}, r.{Q_TYPE}, {weight_value}]) AS rows"
        )
        async for batch in self._key_ordered(edge_text, {"types": list(types)}):
            for edge_id, source, target, rel_type, value in batch:
                if value is not None and weight is not None:
                    if rel_type not in weight_types:
                        weight_types[rel_type] = schema.edge_property_types((rel_type,)).get(weight)
                    value = decode_value(value, weight_types[rel_type])
                edges.append(ProjectedEdge(edge_id, source, target, value))
            check_projection_size(0, len(edges), **limits)
        known = set(node_ids)
        for edge in edges:
            for end in (edge.source, edge.target):
                if end not in known:
                    known.add(end)
                    node_ids.append(end)
        return Projection(tuple(node_ids), tuple(edges))

    async def _key_ordered(self, text: str, params: Mapping[str, Any]) -> AsyncIterator[list[Any]]:
        """Run a keyset-paged statement (parameters $after, $batch; one row `rows` whose items
        start with the key) until it returns an empty list."""
        after = ""
        while True:
            values = {**params, "after": after, "batch": self._projection_batch}

            async def page(tx: Tx, values: Mapping[str, Any] = values) -> list[Any]:
                return list(await _single(tx, text, values, "rows"))

            rows = await self._read(page)
            if not rows:
                return
            yield rows
            last = rows[-1]
            after = last[0] if isinstance(last, list) else last

    # -- write helpers ----------------------------------------------------------------------------

    async def _node_labels(self, tx: Tx, ns: Namespace, ids: list[str]) -> dict[str, tuple[str, ...]]:
        """The client labels of the nodes among `ids` that exist."""
        found: dict[str, tuple[str, ...]] = {}
        text = f"UNWIND $ids AS k MATCH (n:{ns.n} {{{Q_KEY}: k}}) RETURN k AS id, n.{Q_LABELS} AS labels"
        for batch in self._batches(ids):
            result = await tx.run(text, ids=list(batch))
            for record in await result.data():
                found[record["id"]] = tuple(record["labels"] or ())
        return found

    async def _existing_edges(self, tx: Tx, ns: Namespace, ids: list[str]) -> dict[str, _EdgeIdentity]:
        """(source, target, type) of the edges among `ids` that exist."""
        found: dict[str, _EdgeIdentity] = {}
        text = (
            f"UNWIND $ids AS k MATCH (a)-[r:{ns.r} {{{Q_KEY}: k}}]->(b) "
            f"RETURN k AS id, a.{Q_KEY} AS s, b.{Q_KEY} AS t, r.{Q_TYPE} AS type"
        )
        for batch in self._batches(ids):
            result = await tx.run(text, ids=list(batch))
            for record in await result.data():
                found[record["id"]] = (record["s"], record["t"], record["type"])
        return found

    async def _create_nodes(
        self, tx: Tx, ns: Namespace, schema: GraphSchema, creates: Mapping[str, tuple[tuple[str, ...], dict[str, Any]]]
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
            for batch in self._batches(rows):
                await (await tx.run(text, rows=list(batch))).consume()

    async def _update_nodes(
        self,
        tx: Tx,
        ns: Namespace,
        schema: GraphSchema,
        updates: Mapping[str, tuple[tuple[str, ...] | None, dict[str, Any]]],
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
            props = _encoded_changes(changes, schema.node_property_types(final))
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
            for batch in self._batches(rows):
                await (await tx.run(text, rows=list(batch))).consume()

    async def _create_all(
        self, tx: Tx, ns: Namespace, schema: GraphSchema, nodes: Sequence[Node], edges: Sequence[Edge]
    ) -> WriteResult:
        """The optimistic ERROR write: every item is new. Ids repeated in the request raise Conflict
        here, ids that exist raise it from the key constraints; an edge whose endpoint is missing
        creates nothing, which the created count reveals (_Shortfall)."""
        plan = _WritePlan(OnConflict.ERROR)
        for node in nodes:
            plan.node(node, False)
        for i, edge in enumerate(edges):
            plan.edge(i, edge, None)
        await self._create_nodes(tx, ns, schema, plan.node_creates)
        await self._create_edges(tx, ns, schema, plan.edge_creates, checked=True)
        return WriteResult(plan.inserted, plan.updated, plan.ignored)

    async def _create_edges(
        self, tx: Tx, ns: Namespace, schema: GraphSchema, creates: Mapping[str, Edge], *, checked: bool = False
    ) -> None:
        """With `checked`, raise _Shortfall when a batch creates fewer edges than it has rows (an
        endpoint is missing: the MATCH found no node)."""
        declared = _EdgeTypes(schema)
        rows = [_edge_row(edge, declared(edge.type)) for _id, edge in sorted(creates.items())]
        text = (
            f"UNWIND $rows AS row MATCH (a:{ns.n} {{{Q_KEY}: row.source}}) MATCH (b:{ns.n} {{{Q_KEY}: row.target}}) "
            f"CREATE (a)-[r:{ns.r}]->(b) SET r = row.props"
        )
        for batch in self._batches(rows):
            summary = await (await tx.run(text, rows=list(batch))).consume()
            if checked and summary.counters.relationships_created != len(batch):
                raise _Shortfall

    async def _update_edges(self, tx: Tx, ns: Namespace, schema: GraphSchema, updates: Mapping[str, Edge]) -> None:
        """Merge properties into existing edges (their endpoints and type never change)."""
        declared = _EdgeTypes(schema)
        rows = [_edge_row(edge, declared(edge.type), merge=True) for _id, edge in sorted(updates.items())]
        text = f"UNWIND $rows AS row MATCH ()-[r:{ns.r} {{{Q_KEY}: row.id}}]->() SET r += row.props"
        for batch in self._batches(rows):
            await (await tx.run(text, rows=list(batch))).consume()


# -- write planning -------------------------------------------------------------------------------


class _KeyRace(Exception):
    """A checked write created a key that another transaction committed after our read."""


class _Shortfall(Exception):
    """An optimistic edge batch created fewer edges than asked: some endpoint is missing."""


class _WritePlan:
    """Decides, request item by request item, what a write does (as the in-memory adapter stages it):
    repeats of an id within the request behave like a second write of it."""

    def __init__(self, on_conflict: OnConflict) -> None:
        self.on_conflict = on_conflict
        self.node_creates: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {}
        self.node_updates: dict[str, tuple[tuple[str, ...] | None, dict[str, Any]]] = {}
        self.edge_creates: dict[str, Edge] = {}
        self.edge_updates: dict[str, Edge] = {}
        self.inserted = self.updated = self.ignored = 0

    def _conflict(self, what: str, key: str) -> bool:
        """True when the item is to be applied as an update."""
        if self.on_conflict is OnConflict.ERROR:
            raise Conflict(f"{what} {key!r} already exists", key=key)
        if self.on_conflict is OnConflict.UPDATE:
            self.updated += 1
            return True
        self.ignored += 1
        return False

    def node(self, node: Node, exists: bool) -> None:
        labels = tuple(dict.fromkeys(node.labels))
        changes = {k: v for k, v in node.properties.items() if k != NODE_KEY}
        if node.id in self.node_creates:
            if self._conflict("node", node.id):
                _old, before = self.node_creates[node.id]
                self.node_creates[node.id] = (labels, _merged(before, changes))
        elif exists or node.id in self.node_updates:
            if self._conflict("node", node.id):
                _old_labels, before = self.node_updates.get(node.id, (None, {}))
                self.node_updates[node.id] = (labels, {**before, **changes})
        else:
            self.node_creates[node.id] = (labels, _merged({}, changes))
            self.inserted += 1

    def edge(self, index: int, edge: Edge, stored: _EdgeIdentity | None) -> None:
        changes = dict(edge.properties)
        staged = self.edge_creates.get(edge.id) or self.edge_updates.get(edge.id)
        old = (staged.source, staged.target, staged.type) if staged else stored
        if old is None:
            self.edge_creates[edge.id] = _moved(edge, _merged({}, changes))
            self.inserted += 1
            return
        if self.on_conflict is OnConflict.UPDATE and old != (edge.source, edge.target, edge.type):
            raise InvalidInput(
                f"edge {edge.id!r}: an edge's source, target and type cannot change; delete it and create a new one",
                index=index,
                field=f"edges[{index}]",
            )
        if not self._conflict("edge", edge.id):
            return
        if edge.id in self.edge_creates:
            self.edge_creates[edge.id] = _moved(edge, _merged(self.edge_creates[edge.id].properties, changes))
        else:
            prior = self.edge_updates.get(edge.id)
            self.edge_updates[edge.id] = _moved(edge, {**(prior.properties if prior else {}), **changes})


def _merged(old: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`SET n += changes` on a property map: a None value removes the property."""
    merged = dict(old)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _moved(edge: Edge, properties: dict[str, Any]) -> Edge:
    return Edge(edge.id, edge.source, edge.target, edge.type, properties)


def _encoded_changes(changes: Mapping[str, Any], declared: Mapping[str, FieldType]) -> dict[str, Any]:
    """Property changes to `SET n += ...`: a changed property also drops a numeric order key it may
    have had (under another label its type may differ)."""
    encoded = encode_properties(changes, declared)
    for name in changes:
        encoded.setdefault(order_key(name), None)
    return encoded


class _EdgeTypes:
    """Declared property types by relationship type, looked up once per type of a request."""

    def __init__(self, schema: GraphSchema) -> None:
        self._schema = schema
        self._found: dict[str, dict[str, FieldType]] = {}

    def __call__(self, rel_type: str) -> dict[str, FieldType]:
        found = self._found.get(rel_type)
        if found is None:
            found = self._found[rel_type] = self._schema.edge_property_types((rel_type,))
        return found


def _edge_row(edge: Edge, declared: Mapping[str, FieldType], *, merge: bool = False) -> dict[str, Any]:
    props = _encoded_changes(edge.properties, declared) if merge else encode_properties(edge.properties, declared)
    props = {KEY: edge.id, TYPE: edge.type, **props}
    if not merge:
        props = {k: v for k, v in props.items() if v is not None}
    return {"id": edge.id, "source": edge.source, "target": edge.target, "props": props}


# -- read helpers ---------------------------------------------------------------------------------

_EDGE_RETURN = f"properties(r) AS p, a.{Q_KEY} AS s, b.{Q_KEY} AS t"
_EDGE_RETURN_R = f"properties(r) AS p, startNode(r).{Q_KEY} AS s, endNode(r).{Q_KEY} AS t"


class _PageClause:
    def __init__(self, where: str, tail: str) -> None:
        self.where = where
        self.tail = tail


def _page_clause(
    query: RecordQuery, field: cypher.FieldExpr, declared: Mapping[str, FieldType], params: cypher.Params
) -> _PageClause:
    """Keyset bound, ORDER BY (always ending with the key, so pages are stable), SKIP and LIMIT."""
    sort = tuple(query.sort)
    if not any(k.field == NODE_KEY for k in sort):
        sort = (*sort, SortKey(NODE_KEY))
    where = ""
    if query.after is not None:
        where = "AND " + cypher.after(query.sort, query.after, field, declared, params)
    tail = (
        f"{cypher.order_by(sort, field, declared)} SKIP {params.add(query.offset)} LIMIT {params.add(query.limit + 1)}"
    )
    return _PageClause(where, tail)


def _node_match(ns: Namespace, labels: tuple[str, ...], spec: FilterSpec, params: cypher.Params) -> str:
    """`MATCH (n...) WHERE ...` for the dataset's nodes with every label of `labels`; the namespaced
    client labels alone already pin the dataset, so the planner may scan the smallest label."""
    pattern = f"(n{ns.labels(labels)})" if labels else f"(n:{ns.n})"
    conditions = cypher.where(spec, cypher.node_field("n"), params)
    return f"MATCH {pattern} WHERE " + " AND ".join(["true", *conditions])


def _edge_match(ns: Namespace, types: tuple[str, ...], spec: FilterSpec, params: cypher.Params) -> str:
    conditions = cypher.where(spec, cypher.edge_field("r", "a", "b"), params)
    if types:
        conditions.insert(0, f"r.{Q_TYPE} IN {params.add(list(types))}")
    return f"MATCH (a)-[r:{ns.r}]->(b) WHERE " + " AND ".join(["true", *conditions])


async def _single(tx: Tx, text: str, params: Mapping[str, Any], key: str) -> Any:
    result = await tx.run(text, dict(params))
    record = await result.single(strict=True)
    return record[key]


async def _fetch_nodes(tx: Tx, ns: Namespace, schema: GraphSchema, ids: list[str]) -> dict[str, Node]:
    result = await tx.run(f"UNWIND $ids AS k MATCH (n:{ns.n} {{{Q_KEY}: k}}) RETURN properties(n) AS p", ids=ids)
    nodes = [_node_out(record["p"], schema) for record in await result.data()]
    return {node.id: node for node in nodes}


def _node_out(stored: Mapping[str, Any], schema: GraphSchema) -> Node:
    labels = tuple(stored.get(LABELS) or ())
    return Node(id=stored[KEY], labels=labels, properties=decode_properties(stored, schema.node_property_types(labels)))


def _edge_out(record: Mapping[str, Any], schema: GraphSchema) -> Edge:
    stored = record["p"]
    rel_type = stored[TYPE]
    return Edge(
        id=stored[KEY],
        source=record["s"],
        target=record["t"],
        type=rel_type,
        properties=decode_properties(stored, schema.edge_property_types((rel_type,))),
    )


async def _fewest_hops(
    tx: Tx,
    ns: Namespace,
    schema: GraphSchema,
    source: str,
    target: str,
    direction: Direction,
    types: tuple[str, ...],
    max_depth: int,
) -> Path | None:
    left, right = _ARROWS[direction]
    type_test = f"WHERE all(r IN relationships(p) WHERE r.{Q_TYPE} IN $types) " if types else ""
    text = (
        f"MATCH (a:{ns.n} {{{Q_KEY}: $source}}) MATCH (b:{ns.n} {{{Q_KEY}: $target}}) "
        f"MATCH p = shortestPath((a){left}[:{ns.r}*1..{max_depth:d}]{right}(b)) {type_test}"
        f"RETURN [r IN relationships(p) | r.{Q_KEY}] AS edges, [n IN nodes(p) | n.{Q_KEY}] AS nodes LIMIT 1"
    )
    result = await tx.run(text, source=source, target=target, types=list(types))
    record = await result.single()
    if record is None:
        return None
    return await _assemble_path(tx, ns, schema, source, list(record["edges"]), list(record["nodes"])[1:], None)


async def _assemble_path(
    tx: Tx,
    ns: Namespace,
    schema: GraphSchema,
    source: str,
    edge_ids: list[str],
    far_ends: list[str],
    cost: Any,
) -> Path:
    node_ids = [source, *far_ends]
    nodes = await _fetch_nodes(tx, ns, schema, list(dict.fromkeys(node_ids)))
    result = await tx.run(
        f"UNWIND $ids AS k MATCH (a)-[r:{ns.r} {{{Q_KEY}: k}}]->(b) RETURN {_EDGE_RETURN}", ids=edge_ids
    )
    edges = {edge.id: edge for edge in (_edge_out(record, schema) for record in await result.data())}
    return Path(
        nodes=tuple(nodes[n] for n in node_ids),
        edges=tuple(edges[e] for e in edge_ids),
        cost=cost,
    )


# -- schema conformance ---------------------------------------------------------------------------


async def _check_conforms(tx: Tx, ns: Namespace, before: GraphSchema, after: GraphSchema) -> None:
    """A strict schema over existing data: every label, type and property must be declared and typed.
    Streams the dataset in key order (the same first offender as the in-memory adapter)."""
    result = await tx.run(f"MATCH (n:{ns.n}) RETURN properties(n) AS p ORDER BY n.{Q_KEY}")
    async for record in result:
        node = _node_out(record["p"], before)
        try:
            after.coerce_node_properties(node.labels, node.properties, 0)
        except DomainError as exc:
            raise InvalidInput(f"node {node.id!r} does not fit the schema: {exc.detail}", field="schema") from None
    result = await tx.run(f"MATCH (a)-[r:{ns.r}]->(b) RETURN {_EDGE_RETURN} ORDER BY r.{Q_KEY}")
    async for record in result:
        edge = _edge_out(record, before)
        try:
            after.coerce_edge_properties(edge.type, edge.properties, 0)
        except DomainError as exc:
            raise InvalidInput(f"edge {edge.id!r} does not fit the schema: {exc.detail}", field="schema") from None
