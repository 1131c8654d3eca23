"""API keys: who may call what, registration, rotation, and the ALLOWED_KEYS policy."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from datainfra.config import Settings, SettingsError
from tests.unit.http.api import PEOPLE_SCHEMA, create_dataset, create_session, dataset_url, problem, strings_in, write

KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{8,64}")
OPERATOR_KEY = "operator-key-0001"
OTHER_OPERATOR_KEY = "operator_key_0002"


def test_registering_returns_a_user_id_and_a_fresh_well_formed_key(client: TestClient) -> None:
    first = client.post("/users")
    second = client.post("/users")

    assert first.status_code == 201
    body = first.json()
    assert set(body) == {"user_id", "api_key"}
    assert KEY_SHAPE.fullmatch(body["api_key"])
    assert body["api_key"] != second.json()["api_key"]
    assert body["user_id"] != second.json()["user_id"]


def test_a_registered_key_opens_the_authenticated_routes(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/sessions", headers=auth).status_code == 200


def test_a_request_without_a_key_is_refused_with_401(client: TestClient) -> None:
    body = problem(client.get("/sessions"), 401)
    assert "X-API-Key" in body["detail"]


def test_a_401_tells_the_client_which_header_to_send(client: TestClient) -> None:
    response = client.get("/sessions")
    assert "X-API-Key" in response.headers.get("www-authenticate", "")


@pytest.mark.parametrize(
    "key",
    [
        "short",
        "1234567",
        "x" * 65,
        "has space-1",
        "semi;colon12",
        "dots.in.key",
        "",
        "  padded-key  ",
    ],
)
def test_a_malformed_key_is_refused_with_401(client: TestClient, key: str) -> None:
    problem(client.get("/sessions", headers={"X-API-Key": key}), 401)


def test_a_key_with_non_ascii_bytes_is_refused_with_401(client: TestClient) -> None:
    problem(client.get("/sessions", headers={b"X-API-Key": "unicodé12345".encode()}), 401)


@pytest.mark.parametrize("key", ["12345678", "x" * 64, "A-b_C-d_E"])
def test_keys_at_the_edges_of_the_allowed_shape_are_accepted(client: TestClient, key: str) -> None:
    assert client.get("/sessions", headers={"X-API-Key": key}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/sessions"),
        ("POST", "/sessions"),
        ("GET", "/sessions/some-id"),
        ("PATCH", "/sessions/some-id"),
        ("DELETE", "/sessions/some-id"),
        ("GET", "/sessions/s/datasets"),
        ("POST", "/sessions/s/datasets"),
        ("GET", "/sessions/s/datasets/d"),
        ("PUT", "/sessions/s/datasets/d"),
        ("DELETE", "/sessions/s/datasets/d"),
        ("GET", "/sessions/s/datasets/d/records"),
        ("POST", "/sessions/s/datasets/d/records"),
        ("PUT", "/sessions/s/datasets/d/records"),
        ("DELETE", "/sessions/s/datasets/d/records"),
        ("GET", "/sessions/s/datasets/d/nodes"),
        ("GET", "/sessions/s/datasets/d/nodes/n"),
        ("GET", "/sessions/s/datasets/d/nodes/n/neighbors"),
        ("GET", "/sessions/s/datasets/d/edges"),
        ("POST", "/sessions/s/datasets/d/algorithms/shortest_path"),
        ("POST", "/users/key"),
        ("GET", "/users/me"),
    ],
)
def test_every_protected_route_answers_401_without_a_key(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={})
    problem(response, 401)


@pytest.mark.parametrize("path", ["/health", "/ready", "/schema/openapi.json", "/schema"])
def test_health_readiness_and_docs_need_no_key(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_registration_needs_no_key(client: TestClient) -> None:
    assert client.post("/users").status_code == 201


# -- the open policy (ALLOWED_KEYS unset) -------------------------------------------------------------


def test_without_allowed_keys_any_well_formed_key_is_accepted_and_identifies_its_user(client: TestClient) -> None:
    mine = {"X-API-Key": "my-own-chosen-key"}
    theirs = {"X-API-Key": "their-chosen-key"}

    session_id = create_session(client, mine, "mine")

    assert client.get(f"/sessions/{session_id}", headers=mine).status_code == 200
    assert [s["id"] for s in client.get("/sessions", headers=mine).json()["items"]] == [session_id]
    assert client.get("/sessions", headers=theirs).json()["items"] == []
    problem(client.get(f"/sessions/{session_id}", headers=theirs), 404)


def test_an_empty_allowed_keys_setting_means_the_open_policy(make_client: Callable[..., TestClient]) -> None:
    settings = Settings.from_env({"ALLOWED_KEYS": " , "})
    client = make_client(allowed_keys=settings.allowed_keys)

    assert client.post("/users").status_code == 201
    assert client.get("/sessions", headers={"X-API-Key": "anything-goes"}).status_code == 200


# -- the operator policy (ALLOWED_KEYS set) ------------------------------------------------------------


@pytest.fixture
def operator_client(make_client: Callable[..., TestClient]) -> TestClient:
    settings = Settings.from_env({"ALLOWED_KEYS": f"{OPERATOR_KEY}, {OTHER_OPERATOR_KEY}"})
    return make_client(allowed_keys=settings.allowed_keys)


def test_allowed_keys_are_read_comma_separated_with_spaces_trimmed() -> None:
    settings = Settings.from_env({"ALLOWED_KEYS": f" {OPERATOR_KEY} ,{OTHER_OPERATOR_KEY},"})
    assert settings.allowed_keys == {OPERATOR_KEY, OTHER_OPERATOR_KEY}


def test_a_malformed_allowed_key_stops_start_up_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="ALLOWED_KEYS"):
        Settings.from_env({"ALLOWED_KEYS": "good-key-123,bad key"})


def test_with_allowed_keys_a_listed_key_is_accepted(operator_client: TestClient) -> None:
    assert operator_client.get("/sessions", headers={"X-API-Key": OPERATOR_KEY}).status_code == 200


def test_with_allowed_keys_a_well_formed_unlisted_key_is_forbidden(operator_client: TestClient) -> None:
    problem(operator_client.get("/sessions", headers={"X-API-Key": "not-on-the-list"}), 403)


def test_with_allowed_keys_a_malformed_key_is_still_401(operator_client: TestClient) -> None:
    problem(operator_client.get("/sessions", headers={"X-API-Key": "bad"}), 401)
    problem(operator_client.get("/sessions"), 401)


def test_with_allowed_keys_registration_is_closed(operator_client: TestClient) -> None:
    problem(operator_client.post("/users"), 403)


def test_with_allowed_keys_rotation_is_closed_and_the_key_keeps_working(operator_client: TestClient) -> None:
    headers = {"X-API-Key": OPERATOR_KEY}
    problem(operator_client.post("/users/key", headers=headers), 403)
    assert operator_client.get("/sessions", headers=headers).status_code == 200


def test_with_allowed_keys_each_listed_key_is_its_own_user(operator_client: TestClient) -> None:
    first = {"X-API-Key": OPERATOR_KEY}
    second = {"X-API-Key": OTHER_OPERATOR_KEY}
    session_id = create_session(operator_client, first)

    assert operator_client.get("/sessions", headers=second).json()["items"] == []
    problem(operator_client.get(f"/sessions/{session_id}", headers=second), 404)


# -- rotation ------------------------------------------------------------------------------------------


def test_rotating_a_key_returns_a_new_key_for_the_same_user(client: TestClient) -> None:
    registered = client.post("/users").json()
    response = client.post("/users/key", headers={"X-API-Key": registered["api_key"]})

    assert response.status_code == 201
    rotated = response.json()
    assert set(rotated) == {"user_id", "api_key"}
    assert rotated["user_id"] == registered["user_id"]
    assert rotated["api_key"] != registered["api_key"]
    assert KEY_SHAPE.fullmatch(rotated["api_key"])


def test_a_revoked_key_is_refused(client: TestClient, api_key: str) -> None:
    client.post("/users/key", headers={"X-API-Key": api_key})

    body = problem(client.get("/sessions", headers={"X-API-Key": api_key}), 401)
    assert "revoked" in body["detail"]


def test_a_revoked_key_cannot_rotate_again(client: TestClient, api_key: str) -> None:
    client.post("/users/key", headers={"X-API-Key": api_key})
    problem(client.post("/users/key", headers={"X-API-Key": api_key}), 401)


def test_after_rotation_all_data_stays_with_the_user(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth, "kept")
    dataset_id = create_dataset(client, auth, session_id, "people", PEOPLE_SCHEMA)
    url = dataset_url(session_id, dataset_id)
    write(client, auth, url, {"records": [{"name": "Ada", "age": 36}]})

    new = {"X-API-Key": client.post("/users/key", headers=auth).json()["api_key"]}

    assert [s["name"] for s in client.get("/sessions", headers=new).json()["items"]] == ["kept"]
    records = client.get(f"{url}/records", headers=new).json()["items"]
    assert [(r["name"], r["age"]) for r in records] == [("Ada", 36)]


def test_a_key_rotated_twice_keeps_only_the_newest_working(client: TestClient, api_key: str) -> None:
    second = client.post("/users/key", headers={"X-API-Key": api_key}).json()["api_key"]
    third = client.post("/users/key", headers={"X-API-Key": second}).json()["api_key"]

    problem(client.get("/sessions", headers={"X-API-Key": api_key}), 401)
    problem(client.get("/sessions", headers={"X-API-Key": second}), 401)
    assert client.get("/sessions", headers={"X-API-Key": third}).status_code == 200


def test_a_self_chosen_key_can_be_rotated_and_is_then_revoked(client: TestClient) -> None:
    chosen = {"X-API-Key": "self-chosen-key"}
    session_id = create_session(client, chosen)
    new = {"X-API-Key": client.post("/users/key", headers=chosen).json()["api_key"]}

    problem(client.get("/sessions", headers=chosen), 401)
    assert client.get(f"/sessions/{session_id}", headers=new).status_code == 200


# -- identity and secrecy --------------------------------------------------------------------------------


def test_the_user_id_is_opaque_and_reveals_nothing_of_the_key(client: TestClient) -> None:
    body = client.post("/users").json()
    key, user_id = body["api_key"], body["user_id"]

    assert key not in user_id
    assert user_id != hashlib.sha256(key.encode()).hexdigest()


def test_the_catalog_keeps_only_hashes_of_keys(client: TestClient) -> None:
    key = client.post("/users").json()["api_key"]
    client.post("/users/key", headers={"X-API-Key": key})
    catalog = client.app.state.container.catalog()

    stored = strings_in(catalog)
    assert stored, "the catalog holds nothing to inspect"
    assert not [s for s in stored if key in s]
    assert hashlib.sha256(key.encode()).hexdigest() in stored


def test_keys_never_appear_in_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    key = client.post("/users").json()["api_key"]
    headers = {"X-API-Key": key}
    create_session(client, headers)
    client.get("/sessions/missing", headers=headers)
    client.get("/sessions", headers={"X-API-Key": "not-on-file-key"})
    new_key = client.post("/users/key", headers=headers).json()["api_key"]
    client.get("/sessions", headers=headers)

    captured = capsys.readouterr()
    logged = caplog.text + captured.out + captured.err
    for secret in (key, new_key, "not-on-file-key"):
        assert secret not in logged


def test_keys_never_appear_in_logs_even_when_a_request_fails(
    client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from dependency_injector import providers

    caplog.set_level(logging.DEBUG)
    key = client.post("/users").json()["api_key"]
    headers = {"X-API-Key": key}

    class Broken:
        def __getattr__(self, name: str) -> Any:
            async def fail(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("store exploded")

            return fail

    client.app.state.container.tabular_store.override(providers.Object(Broken()))
    try:
        assert client.post("/sessions", json={"name": "x"}, headers=headers).status_code == 500
    finally:
        client.app.state.container.tabular_store.reset_last_overriding()

    captured = capsys.readouterr()
    assert key not in caplog.text + captured.out + captured.err
