"""Sessions: create, list, read, change, delete; another user's session does not exist."""

from __future__ import annotations

import datetime as dt

from litestar.testing import TestClient

from tests.unit.http.api import (
    PEOPLE_SCHEMA,
    SOCIAL_SCHEMA,
    create_dataset,
    create_session,
    dataset_url,
    new_key,
    problem,
    strings_in,
    write,
)


def _parse_time(text: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"{text!r} carries no time zone"
    return parsed


def test_creating_a_session_returns_it_with_201(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/sessions", json={"name": "analysis", "description": "Q3 numbers"}, headers=auth)

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "analysis"
    assert body["description"] == "Q3 numbers"
    assert isinstance(body["id"], str) and body["id"]
    created = _parse_time(body["created_at"])
    assert abs(created - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_a_session_description_is_optional(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/sessions", json={"name": "plain"}, headers=auth)

    assert response.status_code == 201
    assert "description" in response.json()
    assert not response.json()["description"]


def test_listing_sessions_shows_only_your_own(client: TestClient, auth: dict[str, str]) -> None:
    first = create_session(client, auth, "one")
    second = create_session(client, auth, "two")
    create_session(client, new_key(client), "someone else's")

    response = client.get("/sessions", headers=auth)

    assert response.status_code == 200
    items = response.json()["items"]
    assert {s["id"] for s in items} == {first, second}
    assert {s["name"] for s in items} == {"one", "two"}


def test_reading_a_session_returns_what_was_created(client: TestClient, auth: dict[str, str]) -> None:
    created = client.post("/sessions", json={"name": "n", "description": "d"}, headers=auth).json()

    response = client.get(f"/sessions/{created['id']}", headers=auth)

    assert response.status_code == 200
    assert response.json() == created


def test_patching_a_session_changes_only_the_fields_sent(client: TestClient, auth: dict[str, str]) -> None:
    created = client.post("/sessions", json={"name": "old", "description": "kept"}, headers=auth).json()

    response = client.patch(f"/sessions/{created['id']}", json={"name": "new"}, headers=auth)

    assert response.status_code == 200
    assert response.json()["name"] == "new"
    assert response.json()["description"] == "kept"
    again = client.get(f"/sessions/{created['id']}", headers=auth).json()
    assert again["name"] == "new"
    assert again["created_at"] == created["created_at"]


def test_patching_the_description_alone_keeps_the_name(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth, "name")

    response = client.patch(f"/sessions/{session_id}", json={"description": "now described"}, headers=auth)

    assert response.json()["name"] == "name"
    assert response.json()["description"] == "now described"


def test_deleting_a_session_answers_204_and_it_is_gone(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)

    response = client.delete(f"/sessions/{session_id}", headers=auth)

    assert response.status_code == 204
    assert response.content == b""
    problem(client.get(f"/sessions/{session_id}", headers=auth), 404)
    assert client.get("/sessions", headers=auth).json()["items"] == []
    problem(client.delete(f"/sessions/{session_id}", headers=auth), 404)


def test_deleting_a_session_deletes_every_dataset_in_it(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    table_id = create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA)
    graph_id = create_dataset(client, auth, session_id, "social", SOCIAL_SCHEMA, kind="graph")
    write(client, auth, dataset_url(session_id, table_id), {"records": [{"name": "Ada"}]})
    write(client, auth, dataset_url(session_id, graph_id), {"nodes": [{"id": "a", "labels": ["Person"]}]})
    container = client.app.state.container
    dataset_ids = {table_id, graph_id}

    def held() -> set[str]:
        stored = strings_in(container.tabular_store()) + strings_in(container.graph_store())
        return {s for s in stored if s in dataset_ids}

    assert held() == dataset_ids, "this check cannot see where the stores keep datasets"
    assert client.delete(f"/sessions/{session_id}", headers=auth).status_code == 204

    problem(client.get(dataset_url(session_id, table_id), headers=auth), 404)
    problem(client.get(f"{dataset_url(session_id, graph_id)}/nodes/a", headers=auth), 404)
    assert held() == set(), "the stores still hold the deleted session's datasets"


def test_a_session_can_be_recreated_with_the_same_name_and_starts_empty(
    client: TestClient, auth: dict[str, str]
) -> None:
    session_id = create_session(client, auth, "again")
    create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA)
    client.delete(f"/sessions/{session_id}", headers=auth)

    fresh = create_session(client, auth, "again")

    assert client.get(f"/sessions/{fresh}/datasets", headers=auth).json()["items"] == []
    create_dataset(client, auth, fresh, "people", PEOPLE_SCHEMA)


def test_another_users_session_is_404_never_403(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth, "private")
    intruder = new_key(client)

    for response in (
        client.get(f"/sessions/{session_id}", headers=intruder),
        client.patch(f"/sessions/{session_id}", json={"name": "pwned"}, headers=intruder),
        client.delete(f"/sessions/{session_id}", headers=intruder),
        client.get(f"/sessions/{session_id}/datasets", headers=intruder),
        client.post(
            f"/sessions/{session_id}/datasets",
            json={"name": "x", "kind": "tabular", "schema": PEOPLE_SCHEMA},
            headers=intruder,
        ),
    ):
        problem(response, 404)

    mine = client.get(f"/sessions/{session_id}", headers=auth)
    assert mine.status_code == 200
    assert mine.json()["name"] == "private"


def test_a_missing_session_and_a_foreign_one_answer_alike(client: TestClient, auth: dict[str, str]) -> None:
    foreign = create_session(client, new_key(client))

    missing = problem(client.get("/sessions/does-not-exist", headers=auth), 404)
    hidden = problem(client.get(f"/sessions/{foreign}", headers=auth), 404)

    assert missing["title"] == hidden["title"]
    assert missing["type"] == hidden["type"]


def test_a_session_needs_a_non_blank_name(client: TestClient, auth: dict[str, str]) -> None:
    # An empty or missing name fails the body's declared shape (400); a blank one, the service (422).
    for body, status in (({"name": ""}, 400), ({"name": "   "}, 422), ({}, 400), ({"description": "no name"}, 400)):
        response = client.post("/sessions", json=body, headers=auth)
        assert problem(response, status)["field"] == "name", body
    assert client.get("/sessions", headers=auth).json()["items"] == []


def test_patching_a_session_to_a_blank_name_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth, "keep")

    response = client.patch(f"/sessions/{session_id}", json={"name": " "}, headers=auth)

    body = problem(response, 422)
    assert body["field"] == "name"
    assert client.get(f"/sessions/{session_id}", headers=auth).json()["name"] == "keep"


def test_a_session_name_with_a_nul_character_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    body = problem(client.post("/sessions", json={"name": "a\x00b"}, headers=auth), 422)
    assert body["field"] == "name"


def test_an_overlong_session_name_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/sessions", json={"name": "n" * 201}, headers=auth)
    assert problem(response, 400)["field"] == "name"


def test_unknown_session_fields_are_rejected(client: TestClient, auth: dict[str, str]) -> None:
    problem(client.post("/sessions", json={"name": "x", "colour": "red"}, headers=auth), 400)
    session_id = create_session(client, auth)
    problem(client.patch(f"/sessions/{session_id}", json={"owner": "me"}, headers=auth), 400)
