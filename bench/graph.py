"""Issue 4: a graph loaded through the API (nodes, then edges, in request chunks) and through the raw
neo4j driver with the same batched UNWIND (one transaction per chunk, UNWIND batches of the store's
size) into a separate label; then p50/p99 of a 2-hop neighbours call, of a shortest path and (issue
11) of a 2-hop Cypher query through the query endpoint, each against the bare Cypher.

Both paths first load a small warm-up graph (untimed), so neither pays the JVM's and the Cypher
planner's warm-up alone. The reads go through `KeepAliveClient` (one kept-open connection, a few
microseconds a request), not httpx, whose own cost per request is several times the server's and
would be counted against the API: the figure is the API's, not the client library's."""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import neo4j

from bench.api_process import Api
from bench.config import BenchConfig
from bench.figures import measured
from bench.http_client import KeepAliveClient
from bench.load import LoadResult, sample
from bench.report import Report, say
from bench.servers import Servers
from bench.uploads import create_dataset, expect, new_session

SCHEMA = {
    "node_labels": [{"name": "Item", "properties": [{"name": "v", "type": "integer"}]}],
    "relationship_types": [{"name": "LINK", "properties": [{"name": "w", "type": "float"}]}],
}

Edge = tuple[int, int, float]


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: int
    edges: list[Edge]


def make_graph(nodes: int, edges: int, seed: int) -> Graph:
    rng = random.Random(seed)
    return Graph(nodes, [(rng.randrange(nodes), rng.randrange(nodes), round(rng.random(), 4)) for _ in range(edges)])


def _node_id(i: int) -> str:
    return f"n{i}"


def api_bodies(graph: Graph, chunk: int) -> tuple[list[bytes], list[bytes]]:
    encoder = msgspec.json.Encoder()
    node_bodies = [
        encoder.encode(
            {
                "nodes": [
                    {"id": _node_id(i), "labels": ["Item"], "properties": {"v": i}}
                    for i in range(start, min(start + chunk, graph.nodes))
                ]
            }
        )
        for start in range(0, graph.nodes, chunk)
    ]
    edge_bodies = [
        encoder.encode(
            {
                "edges": [
                    {"source": _node_id(s), "target": _node_id(t), "type": "LINK", "properties": {"w": w}}
                    for s, t, w in graph.edges[start : start + chunk]
                ]
            }
        )
        for start in range(0, len(graph.edges), chunk)
    ]
    return node_bodies, edge_bodies


