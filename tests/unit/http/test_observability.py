"""Request ids, the one access-log line per request, and /metrics — read from the JSON log lines the
production format writes, so what is asserted is what an operator's log store would receive."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from datainfra.adapters.unavailable import UnavailableGraphStore
from tests.unit.http.api import PEOPLE_SCHEMA, create_dataset, create_session, dataset_url

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def json_client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(log_format="json")


def log_lines(capsys: Capture) -> list[dict[str, Any]]:
    """Every line written since the last call, each a JSON object (anything else fails the test)."""
    out, err = capsys.readouterr()
    lines = [line for line in (out + err).splitlines() if line.strip()]
    parsed = []
    for line in lines:
        if line.startswith(("INFO - ", "DEBUG - ", "WARNING - ")):  # httpx's own client log, not the app's
            continue
        parsed.append(json.loads(line))
    return parsed


def raw_output(capsys: Capture) -> str:
    out, err = capsys.readouterr()
    return out + err


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == "request"]


def register(client: TestClient) -> tuple[str, dict[str, str]]:
    key, _ = register_user(client)
    return key, {"X-API-Key": key}


def register_user(client: TestClient) -> tuple[str, str]:
    answer = client.post("/users").json()
    return str(answer["api_key"]), str(answer["user_id"])


# --- request ids ----------------------------------------------------------------------------------


def test_a_request_id_is_generated_and_returned(json_client: TestClient) -> None:
    first = json_client.get("/health").headers["X-Request-ID"]
    second = json_client.get("/health").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_plain_client_request_id_is_echoed(json_client: TestClient, capsys: Capture) -> None:
    response = json_client.get("/health", headers={"X-Request-ID": "trace-42.a_b:c"})
    assert response.headers["X-Request-ID"] == "trace-42.a_b:c"
    assert access_lines(log_lines(capsys))[-1]["request_id"] == "trace-42.a_b:c"


@pytest.mark.parametrize("unsafe", ["has space", "x" * 129, "quote\"'", "new\\nline"])
def test_an_unsafe_client_request_id_is_replaced(json_client: TestClient, unsafe: str) -> None:
    echoed = json_client.get("/health", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
    assert echoed != unsafe and re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_error_responses_carry_the_request_id_too(json_client: TestClient) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", json_client.get("/sessions").headers["X-Request-ID"])  # 401
    assert re.fullmatch(r"[0-9a-f]{32}", json_client.get("/no/such/path").headers["X-Request-ID"])  # 404


# --- the access log -------------------------------------------------------------------------------


def test_one_line_per_request_with_method_route_template_status_duration_ids(
    json_client: TestClient, capsys: Capture
) -> None:
    client = json_client
    key, user_id = register_user(client)
    auth = {"X-API-Key": key}
    sid = create_session(client, auth)
    log_lines(capsys)
    response = client.get(f"/sessions/{sid}", headers=auth)
    assert response.status_code == 200
    lines = access_lines(log_lines(capsys))
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET"
    assert line["route"].startswith("/sessions/{") and sid not in line["route"]
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["user_id"] == user_id
    assert line["level"] == "info" and "timestamp" in line


def test_unauthenticated_and_unmatched_requests_are_logged_without_a_user(
    json_client: TestClient, capsys: Capture
) -> None:
    json_client.get("/sessions")
    json_client.get("/no/such/path")
    first, second = access_lines(log_lines(capsys))
    assert (first["status"], first["route"], first["user_id"]) == (401, "/sessions", None)
    assert (second["status"], second["route"], second["user_id"]) == (404, "<unmatched>", None)


def test_the_access_log_can_be_turned_off(make_client: Callable[..., TestClient], capsys: Capture) -> None:
    client = make_client(log_format="json", access_log=False)
    client.get("/health")
    assert access_lines(log_lines(capsys)) == []


def test_the_api_key_appears_in_no_log_line_even_when_requests_fail(json_client: TestClient, capsys: Capture) -> None:
    client = json_client
    key, auth = register(client)
    sid = create_session(client, auth)
    did = create_dataset(client, auth, sid, "people", PEOPLE_SCHEMA)
    records = f"{dataset_url(sid, did)}/records"
    statuses = [
        client.post(records, json={"records": [{"name": "Ada", "age": 36}]}, headers=auth).status_code,
        client.get(records, headers=auth).status_code,
        client.post(records, json={"records": [{"age": "not a number"}]}, headers=auth).status_code,  # 422
        client.get(f"{records}?nope=eq:1", headers=auth).status_code,  # 400
        client.get(f"/sessions/{sid}/datasets/00000000-0000-0000-0000-000000000000", headers=auth).status_code,
        client.post(
            "/sessions", content=b"{not json", headers={**auth, "content-type": "application/json"}
        ).status_code,
        client.get("/sessions", headers={"X-API-Key": key + "!"}).status_code,  # malformed: 401
        client.delete(f"/sessions/{sid}", headers=auth).status_code,
    ]
    assert statuses == [201, 200, 422, 400, 404, 400, 401, 204]
    output = raw_output(capsys)
    assert output.count('"event": "request"') + output.count('"event":"request"') >= len(statuses)
    assert key not in output


def test_the_api_key_appears_in_no_log_line_of_an_internal_error(json_client: TestClient, capsys: Capture) -> None:
    client = json_client
    key, auth = register(client)

    class Exploding:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(f"boom while handling {name}")

    container = client.app.state.container
    with container.sessions.override(providers.Object(Exploding())):
        response = client.post("/sessions", json={"name": "s"}, headers=auth)
    assert response.status_code == 500
    output = raw_output(capsys)
    five_hundreds = [json.loads(line) for line in output.splitlines() if '"status": 500' in line]
    assert [line["route"] for line in five_hundreds] == ["/sessions"]
    assert five_hundreds[0]["level"] == "error"
    assert key not in output


def test_record_contents_never_reach_the_logs(json_client: TestClient, capsys: Capture) -> None:
    client = json_client
    _, auth = register(client)
    sid = create_session(client, auth)
    did = create_dataset(client, auth, sid, "people", PEOPLE_SCHEMA)
    records = f"{dataset_url(sid, did)}/records"
    secret = "Zanzibar-7f3a91"
    assert client.post(records, json={"records": [{"name": secret, "city": secret}]}, headers=auth).status_code == 201
    assert client.get(f"{records}?name=eq:{secret}", headers=auth).status_code == 200
    assert client.post(records, json={"records": [{"name": secret, "age": secret}]}, headers=auth).status_code == 422
    body = f"name,age\n{secret},{secret}\n".encode()
    assert client.post(records, content=body, headers={**auth, "content-type": "text/csv"}).status_code == 422
    output = raw_output(capsys)
    assert '"event": "request"' in output or '"event":"request"' in output
    assert secret not in output


# --- /metrics -------------------------------------------------------------------------------------


def scrape(client: TestClient) -> dict[str, Any]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def sample_value(family: Any, suffix: str, **labels: str) -> float | None:
    for sample in family.samples:
        if sample.name == family.name + suffix and all(sample.labels.get(k) == v for k, v in labels.items()):
            return float(sample.value)
    return None


def test_metrics_count_requests_and_their_latency_by_route_template_and_status(json_client: TestClient) -> None:
    client = json_client
    _, auth = register(client)
    sid = create_session(client, auth)
    for _ in range(3):
        assert client.get(f"/sessions/{sid}", headers=auth).status_code == 200
    client.get("/sessions")  # 401
    families = scrape(client)

    requests = families["datainfra_http_requests"]
    assert requests.type == "counter"
    templates = {s.labels["route"] for s in requests.samples}
    assert not any(sid in t for t in templates), "concrete ids must not become label values"
    route = next(t for t in templates if t.startswith("/sessions/{"))
    assert sample_value(requests, "_total", method="GET", route=route, status="200") == 3
    assert sample_value(requests, "_total", method="GET", route="/sessions", status="401") == 1
    assert sample_value(requests, "_total", method="POST", route="/sessions", status="201") == 1

    latency = families["datainfra_http_request_duration_seconds"]
    assert latency.type == "histogram"
    assert sample_value(latency, "_count", method="GET", route=route, status="200") == 3
    assert sample_value(latency, "_bucket", method="GET", route=route, status="200", le="+Inf") == 3
    total = sample_value(latency, "_sum", method="GET", route=route, status="200")
    assert total is not None and total > 0


def test_store_errors_are_counted(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    client.app.state.container.graph_store.override(providers.Object(UnavailableGraphStore("no graph store here")))
    _, auth = register(client)
    sid = create_session(client, auth)
    schema = {"node_labels": [{"name": "P", "properties": []}], "relationship_types": []}
    response = client.post(
        f"/sessions/{sid}/datasets", json={"name": "g", "kind": "graph", "schema": schema}, headers=auth
    )
    assert response.status_code == 503
    errors = scrape(client)["datainfra_store_errors"]
    [sample] = [s for s in errors.samples if s.name.endswith("_total")]
    assert sample.labels["kind"] == "unavailable" and sample.value == 1
    assert sample.labels["route"].startswith("/sessions/{") and sample.labels["route"].endswith("}/datasets")


class FakePool:
    """What psycopg_pool's AsyncConnectionPool reports through get_stats()."""

    max_size = 10

    def get_stats(self) -> dict[str, int]:
        return {"pool_min": 1, "pool_max": 10, "pool_size": 4, "pool_available": 1, "requests_waiting": 2}


def test_pool_gauges_report_connections_in_use_and_waiting(json_client: TestClient) -> None:
    container = json_client.app.state.container
    assert "datainfra_pg_pool_in_use" not in scrape(json_client), "no pool (in-memory stores): no gauges"
    with container.postgres_pool.override(providers.Object(FakePool())):
        families = scrape(json_client)
    assert families["datainfra_pg_pool_in_use"].type == "gauge"
    assert sample_value(families["datainfra_pg_pool_in_use"], "") == 3
    assert sample_value(families["datainfra_pg_pool_waiting"], "") == 2
    assert sample_value(families["datainfra_pg_pool_connections"], "") == 4
    assert sample_value(families["datainfra_pg_pool_max"], "") == 10
