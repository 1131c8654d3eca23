"""The hot GET of records (adapters/http/fast_pages.py, services/record_pages.py): it answers what
the route answers, byte for byte, and cached facts never outlive a change: a rotated key, a dropped
dataset or session, a migrated schema are seen by the very next request, also by a second app
(another worker) sharing the same stores."""

from __future__ import annotations

from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from datainfra.adapters.http.app import create_app
from datainfra.config import Settings
from datainfra.containers import build_memory_container
from datainfra.domain.ports import JsonPages, PageGuard
from datainfra.domain.ports.json_pages import JsonPage
from datainfra.domain.query import RecordQuery
from tests.unit.http.api import new_key, problem, tabular, write

SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "name", "type": "text", "nullable": False},
        {"name": "age", "type": "integer"},
        {"name": "score", "type": "float"},
        {"name": "amount", "type": "numeric"},
        {"name": "seen", "type": "timestamp"},
        {"name": "born", "type": "date"},
        {"name": "tags", "type": "json"},
        {"name": "ok", "type": "boolean"},
    ]
}
RECORDS: list[dict[str, Any]] = [
    {
        "name": f'p{i:02d}\n\u00fc"',
        "age": None if i % 7 == 0 else 20 + i % 5,
        "score": [1.5, 5.0, -0.0, 1e20, 1.5e-7][i % 5],
        "amount": ["1.50", "0.000", "100", "-0.000001"][i % 4],
        "seen": ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.5Z", None][i % 3],
        "born": "2000-02-29" if i % 2 else None,
        "tags": [{"b": [1, 2.5], "a": None}, "x", None][i % 3],
        "ok": [True, False, None][i % 3],
    }
    for i in range(23)
]
QUERIES = [
    "",
    "?limit=5",
    "?limit=5&sort=age:desc",
    "?age=gte:22&sort=name&limit=4",
    "?age=in:20,21&select=name,age",
    "?select=score,name&sort=score:desc&limit=3",
    "?limit=0",
    "?offset=20&limit=2",
    "?name=like:p1%&ok=is:true",
    "?age=is:null",
    "?limit=1000",
]


class CountingPages(JsonPages):
    def __init__(self, inner: JsonPages) -> None:
        self.inner = inner
        self.calls = 0
        self.answered = 0

    async def page(self, guard: PageGuard, query: RecordQuery) -> JsonPage | None:
        self.calls += 1
        page = await self.inner.page(guard, query)
        self.answered += page is not None
        return page


def counting(client: TestClient) -> CountingPages:
    container = client.app.state.container
    spy = CountingPages(container.json_pages())
    container.json_pages.override(providers.Object(spy))
    container.record_pages.reset()
    return spy


def slow_only(client: TestClient) -> Any:
    """A context in which the app takes the ordinary route for every request."""
    return client.app.state.container.record_pages.override(providers.Object(None))


def answer(client: TestClient, url: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    response = client.get(url, headers=headers)
    kept = {
        k: response.headers[k] for k in ("content-type", "link", "vary", "content-encoding") if k in response.headers
    }
    return response.status_code, response.content, kept


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_the_fast_answer_is_the_routes_answer_byte_for_byte(client: TestClient, encoding: str) -> None:
    auth = new_key(client)
    url = tabular(client, auth, SCHEMA)
    write(client, auth, url, {"records": RECORDS})
    headers = {**auth, "Accept-Encoding": encoding}
    pages = [f"{url}/records{q}" for q in QUERIES]
    first = client.get(pages[0] + "?limit=4", headers=headers).json()  # follow keyset and offset links too
    pages += [first["next"], f"{url}/records?sort=age&limit=4"]
    spy = counting(client)
    fast = [answer(client, page, headers) for page in pages]
    assert spy.answered == len(pages), "every request here is the plain case: the fast path answers it"
    with slow_only(client):
        slow = [answer(client, page, headers) for page in pages]
    for page, got, expected in zip(pages, fast, slow, strict=True):
        assert got == expected, (page, got, expected)
    assert any("link" in h for _, _, h in fast)
    if encoding == "gzip":
        assert any(h.get("content-encoding") == "gzip" for _, _, h in fast)


def test_head_and_bearer_keys_take_the_fast_path_too(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth, SCHEMA)
    write(client, auth, url, {"records": RECORDS})
    spy = counting(client)
    head = client.head(f"{url}/records?limit=3", headers=auth)
    bearer = client.get(f"{url}/records?limit=3", headers={"Authorization": f"Bearer {auth['X-API-Key']}"})
    assert spy.answered == 2
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(bearer.content))
    assert bearer.content == client.get(f"{url}/records?limit=3", headers=auth).content
    assert len(bearer.json()["items"]) == 3
    assert spy.answered == 3
    # counted under the route's own template, as the route's answers are
    route = 'route="/sessions/{session_id}/datasets/{dataset_id}/records"'
    metrics = client.get("/metrics").text
    assert f'datainfra_http_requests_total{{method="GET",{route},status="200"}} 2.0' in metrics
    assert f'datainfra_http_requests_total{{method="HEAD",{route},status="200"}} 1.0' in metrics


