"""The Python client against the API on the real stores: every kind of call a user makes, as a user
makes it, with what comes back checked."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import httpx
import msgspec
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datainfra_client import (
    BadRequest,
    Client,
    ConfigError,
    Conflict,
    NotFound,
    PreconditionFailed,
    Unauthorized,
    ValidationError,
)

from tests.fuzz.api_process import RunningApi

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

PEOPLE = {
    "columns": [
        {"name": "id", "type": "integer", "nullable": False},
        {"name": "name", "type": "text", "nullable": False},
        {"name": "age", "type": "integer"},
        {"name": "joined", "type": "date"},
    ],
    "primary_key": ["id"],
}
SOCIAL = {
    "node_labels": [{"name": "Person", "properties": [{"name": "name", "type": "text"}]}],
    "relationship_types": [{"name": "KNOWS", "properties": [{"name": "weight", "type": "float"}]}],
}


def people(client: Client, session_id: str, name: str = "people") -> str:
    return client.create_dataset(session_id, name, PEOPLE).id


def test_sessions_and_datasets_are_created_listed_migrated_and_dropped(client: Client, session_id: str) -> None:
    assert session_id in [s.id for s in client.list_sessions()]
    dataset = client.create_dataset(session_id, "people", PEOPLE)
    assert dataset.kind == "tabular" and dataset.etag
    assert [d.name for d in client.list_datasets(session_id)] == ["people"]

    schema = {**PEOPLE, "columns": [*PEOPLE["columns"], {"name": "city", "type": "text"}]}
    migrated = client.migrate_dataset(session_id, dataset.id, schema, if_match=dataset.etag)
    assert "city" in [c["name"] for c in migrated.schema["columns"]]
    with pytest.raises(PreconditionFailed) as stale:
        client.migrate_dataset(session_id, dataset.id, PEOPLE, if_match=dataset.etag)
    assert stale.value.status == 412

    client.delete_dataset(session_id, dataset.id)
    with pytest.raises(NotFound):
        client.get_dataset(session_id, dataset.id)
    client.delete_session(session_id)
    with pytest.raises(NotFound):
        client.get_session(session_id)


def test_records_are_written_from_lists_iterators_files_and_frames(
    client: Client, session_id: str, tmp_path: Path
) -> None:
    dataset = people(client, session_id)
    assert client.insert(session_id, dataset, [{"id": 1, "name": "Ada", "age": 36}]).inserted == 1
    generated = ({"id": n, "name": f"gen{n}", "age": n % 90} for n in range(2, 12))
    assert client.insert(session_id, dataset, generated).inserted == 10

    csv_path = tmp_path / "more.csv"
    csv_path.write_text('id,name,age,joined\n20,Grace,45,2024-01-02\n21,"Doe, Jane",,\n')
    assert client.insert(session_id, dataset, csv_path).inserted == 2
    ndjson_path = tmp_path / "more.ndjson"
    ndjson_path.write_text('{"id": 30, "name": "Linus", "age": 28}\n{"id": 31, "name": "Edsger"}\n')
    assert client.insert(session_id, dataset, str(ndjson_path)).inserted == 2
    parquet_path = tmp_path / "more.parquet"
    pq.write_table(pa.table({"id": [40, 41], "name": ["Alan", "Barbara"], "age": [41, None]}), parquet_path)
    assert client.insert(session_id, dataset, parquet_path).inserted == 2

    frame = pd.DataFrame({"id": [50, 51], "name": ["Pandas", "Frame"], "age": [1, 2]})
    assert client.insert(session_id, dataset, frame).inserted == 2
    assert client.insert(session_id, dataset, pl.DataFrame({"id": [60], "name": ["Polars"]})).inserted == 1

    upserted = client.upsert(session_id, dataset, [{"id": 1, "name": "Ada", "age": 37}])
    assert (upserted.inserted, upserted.updated) == (0, 1)
    assert client.get_record(session_id, dataset, "1")["age"] == 37
    assert client.page(session_id, dataset, count=True, limit=1).total == 20
    assert [r["name"] for r in client.records(session_id, dataset, {"id": ["gte:20", "lt:22"]})] == [
        "Grace",
        "Doe, Jane",
    ]


def test_queries_filter_select_sort_and_page_lazily(api: RunningApi, api_key: str, session_id: str) -> None:
    sent: list[httpx.Request] = []

    def count(request: httpx.Request) -> None:
        sent.append(request)

    transport = httpx.HTTPTransport()
    with Client(api.base_url, api_key) as writer:
        dataset = people(writer, session_id)
        writer.insert(session_id, dataset, [{"id": n, "name": f"p{n}", "age": n} for n in range(1, 26)])
    with Client(api.base_url, api_key, transport=transport) as client:
        client._http.event_hooks["request"] = [count]
        found = client.records(session_id, dataset, {"age": "gte:10"}, select=["name"], sort="age:desc", page_size=4)
        assert sent == []  # nothing is fetched before the iteration starts
        first = [next(found) for _ in range(5)]
        assert first == [{"name": "p25"}, {"name": "p24"}, {"name": "p23"}, {"name": "p22"}, {"name": "p21"}]
        assert len(sent) == 2  # two pages of four, not all four pages
        rest = list(found)
        assert len(first) + len(rest) == 16 and len(sent) == 4
        assert rest[-1] == {"name": "p10"}

        where = {"or": [{"age": {"gte": 24}}, {"name": {"eq": "p3"}}]}
        searched = [r["id"] for r in client.search(session_id, dataset, where, sort="id", page_size=2)]
        assert searched == [3, 24, 25]

        assert client.update_where(session_id, dataset, {"age": "lt:3"}, {"age": 0}) == 2
        assert client.delete_where(session_id, dataset, {"age": 0}) == 2
        assert client.page(session_id, dataset, count=True).total == 23


def test_graph_nodes_edges_neighbours_paths_and_algorithms(client: Client, session_id: str) -> None:
    graph = client.create_dataset(session_id, "social", SOCIAL, kind="graph").id
    written = client.write_graph(
        session_id,
        graph,
        nodes=[
            {"id": key, "labels": ["Person"], "properties": {"name": name}}
            for key, name in zip("abcd", "ABCD", strict=True)
        ],
        edges=[
            {"source": "a", "target": "b", "type": "KNOWS", "properties": {"weight": 1.0}},
            {"source": "b", "target": "c", "type": "KNOWS", "properties": {"weight": 1.0}},
            {"source": "a", "target": "c", "type": "KNOWS", "properties": {"weight": 5.0}},
        ],
    )
    assert written.inserted == 7
    assert [n["id"] for n in client.nodes(session_id, graph, {"name": "like:%"}, label="Person", page_size=2)] == [
        "a",
        "b",
        "c",
        "d",
    ]
    assert len(list(client.edges(session_id, graph, type="KNOWS"))) == 3
    assert client.node(session_id, graph, "a")["properties"] == {"name": "A"}
    around = client.neighbors(session_id, graph, "a", direction="out", depth=2)
    assert {n["id"] for n in around.nodes} >= {"b", "c"}

    hops = client.shortest_path(session_id, graph, "a", "c")
    assert hops.found and hops.length == 1
    weighted = client.shortest_path(session_id, graph, "a", "c", weight="weight")
    assert [n["id"] for n in weighted.nodes] == ["a", "b", "c"] and weighted.cost == 2.0
    assert client.all_shortest_paths(session_id, graph, "a", "c", weight="weight").found

    ranks = list(client.pagerank(session_id, graph, page_size=3))
    assert len(ranks) == 4 and ranks[0]["id"] == "c"
    components = list(client.connected_components(session_id, graph, page_size=1))
    assert sorted(item["id"] for item in components) == ["a", "b", "c", "d"]
    assert next(client.degree(session_id, graph))["id"] in ("a", "b", "c")

    network = client.to_networkx(session_id, graph)
    assert network.number_of_nodes() == 4 and network.number_of_edges() == 3
    assert network.nodes["a"] == {"name": "A", ":labels": ":Person"}  # networkx's reading of the export
    assert sorted((s, t, data[":type"], data["weight"]) for s, t, data in network.edges(data=True)) == [
        ("a", "b", "KNOWS", 1.0),
        ("a", "c", "KNOWS", 5.0),
        ("b", "c", "KNOWS", 1.0),
    ]
    client.delete_node(session_id, graph, "d")
    with pytest.raises(NotFound):
        client.node(session_id, graph, "d")


def test_the_query_endpoint_runs_sql_cypher_and_structured_queries(client: Client, session_id: str) -> None:
    dataset = people(client, session_id)
    client.insert(session_id, dataset, [{"id": 1, "name": "Ada", "age": 36}, {"id": 2, "name": "Linus", "age": 28}])
    result = client.sql(session_id, "SELECT name, age FROM people WHERE age >= $1 ORDER BY age", [30])
    assert [c.name for c in result.columns] == ["name", "age"] and result.rows == [["Ada", 36]]
    assert result.to_pandas()["name"].tolist() == ["Ada"]
    assert result.to_polars()["age"].to_list() == [36]

    aggregated = client.structured(
        session_id, from_="people", aggregates=[{"fn": "count", "as": "n"}, {"fn": "max", "field": "age", "as": "m"}]
    )
    assert aggregated.records() == [{"n": 2, "m": 36}]

    graph = client.create_dataset(session_id, "social", SOCIAL, kind="graph").id
    client.write_graph(session_id, graph, nodes=[{"id": "a", "labels": ["Person"], "properties": {"name": "Ada"}}])
    found = client.cypher(session_id, "social", "MATCH (p:Person {name: $name}) RETURN p.name AS n", {"name": "Ada"})
    assert found.rows == [["Ada"]]


def test_exports_stream_to_files_and_sessions_round_trip_as_zip(
    client: Client, session_id: str, tmp_path: Path
) -> None:
    dataset = people(client, session_id)
    client.insert(session_id, dataset, [{"id": n, "name": f"p{n}", "age": n} for n in range(1, 101)])
    target = tmp_path / "people.csv"
    written = client.export(session_id, dataset, target, "csv", {"age": "gt:90"}, sort="id")
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert written == target.stat().st_size and [r["id"] for r in rows] == [str(n) for n in range(91, 101)]

    with client.export_stream(session_id, dataset, "ndjson", {"id": 1}) as chunks:
        lines = b"".join(chunks).splitlines()
    assert [msgspec.json.decode(line)["name"] for line in lines] == ["p1"]

    archive = tmp_path / "session.zip"
    client.export_session(session_id, archive)
    assert "manifest.json" in zipfile.ZipFile(archive).namelist()
    copy = client.create_session("copy").id
    imported = client.import_session(copy, archive)
    assert [d["name"] for d in imported.datasets] == ["people"]
    with pytest.raises(Conflict):
        client.import_session(copy, archive)
    renamed = client.import_session(copy, archive, renames={"people": "people2"})
    assert renamed.datasets[0]["name"] == "people2"
    assert client.page(copy, renamed.datasets[0]["id"], count=True).total == 100


def test_to_pandas_and_to_polars_keep_the_column_types(client: Client, session_id: str) -> None:
    dataset = people(client, session_id)
    client.insert(
        session_id,
        dataset,
        [{"id": 1, "name": "Ada", "age": 36, "joined": "2024-01-02"}, {"id": 2, "name": "Linus", "age": None}],
    )
    frame = client.to_pandas(session_id, dataset)
    assert frame["name"].tolist() == ["Ada", "Linus"]
    assert str(frame["joined"].iloc[0]) == "2024-01-02"
    assert pd.isna(frame["age"].iloc[1]) and frame["age"].iloc[0] == 36
    polars_frame = client.to_polars(session_id, dataset, {"age": "is:null"})
    assert polars_frame["name"].to_list() == ["Linus"]
    assert polars_frame.schema["id"] == pl.Int64
    empty = client.to_pandas(session_id, dataset, {"age": "gt:100"}, select=["id", "name"])
    assert list(empty.columns) == ["id", "name"] and len(empty) == 0


def test_problem_documents_are_raised_as_typed_exceptions(
    api: RunningApi, client: Client, session_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = people(client, session_id)
    with pytest.raises(ValidationError) as invalid:
        client.insert(session_id, dataset, [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob", "age": "old"}])
    assert invalid.value.status == 422 and invalid.value.field == "age" and invalid.value.index == 1
    assert invalid.value.type.startswith("urn:datainfra:problem:") and invalid.value.detail
    assert client.page(session_id, dataset, count=True).total == 0  # all-or-nothing

    with pytest.raises(BadRequest) as bad:
        client.page(session_id, dataset, {"age": "between:1"})
    assert bad.value.status == 400 and (bad.value.parameter or bad.value.field) == "age"
    with pytest.raises(NotFound) as missing:
        client.get_dataset(session_id, "no-such-dataset")
    assert missing.value.status == 404
    with Client(api.base_url, "not a key!") as stranger, pytest.raises(Unauthorized):
        stranger.list_sessions()
    monkeypatch.delenv("DATAINFRA_API_KEY", raising=False)
    with Client(api.base_url, config=Path("/nonexistent/config.toml")) as keyless, pytest.raises(ConfigError):
        keyless.list_sessions()


def test_the_upload_types_are_read_from_the_served_openapi_document(client: Client) -> None:
    from datainfra_client import calls
    from datainfra_client.shared import accepts_parquet_uploads, record_upload_types

    document = client.run(calls.openapi())
    assert {"application/json", "text/csv", "application/x-ndjson"} <= record_upload_types(document)
    assert client._takes_parquet() is accepts_parquet_uploads(document)
