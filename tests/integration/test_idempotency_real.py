"""Idempotency keys on the real stores: answers kept in PostgreSQL, so a retry after a worker
restart still replays instead of writing again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.real_app import real_app_client
from tests.unit.http.api import PEOPLE_SCHEMA, create_dataset, create_session, dataset_url, problem

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

ROWS = b"name,age,city\n" + b"".join(b"person%d,%d,Town%d\n" % (n, n % 90, n % 7) for n in range(5000))


def chunks(body: bytes, size: int) -> Iterator[bytes]:
    """The body as a stream of `size`-byte pieces, as a large upload arrives."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def load(client: Any, auth: dict[str, str], url: str, key: str, body: Iterator[bytes]) -> Any:
    headers = {**auth, "content-type": "text/csv", "Idempotency-Key": key}
    return client.post(f"{url}/records", content=body, headers=headers)


def record_count(client: Any, auth: dict[str, str], url: str) -> int:
    return int(client.get(url, headers=auth).json()["record_count"])


def test_a_retried_csv_bulk_insert_stores_its_rows_once_even_across_a_restart(
    postgres_runtime: Any, neo4j_runtime: Any
) -> None:
    schema = f"catalog_test_{uuid.uuid4().hex[:16]}"
    with real_app_client(postgres_runtime, neo4j_runtime, schema=schema) as client:
        auth = {"X-API-Key": client.post("/users").json()["api_key"]}
        session_id = create_session(client, auth)
        people = dataset_url(session_id, create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA))
        first = load(client, auth, people, "bulk-2026-06-01", chunks(ROWS, 4096))
        assert first.status_code == 201, first.text
        retry = load(client, auth, people, "bulk-2026-06-01", chunks(ROWS, 1000))  # other pieces, same bytes
        assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
        assert retry.content == first.content
        assert record_count(client, auth, people) == 5000

    with real_app_client(postgres_runtime, neo4j_runtime, schema=schema) as restarted:
        retry = load(restarted, auth, people, "bulk-2026-06-01", chunks(ROWS, 65536))
        assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
        assert retry.content == first.content
        changed = load(restarted, auth, people, "bulk-2026-06-01", chunks(ROWS + b"late,1,X\n", 65536))
        assert problem(changed, 422)["parameter"] == "Idempotency-Key"
        assert record_count(restarted, auth, people) == 5000
