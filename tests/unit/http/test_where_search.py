"""POST .../nodes/search and POST .../records/search: JSON `where` trees over HTTP, paging by the
`next` body, problem documents naming the JSON path."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.unit.http.api import graph, problem, tabular, write


@pytest.fixture
def social(client: TestClient, auth: dict[str, str]) -> str:
    url = graph(client, auth)
    people = [("ann", 30, "Oslo"), ("bob", 40, None), ("cat", 50, "Bergen"), ("dan", None, "Oslo"), ("eve", 28, None)]
    nodes = [
        {"id": key, "labels": ["Person"], "properties": {"name": key.title(), "age": age, "town": town}}
        for key, age, town in people
    ]
    nodes.append({"id": "oslo", "labels": ["City"], "properties": {"name": "Oslo"}})
    nodes.append({"id": "search", "labels": ["City"], "properties": {"name": "Search"}})
    write(client, auth, url, {"nodes": nodes, "edges": []})
    return url


@pytest.fixture
def people(client: TestClient, auth: dict[str, str]) -> str:
    url = tabular(client, auth)
    rows = [
        {"name": "ann", "age": 30, "city": "Oslo"},
        {"name": "bob", "age": 40, "city": None},
        {"name": "cat", "age": 50, "city": "Bergen"},
        {"name": "dan", "age": None, "city": "Oslo"},
        {"name": "eve", "age": 28, "city": None},
    ]
    write(client, auth, url, {"records": rows})
    return url


def search(client: TestClient, auth: dict[str, str], url: str, body: Any) -> dict[str, Any]:
    response = client.post(url, json=body, headers=auth)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


# -- nodes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ["ann", "bob", "cat", "dan", "eve", "oslo", "search"]),
        ({"label": "Person", "where": {"age": {"gte": 28, "lt": 45}}}, ["ann", "bob", "eve"]),
        ({"where": {"or": [{"town": "Oslo"}, {"age": {"gt": 45}}]}}, ["ann", "cat", "dan"]),
        ({"label": ["Person"], "where": {"not": {"town": "Oslo"}}}, ["cat"]),  # absent town: NOT UNKNOWN
        ({"label": "Person", "where": {"town": None}}, ["bob", "eve"]),
        ({"where": {"name": {"ilike": "%A%"}, "not": {"id": {"in": ["oslo", "cat"]}}}}, ["ann", "dan", "search"]),
        ({"where": {"field": "name", "like": "O%"}}, ["oslo"]),
        ({"label": "Person", "where": {"age": {"is": "notnull"}}, "sort": "age:desc"}, ["cat", "bob", "ann", "eve"]),
        ({"label": "City", "sort": ["name:desc"]}, ["search", "oslo"]),
        ({"where": {"and": [], "or": []}}, []),
    ],
)
def test_node_search(
    client: TestClient, auth: dict[str, str], social: str, body: dict[str, Any], expected: list[str]
) -> None:
    page = search(client, auth, f"{social}/nodes/search", body)
    assert ids(page) == expected
    assert page["limit"] == 50 and page["offset"] == 0
    same = search(client, auth, f"{social}/records/search", body)
    assert same == page


def test_node_search_items_are_node_documents(client: TestClient, auth: dict[str, str], social: str) -> None:
    page = search(client, auth, f"{social}/nodes/search", {"where": {"id": "ann"}, "count": "exact"})
    assert page["items"] == [
        {"id": "ann", "labels": ["Person"], "properties": {"name": "Ann", "age": 30, "town": "Oslo"}}
    ]
    assert page["total"] == 1
    assert "next" not in page


def test_next_is_the_body_of_the_following_page(client: TestClient, auth: dict[str, str], social: str) -> None:
    url = f"{social}/nodes/search"
    body: dict[str, Any] | None = {"label": "Person", "where": {"not": {"name": "Cat"}}, "limit": 2}
    seen: list[str] = []
    while body is not None:
        page = search(client, auth, url, body)
        seen += ids(page)
        following = page.get("next")
        if following is not None:
            assert following["where"] == {"not": {"name": "Cat"}} and following["limit"] == 2
            assert "cursor" in following  # sorted by id: keyset
        body = following
    assert seen == ["ann", "bob", "dan", "eve"]

    by_offset: dict[str, Any] | None = {"sort": "age", "limit": 3, "where": {"age": {"gt": 0}}}
    pages = []
    while by_offset is not None:
        page = search(client, auth, url, by_offset)
        pages.append(ids(page))
        by_offset = page.get("next")
        if by_offset is not None:
            assert by_offset["offset"] == 3 and "cursor" not in by_offset
    assert pages == [["eve", "ann", "bob"], ["cat"]]


def test_a_node_named_search_is_still_reachable(client: TestClient, auth: dict[str, str], social: str) -> None:
    response = client.get(f"{social}/nodes/search", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["properties"] == {"name": "Search"}
    assert client.get(f"{social}/nodes/search/neighbors", headers=auth).status_code == 200
    assert client.delete(f"{social}/nodes/search", headers=auth).status_code == 204
    problem(client.get(f"{social}/nodes/search", headers=auth), 404)
    problem(client.delete(f"{social}/nodes/search", headers=auth), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"where": {"or": [{"age": 1}, {"age": {"gte": "x"}}]}}, "where.or[1].age.gte"),
        ({"where": {"age": {"near": 1}}}, "where.age.near"),
        ({"where": {"not": [1]}}, "where.not"),
        ({"where": []}, "where"),
        ({"where": {"name": {"like": 3}}}, "where.name.like"),
        ({"wher": {}}, "wher"),
        ({"limit": "10"}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"sort": "age:sideways"}, "sort"),
        ({"sort": 3}, "sort"),
        ({"label": [1]}, "label"),
        ({"label": "bad-label"}, "label"),
        ({"cursor": "zzz"}, "cursor"),
        ({"count": "maybe"}, "count"),
    ],
)
def test_node_search_problems_name_the_body_field(
    client: TestClient, auth: dict[str, str], social: str, body: dict[str, Any], field: str
) -> None:
    doc = problem(client.post(f"{social}/nodes/search", json=body, headers=auth), 400)
    assert doc["field"] == field, doc


def test_node_search_in_a_strict_schema_refuses_undeclared_fields(client: TestClient, auth: dict[str, str]) -> None:
    schema = {"strict": True, "node_labels": [{"name": "P", "properties": [{"name": "age", "type": "integer"}]}]}
    url = graph(client, auth, schema)
    write(client, auth, url, {"nodes": [{"id": "a", "labels": ["P"], "properties": {"age": 3}}]})
    assert ids(search(client, auth, f"{url}/nodes/search", {"where": {"age": {"in": [3, 4]}}})) == ["a"]
    doc = problem(client.post(f"{url}/nodes/search", json={"where": {"height": 1}}, headers=auth), 400)
    assert doc["field"] == "where.height"
    doc = problem(client.post(f"{url}/nodes/search", json={"where": {"age": "x"}}, headers=auth), 400)
    assert doc["field"] == "where.age"


def test_search_needs_a_json_object_body_and_no_query_string(
    client: TestClient, auth: dict[str, str], social: str
) -> None:
    url = f"{social}/nodes/search"
    problem(client.post(url, content=b"[1]", headers={**auth, "content-type": "application/json"}), 400)
    problem(client.post(url, content=b"{", headers={**auth, "content-type": "application/json"}), 400)
    doc = problem(client.post(f"{url}?age=gt:3", json={}, headers=auth), 400)
    assert doc["parameter"] == "age"
    assert ids(search(client, auth, url, None)) == ["ann", "bob", "cat", "dan", "eve", "oslo", "search"]


def test_search_is_owner_scoped(client: TestClient, auth: dict[str, str], social: str) -> None:
    other = {"X-API-Key": client.post("/users").json()["api_key"]}
    problem(client.post(f"{social}/nodes/search", json={}, headers=other), 404)
    problem(client.post(f"{social}/records/search", json={}, headers=other), 404)
    problem(client.post(f"{social}/nodes/search", json={}), 401)


def test_node_search_on_a_tabular_dataset_is_refused(client: TestClient, auth: dict[str, str], people: str) -> None:
    problem(client.post(f"{people}/nodes/search", json={}, headers=auth), 400)


# -- records --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"where": {"age": {"gte": 28, "lt": 45}}}, ["ann", "bob", "eve"]),
        ({"where": {"not": {"city": "Oslo"}}}, ["cat"]),
        ({"where": {"or": [{"city": None}, {"name": {"in": ["dan"]}}]}}, ["bob", "dan", "eve"]),
        ({"where": {"not": {"age": {"nin": [30, 40]}}}}, ["ann", "bob"]),
        ({"where": {"city": "Oslo"}, "sort": ["age:desc"], "select": ["name"]}, ["dan", "ann"]),
        ({"where": {"field": "name", "gt": "c"}}, ["cat", "dan", "eve"]),
    ],
)
def test_record_search(
    client: TestClient, auth: dict[str, str], people: str, body: dict[str, Any], expected: list[str]
) -> None:
    page = search(client, auth, f"{people}/records/search", body)
    assert [item["name"] for item in page["items"]] == expected


def test_record_search_selects_and_pages(client: TestClient, auth: dict[str, str], people: str) -> None:
    url = f"{people}/records/search"
    first = search(
        client, auth, url, {"select": "name,age", "where": {"age": {"is": "notnull"}}, "limit": 2, "count": "exact"}
    )
    assert first["items"] == [{"name": "ann", "age": 30}, {"name": "bob", "age": 40}]
    assert first["total"] == 4
    second = search(client, auth, url, first["next"])
    assert second["items"] == [{"name": "cat", "age": 50}, {"name": "eve", "age": 28}]
    assert "next" not in second


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"where": {"age": {"gt": "old"}}}, "where.age.gt"),
        ({"where": {"height": 1}}, "where.height"),
        ({"label": "Person"}, "label"),
        ({"select": "name,nope"}, "select"),
        ({"offset": -1}, "offset"),
    ],
)
def test_record_search_problems(
    client: TestClient, auth: dict[str, str], people: str, body: dict[str, Any], field: str
) -> None:
    doc = problem(client.post(f"{people}/records/search", json=body, headers=auth), 400)
    assert doc["field"] == field, doc


def test_the_openapi_document_describes_the_search_bodies(client: TestClient) -> None:
    document = client.get("/schema/openapi.json").json()
    for path in (
        "/sessions/{session_id}/datasets/{dataset_id}/nodes/search",
        "/sessions/{session_id}/datasets/{dataset_id}/records/search",
    ):
        operation = document["paths"][path]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        properties = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
        assert "where" in properties
        assert "200" in operation["responses"]
