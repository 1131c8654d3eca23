"""Values PostgreSQL and Neo4j can hold that JSON has no number or Python no date for, through the
HTTP API on the real stores: each has one JSON form, the same in query results, record GETs and
exports (PostgreSQL's own row_to_json form), and is never a 5xx. Writes through the records API
refuse them with a 422 naming the field: they can only come from SQL or Cypher."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from litestar.testing import TestClient

from tests.support.real_app import real_app_client
from tests.unit.http.api import create_dataset, create_session, dataset_url, new_key, problem

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

SCHEMA = {
    "columns": [
        {"name": "k", "type": "integer", "nullable": False},
        {"name": "f", "type": "float", "nullable": False},
        {"name": "n", "type": "numeric"},
        {"name": "d", "type": "date"},
        {"name": "t", "type": "timestamp"},
    ],
    "primary_key": ["k"],
}

SPECIAL_ROWS = [
    # k, f, n, d, t as SQL literals, and the JSON form every read shows
    ("1", "'NaN'", "'NaN'", "'infinity'", "'infinity'"),
    ("2", "'Infinity'", "'Infinity'", "'-infinity'", "'-infinity'"),
    ("3", "'-Infinity'", "'-Infinity'", "'0044-03-15 BC'", "'0044-03-15 10:00:00.5+00 BC'"),
    ("4", "1.5", "2.25", "'12000-01-01'", "'12000-01-01 10:00:00+00'"),
    ("5", "0.5", "7", "'2024-02-29'", "'2024-02-29 12:00:00+00'"),
]
EXPECTED = {
    1: {"k": 1, "f": "NaN", "n": "NaN", "d": "infinity", "t": "infinity"},
    2: {"k": 2, "f": "Infinity", "n": "Infinity", "d": "-infinity", "t": "-infinity"},
    3: {"k": 3, "f": "-Infinity", "n": "-Infinity", "d": "0044-03-15 BC", "t": "0044-03-15T10:00:00.500000Z BC"},
    4: {"k": 4, "f": 1.5, "n": 2.25, "d": "12000-01-01", "t": "12000-01-01T10:00:00Z"},
}


@pytest.fixture(scope="module")
def client(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[TestClient[Any]]:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        yield client


@pytest.fixture(scope="module")
def tenant(client: TestClient[Any]) -> dict[str, Any]:
    auth = new_key(client)
    sid = create_session(client, auth)
    did = create_dataset(client, auth, sid, "odd", SCHEMA)
    values = ", ".join(f"({', '.join(row)})" for row in SPECIAL_ROWS)
    insert = f"INSERT INTO odd (k, f, n, d, t) VALUES {values}"  # noqa: S608 - our own literals
    written = sql(client, {"auth": auth, "sid": sid}, insert, False)
    assert written.status_code == 200, written.text
    return {"auth": auth, "sid": sid, "did": did}


def sql(client: TestClient[Any], tenant: dict[str, Any], text: str, read_only: bool = True) -> Any:
    body = {"language": "sql", "query": text, "read_only": read_only}
    return client.post(f"/sessions/{tenant['sid']}/query", json=body, headers=tenant["auth"])


def rows_of(response: Any) -> list[list[Any]]:
    assert response.status_code == 200, response.text
    rows: list[list[Any]] = response.json()["rows"]
    return rows


@pytest.mark.parametrize(
    ("expression", "expected", "type_name"),
    [
        ("'NaN'::numeric", "NaN", "numeric"),
        ("'Infinity'::numeric", "Infinity", "numeric"),
        ("'-Infinity'::numeric", "-Infinity", "numeric"),
        ("'NaN'::float8", "NaN", "float"),
        ("'Infinity'::float8", "Infinity", "float"),
        ("'-Infinity'::float4", "-Infinity", "float"),
        ("'infinity'::timestamptz", "infinity", "timestamp"),
        ("'-infinity'::date", "-infinity", "date"),
        ("'infinity'::timestamp", "infinity", "timestamp"),
        ("'0044-03-15'::date - 20000", "0012-06-12 BC", "date"),
        ("'294276-12-31 23:59:59+00'::timestamptz", "294276-12-31T23:59:59Z", "timestamp"),
        ("'2026-01-02 03:04:05.5+02'::timestamptz", "2026-01-02T01:04:05.500000Z", "timestamp"),
        ("'2026-01-02 03:04:05+00'::timestamptz", "2026-01-02T03:04:05Z", "timestamp"),
        ("ARRAY['2026-01-02 03:04:05.25+00'::timestamptz]", ["2026-01-02T03:04:05.250000Z"], None),
        ("ARRAY['NaN'::numeric, 1.5]", ["NaN", 1.5], None),
        ("ARRAY['infinity'::date, '2024-01-02']", ["infinity", "2024-01-02"], None),
        ("1.5::numeric", 1.5, "numeric"),
    ],
)
def test_sql_results_carry_every_value(
    client: TestClient[Any], tenant: dict[str, Any], expression: str, expected: Any, type_name: str | None
) -> None:
    response = sql(client, tenant, f"SELECT {expression} AS v")
    assert rows_of(response) == [[expected]]
    if type_name is not None:
        assert response.json()["columns"] == [{"name": "v", "type": type_name}]


def test_the_json_form_is_postgresqls_own(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    """A special number's or date's form in a query result is what PostgreSQL's row_to_json writes
    for it. (Timestamps differ on purpose, since issue 13: the API writes every timestamptz RFC 3339
    with Z and 0 or 6 fractional digits, row_to_json with +00:00 and trimmed fractions.)"""
    ours = rows_of(sql(client, tenant, "SELECT f, n, d FROM odd WHERE k <= 4 ORDER BY k"))
    theirs = rows_of(
        sql(client, tenant, "SELECT row_to_json(o)::text FROM (SELECT f, n, d FROM odd WHERE k <= 4 ORDER BY k) o")
    )
    for row, (text,) in zip(ours, theirs, strict=True):
        assert row == list(json.loads(text).values())


def test_record_gets_show_the_same_forms(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    response = client.get(f"{dataset_url(tenant['sid'], tenant['did'])}/records?sort=k", headers=tenant["auth"])
    assert response.status_code == 200, response.text
    items = {item["k"]: item for item in response.json()["items"]}
    for k, expected in EXPECTED.items():
        assert items[k] == expected
    search = client.post(
        f"{dataset_url(tenant['sid'], tenant['did'])}/records/search",
        json={"where": {"k": {"lte": 2}}, "sort": "k"},
        headers=tenant["auth"],
    )
    assert search.status_code == 200, search.text
    assert search.json()["items"] == [EXPECTED[1], EXPECTED[2]]


def test_structured_queries_show_the_same_forms(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = {"language": "structured", "from": "odd", "select": ["k", "f", "n", "d", "t"], "order_by": ["k"]}
    response = client.post(f"/sessions/{tenant['sid']}/query", json=body, headers=tenant["auth"])
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert rows[:4] == [list(EXPECTED[k].values()) for k in (1, 2, 3, 4)]


@pytest.mark.parametrize(
    ("where", "expected"),
    [({"k": {"in": [4, 5]}}, [4.5, 4.625]), ({"k": {"in": [2, 4]}}, [3.0, "Infinity"]), ({}, [3.0, "NaN"])],
)
def test_structured_averages_over_special_numbers(
    client: TestClient[Any], tenant: dict[str, Any], where: dict[str, Any], expected: list[Any]
) -> None:
    """avg of integers is a float, avg of numeric rounded to 6 places; NaN and infinity pass through."""
    aggregates = [{"fn": "avg", "field": "k", "as": "k"}, {"fn": "avg", "field": "n", "as": "n"}]
    body = {"language": "structured", "from": "odd", "where": where, "aggregates": aggregates}
    response = client.post(f"/sessions/{tenant['sid']}/query", json=body, headers=tenant["auth"])
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [expected]
    if expected[1] == 4.625:
        assert "4.625000]" in response.text  # a JSON number at the documented scale


def test_exports_show_the_same_forms(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    url = f"{dataset_url(tenant['sid'], tenant['did'])}/export"
    ndjson = client.get(f"{url}?format=ndjson", headers=tenant["auth"])
    assert ndjson.status_code == 200, ndjson.text
    lines = {row["k"]: row for row in map(json.loads, ndjson.text.splitlines())}
    for k, expected in EXPECTED.items():
        assert lines[k] == expected
    as_csv = client.get(f"{url}?format=csv", headers=tenant["auth"])
    assert as_csv.status_code == 200, as_csv.text
    cells = {row["k"]: row for row in csv.DictReader(io.StringIO(as_csv.text))}
    assert cells["1"] == {"k": "1", "f": "NaN", "n": "NaN", "d": "infinity", "t": "infinity"}
    assert cells["3"]["f"] == "-Infinity"
    assert cells["3"]["d"] == "0044-03-15 BC"
    assert [cells[k]["t"] for k in "345"] == [EXPECTED[3]["t"], EXPECTED[4]["t"], "2024-02-29T12:00:00Z"]


def test_keyset_paging_passes_special_values(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    """A cursor over a sort value only PostgreSQL holds (NaN sorts above every number) still works."""
    url = f"{dataset_url(tenant['sid'], tenant['did'])}/records?sort=f&limit=1&select=k,f"
    seen: list[Any] = []
    while url:
        response = client.get(url, headers=tenant["auth"])
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(item["f"] for item in page["items"])
        url = page.get("next")
    assert seen == ["-Infinity", 0.5, 1.5, "Infinity", "NaN"]


def test_keyset_paging_passes_special_timestamps(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    """The cursor carries a timestamp in the API's one form, also one before year 1 or after 9999."""
    url = f"{dataset_url(tenant['sid'], tenant['did'])}/records?sort=t:desc&limit=1&select=k,t"
    seen: list[Any] = []
    while url:
        response = client.get(url, headers=tenant["auth"])
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(item["k"] for item in page["items"])
        url = page.get("next")
    assert seen == [1, 4, 5, 3, 2]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"k": 10, "f": "NaN"}, "f"),
        ({"k": 10, "f": "Infinity"}, "f"),
        ({"k": 10, "f": 1, "n": "NaN"}, "n"),
        ({"k": 10, "f": 1, "n": "-Infinity"}, "n"),
        ({"k": 10, "f": 1, "d": "infinity"}, "d"),
        ({"k": 10, "f": 1, "t": "-infinity"}, "t"),
    ],
)
def test_writes_refuse_the_read_only_forms(
    client: TestClient[Any], tenant: dict[str, Any], record: dict[str, Any], field: str
) -> None:
    url = f"{dataset_url(tenant['sid'], tenant['did'])}/records"
    body = problem(client.post(url, json={"records": [{"k": 9, "f": 1}, record]}, headers=tenant["auth"]), 422)
    assert body["field"] == field
    assert body["index"] == 1
    assert "not accepted in writes" in body["detail"]


