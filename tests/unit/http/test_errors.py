"""Every error is an RFC 9457 problem document, names what was wrong, and bad input is never a 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import TestClient

from datainfra.adapters.http.app import create_app
from datainfra.config import Settings
from datainfra.containers import build_memory_container
from tests.unit.http.api import (
    PEOPLE_SCHEMA,
    PROBLEM_JSON,
    SOCIAL_SCHEMA,
    create_dataset,
    create_session,
    dataset_url,
    new_key,
    problem,
    tabular,
    write,
)


@dataclass(frozen=True)
class World:
    client: TestClient
    auth: dict[str, str]
    session: str
    table: str
    graph: str


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One app shared by the hostile-input tests: they must all be refused, so nothing changes."""
    client = TestClient(create_app(build_memory_container(Settings())))
    with client:
        auth = new_key(client)
        session_id = create_session(client, auth)
        table = dataset_url(session_id, create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA))
        graph = dataset_url(session_id, create_dataset(client, auth, session_id, "g", SOCIAL_SCHEMA, kind="graph"))
        write(client, auth, table, {"records": [{"name": "Ada", "age": 36}]})
        write(client, auth, graph, {"nodes": [{"id": "a"}, {"id": "b"}]})
        yield World(client, auth, f"/sessions/{session_id}", table, graph)


def refused(response: Any) -> dict[str, Any]:
    """A 4xx problem document (never a 500, never a stack trace)."""
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    return problem(response, response.status_code)


# -- status by status ----------------------------------------------------------------------------


def test_a_400_is_a_problem_document_naming_the_parameter(world: World) -> None:
    body = problem(world.client.get(f"{world.table}/records?age=gt:old", headers=world.auth), 400)
    assert body["parameter"] == "age"
    assert "age" in body["detail"] or "old" in body["detail"]


def test_a_401_is_a_problem_document(client: TestClient) -> None:
    body = problem(client.get("/sessions"), 401)
    assert body["title"]


def test_a_403_is_a_problem_document(make_client: Callable[..., TestClient]) -> None:
    client = make_client(allowed_keys=frozenset({"listed-key-1"}))
    problem(client.get("/sessions", headers={"X-API-Key": "unlisted-key"}), 403)


def test_a_404_for_a_resource_is_a_problem_document_naming_the_parameter(world: World) -> None:
    body = problem(world.client.get("/sessions/nope", headers=world.auth), 404)
    assert body["parameter"] == "session_id"
    body = problem(world.client.get(f"{world.session}/datasets/nope", headers=world.auth), 404)
    assert body["parameter"] == "dataset_id"


def test_an_unknown_route_is_a_404_problem_document(world: World) -> None:
    problem(world.client.get("/no/such/route", headers=world.auth), 404)
    problem(world.client.get("/no/such/route"), 404)


def test_a_wrong_method_is_a_405_problem_document(world: World) -> None:
    problem(world.client.put("/sessions", json={}, headers=world.auth), 405)
    problem(world.client.get("/users"), 405)


def test_a_409_is_a_problem_document(world: World) -> None:
    response = world.client.post(
        f"{world.session}/datasets",
        json={"name": "people", "kind": "tabular", "schema": PEOPLE_SCHEMA},
        headers=world.auth,
    )
    body = problem(response, 409)
    assert "people" in body["detail"]


def test_a_body_beyond_the_size_limit_is_a_413_problem_document(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=2048)
    auth = new_key(client)

    response = client.post("/sessions", json={"name": "big", "description": "x" * 5000}, headers=auth)

    problem(response, 413)
    assert client.get("/sessions", headers=auth).json()["items"] == []


def test_a_small_body_passes_the_size_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=2048)
    auth = new_key(client)
    assert client.post("/sessions", json={"name": "small"}, headers=auth).status_code == 201


def test_a_415_is_a_problem_document(world: World) -> None:
    response = world.client.post(
        f"{world.table}/records", content=b"<x/>", headers={**world.auth, "content-type": "application/xml"}
    )
    body = problem(response, 415)
    assert "text/csv" in body["detail"]


def test_a_422_is_a_problem_document_naming_index_and_field(world: World) -> None:
    response = world.client.post(f"{world.table}/records", json=[{"name": "x"}, {"name": 5}], headers=world.auth)
    body = problem(response, 422)
    assert (body["index"], body["field"]) == (1, "name")