def test_what_the_fast_path_declines_the_route_answers(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth, SCHEMA)
    write(client, auth, url, {"records": RECORDS})
    spy = counting(client)
    problem(client.get(f"{url}/records?nosuch=eq:1", headers=auth), 400)
    problem(client.get(f"{url}/records?limit=x", headers=auth), 400)
    problem(client.get(f"{url}/records", headers={"X-API-Key": "not a key"}), 401)
    problem(client.get(f"{url}/records", headers=new_key(client)), 404)  # another user's dataset
    problem(client.get(url.replace(url.split("/")[-1], "nosuch") + "/records", headers=auth), 404)
    assert client.get(f"{url}/records?count=exact", headers=auth).json()["total"] == len(RECORDS)
    assert spy.answered == 0


def test_a_rotated_key_is_refused_on_the_very_next_request(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth, SCHEMA)
    write(client, auth, url, {"records": RECORDS})
    spy = counting(client)
    assert client.get(f"{url}/records", headers=auth).status_code == 200
    assert client.get(f"{url}/records", headers=auth).status_code == 200
    assert spy.answered == 2  # the key and the dataset are cached now
    rotated = client.post("/users/key", headers=auth)
    assert rotated.status_code == 201
    problem(client.get(f"{url}/records", headers=auth), 401)
    problem(client.get(f"{url}/records", headers=auth), 401)
    assert client.get(f"{url}/records", headers={"X-API-Key": rotated.json()["api_key"]}).status_code == 200


def test_a_dropped_dataset_or_session_is_gone_on_the_very_next_request(client: TestClient) -> None:
    auth = new_key(client)
    for drop in ("dataset", "session"):
        url = tabular(client, auth, SCHEMA)
        write(client, auth, url, {"records": RECORDS})
        assert client.get(f"{url}/records", headers=auth).status_code == 200
        target = url if drop == "dataset" else url.rsplit("/datasets/", 1)[0]
        assert client.delete(target, headers=auth).status_code == 204
        problem(client.get(f"{url}/records", headers=auth), 404)


def test_a_migrated_schema_shows_on_the_very_next_request(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth, SCHEMA)
    write(client, auth, url, {"records": RECORDS})
    assert "extra" not in client.get(f"{url}/records", headers=auth).json()["items"][0]
    schema = {"columns": [*SCHEMA["columns"], {"name": "extra", "type": "text", "default": "new"}]}
    assert client.put(url, json={"schema": schema}, headers=auth).status_code == 200
    items = client.get(f"{url}/records", headers=auth).json()["items"]
    assert {item["extra"] for item in items} == {"new"}


def test_two_apps_on_the_same_stores_see_each_others_changes() -> None:
    """Two workers: each caches in its own memory, both read the same stores."""
    settings = Settings()
    first = build_memory_container(settings)
    second = build_memory_container(settings)
    for name in ("catalog", "tabular_store", "user_roles", "graph_store"):
        getattr(second, name).override(providers.Object(getattr(first, name)()))
    with TestClient(create_app(first)) as one, TestClient(create_app(second)) as two:  # type: ignore[arg-type]
        auth = new_key(one)
        url = tabular(one, auth, SCHEMA)
        write(one, auth, url, {"records": RECORDS})
        spy = counting(two)
        assert two.get(f"{url}/records", headers=auth).status_code == 200
        assert spy.answered == 1
        rotated = one.post("/users/key", headers=auth).json()["api_key"]
        problem(two.get(f"{url}/records", headers=auth), 401)
        assert two.get(f"{url}/records", headers={"X-API-Key": rotated}).status_code == 200
        assert one.delete(url, headers={"X-API-Key": rotated}).status_code == 204
        problem(two.get(f"{url}/records", headers={"X-API-Key": rotated}), 404)