class RawGraph:
    """The same graph through the driver into the store's storage model: nodes with the dataset label
    `BenchItem_<hex>` plus one label per client label, an id, the list of client labels and the
    properties; relationships of one type `BENCH_LINK_<hex>` with their own id, the client type as a
    property and the properties; the store's schema objects (unique node id, unique relationship id,
    an index on the relationship's type), so the ratio measures the API, not the model."""

    def __init__(self, driver: neo4j.AsyncDriver, unwind_batch: int) -> None:
        tag = secrets.token_hex(6)
        self.label = f"BenchItem_{tag}"
        self.rel = f"BENCH_LINK_{tag}"
        self.constraint = f"bench_item_{tag}"
        self.edge_constraint = f"bench_link_{tag}"
        self.type_index = f"bench_link_type_{tag}"
        self._driver = driver
        self._batch = unwind_batch

    async def prepare(self) -> None:
        await self._driver.execute_query(
            f"CREATE CONSTRAINT {self.constraint} IF NOT EXISTS FOR (n:{self.label}) REQUIRE n.id IS UNIQUE",
            database_="neo4j",
        )
        await self._driver.execute_query(
            f"CREATE CONSTRAINT {self.edge_constraint} IF NOT EXISTS FOR ()-[r:{self.rel}]-() REQUIRE r.id IS UNIQUE",
            database_="neo4j",
        )
        await self._driver.execute_query(
            f"CREATE INDEX {self.type_index} IF NOT EXISTS FOR ()-[r:{self.rel}]-() ON (r.type)", database_="neo4j"
        )
        await self._driver.execute_query("CALL db.awaitIndexes(300)", database_="neo4j")

    async def _write_chunks(self, text: str, rows: Sequence[dict[str, Any]], chunk: int) -> None:
        batch = self._batch

        async def work(tx: neo4j.AsyncManagedTransaction, part: Sequence[dict[str, Any]]) -> None:
            for start in range(0, len(part), batch):
                await (await tx.run(text, rows=list(part[start : start + batch]))).consume()

        async with self._driver.session(database="neo4j") as session:
            for start in range(0, len(rows), chunk):
                await session.execute_write(work, rows[start : start + chunk])

    async def load_nodes(self, first: int, count: int, chunk: int) -> None:
        rows = [{"id": _node_id(i), "labels": ["Item"], "v": i} for i in range(first, first + count)]
        text = f"UNWIND $rows AS row CREATE (n:{self.label}:{self.label}_Item) SET n = row"
        await self._write_chunks(text, rows, chunk)

    async def load_edges(self, edges: Sequence[Edge], chunk: int) -> None:
        rows = [
            {"s": _node_id(s), "t": _node_id(t), "p": {"id": uuid.uuid4().hex, "type": "LINK", "w": w}}
            for s, t, w in edges
        ]
        text = (
            f"UNWIND $rows AS row MATCH (a:{self.label} {{id: row.s}}) MATCH (b:{self.label} {{id: row.t}}) "
            f"CREATE (a)-[r:{self.rel}]->(b) SET r = row.p"
        )
        await self._write_chunks(text, rows, chunk)

    async def two_hops(self, node: str) -> None:
        await self._driver.execute_query(
            f"MATCH (a:{self.label} {{id: $id}})-[:{self.rel}*1..2]->(b) RETURN DISTINCT b.id AS id",
            id=node,
            database_="neo4j",
            routing_=neo4j.RoutingControl.READ,
        )

    def cypher_2hop(self) -> str:
        """`CYPHER_2HOP` as it reads on the raw graph, whose key is the property `id`."""
        return f"MATCH (a:{self.label}) WHERE a.id = $id MATCH (a)-[:{self.rel}*1..2]->(b) RETURN DISTINCT b.id AS id"

    async def cypher_two_hops(self, node: str) -> None:
        await self._driver.execute_query(
            self.cypher_2hop(), id=node, database_="neo4j", routing_=neo4j.RoutingControl.READ
        )

    async def cypher_two_hop_ids(self, node: str) -> list[str]:
        """What `cypher_two_hops` answers, as sorted ids (to check the API's Cypher answers the same)."""
        records, _, _ = await self._driver.execute_query(
            self.cypher_2hop(), id=node, database_="neo4j", routing_=neo4j.RoutingControl.READ
        )
        return sorted(record["id"] for record in records)

    async def shortest_path(self, source: str, target: str) -> None:
        await self._driver.execute_query(
            f"MATCH (a:{self.label} {{id: $s}}) MATCH (b:{self.label} {{id: $t}}) "
            f"MATCH p = shortestPath((a)-[:{self.rel}*1..15]->(b)) "
            "RETURN [n IN nodes(p) | n.id] AS nodes LIMIT 1",
            s=source,
            t=target,
            database_="neo4j",
            routing_=neo4j.RoutingControl.READ,
        )

    async def drop(self) -> None:
        # CALL ... IN TRANSACTIONS needs an implicit (auto-commit) transaction: session.run.
        async with self._driver.session(database="neo4j") as session:
            result = await session.run(
                f"MATCH (n:{self.label}) CALL {{ WITH n DETACH DELETE n }} IN TRANSACTIONS OF 10000 ROWS"
            )
            await result.consume()
        for name in (self.constraint, self.edge_constraint):
            await self._driver.execute_query(f"DROP CONSTRAINT {name} IF EXISTS", database_="neo4j")
        await self._driver.execute_query(f"DROP INDEX {self.type_index} IF EXISTS", database_="neo4j")


async def _post_all(client: httpx.AsyncClient, path: str, bodies: Sequence[bytes]) -> None:
    for body in bodies:
        response = await client.post(path, content=body, headers={"content-type": "application/json"})
        expect(response, 201)