def test_problem_types_differ_by_kind_of_error(world: World) -> None:
    kinds = {
        problem(world.client.get(f"{world.table}/records?age=gt:x", headers=world.auth), 400)["type"],
        problem(world.client.get("/sessions"), 401)["type"],
        problem(world.client.get("/sessions/nope", headers=world.auth), 404)["type"],
        problem(world.client.post(f"{world.table}/records", json=[{"age": 1}], headers=world.auth), 422)["type"],
    }
    assert len(kinds) == 4


def test_a_store_failure_is_a_503_problem_with_retry_after(client: TestClient, auth: dict[str, str]) -> None:
    from dependency_injector import providers

    from datainfra.domain.errors import StoreUnavailable

    url = tabular(client, auth)

    class Down:
        def __getattr__(self, name: str) -> Any:
            async def fail(*args: Any, **kwargs: Any) -> Any:
                raise StoreUnavailable("the tabular store is down")

            return fail

    client.app.state.container.tabular_store.override(providers.Object(Down()))
    try:
        response = client.get(f"{url}/records", headers=auth)
    finally:
        client.app.state.container.tabular_store.reset_last_overriding()

    problem(response, 503)
    assert int(response.headers["retry-after"]) > 0


def test_an_unexpected_failure_is_a_500_problem_without_a_trace(client: TestClient, auth: dict[str, str]) -> None:
    from dependency_injector import providers

    url = tabular(client, auth)

    class Broken:
        def __getattr__(self, name: str) -> Any:
            async def fail(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("secret internal detail /etc/passwd")

            return fail

    client.app.state.container.tabular_store.override(providers.Object(Broken()))
    try:
        response = client.get(f"{url}/records", headers=auth)
    finally:
        client.app.state.container.tabular_store.reset_last_overriding()

    body = problem(response, 500)
    assert "secret internal detail" not in response.text
    assert body["detail"]


# -- malformed and hostile bodies ------------------------------------------------------------------

HOSTILE_BODIES: list[Any] = [
    ("empty", b""),
    ("whitespace", b"  \n "),
    ("truncated", b'{"name": '),
    ("trailing garbage", b'{"name": "x"} trailing'),
    ("json null", b"null"),
    ("json string", b'"a string"'),
    ("json number", b"42"),
    ("json true", b"true"),
    ("huge float", b'{"name": 1e999, "records": 1e999, "source": 1e999}'),
    ("huge integer", b'{"name": ' + b"9" * 400 + b"}"),
    ("nan literal", b'{"name": NaN}'),
    ("single quotes", b"{'name': 'x'}"),
    ("nul byte raw", b'{"name": "a\x00b"}'),
    pytest.param(
        "invalid utf-8",
        b'{"name": "\xff\xfe"}',
    ),
    ("lone surrogate", b'{"name": "\\ud800"}'),
    pytest.param(
        "deep nesting",
        b"[" * 5000 + b"]" * 5000,
    ),
    pytest.param(
        "deep object",
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
    ),
    ("duplicate keys", b'{"name": "x", "name": 5}'),
    ("wrong type list", b'{"name": ["x"], "records": "x", "nodes": "x", "source": {}, "schema": "x"}'),
    ("unknown field", b'{"zzz_unknown": 1}'),
    ("bom then json", b'\xef\xbb\xbf{"name"'),
]


def _body_routes(world: World) -> list[tuple[str, str]]:
    return [
        ("POST", "/sessions"),
        ("PATCH", world.session),
        ("POST", f"{world.session}/datasets"),
        ("PUT", world.table),
        ("POST", f"{world.table}/records"),
        ("PUT", f"{world.table}/records?age=eq:1"),
        ("POST", f"{world.graph}/records"),
        ("PUT", f"{world.graph}/records"),
        ("POST", f"{world.graph}/algorithms/shortest_path"),
    ]


@pytest.mark.parametrize(("label", "body"), HOSTILE_BODIES)
def test_a_hostile_json_body_is_refused_with_a_problem_never_a_500(world: World, label: str, body: bytes) -> None:
    failures = []
    for method, path in _body_routes(world):
        response = world.client.request(
            method, path, content=body, headers={**world.auth, "content-type": "application/json"}
        )
        ok = 400 <= response.status_code < 500 and response.headers.get("content-type", "").startswith(PROBLEM_JSON)
        if not ok:
            failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
    assert failures == [], f"{label}: " + "\n".join(failures)


def test_nothing_changed_after_the_hostile_bodies(world: World) -> None:
    assert len(world.client.get("/sessions", headers=world.auth).json()["items"]) == 1
    rows = world.client.get(f"{world.table}/records", headers=world.auth).json()["items"]
    assert [(r["name"], r["age"]) for r in rows] == [("Ada", 36)]


@pytest.mark.parametrize(
    ("path_suffix", "body", "field"),
    [
        ("/sessions", {"name": 5}, "name"),
        ("/sessions", {"name": "x", "description": ["a"]}, "description"),
    ],
)
def test_a_wrong_json_type_or_unknown_field_names_the_field(
    world: World, path_suffix: str, body: dict[str, Any], field: str
) -> None:
    response = world.client.post(path_suffix, json=body, headers=world.auth)
    assert problem(response, 400).get("field") == field


def test_an_unknown_body_member_is_named_in_the_problem(world: World) -> None:
    response = world.client.post("/sessions", json={"name": "x", "colour": "red"}, headers=world.auth)
    assert problem(response, 400).get("field") == "colour"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "t", "kind": "tabular", "schema": {"columns": "all of them"}},
        {"name": "t", "kind": "tabular", "schema": {"columns": [{"name": "x", "type": "integer", "default": 2**70}]}},
        {"name": "t", "kind": "tabular", "schema": {"columns": [{"name": "x", "type": "text"}], "primary_key": "x"}},
        {"name": "t", "kind": "tabular", "schema": {"columns": [5]}},
        {"name": "t", "kind": "tabular", "schema": {"columns": [{"name": None, "type": "text"}]}},
        {"name": "t", "kind": "tabular", "schema": {"columns": [{"name": "x", "type": ["text"]}]}},
        {"name": "t", "kind": "tabular", "schema": {"columns": [{"name": "x", "type": "text"}], "indexes": [[]]}},
        {"name": "t", "kind": "graph", "schema": {"node_labels": "Person"}},
        {"name": "t", "kind": "graph", "schema": {"node_labels": [{"name": "P", "properties": [1]}]}},
        {"name": "t", "kind": "graph", "schema": {"node_labels": [{"name": "P", "indexes": "x"}]}},
        {"name": ["t"], "kind": "tabular", "schema": PEOPLE_SCHEMA},
        {"name": "t\x00", "kind": "tabular", "schema": PEOPLE_SCHEMA},
        {"name": "t", "kind": "tabular", "schema": []},
    ],
)
def test_a_hostile_dataset_definition_is_refused(world: World, body: dict[str, Any]) -> None:
    refused(world.client.post(f"{world.session}/datasets", json=body, headers=world.auth))


