"""The query tests' graph: the real app on the real stores, one key, one session holding the graph
dataset `social` (SOCIAL_SCHEMA), and the query endpoint's Cypher call on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from litestar.testing import TestClient

from tests.support.real_app import real_app_client
from tests.unit.http.api import SOCIAL_SCHEMA, create_dataset, create_session, new_key

Graph = tuple[TestClient[Any], dict[str, str], str, str]
"""(client, auth headers, session id, dataset id)."""


@contextmanager
def social_graph(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[Graph]:
    """The graph for a module's tests; the session (and the dataset) is dropped afterwards."""
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        auth = new_key(client)
        sid = create_session(client, auth)
        dataset = create_dataset(client, auth, sid, "social", SOCIAL_SCHEMA, kind="graph")
        yield client, auth, sid, dataset
        client.delete(f"/sessions/{sid}", headers=auth)


def post_cypher(graph: Graph, query: str, parameters: dict[str, Any] | None = None, **extra: Any) -> httpx.Response:
    """The query endpoint's answer to `query` on `social` (`extra`: read_only, limits...)."""
    client, auth, sid, _ = graph
    body: dict[str, Any] = {"language": "cypher", "dataset": "social", "query": query, **extra}
    if parameters is not None:
        body["parameters"] = parameters
    return client.post(f"/sessions/{sid}/query", json=body, headers=auth)


def cypher(graph: Graph, query: str, parameters: dict[str, Any] | None = None, **extra: Any) -> Any:
    """The result document of a query that must succeed."""
    response = post_cypher(graph, query, parameters, **extra)
    assert response.status_code == 200, response.text
    return response.json()
