"""Bad values and inputs past PostgreSQL's limits, through the HTTP API on the real stores: each is
a 4xx naming the field (and the record's index), never a 5xx, never a 503 "store unavailable"
(which invites the same request again), and never one of our internal names."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support.real_app import real_app_client
from tests.unit.http.api import create_dataset, create_session, dataset_url, new_key, problem

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

BIG = 10**400
INTERNAL = re.compile(r"\b[su]_[0-9a-f]{32}\b|(?:ix|ux|pk|sq)\$[0-9a-f]{8}|datainfra\$|\bD_|\bR_[0-9a-f]")
SCHEMA = {
    "columns": [
        {"name": "k", "type": "text", "nullable": False},
        {"name": "f", "type": "float"},
        {"name": "i", "type": "integer"},
        {"name": "n", "type": "numeric"},
        {"name": "s", "type": "text"},
        {"name": "d", "type": "date"},
        {"name": "t", "type": "timestamp"},
        {"name": "j", "type": "json"},
    ],
    "primary_key": ["k"],
    "indexes": [{"columns": ["s"]}],
}
GRAPH = {
    "node_labels": [{"name": "P", "properties": []}],
    "relationship_types": [{"name": "W", "properties": [{"name": "weight", "type": "float"}]}],
}


@pytest.fixture(scope="module")
def client(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[TestClient[Any]]:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        yield client


@pytest.fixture(scope="module")
def tenant(client: TestClient[Any]) -> dict[str, Any]:
    auth = new_key(client)
    sid = create_session(client, auth)
    did = create_dataset(client, auth, sid, "t", SCHEMA)
    url = f"{dataset_url(sid, did)}/records"
    assert client.post(url, json={"records": [{"k": "a", "f": 1.0}]}, headers=auth).status_code == 201
    return {"auth": auth, "sid": sid, "did": did, "url": url}


def refused(response: Any, status: int | tuple[int, ...] = 422) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    body = problem(response, response.status_code)
    assert not INTERNAL.search(response.text), response.text
    return body


# -- an integer of 400 digits where a float is expected, on every route that takes one ------------


def test_big_integer_in_a_json_record_write(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    records = [{"k": "b"}, {"k": "c", "f": BIG}]
    body = refused(client.post(tenant["url"], json={"records": records}, headers=tenant["auth"]))
    assert (body["field"], body["index"]) == ("f", 1)
    assert "float range" in body["detail"]


def test_big_integer_in_an_ndjson_record_write(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    content = b'{"k": "b"}\n{"k": "c", "f": ' + str(BIG).encode() + b"}\n"
    headers = {**tenant["auth"], "content-type": "application/x-ndjson"}
    body = refused(client.post(tenant["url"], content=content, headers=headers))
    assert (body["field"], body["index"]) == ("f", 1)


def test_big_integer_in_a_put_by_key(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = refused(client.put(tenant["url"], json={"records": [{"k": "a", "f": BIG}]}, headers=tenant["auth"]))
    assert (body["field"], body["index"]) == ("f", 0)


def test_big_integer_in_a_put_by_filter(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    body = refused(client.put(f"{tenant['url']}?k=eq:a", json={"set": {"f": BIG}}, headers=tenant["auth"]))
    assert "f" in str(body.get("field"))


def test_big_integer_in_a_search_where(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    response = client.post(f"{tenant['url']}/search", json={"where": {"f": {"gt": BIG}}}, headers=tenant["auth"])
    body = refused(response, (400, 422))
    assert "f" in str(body.get("field"))


def test_big_integer_in_a_structured_where(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    query = {"language": "structured", "from": "t", "where": {"f": {"eq": BIG}}}
    body = refused(client.post(f"/sessions/{tenant['sid']}/query", json=query, headers=tenant["auth"]), (400, 422))
    assert "f" in str(body.get("field"))


def test_big_integer_in_a_float_edge_property(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    graph = create_dataset(client, tenant["auth"], tenant["sid"], "g", GRAPH, kind="graph")
    document = {
        "nodes": [{"id": "a", "labels": ["P"]}, {"id": "b", "labels": ["P"]}],
        "edges": [{"id": "e", "source": "a", "target": "b", "type": "W", "properties": {"weight": BIG}}],
    }
    url = f"{dataset_url(tenant['sid'], graph)}/records"
    body = refused(client.post(url, json=document, headers=tenant["auth"]))
    assert "weight" in str(body.get("field"))


def test_big_integer_as_a_float_column_default(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    schema = {"columns": [{"name": "x", "type": "float", "default": BIG}]}
    response = client.post(
        f"/sessions/{tenant['sid']}/datasets",
        json={"name": "bad_default", "kind": "tabular", "schema": schema},
        headers=tenant["auth"],
    )
    assert refused(response)["field"] == "schema.columns[0].default"


# -- values past PostgreSQL's ranges ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("f", "1.5e309", "float range"),
        ("f", "-1e400", "float range"),
        ("i", str(2**63), "64-bit"),
        ("i", str(-(2**63) - 1), "64-bit"),
        ("i", str(BIG), "64-bit"),
        ("i", "1e999999999", "64-bit"),
        ("n", "1e131072", "131072 digits"),
        ("n", '"1e131072"', "131072 digits"),
        ("n", "1e-16384", "16383 digits"),
        ("s", '"a\\u0000b"', "NUL"),
        ("k", '"a\\u0000b"', "NUL"),
        ("d", '"300000-01-01"', "date"),
        ("d", '"0000-01-01"', "date"),
        ("t", '"300000-01-01T00:00:00Z"', "timestamp"),
        ("t", '"9999-12-31T23:00:00-05:00"', "timestamp"),
        ("j", '{"x": "a\\u0000b"}', "NUL"),
        ("j", '{"x": 1e131072}', "131072 digits"),
        ("j", '{"x": [1e-16384]}', "16383 digits"),
    ],
)
def test_values_out_of_range_name_their_field(
    client: TestClient[Any], tenant: dict[str, Any], field: str, value: str, says: str
) -> None:
    """`value` is JSON text: numbers a client sends need not fit a Python float or int."""
    content = ('{"records": [{"k": "y"}, {"k": "z", "' + field + '": ' + value + "}]}").encode()
    headers = {**tenant["auth"], "content-type": "application/json"}
    body = refused(client.post(tenant["url"], content=content, headers=headers))
    assert (body["field"], body["index"]) == (field, 1)
    assert says in body["detail"]


def test_numeric_text_in_csv_past_the_range(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    content = b"k,n\nq,1\nr,1e200000\n"
    headers = {**tenant["auth"], "content-type": "text/csv"}
    body = refused(client.post(tenant["url"], content=content, headers=headers))
    assert (body["field"], body["index"]) == ("n", 1)


# -- PostgreSQL's program limits (SQLSTATE class 54) ----------------------------------------------


def create(client: TestClient[Any], tenant: dict[str, Any], name: str, schema: dict[str, Any]) -> Any:
    body = {"name": name, "kind": "tabular", "schema": schema}
    return client.post(f"/sessions/{tenant['sid']}/datasets", json=body, headers=tenant["auth"])


def test_more_columns_than_a_table_holds(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    schema = {"columns": [{"name": f"c{i}", "type": "integer"} for i in range(1600)]}
    body = refused(create(client, tenant, "wide", schema))
    assert body["field"] == "schema.columns"
    assert "1599" in body["detail"]


def test_columns_dropped_earlier_count_against_the_limit(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    """1599 columns work (writes and upserts too); replacing them all by migration passes
    PostgreSQL's 1600 (dropped columns count there): a 422, and the dataset is unchanged."""
    columns = [{"name": "k", "type": "text", "nullable": False}] + [
        {"name": f"c{i}", "type": "integer"} for i in range(1598)
    ]
    response = create(client, tenant, "wide_ok", {"columns": columns, "primary_key": ["k"]})
    assert response.status_code == 201, response.text
    url = dataset_url(tenant["sid"], response.json()["id"])
    upsert = {"records": [{"k": "a", "c0": 1, "c1597": 2}], "on_conflict": "update"}
    written = client.post(f"{url}/records", json=upsert, headers=tenant["auth"])
    assert written.status_code == 201, written.text
    replaced = [columns[0]] + [{"name": f"d{i}", "type": "integer"} for i in range(1598)]
    body = refused(
        client.put(url, json={"schema": {"columns": replaced, "primary_key": ["k"]}}, headers=tenant["auth"])
    )
    assert "1600 columns" in body["detail"]
    assert client.get(url, headers=tenant["auth"]).json()["schema"]["columns"][1]["name"] == "c0"