@pytest.mark.parametrize(
    "body",
    [
        {"records": [{"name": "x", "age": 10**30}]},
        {"records": [{"name": "x", "age": -(10**30)}]},
        {"records": [{"name": "x", "age": 1e308}]},
        {"records": [{"name": "x" * 100_000, "age": {"nested": True}}]},
        {"records": [{"name": {"$ne": None}}]},
        {"records": [{"name": "x", "__proto__": 1}]},
        {"records": [None]},
        {"records": [[]]},
        {"records": "x"},
        {"records": [{"name": "x"}], "on_conflict": 5},
        {"records": [{"": "x"}]},
    ],
)
def test_hostile_tabular_records_are_refused(world: World, body: dict[str, Any]) -> None:
    refused(world.client.post(f"{world.table}/records", json=body, headers=world.auth))


@pytest.mark.parametrize(
    "body",
    [
        {"nodes": [{"id": "x" * 10_000}]},
        {"nodes": [{"id": "n\x00ul"}]},
        {"nodes": [{"id": None}]},
        {"nodes": [{"id": 1.5}]},
        {"nodes": [{"id": {"a": 1}}]},
        {"nodes": [{"id": "a"}]},
        {"nodes": [{"id": "z", "labels": [5]}]},
        {"nodes": [{"id": "z", "labels": ["Person"], "properties": {"age": 2**64}}]},
        pytest.param(
            {"nodes": [{"id": "z", "properties": {"big": 2**64}}]},
        ),
        {"nodes": [{"id": "z", "properties": {"mixed": [1, "a"]}}]},
        {"nodes": [{"id": "z", "properties": {"s": "nul\x00"}}]},
        {"nodes": [{"id": "z", "properties": []}]},
        {"edges": [{"source": "a", "target": "b"}]},
        {"edges": [{"source": "a", "target": "b", "type": "KNOWS", "properties": {"weight": "heavy"}}]},
        {"edges": [{"source": "a", "target": "nope", "type": "KNOWS"}]},
        {"edges": [{"source": "a", "target": "b", "type": "x y"}]},
        {"nodes": "a"},
        {"nodes": [], "on_conflict": "explode"},
    ],
)
def test_hostile_graph_writes_are_refused(world: World, body: dict[str, Any]) -> None:
    refused(world.client.post(f"{world.graph}/records", json=body, headers=world.auth))


