"""One record as a resource on the real stores (PostgreSQL): the tag a write answers is the tag a
later read gives, for every field type, and a stale If-Match is refused through the whole API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support.real_app import real_app_client
from tests.unit.http.api import new_key, problem, tabular, write

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

EVERY_TYPE: dict[str, Any] = {
    "columns": [
        {"name": "t", "type": "text"},
        {"name": "i", "type": "integer"},
        {"name": "f", "type": "float"},
        {"name": "n", "type": "numeric"},
        {"name": "b", "type": "boolean"},
        {"name": "d", "type": "date"},
        {"name": "ts", "type": "timestamp"},
        {"name": "j", "type": "json"},
        {"name": "u", "type": "uuid"},
    ]
}
ROW = {
    "t": "ünï, code",
    "i": 7,
    "f": 0.1,
    "n": 1.50,
    "b": True,
    "d": "2024-01-31",
    "ts": "2026-03-04T05:06:07.891011+02:00",
    "j": {"b": [1, 2.5, None], "a": {"x": "y"}},
    "u": "12345678-1234-5678-1234-567812345678",
}


@pytest.fixture
def real_client(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[Any]:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        yield client


def test_tags_and_the_lost_update_on_postgresql(real_client: TestClient) -> None:
    client = real_client
    auth = new_key(client)
    url = tabular(client, auth, EVERY_TYPE)
    write(client, auth, url, [ROW])
    record = f"{url}/records/1"
    read = client.get(record, headers=auth)
    assert read.status_code == 200, read.text
    tag = read.headers["etag"]
    assert client.get(record, headers={**auth, "If-None-Match": tag}).status_code == 304
    same = client.patch(record, json={}, headers={**auth, "If-Match": tag})
    assert same.status_code == 200 and same.headers["etag"] == tag  # no change, same tag

    first = client.patch(record, json={"j": {"b": None, "c": 3}, "ts": None}, headers={**auth, "If-Match": tag})
    assert first.status_code == 200, first.text
    assert first.json()["j"] == {"a": {"x": "y"}, "c": 3}
    assert first.headers["etag"] != tag
    assert client.get(record, headers=auth).headers["etag"] == first.headers["etag"]  # RETURNING = SELECT

    second = client.patch(record, json={"t": "bob"}, headers={**auth, "If-Match": tag})
    problem(second, 412)
    assert client.get(record, headers=auth).json() == first.json()

    replaced = client.put(record, json={"t": "only"}, headers={**auth, "If-Match": first.headers["etag"]})
    assert replaced.json() == {"id": 1, **{name: None for name in ROW}, "t": "only"}
    problem(client.delete(record, headers={**auth, "If-Match": first.headers["etag"]}), 412)
    assert client.delete(record, headers={**auth, "If-Match": replaced.headers["etag"]}).status_code == 204
    problem(client.get(record, headers=auth), 404)
