"""An archive listing more datasets than one import may create is refused up front (a 400 naming
the limit): before any of its datasets is read, so the work does not grow with the list, and
nothing is created."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from litestar.testing import TestClient

from datainfra.services import imports
from datainfra.services.imports import MAX_IMPORT_DATASETS
from tests.unit.http.api import create_session, problem


def _archive(count: int) -> bytes:
    datasets = [
        {"name": f"d{i}", "kind": "tabular", "file": "d.csv", "format": "csv", "schema": {"columns": []}}
        for i in range(count)
    ]
    manifest = {"format": "datainfra-session-export", "format_version": 1, "session": {}, "datasets": datasets}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("d.csv", b"x\n")
        archive.writestr("manifest.json", json.dumps(manifest).encode())
    return buffer.getvalue()


def test_too_many_datasets_in_one_archive(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = create_session(client, auth, "target")
    planned: list[Any] = []
    real = imports.PlannedDataset

    def counted(*args: Any) -> Any:
        planned.append(args)
        return real(*args)

    monkeypatch.setattr(imports, "PlannedDataset", counted)
    response = client.post(
        f"/sessions/{target}/import",
        content=_archive(200_000),
        headers={**auth, "content-type": "application/zip"},
    )
    body = problem(response, 400)
    assert str(MAX_IMPORT_DATASETS) in body["detail"]
    assert planned == []  # refused on the count alone: no dataset of the list was read
    assert client.get(f"/sessions/{target}/datasets", headers=auth).json()["items"] == []


def test_the_limit_itself_is_allowed(client: TestClient, auth: dict[str, str]) -> None:
    """At the limit the manifest is read (here its empty schemas are refused, one by one: 422)."""
    target = create_session(client, auth, "target")
    response = client.post(
        f"/sessions/{target}/import",
        content=_archive(MAX_IMPORT_DATASETS),
        headers={**auth, "content-type": "application/zip"},
    )
    assert problem(response, 422)["field"] == "schema.columns"
    assert str(MAX_IMPORT_DATASETS) not in response.json()["detail"]
