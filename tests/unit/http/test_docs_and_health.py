"""OpenAPI 3.1, the offline docs page, liveness, readiness and start-up configuration."""

from __future__ import annotations

import asyncio
import re
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from datainfra.config import Settings, SettingsError
from datainfra.domain.errors import StoreUnavailable

ROUTES: dict[str, set[str]] = {
    "/users": {"post"},
    "/users/key": {"post"},
    "/users/me": {"get"},
    "/sessions": {"get", "post"},
    "/sessions/{session_id}": {"get", "patch", "delete"},
    "/sessions/{session_id}/datasets": {"get", "post"},
    "/sessions/{session_id}/datasets/{dataset_id}": {"get", "put", "delete"},
    "/sessions/{session_id}/datasets/{dataset_id}/records": {"get", "post", "put", "delete"},
    "/sessions/{session_id}/datasets/{dataset_id}/export": {"get"},
    "/sessions/{session_id}/datasets/{dataset_id}/records/search": {"post"},
    "/sessions/{session_id}/datasets/{dataset_id}/records/{key}": {"get", "put", "patch", "delete"},
    "/sessions/{session_id}/datasets/{dataset_id}/nodes/search": {"get", "post", "delete"},
    "/sessions/{session_id}/datasets/{dataset_id}/nodes/search/neighbors": {"get"},
    "/sessions/{session_id}/query": {"post"},
    "/sessions/{session_id}/datasets/{dataset_id}/nodes": {"get"},
    "/sessions/{session_id}/datasets/{dataset_id}/nodes/{node_id}": {"get", "delete"},
    "/sessions/{session_id}/datasets/{dataset_id}/nodes/{node_id}/neighbors": {"get"},
    "/sessions/{session_id}/datasets/{dataset_id}/edges": {"get", "delete"},
    "/sessions/{session_id}/datasets/{dataset_id}/edges/{edge_id}": {"delete"},
    "/sessions/{session_id}/datasets/{dataset_id}/algorithms/shortest_path": {"post"},
    "/sessions/{session_id}/datasets/{dataset_id}/algorithms/all_shortest_paths": {"post"},
    "/sessions/{session_id}/datasets/{dataset_id}/algorithms/pagerank": {"post"},
    "/sessions/{session_id}/datasets/{dataset_id}/algorithms/connected_components": {"post"},
    "/sessions/{session_id}/datasets/{dataset_id}/algorithms/degree": {"post"},
    "/sessions/{session_id}/export": {"get"},
    "/sessions/{session_id}/import": {"post"},
    "/health": {"get"},
    "/ready": {"get"},
    "/metrics": {"get"},
}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(openapi: dict[str, Any]) -> dict[str, set[str]]:
    return {path: {m for m in item if m in HTTP_METHODS} for path, item in openapi["paths"].items()}


def _resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = openapi
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


# -- OpenAPI -----------------------------------------------------------------------------------