async def run_graph(config: BenchConfig, api: Api, client: httpx.AsyncClient, servers: Servers, report: Report) -> None:
    say(f"graph: generating {config.nodes:,} nodes and {config.edges:,} edges")
    graph = make_graph(config.nodes, config.edges, config.seed)
    node_bodies, edge_bodies = api_bodies(graph, config.graph_chunk)
    warm = make_graph(min(2000, max(50, config.nodes // 5)), min(5000, max(100, config.edges // 5)), config.seed + 7)
    warm_nodes, warm_edges = api_bodies(warm, config.graph_chunk)
    report.notes.append(
        f"graph: {config.nodes:,} nodes + {config.edges:,} random directed edges; API requests of "
        f"<= {config.graph_chunk:,} items ({len(node_bodies)} node + {len(edge_bodies)} edge requests, "
        f"{(sum(map(len, node_bodies)) + sum(map(len, edge_bodies))) / 1e6:.0f} MB); raw: one transaction per "
        f"{config.graph_chunk:,} items, UNWIND batches of {config.unwind_batch:,}, the store's model (own labels, "
        "unique node and relationship ids, relationship type index)"
    )

    if servers.neo4j is None:
        raise RuntimeError(servers.neo4j_error or "no Neo4j")
    session_id = await new_session(client, "bench-graph")
    dataset_id = await create_dataset(client, session_id, "bench_graph", "graph", SCHEMA)
    warm_id = await create_dataset(client, session_id, "bench_warmup", "graph", SCHEMA)
    base = f"/sessions/{session_id}/datasets"

    endpoint = servers.neo4j
    async with neo4j.AsyncGraphDatabase.driver(
        endpoint.uri, auth=endpoint.auth, notifications_min_severity="OFF"
    ) as driver:
        raw = RawGraph(driver, config.unwind_batch)
        warm_raw = RawGraph(driver, config.unwind_batch)
        await raw.prepare()
        await warm_raw.prepare()
        try:
            say("graph: warm-up (untimed)")
            await _post_all(client, f"{base}/{warm_id}/records", warm_nodes + warm_edges)
            await warm_raw.load_nodes(0, warm.nodes, config.graph_chunk)
            await warm_raw.load_edges(warm.edges, config.graph_chunk)

            say("graph: load through the API")
            began = time.perf_counter()
            await _post_all(client, f"{base}/{dataset_id}/records", node_bodies)
            api_nodes_s = time.perf_counter() - began
            await _post_all(client, f"{base}/{dataset_id}/records", edge_bodies)
            api_total_s = time.perf_counter() - began
            del node_bodies, edge_bodies

            say("graph: load through the raw driver")
            began = time.perf_counter()
            await raw.load_nodes(0, graph.nodes, config.graph_chunk)
            raw_nodes_s = time.perf_counter() - began
            await raw.load_edges(graph.edges, config.graph_chunk)
            raw_total_s = time.perf_counter() - began

            nodes, edges = config.nodes, config.edges
            report.add(
                measured(
                    "graph_load",
                    (nodes + edges) / api_total_s,
                    (nodes + edges) / raw_total_s,
                    detail={
                        "nodes": nodes,
                        "edges": edges,
                        "api_nodes_per_s": round(nodes / api_nodes_s, 1),
                        "raw_nodes_per_s": round(nodes / raw_nodes_s, 1),
                        "api_edges_per_s": round(edges / (api_total_s - api_nodes_s), 1),
                        "raw_edges_per_s": round(edges / (raw_total_s - raw_nodes_s), 1),
                    },
                )
            )
            await _reads(config, api, f"{base}/{dataset_id}", raw, report)
            await _cypher(config, api, session_id, dataset_id, raw, report)
        finally:
            if not servers.started_locally:
                say("graph: dropping the bench's graphs")
                await warm_raw.drop()
                await raw.drop()
                for dataset in (dataset_id, warm_id):
                    await client.delete(f"{base}/{dataset}")


def distinct_pairs(rng: random.Random, nodes: int, count: int) -> list[tuple[str, str]]:
    """`count` (source, target) pairs whose two ends always differ (raw shortestPath raises on a pair
    of one node with itself); with fewer than two nodes there is no such pair."""
    if nodes < 2:
        raise ValueError("shortest paths need at least two nodes (BENCH_NODES)")
    pairs = []
    for _ in range(count):
        source = rng.randrange(nodes)
        target = rng.randrange(nodes - 1)
        pairs.append((_node_id(source), _node_id(target if target < source else target + 1)))
    return pairs


CYPHER_2HOP = "MATCH (a) WHERE datainfra.key(a) = $id MATCH (a)-[*1..2]->(b) RETURN DISTINCT datainfra.key(b) AS id"
"""The client's 2-hop query through the query endpoint (the API scopes it to the dataset's nodes and
relationships); the raw side runs the same pattern on the raw graph, whose key is the property `id`
(`RawGraph.cypher_2hop`). In Cypher `id` is an ordinary property: the key the graph routes address
is `datainfra.key(x)`. No relationship type: a typed pattern also filters each relationship on its
`#type` property (the storage model's cost, not the endpoint's, and the raw graph has one type anyway)."""


def _keep_alive(api: Api) -> KeepAliveClient:
    url = urlsplit(api.base_url)
    return KeepAliveClient(url.hostname or "127.0.0.1", url.port or 80, api.headers)


async def _reads(config: BenchConfig, api: Api, base: str, raw: RawGraph, report: Report) -> None:
    rng = random.Random(config.seed + 2)
    starts = [_node_id(rng.randrange(config.nodes)) for _ in range(config.graph_queries + 3)]
    pairs = distinct_pairs(rng, config.nodes, config.graph_queries + 3)
    found = 0
    decoder = msgspec.json.Decoder()
    encoder = msgspec.json.Encoder()

    async with _keep_alive(api) as http:

        async def api_neighbours(i: int) -> None:
            await http.get(f"{base}/nodes/{starts[i]}/neighbors?direction=out&depth=2")

        async def raw_neighbours(i: int) -> None:
            await raw.two_hops(starts[i])

        async def api_path(i: int) -> None:
            nonlocal found
            source, target = pairs[i]
            answer = await http.post_json(
                f"{base}/algorithms/shortest_path", encoder.encode({"source": source, "target": target})
            )
            if i >= 0 and decoder.decode(answer)["found"]:
                found += 1

        async def raw_path(i: int) -> None:
            await raw.shortest_path(*pairs[i])

        say(f"graph: {config.graph_queries} 2-hop neighbour calls and shortest paths, API and raw")
        results: dict[str, tuple[LoadResult, LoadResult]] = {
            "graph_2hop_p50": (
                await sample(api_neighbours, config.graph_queries),
                await sample(raw_neighbours, config.graph_queries),
            ),
            "graph_shortest_path_p50": (
                await sample(api_path, config.graph_queries),
                await sample(raw_path, config.graph_queries),
            ),
        }
    for name, (api_result, raw_result) in results.items():
        detail = {
            "api_p99_ms": round(api_result.p99_ms, 3),
            "raw_p99_ms": round(raw_result.p99_ms, 3),
            "samples": config.graph_queries,
        }
        if name == "graph_shortest_path_p50":
            detail["pairs_with_a_path"] = found
        report.add(measured(name, api_result.p50_ms, raw_result.p50_ms, detail=detail))
    report.notes.append(
        f"graph reads: random start nodes / distinct node pairs; {found}/{config.graph_queries} pairs had a path; "
        "raw = the bare Cypher (DISTINCT 2-hop ids; shortestPath node ids); API reads sent one at a time on one "
        "kept-open connection (bench/http_client.py: the client's cost is not the API's)"
    )


async def _cypher(
    config: BenchConfig, api: Api, session_id: str, dataset_id: str, raw: RawGraph, report: Report
) -> None:
    """Issue 11: the query endpoint's warm overhead per query (rewrite, plan check, run) over the same
    Cypher run raw, on the same graph: p50 of each over the same start nodes, API first then raw."""
    rng = random.Random(config.seed + 3)
    warmup = 10
    starts = [_node_id(rng.randrange(config.nodes)) for _ in range(config.graph_queries + warmup)]
    encoder = msgspec.json.Encoder()
    decoder = msgspec.json.Decoder()
    path = f"/sessions/{session_id}/query"

    def body(node: str) -> bytes:
        return encoder.encode(
            {"language": "cypher", "dataset": dataset_id, "query": CYPHER_2HOP, "parameters": {"id": node}}
        )

    async with _keep_alive(api) as http:
        found = 0
        for node in starts[:5]:  # a start without out-edges answers nothing on both sides: check several
            answer = decoder.decode(await http.post_json(path, body(node)))
            api_ids = sorted(row[0] for row in answer["rows"])
            raw_ids = await raw.cypher_two_hop_ids(node)
            if api_ids != raw_ids:
                raise RuntimeError(f"the API's Cypher and the raw query differ: {api_ids[:5]}... vs {raw_ids[:5]}...")
            found += len(api_ids)
        if not found:
            raise RuntimeError("the first start nodes reach nothing: the equality check checked nothing")

        async def api_query(i: int) -> None:
            await http.post_json(path, body(starts[i]))

        async def raw_query(i: int) -> None:
            await raw.cypher_two_hops(starts[i])

        say(f"graph: {config.graph_queries} 2-hop Cypher queries through the query endpoint and raw")
        api_result = await sample(api_query, config.graph_queries, warmup=warmup)
        raw_result = await sample(raw_query, config.graph_queries, warmup=warmup)
    report.add(
        measured(
            "graph_cypher_2hop_overhead_p50",
            api_result.p50_ms,
            raw_result.p50_ms,
            detail={
                "api_p99_ms": round(api_result.p99_ms, 3),
                "raw_p99_ms": round(raw_result.p99_ms, 3),
                "samples": config.graph_queries,
                "query": CYPHER_2HOP,
                "raw": "the same pattern on the raw graph (driver execute_query, read routing)",
            },
        )
    )
