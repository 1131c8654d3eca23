"""A bulk upload abandoned after PostgreSQL has already taken a COPY batch of it: the transaction
rolls back, the answer is 499 with no error logged, and the connection goes back to the pool fit
for the next write."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.real_app import real_app_client
from tests.unit.http.api import PEOPLE_SCHEMA, create_dataset, create_session, dataset_url
from tests.unit.http.test_client_disconnect import assert_left_quietly, send_part_then_leave, statuses

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

ROWS = b"name,age,city\n" + b"".join(b"person%d,%d,Town%d\n" % (n, n % 90, n % 7) for n in range(12000))


def test_an_upload_abandoned_after_a_written_batch_keeps_nothing(postgres_runtime: Any, neo4j_runtime: Any) -> None:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        auth = {"X-API-Key": client.post("/users").json()["api_key"]}
        session_id = create_session(client, auth)
        people = dataset_url(session_id, create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA))
        headers = {**auth, "content-type": "text/csv"}
        part = ROWS[: len(ROWS) * 3 // 4]  # more than one 5000-row COPY batch, cut inside a row
        logs = send_part_then_leave(client, f"{people}/records", headers, part)
        assert_left_quietly(logs, 499)
        assert client.get(people, headers=auth).json()["record_count"] == 0
        assert statuses(client, "/records") == {"499": 1}
        whole = client.post(f"{people}/records", content=ROWS, headers=headers)
        assert whole.status_code == 201, whole.text
        assert client.get(people, headers=auth).json()["record_count"] == 12000
