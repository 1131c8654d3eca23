"""Datasets: create (tabular and graph), list, read with a record count, migrate the schema, delete."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.unit.http.api import (
    PEOPLE_SCHEMA,
    SOCIAL_SCHEMA,
    create_dataset,
    create_session,
    dataset_url,
    new_key,
    problem,
    write,
)


def _create(client: TestClient, auth: dict[str, str], session_id: str, body: dict[str, Any]) -> Any:
    return client.post(f"/sessions/{session_id}/datasets", json=body, headers=auth)


def _columns(dataset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in dataset["schema"]["columns"]}


def _rows(client: TestClient, auth: dict[str, str], url: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{url}/records", params={"sort": "id", **params}, headers=auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_creating_a_tabular_dataset_returns_it_with_201(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)

    response = _create(client, auth, session_id, {"name": "people", "kind": "tabular", "schema": PEOPLE_SCHEMA})

    assert response.status_code == 201
    body = response.json()
    assert {"id", "name", "kind", "schema", "created_at", "updated_at"} <= set(body)
    assert (body["name"], body["kind"]) == ("people", "tabular")
    columns = _columns(body)
    assert columns["name"] == {"name": "name", "type": "text", "nullable": False}
    assert columns["age"]["type"] == "integer"
    assert columns["age"]["nullable"] is True


def test_without_a_primary_key_the_store_adds_an_id_it_fills(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    body = _create(client, auth, session_id, {"name": "t", "kind": "tabular", "schema": PEOPLE_SCHEMA}).json()
    url = dataset_url(session_id, body["id"])

    assert body["schema"]["primary_key"] == ["id"]
    assert _columns(body)["id"]["type"] == "integer"
    write(client, auth, url, {"records": [{"name": "a"}, {"name": "b"}]})
    ids = [row["id"] for row in _rows(client, auth, url)]
    assert len(set(ids)) == 2
    assert all(isinstance(i, int) for i in ids)


def test_a_declared_primary_key_is_kept_and_no_id_is_added(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    schema = {
        "columns": [{"name": "sku", "type": "text"}, {"name": "qty", "type": "integer"}],
        "primary_key": ["sku"],
    }

    body = _create(client, auth, session_id, {"name": "stock", "kind": "tabular", "schema": schema}).json()

    assert body["schema"]["primary_key"] == ["sku"]
    assert set(_columns(body)) == {"sku", "qty"}
    assert _columns(body)["sku"]["nullable"] is False


def test_creating_a_graph_dataset_returns_it_with_201(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)

    response = _create(client, auth, session_id, {"name": "social", "kind": "graph", "schema": SOCIAL_SCHEMA})

    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "graph"
    labels = {label["name"]: label for label in body["schema"]["node_labels"]}
    assert {p["name"]: p["type"] for p in labels["Person"]["properties"]} == {"name": "text", "age": "integer"}
    assert {r["name"] for r in body["schema"]["relationship_types"]} == {"KNOWS", "LIVES_IN"}
    assert body["schema"].get("strict", False) is False


def test_a_graph_dataset_may_start_without_a_schema(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    assert _create(client, auth, session_id, {"name": "free", "kind": "graph", "schema": {}}).status_code == 201


def test_listing_datasets_shows_the_sessions_datasets(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    other_session = create_session(client, auth, "other")
    first = create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA)
    second = create_dataset(client, auth, session_id, "social", SOCIAL_SCHEMA, kind="graph")
    create_dataset(client, auth, other_session, "elsewhere", PEOPLE_SCHEMA)

    response = client.get(f"/sessions/{session_id}/datasets", headers=auth)

    assert response.status_code == 200
    items = response.json()["items"]
    assert {(d["id"], d["name"], d["kind"]) for d in items} == {
        (first, "people", "tabular"),
        (second, "social", "graph"),
    }


def test_reading_a_dataset_includes_its_record_count(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    dataset_id = create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA)
    url = dataset_url(session_id, dataset_id)

    assert client.get(url, headers=auth).json()["record_count"] == 0
    write(client, auth, url, {"records": [{"name": n} for n in "abc"]})

    response = client.get(url, headers=auth)
    assert response.status_code == 200
    assert response.json()["record_count"] == 3
    assert response.json()["name"] == "people"


def test_a_graph_datasets_record_count_is_its_node_count(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "g", SOCIAL_SCHEMA, kind="graph"))
    write(
        client,
        auth,
        url,
        {"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"source": "a", "target": "b", "type": "KNOWS"}]},
    )

    assert client.get(url, headers=auth).json()["record_count"] == 2


def test_dataset_names_are_unique_within_a_session(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA)

    clash = _create(client, auth, session_id, {"name": "people", "kind": "graph", "schema": {}})

    problem(clash, 409)
    assert len(client.get(f"/sessions/{session_id}/datasets", headers=auth).json()["items"]) == 1


def test_the_same_dataset_name_may_be_used_in_another_session(client: TestClient, auth: dict[str, str]) -> None:
    first = create_session(client, auth, "a")
    second = create_session(client, auth, "b")
    create_dataset(client, auth, first, "people", PEOPLE_SCHEMA)
    create_dataset(client, auth, second, "people", PEOPLE_SCHEMA)


def test_dataset_names_are_case_sensitive_or_clash_consistently(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    create_dataset(client, auth, session_id, "People", PEOPLE_SCHEMA)

    response = _create(client, auth, session_id, {"name": "people", "kind": "tabular", "schema": PEOPLE_SCHEMA})

    if response.status_code == 201:
        names = {d["name"] for d in client.get(f"/sessions/{session_id}/datasets", headers=auth).json()["items"]}
        assert names == {"People", "people"}
    else:
        problem(response, 409)


@pytest.mark.parametrize(
    "name",
    ["1people", "pg_people", "PG_people", "with-dash", "with space", "", "a" * 64, "ünïcode", "semi;colon", "a.b"],
)
def test_an_invalid_dataset_name_is_refused_naming_the_field(
    client: TestClient, auth: dict[str, str], name: str
) -> None:
    session_id = create_session(client, auth)

    body = problem(_create(client, auth, session_id, {"name": name, "kind": "tabular", "schema": PEOPLE_SCHEMA}), 422)

    assert body["field"] == "name"


@pytest.mark.parametrize("name", ["select", "table", "order", "_private", "a" * 63, "Mixed_Case_9"])
def test_reserved_sql_words_and_63_byte_names_are_allowed(client: TestClient, auth: dict[str, str], name: str) -> None:
    session_id = create_session(client, auth)
    response = _create(client, auth, session_id, {"name": name, "kind": "tabular", "schema": PEOPLE_SCHEMA})
    assert response.status_code == 201, response.text


def test_reserved_words_work_as_column_names_end_to_end(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    schema = {
        "columns": [{"name": "select", "type": "text"}, {"name": "from", "type": "integer"}],
        "primary_key": ["select"],
    }
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "table", schema))
    write(client, auth, url, {"records": [{"select": "x", "from": 1}, {"select": "y", "from": 2}]})

    response = client.get(f"{url}/records", params={"from": "gt:1", "sort": "select:desc"}, headers=auth)

    assert response.json()["items"] == [{"select": "y", "from": 2}]


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ({"columns": [{"name": "x", "type": "varchar"}]}, "schema.columns[0].type"),
        ({"columns": [{"name": "ok", "type": "text"}, {"name": "2bad", "type": "text"}]}, "schema.columns[1].name"),
        ({"columns": [{"name": "pg_x", "type": "text"}]}, "schema.columns[0].name"),
        ({"columns": []}, "schema.columns"),
        ({"columns": [{"name": "x", "type": "integer", "default": "abc"}]}, "schema.columns[0].default"),
        ({"columns": [{"name": "x", "type": "text", "nullable": "no"}]}, "schema.columns[0].nullable"),
        ({"columns": [{"name": "x", "type": "text"}], "primary_key": ["y"]}, "schema.primary_key"),
        ({"columns": [{"name": "x", "type": "text"}], "indexes": [{"columns": ["y"]}]}, "schema.indexes[0]"),
        ({"columns": [{"name": "id", "type": "text"}]}, "schema.primary_key"),
    ],
)
def test_an_invalid_tabular_schema_is_refused_naming_the_field(
    client: TestClient, auth: dict[str, str], schema: dict[str, Any], field: str
) -> None:
    session_id = create_session(client, auth)

    body = problem(_create(client, auth, session_id, {"name": "t", "kind": "tabular", "schema": schema}), 422)

    assert body["field"] == field
    assert client.get(f"/sessions/{session_id}/datasets", headers=auth).json()["items"] == []


def test_a_column_declared_twice_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    schema = {"columns": [{"name": "x", "type": "text"}, {"name": "x", "type": "integer"}]}
    problem(_create(client, auth, session_id, {"name": "t", "kind": "tabular", "schema": schema}), 422)


def test_unknown_schema_members_are_refused(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    schema = {"columns": [{"name": "x", "type": "text", "colour": "red"}]}
    problem(_create(client, auth, session_id, {"name": "t", "kind": "tabular", "schema": schema}), 422)


def test_an_invalid_graph_schema_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    for schema in (
        {"node_labels": [{"name": "1Bad", "properties": []}]},
        {"node_labels": [{"name": "Person", "properties": [{"name": "age", "type": "number"}]}]},
        {"relationship_types": [{"name": "has-dash", "properties": []}]},
        {"strict": "yes"},
    ):
        problem(_create(client, auth, session_id, {"name": "g", "kind": "graph", "schema": schema}), 422)


def test_an_unknown_kind_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    response = _create(client, auth, session_id, {"name": "t", "kind": "document", "schema": {}})
    assert problem(response, 400).get("field") == "kind"


def test_reading_a_missing_dataset_is_404(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    problem(client.get(dataset_url(session_id, "nope"), headers=auth), 404)


def test_a_dataset_is_not_reachable_through_another_session(client: TestClient, auth: dict[str, str]) -> None:
    home = create_session(client, auth, "home")
    away = create_session(client, auth, "away")
    dataset_id = create_dataset(client, auth, home, "people", PEOPLE_SCHEMA)

    problem(client.get(dataset_url(away, dataset_id), headers=auth), 404)
    problem(client.get(f"{dataset_url(away, dataset_id)}/records", headers=auth), 404)


def test_another_users_dataset_is_404_never_403(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA))
    write(client, auth, url, {"records": [{"name": "secret"}]})
    intruder = new_key(client)

    for response in (
        client.get(url, headers=intruder),
        client.put(url, json={"schema": PEOPLE_SCHEMA}, headers=intruder),
        client.delete(url, headers=intruder),
        client.get(f"{url}/records", headers=intruder),
        client.post(f"{url}/records", json={"records": [{"name": "x"}]}, headers=intruder),
        client.put(f"{url}/records?all=true", json={"set": {"name": "x"}}, headers=intruder),
        client.delete(f"{url}/records?all=true", headers=intruder),
    ):
        problem(response, 404)

    assert [r["name"] for r in _rows(client, auth, url)] == ["secret"]


def test_deleting_a_dataset_answers_204_and_frees_its_name(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA))
    write(client, auth, url, {"records": [{"name": "old"}]})

    response = client.delete(url, headers=auth)

    assert response.status_code == 204
    problem(client.get(url, headers=auth), 404)
    problem(client.delete(url, headers=auth), 404)
    fresh = dataset_url(session_id, create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA))
    assert _rows(client, auth, fresh) == []


def test_deleting_a_graph_dataset_removes_its_nodes(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "g", {}, kind="graph"))
    write(client, auth, url, {"nodes": [{"id": "a"}]})

    assert client.delete(url, headers=auth).status_code == 204

    fresh = dataset_url(session_id, create_dataset(client, auth, session_id, "g", {}, kind="graph"))
    problem(client.get(f"{fresh}/nodes/a", headers=auth), 404)


# -- schema migrations (PUT) ------------------------------------------------------------------------------


@pytest.fixture
def people(client: TestClient, auth: dict[str, str]) -> str:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA))
    write(
        client,
        auth,
        url,
        {"records": [{"name": "Ada", "age": 36, "city": "London"}, {"name": "Alan", "age": None, "city": None}]},
    )
    return url


def _migrate(client: TestClient, auth: dict[str, str], url: str, body: dict[str, Any]) -> Any:
    return client.put(url, json=body, headers=auth)


def test_adding_a_column_keeps_rows_and_fills_the_default(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    columns = [*PEOPLE_SCHEMA["columns"], {"name": "active", "type": "boolean", "nullable": False, "default": True}]

    response = _migrate(client, auth, people, {"schema": {"columns": columns}})

    assert response.status_code == 200, response.text
    assert _columns(response.json())["active"]["default"] is True
    assert [(r["name"], r["active"]) for r in _rows(client, auth, people)] == [("Ada", True), ("Alan", True)]
    assert client.get(people, headers=auth).json()["record_count"] == 2


def test_adding_a_nullable_column_fills_null(client: TestClient, auth: dict[str, str], people: str) -> None:
    columns = [*PEOPLE_SCHEMA["columns"], {"name": "email", "type": "text"}]
    assert _migrate(client, auth, people, {"schema": {"columns": columns}}).status_code == 200
    assert [r["email"] for r in _rows(client, auth, people)] == [None, None]


def test_adding_a_required_column_without_a_default_to_a_filled_table_is_refused(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    columns = [*PEOPLE_SCHEMA["columns"], {"name": "email", "type": "text", "nullable": False}]

    response = _migrate(client, auth, people, {"schema": {"columns": columns}})

    problem(response, 422)
    assert "email" not in _rows(client, auth, people)[0]


def test_dropping_a_column_removes_it_from_records(client: TestClient, auth: dict[str, str], people: str) -> None:
    columns = [c for c in PEOPLE_SCHEMA["columns"] if c["name"] != "city"]

    response = _migrate(client, auth, people, {"schema": {"columns": columns}})

    assert response.status_code == 200
    assert "city" not in _columns(response.json())
    assert [set(r) for r in _rows(client, auth, people)] == [{"id", "name", "age"}] * 2
    problem(client.get(f"{people}/records", params={"city": "eq:London"}, headers=auth), 400)


def test_a_rename_is_explicit_and_keeps_the_data(client: TestClient, auth: dict[str, str], people: str) -> None:
    columns = [{**c, "name": "town"} if c["name"] == "city" else c for c in PEOPLE_SCHEMA["columns"]]

    response = _migrate(client, auth, people, {"schema": {"columns": columns}, "renames": {"city": "town"}})

    assert response.status_code == 200, response.text
    assert [r["town"] for r in _rows(client, auth, people)] == ["London", None]


def test_without_renames_a_changed_name_is_a_drop_and_an_add(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    columns = [{**c, "name": "town"} if c["name"] == "city" else c for c in PEOPLE_SCHEMA["columns"]]

    assert _migrate(client, auth, people, {"schema": {"columns": columns}}).status_code == 200
    assert [r["town"] for r in _rows(client, auth, people)] == [None, None]


def test_a_rename_of_a_missing_column_is_refused(client: TestClient, auth: dict[str, str], people: str) -> None:
    body = problem(_migrate(client, auth, people, {"schema": PEOPLE_SCHEMA, "renames": {"nope": "city"}}), 422)
    assert body["field"] == "renames"


def test_a_type_change_casts_existing_values(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    schema = {"columns": [{"name": "code", "type": "text"}]}
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "codes", schema))
    write(client, auth, url, {"records": [{"code": "42"}, {"code": " -7 "}, {"code": None}]})

    response = _migrate(client, auth, url, {"schema": {"columns": [{"name": "code", "type": "integer"}]}})

    assert response.status_code == 200, response.text
    assert [r["code"] for r in _rows(client, auth, url)] == [42, -7, None]
    assert client.get(f"{url}/records", params={"code": "gt:0"}, headers=auth).json()["items"][0]["code"] == 42


def test_a_type_change_that_cannot_cast_every_value_changes_nothing(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    url = dataset_url(
        session_id, create_dataset(client, auth, session_id, "codes", {"columns": [{"name": "code", "type": "text"}]})
    )
    write(client, auth, url, {"records": [{"code": "1"}, {"code": "one"}]})

    response = _migrate(client, auth, url, {"schema": {"columns": [{"name": "code", "type": "integer"}]}})

    problem(response, 422)
    assert [r["code"] for r in _rows(client, auth, url)] == ["1", "one"]
    assert _columns(client.get(url, headers=auth).json())["code"]["type"] == "text"


def test_making_a_column_required_fails_while_it_holds_nulls(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    columns = [{**c, "nullable": False} if c["name"] == "age" else c for c in PEOPLE_SCHEMA["columns"]]

    response = _migrate(client, auth, people, {"schema": {"columns": columns}})

    problem(response, 422)
    assert _columns(client.get(people, headers=auth).json())["age"]["nullable"] is True


def test_making_a_column_required_works_once_it_has_no_nulls(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    client.put(f"{people}/records", params={"age": "is:null"}, json={"set": {"age": 0}}, headers=auth)
    columns = [{**c, "nullable": False} if c["name"] == "age" else c for c in PEOPLE_SCHEMA["columns"]]

    response = _migrate(client, auth, people, {"schema": {"columns": columns}})

    assert response.status_code == 200, response.text
    problem(client.post(f"{people}/records", json={"records": [{"name": "x", "age": None}]}, headers=auth), 422)


def test_a_unique_index_is_added_and_then_enforced(client: TestClient, auth: dict[str, str], people: str) -> None:
    schema = {**PEOPLE_SCHEMA, "indexes": [{"columns": ["name"], "unique": True}]}

    response = _migrate(client, auth, people, {"schema": schema})

    assert response.status_code == 200, response.text
    assert response.json()["schema"]["indexes"] == [{"columns": ["name"], "unique": True}]
    problem(client.post(f"{people}/records", json={"records": [{"name": "Ada"}]}, headers=auth), 409)


def test_a_unique_index_over_duplicate_values_is_refused(client: TestClient, auth: dict[str, str], people: str) -> None:
    write(client, auth, people, {"records": [{"name": "Ada"}]})
    schema = {**PEOPLE_SCHEMA, "indexes": [{"columns": ["name"], "unique": True}]}

    response = _migrate(client, auth, people, {"schema": schema})

    assert problem(response, 422)["field"] == "name"
    assert client.get(people, headers=auth).json()["schema"]["indexes"] == []


def test_changing_the_primary_key_is_refused(client: TestClient, auth: dict[str, str], people: str) -> None:
    body = problem(_migrate(client, auth, people, {"schema": {**PEOPLE_SCHEMA, "primary_key": ["name"]}}), 422)
    assert body["field"] == "schema.primary_key"


def test_a_migration_updates_updated_at_but_not_created_at(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    before = client.get(people, headers=auth).json()
    columns = [*PEOPLE_SCHEMA["columns"], {"name": "email", "type": "text"}]

    after = _migrate(client, auth, people, {"schema": {"columns": columns}}).json()

    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] >= before["updated_at"]


def test_the_schema_a_dataset_shows_can_be_sent_back_unchanged(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    shown = client.get(people, headers=auth).json()["schema"]

    response = _migrate(client, auth, people, {"schema": shown})

    assert response.status_code == 200, response.text
    assert response.json()["schema"] == shown
    assert len(_rows(client, auth, people)) == 2


def test_a_graph_schema_can_be_changed(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "g", SOCIAL_SCHEMA, kind="graph"))
    schema = {**SOCIAL_SCHEMA, "node_labels": [*SOCIAL_SCHEMA["node_labels"], {"name": "Company", "properties": []}]}

    response = _migrate(client, auth, url, {"schema": schema})

    assert response.status_code == 200, response.text
    assert "Company" in {label["name"] for label in response.json()["schema"]["node_labels"]}


def test_renames_on_a_graph_dataset_are_refused(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "g", SOCIAL_SCHEMA, kind="graph"))
    body = problem(_migrate(client, auth, url, {"schema": SOCIAL_SCHEMA, "renames": {"a": "b"}}), 422)
    assert body["field"] == "renames"


def test_a_migration_body_needs_a_schema(client: TestClient, auth: dict[str, str], people: str) -> None:
    problem(_migrate(client, auth, people, {"renames": {}}), 400)
    problem(_migrate(client, auth, people, {"schema": PEOPLE_SCHEMA, "extra": 1}), 400)