def test_cypher_floats_nan_and_infinities(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    graph = create_dataset(
        client, tenant["auth"], tenant["sid"], "g", {"node_labels": [{"name": "P", "properties": []}]}, kind="graph"
    )
    query = {
        "language": "cypher",
        "dataset": "g",
        "query": "RETURN 0.0/0.0 AS nan, 1.0/0.0 AS inf, -1.0/0.0 AS ninf, [0.0/0.0, 2.5] AS xs, {v: 1.0/0.0} AS m",
    }
    response = client.post(f"/sessions/{tenant['sid']}/query", json=query, headers=tenant["auth"])
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["NaN", "Infinity", "-Infinity", ["NaN", 2.5], {"v": "Infinity"}]]
    write = {
        "language": "cypher",
        "dataset": "g",
        "read_only": False,
        "query": "CREATE (p:P {id: 'a'}) SET p.x = 0.0/0.0, p.y = -1.0/0.0 RETURN p",
    }
    response = client.post(f"/sessions/{tenant['sid']}/query", json=write, headers=tenant["auth"])
    assert response.status_code == 200, response.text
    key = response.json()["rows"][0][0]["id"]  # the key the graph routes address
    node = client.get(f"{dataset_url(tenant['sid'], graph)}/nodes/{key}", headers=tenant["auth"])
    assert node.status_code == 200, node.text
    assert node.json()["properties"] == {"id": "a", "x": "NaN", "y": "-Infinity"}


