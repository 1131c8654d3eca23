"""Two API processes (`python -m datainfra`, one worker each, as two hosts behind a balancer would
run them) on one catalog, one PostgreSQL and one Neo4j reached through a routing `neo4j://` URI:
whatever one process changes, the other sees on its very next request, whatever it had cached, and
what must be counted once (idempotency keys, Cypher's per-owner concurrency cap, graph bookmarks)
is counted in the catalog, not in either process.

Each check first makes the second process cache what it will be asked about (the hot reads keep
the key's user and the dataset in memory), then changes it through the first."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from tests.fuzz.api_process import fresh_database, running_api

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

TIMEOUT = 30
TABLE = {"columns": [{"name": "a", "type": "integer"}]}


@dataclass(frozen=True)
class Pair:
    one: str
    other: str
    database_url: str


@pytest.fixture(scope="module")
def pair(postgres_runtime: Any, neo4j_runtime: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    endpoint = neo4j_runtime.endpoint()
    routing = type(endpoint)(endpoint.uri.replace("bolt://", "neo4j://", 1), endpoint.user, endpoint.password)
    env = {
        "DATAINFRA_WORKERS": "1",
        "DATAINFRA_NEO4J_DATABASE": "neo4j",
        "DATAINFRA_ACCESS_LOG": "false",
        "DATAINFRA_QUERY_CONNECTIONS_PER_USER": "1",
    }
    with ExitStack() as stack:
        database_url = stack.enter_context(fresh_database(postgres_runtime.url()))
        apis = [
            stack.enter_context(running_api(database_url, routing, tmp_path_factory.mktemp(name), env))
            for name in ("one", "other")
        ]
        yield Pair(apis[0].base_url, apis[1].base_url, database_url)


def _user(base: str) -> dict[str, str]:
    answer = httpx.post(base + "/users", timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text
    return {"X-API-Key": answer.json()["api_key"]}


def _created(base: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> str:
    answer = httpx.post(base + path, json=body, headers=headers, timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _status(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> int:
    return httpx.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs).status_code


def _graph(pair: Pair, headers: dict[str, str]) -> tuple[str, str]:
    session = _created(pair.one, "/sessions", {"name": "s"}, headers)
    graph = _created(pair.one, f"/sessions/{session}/datasets", {"name": "g", "kind": "graph", "schema": {}}, headers)
    return session, f"/sessions/{session}/datasets/{graph}"


def _write_nodes(base: str, dataset: str, headers: dict[str, str], *ids: str) -> None:
    nodes = [{"id": i, "labels": ["P"], "properties": {}} for i in ids]
    answer = httpx.post(base + dataset + "/records", json={"nodes": nodes, "edges": []}, headers=headers, timeout=60)
    assert answer.status_code == 201, answer.text


def test_a_key_rotated_through_one_process_is_refused_by_the_other(pair: Pair) -> None:
    old = _user(pair.one)
    session, graph = _graph(pair, old)
    table = _created(pair.one, f"/sessions/{session}/datasets", {"name": "t", "kind": "tabular", "schema": TABLE}, old)
    for path in ("/users/me", graph + "/nodes", f"/sessions/{session}/datasets/{table}/records"):
        assert _status("GET", pair.other + path, old) == 200  # cached by the other process now

    rotated = httpx.post(pair.one + "/users/key", headers=old, timeout=TIMEOUT)
    assert rotated.status_code == 201, rotated.text
    new = {"X-API-Key": rotated.json()["api_key"]}

    for path in ("/users/me", graph + "/nodes", f"/sessions/{session}/datasets/{table}/records"):
        assert _status("GET", pair.other + path, old) == 401, path
        assert _status("GET", pair.other + path, new) == 200, path


def test_datasets_and_sessions_dropped_through_one_process_are_gone_from_the_other(pair: Pair) -> None:
    headers = _user(pair.one)
    session, graph = _graph(pair, headers)
    table = f"/sessions/{session}/datasets/" + _created(
        pair.one, f"/sessions/{session}/datasets", {"name": "t", "kind": "tabular", "schema": TABLE}, headers
    )
    _write_nodes(pair.one, graph, headers, "n1")
    assert _status("GET", pair.other + graph + "/nodes/n1", headers) == 200
    assert _status("GET", pair.other + table + "/records", headers) == 200

    assert _status("DELETE", pair.one + graph, headers) == 204
    assert _status("GET", pair.other + graph + "/nodes/n1", headers) == 404
    assert _status("GET", pair.other + graph, headers) == 404
    assert _status("GET", pair.other + table + "/records", headers) == 200

    assert _status("DELETE", pair.one + f"/sessions/{session}", headers) == 204
    assert _status("GET", pair.other + table + "/records", headers) == 404
    assert _status("GET", pair.other + f"/sessions/{session}", headers) == 404


def test_a_schema_migrated_through_one_process_is_what_the_other_serves(pair: Pair) -> None:
    headers = _user(pair.one)
    session = _created(pair.one, "/sessions", {"name": "s"}, headers)
    table = f"/sessions/{session}/datasets/" + _created(
        pair.one, f"/sessions/{session}/datasets", {"name": "t", "kind": "tabular", "schema": TABLE}, headers
    )
    assert _status("POST", pair.one + table + "/records", headers, json=[{"a": 1}]) == 201
    assert httpx.get(pair.other + table + "/records", headers=headers, timeout=TIMEOUT).json()["items"] == [
        {"id": 1, "a": 1}
    ]

    wider = {"schema": {"columns": [*TABLE["columns"], {"name": "b", "type": "text"}]}}
    assert _status("PUT", pair.one + table, headers, json=wider) == 200

    assert _status("POST", pair.other + table + "/records", headers, json=[{"a": 2, "b": "two"}]) == 201
    page = httpx.get(pair.other + table + "/records", headers=headers, timeout=TIMEOUT).json()
    assert page["items"] == [{"id": 1, "a": 1, "b": None}, {"id": 2, "a": 2, "b": "two"}]


def test_a_write_replayed_through_the_other_process_is_stored_once(pair: Pair) -> None:
    headers = _user(pair.one)
    session = _created(pair.one, "/sessions", {"name": "s"}, headers)
    table = f"/sessions/{session}/datasets/" + _created(
        pair.one, f"/sessions/{session}/datasets", {"name": "t", "kind": "tabular", "schema": TABLE}, headers
    )
    once = headers | {"Idempotency-Key": uuid.uuid4().hex}
    first = httpx.post(pair.one + table + "/records", json=[{"a": 7}], headers=once, timeout=TIMEOUT)
    again = httpx.post(pair.other + table + "/records", json=[{"a": 7}], headers=once, timeout=TIMEOUT)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.content == first.content
    assert httpx.get(pair.other + table, headers=headers, timeout=TIMEOUT).json()["record_count"] == 1


def test_a_graph_write_through_one_process_is_read_through_the_other_from_its_catalog_bookmark(pair: Pair) -> None:
    headers = _user(pair.one)
    _session, graph = _graph(pair, headers)
    dataset_id = graph.rsplit("/", 1)[1]
    for number in range(3):
        _write_nodes(pair.one, graph, headers, f"n{number}")
        bookmarks = _bookmarks(pair, dataset_id)
        assert len(bookmarks) == 1, bookmarks  # each write's bookmark replaces the one it started from
        answer = httpx.get(pair.other + graph + "/nodes", headers=headers, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        assert sorted(node["id"] for node in answer.json()["items"]) == [f"n{i}" for i in range(number + 1)]
        assert _bookmarks(pair, dataset_id) == bookmarks  # a read leaves them as they are

    assert _status("DELETE", pair.one + graph, headers) == 204
    assert _bookmarks(pair, dataset_id) is None


def test_the_cypher_concurrency_cap_counts_queries_of_every_process(pair: Pair) -> None:
    headers = _user(pair.one)
    session, _graph_path = _graph(pair, headers)
    owner = httpx.get(pair.one + "/users/me", headers=headers, timeout=TIMEOUT).json()["id"]
    query = {"language": "cypher", "dataset": "g", "query": "MATCH (n) RETURN count(n) AS c"}
    path = f"/sessions/{session}/query"
    assert _status("POST", pair.other + path, headers, json=query) == 200

    with psycopg.connect(pair.database_url, autocommit=True) as conn:  # two queries running elsewhere
        conn.execute(
            "INSERT INTO datainfra.work_slots (owner_id, kind, slot, token, leased_until) "
            "SELECT %s, 'cypher', s, 'elsewhere', now() + interval '1 minute' FROM generate_series(1, 2) s",
            (owner,),
        )
        refused = httpx.post(pair.other + path, json=query, headers=headers, timeout=TIMEOUT)
        assert refused.status_code == 429, refused.text
        conn.execute("DELETE FROM datainfra.work_slots WHERE owner_id = %s AND token = 'elsewhere'", (owner,))
    assert _status("POST", pair.other + path, headers, json=query) == 200


def test_a_query_connection_the_other_process_keeps_idle_does_not_refuse_a_query(pair: Pair) -> None:
    """The role's CONNECTION LIMIT (1 here) is shared by every process; a connection one process
    keeps idle for the role's next query only delays a query through another, it never refuses it."""
    headers = _user(pair.one)
    session = _created(pair.one, "/sessions", {"name": "s"}, headers)
    _created(pair.one, f"/sessions/{session}/datasets", {"name": "t", "kind": "tabular", "schema": TABLE}, headers)
    query = {"language": "sql", "query": "SELECT count(*) AS n FROM t"}
    for base in (pair.one, pair.other, pair.one):
        answer = httpx.post(f"{base}/sessions/{session}/query", json=query, headers=headers, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"] == [[0]]


def _bookmarks(pair: Pair, dataset_id: str) -> list[str] | None:
    with psycopg.connect(pair.database_url) as conn:
        row = conn.execute("SELECT bookmarks FROM datainfra.graph_bookmarks WHERE dataset_id = %s", (dataset_id,))
        found = row.fetchone()
    return list(found[0]) if found else None
