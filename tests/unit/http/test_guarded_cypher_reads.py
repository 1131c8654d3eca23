"""Read-only Cypher through the query endpoint from cached catalog facts (services/guarded_reads.GuardedReads,
as the graph reads): a repeated query asks the catalog one question, run alongside the query, and
the cached facts never outlive a change (a rotated key, a dropped or renamed dataset is seen by the
very next query). Writes authenticate and look the dataset up every time. The Cypher runner here is
a stand-in (the memory build has none): what it ran over is what the endpoint resolved."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dependency_injector import providers
from litestar.testing import TestClient

from datainfra.domain.model import Dataset
from datainfra.domain.ports.query_runners import CypherQueryRunner
from datainfra.domain.queries import QueryLimits, QueryResult, ResultColumn
from tests.unit.http.api import graph, new_key, problem, tabular
from tests.unit.http.test_guarded_graph_reads import CountingCatalog


class DatasetEcho(CypherQueryRunner):
    """Answers each query with the id and name of the dataset it was given."""

    def __init__(self) -> None:
        self.runs = 0

    async def run_cypher(
        self, dataset: Dataset, text: str, parameters: Mapping[str, Any], limits: QueryLimits
    ) -> QueryResult:
        self.runs += 1
        return QueryResult(
            columns=(ResultColumn("id", "string"), ResultColumn("name", "string")), rows=[[dataset.id, dataset.name]]
        )


def _client(make_client: Callable[..., TestClient]) -> tuple[TestClient, CountingCatalog, DatasetEcho]:
    client = make_client()
    catalog, runner = CountingCatalog(), DatasetEcho()
    client.app.state.container.catalog.override(providers.Object(catalog))
    client.app.state.container.cypher_runner.override(providers.Object(runner))
    return client, catalog, runner


def _query(client: TestClient, url: str, auth: dict[str, str], ref: str | None = None, **extra: Any) -> Any:
    session_id, dataset_id = url.split("/")[2], url.split("/")[4]
    body = {"language": "cypher", "dataset": ref or dataset_id, "query": "MATCH (n) RETURN n", **extra}
    return client.post(f"/sessions/{session_id}/query", json=body, headers=auth)


def test_a_repeated_read_asks_the_catalog_once_by_id_or_by_name(make_client: Callable[..., TestClient]) -> None:
    client, catalog, _ = _client(make_client)
    auth = new_key(client)
    url = graph(client, auth)
    for ref in (None, "social"):
        first = _query(client, url, auth, ref)
        assert first.status_code == 200, first.text
        lookups, checks = catalog.lookups, catalog.checks
        again = _query(client, url, auth, ref)
        assert again.status_code == 200 and again.json()["rows"] == first.json()["rows"]
        assert (catalog.lookups, catalog.checks) == (lookups, checks + 1)


def test_a_write_authenticates_every_time(make_client: Callable[..., TestClient]) -> None:
    client, catalog, _ = _client(make_client)
    auth = new_key(client)
    url = graph(client, auth)
    assert _query(client, url, auth).status_code == 200  # the read's facts are cached now
    lookups, checks = catalog.lookups, catalog.checks
    assert _query(client, url, auth, read_only=False).status_code == 200
    assert (catalog.lookups, catalog.checks) == (lookups + 1, checks)


def test_a_rotated_key_is_refused_on_the_very_next_query_even_with_a_bad_body(
    make_client: Callable[..., TestClient],
) -> None:
    client, _, _ = _client(make_client)
    auth = new_key(client)
    url = graph(client, auth)
    assert _query(client, url, auth).status_code == 200
    rotated = client.post("/users/key", headers=auth)
    assert rotated.status_code == 201
    problem(_query(client, url, auth), 401)
    session_id = url.split("/")[2]
    problem(client.post(f"/sessions/{session_id}/query", json={"language": "cypher"}, headers=auth), 401)
    assert _query(client, url, {"X-API-Key": rotated.json()["api_key"]}).status_code == 200


def test_a_migrated_or_dropped_dataset_is_seen_on_the_very_next_query(make_client: Callable[..., TestClient]) -> None:
    client, catalog, runner = _client(make_client)
    auth = new_key(client)
    url = graph(client, auth)
    assert _query(client, url, auth, "social").status_code == 200
    schema = client.get(url, headers=auth).json()["schema"]
    schema["node_labels"].append({"name": "Extra", "properties": []})
    assert client.put(url, json={"schema": schema}, headers=auth).status_code == 200
    lookups = catalog.lookups
    assert _query(client, url, auth, "social").status_code == 200
    assert catalog.lookups == lookups + 1  # the check failed: the endpoint's own lookups ran
    assert client.delete(url, headers=auth).status_code == 204
    runs = runner.runs
    assert problem(_query(client, url, auth, "social"), 404)["field"] == "dataset"
    assert runner.runs <= runs + 1  # at most the one read whose answer was thrown away


def test_another_users_key_and_a_tabular_dataset_are_refused_as_before(make_client: Callable[..., TestClient]) -> None:
    client, _, _ = _client(make_client)
    auth = new_key(client)
    url = graph(client, auth)
    assert _query(client, url, auth).status_code == 200
    assert problem(_query(client, url, new_key(client)), 404)["parameter"] == "session_id"
    problem(_query(client, url, {}), 401)
    table = tabular(client, auth)
    assert problem(_query(client, table, auth), 400)["field"] == "dataset"
    assert problem(_query(client, table, auth), 400)["field"] == "dataset"
