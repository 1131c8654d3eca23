"""Idempotency-Key on POST, as a client retrying a write sees it (in-memory stores)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from datainfra.adapters.memory.catalog import InMemoryCatalog
from datainfra.domain.model import Session
from datainfra.domain.ports.idempotency import IDEMPOTENCY_WINDOW, IN_FLIGHT_LEASE
from tests.unit.http.api import new_key, problem, tabular

CSV = "text/csv"
ROWS = b"name,age,city\nada,36,London\nalan,41,Wilmslow\ngrace,85,Arlington\n"


class SettableClock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture
def clock(client: TestClient) -> Iterator[SettableClock]:
    clock = SettableClock()
    with client.app.state.container.clock.override(providers.Object(clock)):
        yield clock


def bulk(client: TestClient, auth: dict[str, str], url: str, key: str, body: bytes = ROWS) -> Any:
    headers = {**auth, "content-type": CSV, "Idempotency-Key": key}
    return client.post(f"{url}/records", content=body, headers=headers)


def record_count(client: TestClient, auth: dict[str, str], url: str) -> int:
    return int(client.get(url, headers=auth).json()["record_count"])


def test_a_retried_bulk_insert_replays_the_answer_and_stores_its_rows_once(
    client: TestClient, auth: dict[str, str]
) -> None:
    people = tabular(client, auth)
    first = bulk(client, auth, people, "load-1")
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = bulk(client, auth, people, "load-1")
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert record_count(client, auth, people) == 3


def test_without_a_key_a_retry_writes_again(client: TestClient, auth: dict[str, str]) -> None:
    people = tabular(client, auth)
    for _ in range(2):
        response = client.post(f"{people}/records", content=ROWS, headers={**auth, "content-type": CSV})
        assert response.status_code == 201
    assert record_count(client, auth, people) == 6


def test_a_created_session_keeps_its_location_on_replay(client: TestClient, auth: dict[str, str]) -> None:
    headers = {**auth, "Idempotency-Key": "new-session"}
    first = client.post("/sessions", json={"name": "work"}, headers=headers)
    again = client.post("/sessions", json={"name": "work"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("location") == first.headers.get("location")
    assert len(client.get("/sessions", headers=auth).json()["items"]) == 1


def test_the_same_key_with_another_body_is_refused_with_422(client: TestClient, auth: dict[str, str]) -> None:
    people = tabular(client, auth)
    assert bulk(client, auth, people, "load-1").status_code == 201
    body = problem(bulk(client, auth, people, "load-1", ROWS + b"linus,54,Portland\n"), 422)
    assert body["parameter"] == "Idempotency-Key"
    assert record_count(client, auth, people) == 3


def test_the_same_key_on_another_path_is_refused_with_422(client: TestClient, auth: dict[str, str]) -> None:
    people, others = tabular(client, auth), tabular(client, auth)
    assert bulk(client, auth, people, "load-1").status_code == 201
    problem(bulk(client, auth, others, "load-1"), 422)
    assert record_count(client, auth, others) == 0


def test_keys_are_per_user(client: TestClient, auth: dict[str, str]) -> None:
    other = new_key(client)
    mine, theirs = tabular(client, auth), tabular(client, other)
    assert bulk(client, auth, mine, "shared-key").status_code == 201
    response = bulk(client, other, theirs, "shared-key")
    assert response.status_code == 201 and "idempotent-replayed" not in response.headers
    assert record_count(client, other, theirs) == 3


def test_a_refused_write_is_stored_and_replayed_too(client: TestClient, auth: dict[str, str]) -> None:
    people = tabular(client, auth)
    bad = b"name,age\nada,not-a-number\n"
    first = problem(bulk(client, auth, people, "bad-load", bad), 422)
    again = bulk(client, auth, people, "bad-load", bad)
    assert problem(again, 422) == first and again.headers["idempotent-replayed"] == "true"


def test_a_key_in_flight_answers_409_with_retry_after(client: TestClient) -> None:
    user_id, auth = new_user(client)
    store = client.app.state.container.idempotency()
    portal = client.blocking_portal
    assert portal is not None
    portal.call(store.begin, user_id, "busy", "another-request", client.app.state.container.clock().now())
    response = client.post("/sessions", json={"name": "x"}, headers={**auth, "Idempotency-Key": "busy"})
    body = problem(response, 409)
    assert body["parameter"] == "Idempotency-Key" and response.headers["retry-after"] == "1"
    assert client.get("/sessions", headers=auth).json()["items"] == []


def new_user(client: TestClient) -> tuple[str, dict[str, str]]:
    registered = client.post("/users").json()
    return str(registered["user_id"]), {"X-API-Key": registered["api_key"]}


class FailingOnceCatalog(InMemoryCatalog):
    def __init__(self) -> None:
        super().__init__()
        self.failures_left = 1

    async def add_session(self, session: Session) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the store fell over")
        await super().add_session(session)


def test_a_failed_request_releases_its_key_for_the_retry(client: TestClient) -> None:
    catalog = FailingOnceCatalog()
    with client.app.state.container.catalog.override(providers.Object(catalog)):
        auth = new_key(client)
        headers = {**auth, "Idempotency-Key": "create"}
        problem(client.post("/sessions", json={"name": "work"}, headers=headers), 500)
        retry = client.post("/sessions", json={"name": "work"}, headers=headers)
        assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers
        assert len(client.get("/sessions", headers=auth).json()["items"]) == 1


@pytest.mark.parametrize("key", [b"", b"has space", "ünïcode".encode(), b"x" * 256])
def test_a_malformed_key_is_refused_with_400(client: TestClient, auth: dict[str, str], key: bytes) -> None:
    headers: dict[str, Any] = {**auth, "Idempotency-Key": key}
    body = problem(client.post("/sessions", json={"name": "work"}, headers=headers), 400)
    assert body["parameter"] == "Idempotency-Key"
    assert client.get("/sessions", headers=auth).json()["items"] == []


def test_a_key_of_255_visible_characters_is_fine(client: TestClient, auth: dict[str, str]) -> None:
    headers = {**auth, "Idempotency-Key": "~" * 255}
    assert client.post("/sessions", json={"name": "work"}, headers=headers).status_code == 201


def test_a_request_without_a_valid_api_key_gets_401_and_stores_nothing(
    client: TestClient, auth: dict[str, str]
) -> None:
    problem(client.post("/sessions", json={"name": "work"}, headers={"Idempotency-Key": "k"}), 401)
    response = client.post("/sessions", json={"name": "work"}, headers={**auth, "Idempotency-Key": "k"})
    assert response.status_code == 201 and "idempotent-replayed" not in response.headers


def test_a_key_expires_after_24_hours(client: TestClient, auth: dict[str, str], clock: SettableClock) -> None:
    people = tabular(client, auth)
    assert bulk(client, auth, people, "daily").status_code == 201
    clock.at += IDEMPOTENCY_WINDOW - dt.timedelta(seconds=1)
    assert bulk(client, auth, people, "daily").headers["idempotent-replayed"] == "true"
    clock.at += dt.timedelta(seconds=2)
    response = bulk(client, auth, people, "daily")
    assert response.status_code == 201 and "idempotent-replayed" not in response.headers
    assert record_count(client, auth, people) == 6


def test_an_abandoned_claim_stops_blocking_after_its_lease(client: TestClient, clock: SettableClock) -> None:
    user_id, auth = new_user(client)
    store = client.app.state.container.idempotency()
    portal = client.blocking_portal
    assert portal is not None
    portal.call(store.begin, user_id, "orphan", "a-dead-worker", clock.now())
    problem(client.post("/sessions", json={"name": "x"}, headers={**auth, "Idempotency-Key": "orphan"}), 409)
    clock.at += IN_FLIGHT_LEASE + dt.timedelta(seconds=1)
    response = client.post("/sessions", json={"name": "x"}, headers={**auth, "Idempotency-Key": "orphan"})
    assert response.status_code == 201


def test_put_and_delete_ignore_the_header(client: TestClient, auth: dict[str, str]) -> None:
    session_id = client.post("/sessions", json={"name": "a"}, headers=auth).json()["id"]
    headers = {**auth, "Idempotency-Key": "del"}
    assert client.delete(f"/sessions/{session_id}", headers=headers).status_code == 204
    assert "idempotent-replayed" not in client.delete(f"/sessions/{session_id}", headers=headers).headers


def test_registration_needs_no_user_and_ignores_the_header(client: TestClient) -> None:
    first = client.post("/users", headers={"Idempotency-Key": "signup"})
    again = client.post("/users", headers={"Idempotency-Key": "signup"})
    assert first.json()["api_key"] != again.json()["api_key"]


def test_a_body_in_other_pieces_is_the_same_request(client: TestClient, auth: dict[str, str]) -> None:
    people = tabular(client, auth)
    headers = {**auth, "content-type": CSV, "Idempotency-Key": "pieces"}
    assert client.post(f"{people}/records", content=iter([ROWS[:10], ROWS[10:]]), headers=headers).status_code == 201
    again = client.post(f"{people}/records", content=iter([ROWS[:3], ROWS[3:20], ROWS[20:]]), headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert record_count(client, auth, people) == 3


def test_a_client_that_leaves_mid_body_releases_its_key(client: TestClient, auth: dict[str, str]) -> None:
    people = tabular(client, auth)
    portal = client.blocking_portal
    assert portal is not None
    messages = iter([{"type": "http.request", "body": ROWS[:20], "more_body": True}, {"type": "http.disconnect"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{people}/records",
        "raw_path": f"{people}/records".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", CSV.encode()),
            (b"x-api-key", auth["X-API-Key"].encode()),
            (b"idempotency-key", b"gone"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    portal.call(client.app, scope, receive, send)
    retry = bulk(client, auth, people, "gone")
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers
    assert record_count(client, auth, people) == 3


def test_an_unauthenticated_answer_is_never_replayed(client: TestClient, auth: dict[str, str]) -> None:
    bearer = {"Authorization": f"Bearer {auth['X-API-Key']}", "Idempotency-Key": "either-way"}
    client.post("/sessions", json={"name": "work"}, headers=bearer)  # 201, or 401 where bearer is not taken
    response = client.post("/sessions", json={"name": "work"}, headers={**auth, "Idempotency-Key": "either-way"})
    assert response.status_code == 201
    assert len(client.get("/sessions", headers=auth).json()["items"]) == 1
