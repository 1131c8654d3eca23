"""The two backends a TCK scenario runs on: Neo4j straight (the reference) and the query endpoint
(`POST /sessions/{id}/query`) over a graph dataset of the scenario's own."""

from __future__ import annotations

from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors

from tests.tck.harness import Answer, State
from tests.tck.results import from_driver, from_json, to_driver, to_json
from tests.tck.values import Value

__all__ = ["EndpointBackend", "RawBackend"]

_RAW_STATE = """
OPTIONAL MATCH (n)
WITH collect(CASE WHEN n IS NOT NULL THEN {id: elementId(n), labels: labels(n), properties: properties(n)} END) AS nodes
OPTIONAL MATCH ()-[r]->()
RETURN nodes, collect(CASE WHEN r IS NOT NULL THEN {id: elementId(r), properties: properties(r)} END) AS relationships
"""
_ENDPOINT_STATE = """
OPTIONAL MATCH (n)
WITH collect(n) AS nodes
OPTIONAL MATCH ()-[r]->()
RETURN nodes, collect(r) AS relationships
"""


def _state(nodes: list[tuple[Any, list[str], Value]], relationships: list[tuple[Any, Value]]) -> State:
    triples = set()
    for key, _, properties in nodes:
        triples |= {(key, name, value) for name, value in properties[1]}
    for key, properties in relationships:
        triples |= {(key, name, value) for name, value in properties[1]}
    return State(
        nodes=frozenset(key for key, _, _ in nodes),
        relationships=frozenset(key for key, _ in relationships),
        labels=frozenset(label for _, labels, _ in nodes for label in labels),
        properties=frozenset(triples),
    )


class RawBackend:
    """Straight on Neo4j: every query in its own auto-commit transaction, as a client would send it.
    The graph must hold nothing else (the whole database is the scenario's graph)."""

    name = "raw"

    def __init__(self, driver: neo4j.Driver) -> None:
        self.driver = driver
        self.dirty = True

    def fresh(self) -> None:
        if self.dirty:
            with self.driver.session() as session:
                session.run("MATCH (n) DETACH DELETE n").consume()
            self.dirty = False

    def execute(self, query: str, parameters: dict[str, Value]) -> Answer:
        try:
            with self.driver.session() as session:
                result = session.run(query, {k: to_driver(v) for k, v in parameters.items()})
                keys = tuple(result.keys())
                rows = tuple(tuple(from_driver(v) for v in record.values()) for record in result)
                return Answer(keys, rows)
        except neo4j_errors.Neo4jError as exc:
            return Answer(error=f"{exc.code}: {(exc.message or '').splitlines()[0] if exc.message else ''}")
        except (neo4j_errors.DriverError, ValueError, TypeError) as exc:
            return Answer(error=f"driver: {type(exc).__name__}: {exc}")

    def state(self) -> State | Answer:
        answer = self.execute(_RAW_STATE, {})
        if answer.error is not None:
            return answer
        nodes_cell, rels_cell = answer.rows[0]
        nodes = []
        for item in nodes_cell[1]:
            fields = dict(item[1])
            labels = [label[1] for label in fields["labels"][1]]
            nodes.append((fields["id"][1], labels, fields["properties"]))
        relationships = []
        for item in rels_cell[1]:
            fields = dict(item[1])
            relationships.append((fields["id"][1], fields["properties"]))
        return _state(nodes, relationships)

    def done(self, state: State | None) -> None:
        self.dirty = state is None or not state.empty

    def count_nodes(self) -> int:
        with self.driver.session() as session:
            return int(session.run("MATCH (n) RETURN count(n) AS c").single(strict=True)["c"])


class EndpointBackend:
    """Through the HTTP API: a graph dataset per scenario (an empty one is kept for the next scenario:
    nothing distinguishes it from a new one), set-up and queries as `POST /sessions/{id}/query`."""

    name = "endpoint"

    def __init__(self, client: Any, headers: dict[str, str], session_id: str) -> None:
        self.client = client
        self.headers = headers
        self.session_id = session_id
        self.dataset: str | None = None
        self.dataset_id: str | None = None
        self.made = 0

    def fresh(self) -> None:
        if self.dataset is not None:
            return
        self.made += 1
        name = f"tck{self.made}"
        response = self.client.post(
            f"/sessions/{self.session_id}/datasets",
            json={"name": name, "kind": "graph", "schema": {}},
            headers=self.headers,
        )
        if response.status_code != 201:
            raise RuntimeError(f"cannot create a graph dataset: {response.status_code} {response.text}")
        self.dataset, self.dataset_id = name, response.json()["id"]

    def _post(self, query: str, parameters: dict[str, Value]) -> tuple[Any, Answer | None]:
        body = {
            "language": "cypher",
            "dataset": self.dataset,
            "query": query,
            "parameters": {k: to_json(v) for k, v in parameters.items()},
            "read_only": False,
            "timeout_ms": 60_000,  # the most a client may ask for: the kit has large scripts (Create4's movie graph)
        }
        response = self.client.post(f"/sessions/{self.session_id}/query", json=body, headers=self.headers)
        if response.status_code == 200:
            return response.json(), None
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        return None, Answer(error=str(detail), status=response.status_code)

    def execute(self, query: str, parameters: dict[str, Value]) -> Answer:
        doc, error = self._post(query, parameters)
        if error is not None:
            return error
        columns = doc["columns"]
        rows = tuple(
            tuple(from_json(cell, column["type"]) for cell, column in zip(row, columns, strict=True))
            for row in doc["rows"]
        )
        return Answer(tuple(column["name"] for column in columns), rows, status=200)

    def state(self) -> State | Answer:
        doc, error = self._post(_ENDPOINT_STATE, {})
        if error is not None:
            return error
        doc_nodes, doc_rels = doc["rows"][0]
        nodes = [(("n", n["id"]), n["labels"], from_json(n["properties"])) for n in doc_nodes]
        relationships = [(("r", r["id"]), from_json(r["properties"])) for r in doc_rels]
        return _state(nodes, relationships)

    def done(self, state: State | None) -> None:
        if state is not None and state.empty:
            return
        response = self.client.delete(f"/sessions/{self.session_id}/datasets/{self.dataset_id}", headers=self.headers)
        if response.status_code >= 300:
            raise RuntimeError(f"cannot delete a graph dataset: {response.status_code} {response.text}")
        self.dataset = self.dataset_id = None