@pytest.mark.parametrize("member", ["indexes", "primary_key"])
def test_an_index_over_more_than_32_columns(client: TestClient[Any], tenant: dict[str, Any], member: str) -> None:
    names = [f"c{i}" for i in range(33)]
    schema: dict[str, Any] = {"columns": [{"name": n, "type": "integer", "nullable": False} for n in names]}
    schema[member] = [{"columns": names}] if member == "indexes" else names
    body = refused(create(client, tenant, f"idx_{member}", schema))
    assert body["field"].startswith(f"schema.{member}")
    assert "32 columns" in body["detail"]


def test_an_incompressible_value_too_large_for_the_key(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    big = os.urandom(1600).hex()  # 3200 characters that do not compress
    body = refused(client.post(tenant["url"], json={"records": [{"k": "ok"}, {"k": big}]}, headers=tenant["auth"]))
    assert (body["field"], body["index"]) == ("k", 1)
    assert "2704 bytes" in body["detail"]


@pytest.mark.parametrize("how", ["insert", "upsert", "put_by_key", "put_by_filter"])
def test_an_incompressible_value_too_large_for_an_index(
    client: TestClient[Any], tenant: dict[str, Any], how: str
) -> None:
    big = os.urandom(1600).hex()
    url, auth = tenant["url"], tenant["auth"]
    if how == "insert":
        response = client.post(url, json={"records": [{"k": "x1", "s": big}]}, headers=auth)
    elif how == "upsert":
        response = client.post(url, json={"records": [{"k": "a", "s": big}], "on_conflict": "update"}, headers=auth)
    elif how == "put_by_key":
        response = client.put(url, json={"records": [{"k": "a", "s": big}]}, headers=auth)
    else:
        response = client.put(f"{url}?k=eq:a", json={"set": {"s": big}}, headers=auth)
    body = refused(response)
    assert body["field"] == "s"
    assert "too large for an index" in body["detail"]
    if how in ("insert", "put_by_key"):
        assert body["index"] == 0


def test_an_index_added_over_values_too_large(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    schema = {"columns": [{"name": "v", "type": "text"}]}
    response = create(client, tenant, "later_index", schema)
    assert response.status_code == 201, response.text
    url = dataset_url(tenant["sid"], response.json()["id"])
    written = client.post(f"{url}/records", json={"records": [{"v": os.urandom(1600).hex()}]}, headers=tenant["auth"])
    assert written.status_code == 201, written.text
    migrated = {"schema": {"columns": [{"name": "v", "type": "text"}], "indexes": [{"columns": ["v"]}]}}
    body = refused(client.put(url, json=migrated, headers=tenant["auth"]))
    assert body["field"] == "v"


def test_a_record_wider_than_a_page(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    schema = {"columns": [{"name": f"x{i}", "type": "float"} for i in range(1100)]}
    response = create(client, tenant, "heavy", schema)
    assert response.status_code == 201, response.text
    url = f"{dataset_url(tenant['sid'], response.json()['id'])}/records"
    record = {f"x{i}": 1.0 for i in range(1100)}
    body = refused(client.post(url, json={"records": [record]}, headers=tenant["auth"]))
    assert "8160" in body["detail"]


def test_client_sql_past_a_limit_is_a_client_error(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    text = "SELECT " + ", ".join(f"{i} AS c{i}" for i in range(1700))
    query = {"language": "sql", "query": text}
    refused(client.post(f"/sessions/{tenant['sid']}/query", json=query, headers=tenant["auth"]), (400, 422))


def test_client_sql_writing_a_value_too_large_for_an_index(client: TestClient[Any], tenant: dict[str, Any]) -> None:
    query = {
        "language": "sql",
        "query": "INSERT INTO t (k, s) VALUES ($1, $2)",
        "parameters": ["sql", os.urandom(1600).hex()],
        "read_only": False,
    }
    body = refused(client.post(f"/sessions/{tenant['sid']}/query", json=query, headers=tenant["auth"]), (400, 422))
    assert "2704" in body["detail"]


@pytest.mark.parametrize(("length", "status"), [(63, 201), (64, 422)])
def test_names_are_at_most_63_bytes(client: TestClient[Any], tenant: dict[str, Any], length: int, status: int) -> None:
    name = "n" * length
    dataset = create(client, tenant, name, {"columns": [{"name": "c", "type": "text"}]})
    assert dataset.status_code == status, dataset.text
    column = create(client, tenant, f"col{length}", {"columns": [{"name": name, "type": "text"}]})
    assert column.status_code == status, column.text
    if status == 422:
        assert "63 bytes" in refused(dataset)["detail"]
        assert refused(column)["field"] == "schema.columns[0].name"


def test_a_late_bad_numeric_text_in_a_json_write_names_its_index_and_keeps_nothing(
    client: TestClient[Any], tenant: dict[str, Any]
) -> None:
    """Typed rows already copied when the value turns up: the write rolls back, the generic path names it."""
    records: list[dict[str, Any]] = [{"k": f"k{i}", "n": i / 4} for i in range(12_000)]
    records[11_000]["n"] = "1_000"

    before = client.get(dataset_url(tenant["sid"], tenant["did"]), headers=tenant["auth"]).json()["record_count"]

    body = refused(client.post(tenant["url"], json=records, headers=tenant["auth"]))

    assert (body["index"], body["field"]) == (11_000, "n")
    after = client.get(dataset_url(tenant["sid"], tenant["did"]), headers=tenant["auth"]).json()["record_count"]
    assert after == before
