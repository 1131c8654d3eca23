"""A damaged session archive (broken deflate data, a bad CRC, an unknown compression method, an encrypted
entry, a cut-off directory) is a 400 naming what is wrong, imports nothing, and never a 500 (found by the
fuzz stage: zlib.error, NotImplementedError and RuntimeError escaped the ZIP reader)."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.fuzz.edges import damaged_archives
from tests.unit.http.api import create_dataset, create_session, dataset_url, problem

SCHEMA = {"columns": [{"name": "name", "type": "text"}, {"name": "n", "type": "integer"}]}


@pytest.fixture
def archive(client: TestClient, auth: dict[str, str]) -> bytes:
    sid = create_session(client, auth, "source")
    things = create_dataset(client, auth, sid, "things", SCHEMA)
    rows = [{"name": f"row {i} " + "x" * 40, "n": i} for i in range(200)]
    assert client.post(f"{dataset_url(sid, things)}/records", json={"records": rows}, headers=auth).status_code == 201
    response = client.get(f"/sessions/{sid}/export", headers=auth)
    assert response.status_code == 200
    return response.content


def test_every_damaged_archive_is_a_400_and_imports_nothing(
    client: TestClient, auth: dict[str, str], archive: bytes
) -> None:
    target = create_session(client, auth, "target")
    damaged = damaged_archives(archive)
    assert len(damaged) >= 10
    for body in damaged:
        response = client.post(
            f"/sessions/{target}/import", content=body, headers={**auth, "content-type": "application/zip"}
        )
        detail = problem(response, 400)["detail"]
        assert "Traceback" not in detail
    assert client.get(f"/sessions/{target}/datasets", headers=auth).json()["items"] == []


def test_the_undamaged_archive_imports(client: TestClient, auth: dict[str, str], archive: bytes) -> None:
    target = create_session(client, auth, "target")
    response = client.post(
        f"/sessions/{target}/import", content=archive, headers={**auth, "content-type": "application/zip"}
    )
    assert response.status_code == 201, response.text