def test_the_openapi_document_is_version_3_1(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.1")
    assert openapi["info"]["title"]
    assert openapi["info"]["version"]


def test_the_openapi_document_lists_every_route_and_method(openapi: dict[str, Any]) -> None:
    assert _operations(openapi) == ROUTES


def test_the_openapi_document_lists_every_route_the_app_serves(client: TestClient, openapi: dict[str, Any]) -> None:
    served: dict[str, set[str]] = {}
    for route in client.app.routes:
        if route.path.startswith(("/schema", "/console")):  # the docs' and the web console's pages, not the API
            continue
        methods = {m.lower() for m in getattr(route, "methods", set())} - {"head", "options"}
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        served.setdefault(path, set()).update(methods)
    assert served == _operations(openapi)


def test_every_operation_documents_a_success_response_with_a_body_shape(openapi: dict[str, Any]) -> None:
    missing = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            success = [code for code in operation["responses"] if code.startswith("2")]
            if not success:
                missing.append(f"{method.upper()} {path}: no 2xx response")
                continue
            response = operation["responses"][success[0]]
            if success[0] != "204" and not response.get("content"):
                missing.append(f"{method.upper()} {path}: {success[0]} has no content schema")
    assert missing == []


def test_every_operation_with_a_body_documents_it(openapi: dict[str, Any]) -> None:
    with_body = {(p, m) for p, methods in ROUTES.items() for m in methods if m in {"post", "put", "patch"}}
    with_body -= {("/users", "post"), ("/users/key", "post")}
    undocumented = [
        f"{m.upper()} {p}"
        for p, m in sorted(with_body)
        if not openapi["paths"][p][m].get("requestBody", {}).get("content")
    ]
    assert undocumented == []


def test_the_records_write_documents_json_csv_and_ndjson(openapi: dict[str, Any]) -> None:
    body = openapi["paths"]["/sessions/{session_id}/datasets/{dataset_id}/records"]["post"]["requestBody"]
    assert {"application/json", "text/csv", "application/x-ndjson"} <= set(body["content"])


def test_the_json_body_routes_document_their_bodies(openapi: dict[str, Any]) -> None:
    for path, method in (
        ("/sessions", "post"),
        ("/sessions/{session_id}", "patch"),
        ("/sessions/{session_id}/datasets", "post"),
        ("/sessions/{session_id}/datasets/{dataset_id}", "put"),
        ("/sessions/{session_id}/datasets/{dataset_id}/algorithms/shortest_path", "post"),
    ):
        assert "application/json" in openapi["paths"][path][method]["requestBody"]["content"], (method, path)


def test_the_session_body_documents_its_fields(openapi: dict[str, Any]) -> None:
    body = openapi["paths"]["/sessions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = _resolve(openapi, body)
    assert {"name", "description"} <= set(schema["properties"])
    assert "name" in schema.get("required", [])


def test_the_dataset_response_documents_its_fields(openapi: dict[str, Any]) -> None:
    op = openapi["paths"]["/sessions/{session_id}/datasets"]["post"]
    schema = _resolve(openapi, op["responses"]["201"]["content"]["application/json"]["schema"])
    assert {"id", "name", "kind", "schema", "created_at", "updated_at"} <= set(schema["properties"])


def test_the_api_key_is_documented_as_a_security_scheme(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert any(s["type"] == "apiKey" and s["in"] == "header" and s["name"] == "X-API-Key" for s in schemes.values())


# -- the docs page ------------------------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def _asset_urls(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


def test_the_docs_page_is_served_as_html(client: TestClient) -> None:
    response = client.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_the_docs_page_references_only_local_assets(client: TestClient) -> None:
    html = client.get("/schema").text
    urls = _asset_urls(html)

    assert urls, "the docs page loads no assets at all"
    external = [u for u in urls if re.match(r"(?i)^([a-z][a-z0-9+.-]*:)?//", u)]
    assert external == []
    assert not re.search(r"(?i)https?://(?!localhost|127\.0\.0\.1)[^\s'\"]*\.(js|css)", html)


def test_every_asset_of_the_docs_page_is_served(client: TestClient) -> None:
    html = client.get("/schema").text
    for url in _asset_urls(html):
        response = client.get(urljoin("http://testserver.local/schema/", url))
        assert response.status_code == 200, url
        assert response.content, url


def test_the_docs_scripts_and_styles_have_their_media_types(client: TestClient) -> None:
    for url in _asset_urls(client.get("/schema").text):
        kind = client.get(urljoin("http://testserver.local/schema/", url)).headers["content-type"]
        if url.endswith(".js"):
            assert "javascript" in kind
        if url.endswith(".css"):
            assert kind.startswith("text/css")


# -- health and readiness ------------------------------------------------------------------------------


def test_health_answers_200_while_the_process_runs(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_ready_answers_200_when_every_store_answers(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert set(response.json()["stores"]) == {"catalog", "tabular", "graph"}
    assert set(response.json()["stores"].values()) == {"ok"}


class FailingStore:
    """A store whose ping raises; anything else it is asked is not expected."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def ping(self) -> None:
        raise self.error


@pytest.mark.parametrize("store", ["catalog", "tabular_store", "graph_store"])
@pytest.mark.parametrize(
    "error",
    [StoreUnavailable("connection refused"), ConnectionError("refused"), RuntimeError("boom")],
    ids=["domain", "connection", "unexpected"],
)
def test_ready_answers_503_when_a_store_does_not_answer(client: TestClient, store: str, error: Exception) -> None:
    provider = getattr(client.app.state.container, store)
    provider.override(providers.Object(FailingStore(error)))
    try:
        response = client.get("/ready")
        health = client.get("/health")
    finally:
        provider.reset_last_overriding()

    assert response.status_code == 503
    stores = response.json()["stores"]
    assert sum(1 for state in stores.values() if state != "ok") == 1
    assert health.status_code == 200
    assert client.get("/ready").status_code == 200


class FrozenStore:
    """A store whose ping never answers and is slow even to give up when cancelled (as a psycopg
    statement is, while it tries to cancel the statement on a server that cannot answer)."""

    async def ping(self) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(10)
            raise


def test_ready_answers_within_a_second_when_every_store_is_frozen(client: TestClient) -> None:
    container = client.app.state.container
    providers_ = [container.catalog, container.tabular_store, container.graph_store]
    for provider in providers_:
        provider.override(providers.Object(FrozenStore()))
    try:
        started = time.monotonic()
        response = client.get("/ready")
        elapsed = time.monotonic() - started
    finally:
        for provider in providers_:
            provider.reset_last_overriding()
    assert response.status_code == 503 and elapsed < 1.5, elapsed
    assert all(state.startswith("no answer within") for state in response.json()["stores"].values())


def test_ready_does_not_leak_exception_text(client: TestClient) -> None:
    provider = client.app.state.container.graph_store
    provider.override(providers.Object(FailingStore(RuntimeError("password=hunter2"))))
    try:
        response = client.get("/ready")
    finally:
        provider.reset_last_overriding()
    assert "hunter2" not in response.text


# -- configuration -------------------------------------------------------------------------------


def test_the_service_listens_on_127_0_0_1_port_8000_by_default() -> None:
    settings = Settings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.allowed_keys == frozenset()


def test_host_and_port_come_from_the_environment() -> None:
    settings = Settings.from_env({"DATAINFRA_HOST": "0.0.0.0", "DATAINFRA_PORT": "9001"})
    assert (settings.host, settings.port) == ("0.0.0.0", 9001)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATAINFRA_PORT": "http"}, "DATAINFRA_PORT"),
        ({"DATAINFRA_PORT": "70000"}, "DATAINFRA_PORT"),
        ({"DATAINFRA_PORT": "0"}, "DATAINFRA_PORT"),
        ({"DATAINFRA_HOST": ""}, "DATAINFRA_HOST"),
        ({"DATAINFRA_HOST": "bad host!"}, "DATAINFRA_HOST"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)
