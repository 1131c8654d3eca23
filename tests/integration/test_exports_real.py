"""Exports and imports through the app on the real stores (PostgreSQL for tables and the catalog,
Neo4j for graphs): the session round trip, typed read-back, and an export whose client leaves
early giving its connection back."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import networkx as nx
import pytest
from litestar.testing import TestClient

from datainfra.adapters.http.formats.pump import Pump
from datainfra.domain.query import RecordQuery, SortKey
from tests.contract.conftest import new_session, tabular_dataset
from tests.support.real_app import real_app_client
from tests.unit.http.api import create_dataset, create_session, dataset_url, write
from tests.unit.http.test_exports import EDGES, GRAPH_SCHEMA, NODES, ROWS, TYPES_SCHEMA, from_json_values, typed_row

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


@pytest.fixture
def real_client(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[Any]:
    """An app whose catalog and tables are PostgreSQL and whose graphs are Neo4j."""
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        yield client


def test_session_round_trip_on_the_real_stores(real_client: TestClient) -> None:
    client = real_client
    auth = {"X-API-Key": client.post("/users").json()["api_key"]}
    session_id = create_session(client, auth)
    things = dataset_url(session_id, create_dataset(client, auth, session_id, "things", TYPES_SCHEMA))
    write(client, auth, things, {"records": ROWS})
    social = dataset_url(session_id, create_dataset(client, auth, session_id, "social", GRAPH_SCHEMA, kind="graph"))
    write(client, auth, social, {"nodes": NODES, "edges": EDGES})

    ndjson = client.get(f"{things}/export", params={"format": "ndjson"}, headers=auth).text
    back = [json.loads(line, parse_float=Decimal) for line in ndjson.splitlines()]
    assert [from_json_values(r) for r in back] == [typed_row(r) for r in ROWS]
    header, *rows = csv.reader(io.StringIO(client.get(f"{things}/export", headers=auth).text, newline=""))
    assert header[0] == "id" and len(rows) == 3
    graph = nx.node_link_graph(client.get(f"{social}/export", headers=auth).json())
    assert sorted(graph.nodes) == ["a", "b", "c"] and graph.number_of_edges() == 3
    graphml = nx.read_graphml(
        io.BytesIO(client.get(f"{social}/export", params={"format": "graphml"}, headers=auth).content),
        force_multigraph=True,
    )
    assert graphml.nodes["a"]["count"] == 3 and graphml.nodes["a"]["score"] == "1.50"

    first = client.get(f"/sessions/{session_id}/export", headers=auth).content
    target = create_session(client, auth, "copy")
    zip_headers = {**auth, "content-type": "application/zip"}
    response = client.post(f"/sessions/{target}/import", content=first, headers=zip_headers)
    assert response.status_code == 201, response.text
    assert client.post(f"/sessions/{target}/import", content=first, headers=zip_headers).status_code == 409
    second = client.get(f"/sessions/{target}/export", headers=auth).content
    with zipfile.ZipFile(io.BytesIO(first)) as one, zipfile.ZipFile(io.BytesIO(second)) as two:
        assert one.namelist() == two.namelist() == ["things.csv", "social.json", "manifest.json"]
        assert one.read("things.csv") == two.read("things.csv")
        assert one.read("social.json") == two.read("social.json")
        assert json.loads(one.read("manifest.json"))["datasets"] == json.loads(two.read("manifest.json"))["datasets"]


async def test_an_abandoned_export_gives_its_connection_back(postgres_tabular_store_factory: Any) -> None:
    async with postgres_tabular_store_factory() as store:
        session = new_session()
        await store.create_session_space(session)
        dataset = tabular_dataset(session, {"columns": [{"name": "s", "type": "text"}]})
        await store.create_table(dataset)

        async def rows() -> Any:
            for i in range(50_000):
                yield {"s": f"row {i} " + "x" * 40}

        await store.insert_records(dataset, rows(), "error")
        for _ in range(12):  # more than the pool's connections: each abandoned export must release its own
            pump = Pump(store.copy_out_csv(dataset, RecordQuery(sort=(SortKey("id"),))))
            await pump.start()
            assert (await anext(pump)).startswith(b"id,s\n")
            await pump.aclose()  # what the response's background task does when the client leaves
        assert await asyncio.wait_for(store.count(dataset), 10) == 50_000
        await store.drop_session_space(session)


def test_a_gzipped_csv_export_streams_from_postgres_and_decodes_to_the_plain_one(real_client: TestClient) -> None:
    """Accept-Encoding: gzip on the real COPY stream: compressed chunk by chunk (no Content-Length,
    one flush per chunk), and the bytes decode to exactly the uncompressed export."""
    client = real_client
    auth = {"X-API-Key": client.post("/users").json()["api_key"]}
    session_id = create_session(client, auth)
    schema = {"columns": [{"name": "name", "type": "text"}, {"name": "n", "type": "integer"}]}
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "many", schema))
    body = "name,n\n" + "".join(f"person {i:06d},{i}\n" for i in range(50_000))
    inserted = client.post(f"{url}/records", content=body, headers={**auth, "Content-Type": "text/csv"})
    assert inserted.status_code == 201, inserted.text

    plain = client.get(f"{url}/export", params={"format": "csv"}, headers={**auth, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    decoded, raw = b"", b""
    with client.stream(
        "GET", f"{url}/export", params={"format": "csv"}, headers={**auth, "Accept-Encoding": "gzip"}
    ) as zipped:
        assert zipped.headers["content-encoding"] == "gzip"
        assert "accept-encoding" in zipped.headers["vary"].lower()
        assert "content-length" not in zipped.headers
        for chunk in zipped.iter_raw():
            raw += chunk
            decoded += decoder.decompress(chunk)
    decoded += decoder.flush()
    assert decoded == plain.content
    assert decoded.count(b"\n") == 50_001
    # The test client buffers the body, so count the chunks where the compressor flushed them: each
    # streamed chunk ends in a deflate sync-flush marker; a body compressed whole has one at most.
    assert raw.count(b"\x00\x00\xff\xff") > 1
    assert len(raw) < len(plain.content) / 3