@pytest.mark.parametrize(
    "query",
    [
        "age=eq:%00",
        "name=eq:%00",
        "name=like:%00",
        "age=eq:99999999999999999999999999999",
        "age=in:1,2,x",
        "age=in:%221,2",
        "name=in:%22unterminated",
        "name=in:%22a%22b",
        "limit=99999999999999999999999",
        "offset=99999999999999999999999",
        "offset=1e3",
        "limit=%EF%BC%91",
        "sort=,,,",
        "sort=age,age",
        "sort=name:asc:desc",
        "select=",
        "select=,",
        "cursor=%00",
        "cursor=eyJzIjoxfQ",
        "cursor=" + "A" * 5000,
        "%00=eq:1",
        "n%C3%A4me=eq:1",
        "age=eq",
        "age=",
        "where.age=gt:x",
        "count=exact&count=exact",
        "limit=1&limit=2",
        "all=maybe",
    ],
)
def test_a_hostile_query_string_is_answered_or_refused_never_a_500(world: World, query: str) -> None:
    response = world.client.get(f"{world.table}/records?{query}", headers=world.auth)
    if response.status_code == 200:
        return  # some of these are legitimately empty filters; what matters is no 5xx
    refused(response)


@pytest.mark.parametrize(
    "query",
    ["age=gt:x", "label=a,b-c", "age=in:%22x", "limit=-1", "sort=id:up", "cursor=garbage", "select=name"],
)
def test_a_hostile_node_query_is_refused(world: World, query: str) -> None:
    refused(world.client.get(f"{world.graph}/nodes?{query}", headers=world.auth))


@pytest.mark.parametrize(
    "session_id",
    ["%00", "x" * 10_000, "%C3%A9t%C3%A9", "..%2F..%2Fetc", "'%20OR%20'1'='1", "%F0%9F%92%A9"],
)
def test_hostile_path_parameters_are_404_not_500(world: World, session_id: str) -> None:
    response = world.client.get(f"/sessions/{session_id}", headers=world.auth)
    refused(response)
    response = world.client.get(f"/sessions/{session_id}/datasets/{session_id}/records", headers=world.auth)
    refused(response)


@pytest.mark.parametrize("node_id", ["%00", "x" * 600, "%FF"])
def test_hostile_node_ids_in_the_path_are_refused(world: World, node_id: str) -> None:
    refused(world.client.get(f"{world.graph}/nodes/{node_id}", headers=world.auth))
    refused(world.client.get(f"{world.graph}/nodes/{node_id}/neighbors", headers=world.auth))


def test_a_hostile_api_key_header_is_401(world: World) -> None:
    for key in ("x" * 10_000, "abc\tdefghij", "' OR 1=1 --"):
        refused(world.client.get("/sessions", headers={"X-API-Key": key}))


def test_a_json_body_with_a_charset_parameter_is_accepted(world: World) -> None:
    response = world.client.post(
        "/sessions",
        content=b'{"name": "with charset"}',
        headers={**world.auth, "content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201
    world.client.delete(f"/sessions/{response.json()['id']}", headers=world.auth)


@pytest.mark.parametrize("kind", ["tabular", "graph"])
def test_a_json_records_body_beyond_the_size_limit_is_a_413(make_client: Callable[..., TestClient], kind: str) -> None:
    """The records route streams CSV/NDJSON/GraphML itself; a JSON body, read whole, is bounded too."""
    client = make_client(max_body_bytes=2048)
    auth = new_key(client)
    session = client.post("/sessions", json={"name": "s"}, headers=auth).json()["id"]
    schema = {"columns": [{"name": "note", "type": "text"}]} if kind == "tabular" else None
    created = client.post(
        f"/sessions/{session}/datasets",
        json={"name": "d", "kind": kind, **({"schema": schema} if schema else {})},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    url = f"/sessions/{session}/datasets/{created.json()['id']}/records"
    if kind == "tabular":
        body: object = [{"note": "x" * 100} for _ in range(60)]
    else:
        body = {"nodes": [{"id": f"n{i}", "labels": ["N"], "properties": {"x": "y" * 80}} for i in range(60)]}

    problem(client.post(url, json=body, headers=auth), 413)