def test_json_numbers_of_any_size_read_back(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    """jsonb keeps integers of thousands of digits, which the JSON decoder refuses: still a 200."""
    digits = "1" + "0" * 5000
    response = sql(client, tenant, f'SELECT \'{{"a": {digits}, "b": [1.5]}}\'::jsonb AS j')
    assert response.status_code == 200, response.text
    assert response.text.replace(" ", "").count(digits) == 1
    assert '"b":[1.5]' in response.text.replace(" ", "")


@pytest.mark.parametrize("route", ["shortest_path", "all_shortest_paths"])
def test_a_path_cost_past_the_float_range_reads_infinity(
    client: TestClient[Any], tenant: dict[str, Any], route: str
) -> None:
    schema = {
        "node_labels": [{"name": "P", "properties": []}],
        "relationship_types": [{"name": "R", "properties": [{"name": "w", "type": "float"}]}],
    }
    graph = create_dataset(client, tenant["auth"], tenant["sid"], f"far_{route}", schema, kind="graph")
    url = dataset_url(tenant["sid"], graph)
    document = {
        "nodes": [{"id": n, "labels": ["P"]} for n in "abc"],
        "edges": [
            {"id": "e1", "source": "a", "target": "b", "type": "R", "properties": {"w": 1.7e308}},
            {"id": "e2", "source": "b", "target": "c", "type": "R", "properties": {"w": 1.7e308}},
        ],
    }
    assert client.post(f"{url}/records", json=document, headers=tenant["auth"]).status_code == 201
    body = {"source": "a", "target": "c", "weight": "w"}
    response = client.post(f"{url}/algorithms/{route}", json=body, headers=tenant["auth"])
    assert response.status_code == 200, response.text
    assert response.json()["cost"] == "Infinity"


def test_columnar_exports_refuse_what_no_columnar_type_holds(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    """Parquet and Arrow: float NaN and infinities are kept; a numeric NaN or infinity, an infinite
    date or timestamp, or one outside years 1-9999 is a 422 naming its column, before any byte."""
    url = f"{dataset_url(tenant['sid'], tenant['did'])}/export"
    for fmt in ("parquet", "arrow"):
        whole = client.get(url, params={"format": fmt}, headers=tenant["auth"])
        assert whole.status_code == 422, whole.text
        assert whole.json()["field"] == "n" and whole.json()["value"] in ("Infinity", "-Infinity", "NaN")
        far_date = client.get(url, params={"format": fmt, "k": "eq:4", "select": "k,d"}, headers=tenant["auth"])
        assert far_date.status_code == 422 and far_date.json()["field"] == "d", far_date.text
        assert far_date.json()["value"] == "12000-01-01"
        bc = client.get(url, params={"format": fmt, "k": "eq:3", "select": "k,t"}, headers=tenant["auth"])
        assert bc.status_code == 422 and bc.json()["field"] == "t", bc.text
    floats = client.get(url, params={"format": "parquet", "select": "k,f", "sort": "k"}, headers=tenant["auth"])
    assert floats.status_code == 200, floats.text
    values = pq.read_table(io.BytesIO(floats.content)).column("f").to_pylist()
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.5, 0.5]
    fine = client.get(
        url, params={"format": "parquet", "k": "gte:4", "select": "k,n", "sort": "k"}, headers=tenant["auth"]
    )
    table = pq.read_table(io.BytesIO(fine.content))
    assert table.schema.field("n").type == pa.decimal128(38, 2)
    assert table.column("n").to_pylist() == [Decimal("2.25"), Decimal("7")]
