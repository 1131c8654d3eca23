"""A client that leaves half-way, driven at the ASGI level (the test client cannot hang up): one that
abandons its request body is recorded as 499 "client closed request", with nothing written, no error
logged and no 5xx counted; one that leaves while an export streams is no error either."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from tests.unit.http.api import create_session, tabular

ROWS = b"name,age,city\nada,36,London\nalan,41,Wilmslow\ngrace,85,Arlington\n"
NDJSON_ROWS = b'{"name": "ada", "age": 36}\n{"name": "alan", "age": 41}\n{"name": "grace", "age": 85}\n'


def asgi_scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }


def send_part_then_leave(client: TestClient, path: str, headers: dict[str, str], part: bytes) -> list[dict[str, Any]]:
    """POST `part` of a body announced as longer, then disconnect; the log events written meanwhile."""
    portal = client.blocking_portal
    assert portal is not None
    messages = iter([{"type": "http.request", "body": part, "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        pass  # the client is gone: nothing reaches it

    with capture_logs() as logs:
        portal.call(client.app, asgi_scope("POST", path, headers), receive, send)
    return logs


def statuses(client: TestClient, route_end: str) -> dict[str, float]:
    """Request counts by status for the routes whose template ends with `route_end`."""
    text = client.get("/metrics").text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "datainfra_http_requests":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels["route"].endswith(route_end):
                    counts[sample.labels["status"]] = counts.get(sample.labels["status"], 0) + sample.value
    return counts


def assert_left_quietly(logs: list[dict[str, Any]], status: int) -> None:
    assert not [line for line in logs if line.get("log_level") in ("error", "critical")], logs
    assert not [line for line in logs if line.get("event") == "unhandled_error"], logs
    access = [line for line in logs if line.get("event") == "request"]
    assert [line["status"] for line in access] == [status], access


@pytest.mark.parametrize(
    ("media_type", "body"), [("text/csv", ROWS), ("application/x-ndjson", NDJSON_ROWS)], ids=["csv", "ndjson"]
)
def test_a_bulk_upload_abandoned_half_way_is_499_and_writes_nothing(
    client: TestClient, auth: dict[str, str], media_type: str, body: bytes
) -> None:
    people = tabular(client, auth)
    logs = send_part_then_leave(client, f"{people}/records", {**auth, "content-type": media_type}, body[:40])
    assert_left_quietly(logs, 499)
    assert client.get(people, headers=auth).json()["record_count"] == 0
    counts = statuses(client, "/records")
    assert counts == {"499": 1}, counts


def test_a_zip_import_abandoned_half_way_is_499_and_creates_nothing(client: TestClient, auth: dict[str, str]) -> None:
    people = tabular(client, auth)
    assert client.post(f"{people}/records", content=ROWS, headers={**auth, "content-type": "text/csv"}).is_success
    archive = client.get(f"{people.split('/datasets/')[0]}/export", headers=auth).content
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert opened.testzip() is None
    target = create_session(client, auth, "copy")
    headers = {**auth, "content-type": "application/zip"}
    logs = send_part_then_leave(client, f"/sessions/{target}/import", headers, archive[: len(archive) // 2])
    assert_left_quietly(logs, 499)
    assert client.get(f"/sessions/{target}/datasets", headers=auth).json()["items"] == []
    assert statuses(client, "/import") == {"499": 1}


def test_a_body_that_arrives_whole_is_not_mistaken_for_a_departure(client: TestClient, auth: dict[str, str]) -> None:
    """The disconnect a server reports after a complete body (the client closing once answered) is
    no abandoned upload: the write stands."""
    people = tabular(client, auth)
    portal = client.blocking_portal
    assert portal is not None
    messages = iter([{"type": "http.request", "body": ROWS, "more_body": False}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = {**auth, "content-type": "text/csv"}
    portal.call(client.app, asgi_scope("POST", f"{people}/records", headers), receive, send)
    assert sent[0]["status"] == 201
    assert client.get(people, headers=auth).json()["record_count"] == 3


def test_a_client_that_leaves_during_a_streamed_export_is_no_error(client: TestClient, auth: dict[str, str]) -> None:
    people = tabular(client, auth)
    rows = b"name,age,city\n" + b"".join(b"person-%d,%d,Town\n" % (i, i % 90) for i in range(5000))
    assert client.post(f"{people}/records", content=rows, headers={**auth, "content-type": "text/csv"}).is_success
    portal = client.blocking_portal
    assert portal is not None
    first_chunk_sent = asyncio.Event()
    sent: list[dict[str, Any]] = []
    asked = 0

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        if asked == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_chunk_sent.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            first_chunk_sent.set()

    with capture_logs() as logs:
        portal.call(client.app, asgi_scope("GET", f"{people}/export", auth), receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert_left_quietly(logs, 200)
    assert not [status for status in statuses(client, "/export") if status.startswith("5")]
