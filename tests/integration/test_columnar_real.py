"""Parquet and Arrow through the app on PostgreSQL: an export of many row groups (the COPY's CSV cut
into blocks) holds exactly the rows the CSV export holds, and uploads of many row groups / batches
round trip, upsert and stay all-or-nothing."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from litestar.testing import TestClient

from datainfra.adapters.http.formats import columnar
from datainfra.adapters.postgres import row_exports
from tests.support.real_app import real_app_client
from tests.unit.http.api import create_dataset, create_session, dataset_url, problem, write

pytestmark = [pytest.mark.postgres]

SCHEMA = {
    "columns": [
        {"name": "k", "type": "integer", "nullable": False},
        {"name": "s", "type": "text"},
        {"name": "n", "type": "numeric"},
        {"name": "at", "type": "timestamp"},
    ],
    "primary_key": ["k"],
}
ROWS = [
    {
        "k": k,
        "s": None if k % 7 == 0 else f'row {k}, "quoted"\nnext line' if k % 3 == 0 else "",
        "n": f"{k}.{k % 100:02d}",
        "at": f"2024-01-01T00:00:{k % 60:02d}" + (".250000Z" if k % 2 else "Z"),
    }
    for k in range(3000)
]


@pytest.fixture(scope="module")
def client(postgres_runtime: Any) -> Iterator[TestClient[Any]]:
    with real_app_client(postgres_runtime, None) as client:
        yield client


@pytest.fixture
def source(client: TestClient[Any]) -> tuple[dict[str, str], str, str]:
    auth = {"X-API-Key": client.post("/users").json()["api_key"]}
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "many", SCHEMA))
    write(client, auth, url, {"records": ROWS})
    return auth, session_id, url


def test_an_export_of_many_row_groups_holds_the_csv_exports_rows(
    client: TestClient[Any], source: tuple[dict[str, str], str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    auth, _, url = source
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 16 * 1024)
    monkeypatch.setattr(row_exports, "EXPORT_CHUNK", 4 * 1024)
    params = {"s": "is:notnull", "sort": "k:desc"}
    parquet = client.get(f"{url}/export", params={**params, "format": "parquet"}, headers=auth).content
    arrow = client.get(f"{url}/export", params={**params, "format": "arrow"}, headers=auth).content
    as_csv = client.get(f"{url}/export", params=params, headers=auth).content
    assert pq.ParquetFile(io.BytesIO(parquet)).metadata.num_row_groups > 5
    reader = ipc.open_stream(arrow)
    batches = list(reader)
    assert len(batches) > 5
    from_parquet = pq.read_table(io.BytesIO(parquet))
    from_arrow = pa.Table.from_batches(batches)
    text_options = pa_csv.ConvertOptions(
        column_types={"s": pa.string(), "n": pa.string(), "at": pa.string()},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
    )
    from_csv = pa_csv.read_csv(io.BytesIO(as_csv), convert_options=text_options)
    want = [r for r in reversed(ROWS) if r["s"] is not None]
    assert from_parquet.equals(from_arrow)
    assert from_parquet.column("k").to_pylist() == from_csv.column("k").to_pylist() == [r["k"] for r in want]
    assert from_parquet.column("s").to_pylist() == from_csv.column("s").to_pylist()
    assert [str(v) for v in from_parquet.column("n").to_pylist()] == [r["n"] for r in want]
    at = from_parquet.column("at").to_pylist()
    assert at == [dt.datetime.fromisoformat(r["at"]) for r in want]


def test_uploads_of_many_row_groups_round_trip_and_upsert(
    client: TestClient[Any], source: tuple[dict[str, str], str, str]
) -> None:
    auth, session_id, url = source
    parquet = client.get(f"{url}/export", params={"format": "parquet"}, headers=auth).content
    table = pq.read_table(io.BytesIO(parquet))
    copy = dataset_url(session_id, create_dataset(client, auth, session_id, "copy", SCHEMA))
    body = io.BytesIO()
    pq.write_table(table, body, row_group_size=500)
    headers = {**auth, "content-type": "application/vnd.apache.parquet"}
    response = client.post(f"{copy}/records", content=body.getvalue(), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["inserted"] == len(ROWS)
    original = client.get(f"{url}/export", params={"format": "ndjson"}, headers=auth).text
    assert client.get(f"{copy}/export", params={"format": "ndjson"}, headers=auth).text == original

    changed = table.set_column(1, "s", pa.array(["new"] * table.num_rows))
    stream = pa.BufferOutputStream()
    with ipc.new_stream(stream, changed.schema) as writer:
        for batch in changed.to_batches(max_chunksize=700):
            writer.write_batch(batch)
    arrow_headers = {**auth, "content-type": "application/vnd.apache.arrow.stream"}
    upsert = client.post(
        f"{copy}/records",
        content=stream.getvalue().to_pybytes(),
        params={"on_conflict": "update"},
        headers=arrow_headers,
    )
    assert upsert.json() == {"inserted": 0, "updated": len(ROWS), "ignored": 0}
    assert {r["s"] for r in client.get(f"{copy}/records", params={"limit": 50}, headers=auth).json()["items"]} == {
        "new"
    }

    bad = changed.set_column(0, "k", pa.array([*range(len(ROWS) - 1), None], pa.int64()))
    stream = pa.BufferOutputStream()
    with ipc.new_stream(stream, bad.schema) as writer:
        writer.write_table(bad, max_chunksize=700)
    before = client.get(f"{copy}/export", params={"format": "ndjson"}, headers=auth).text
    refused = client.post(
        f"{copy}/records",
        content=stream.getvalue().to_pybytes(),
        params={"on_conflict": "update"},
        headers=arrow_headers,
    )
    assert problem(refused, 422)["index"] == len(ROWS) - 1
    assert client.get(f"{copy}/export", params={"format": "ndjson"}, headers=auth).text == before
