"""HTTP as clients expect it: Location on 201, gzip when asked (and only then), CORS for configured
origins, Allow on OPTIONS and 405, HEAD wherever GET is, Bearer keys, and Link next to `next`."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from datainfra.domain.auth import hash_api_key
from tests.unit.http.api import create_dataset, create_session, dataset_url, graph, new_key, problem, tabular, write

ORIGIN = "https://app.example.com"


def _people(count: int) -> list[dict[str, Any]]:
    return [{"name": f"person {i:05d}", "age": i % 90, "city": "Lyon" if i % 2 else "Nantes"} for i in range(count)]


# --- Location on every 201 -------------------------------------------------------------------------


def test_every_201_carries_the_location_of_what_it_created(client: TestClient) -> None:
    registered = client.post("/users")
    assert registered.status_code == 201
    assert registered.headers["location"] == "/users/me"
    auth = {"X-API-Key": registered.json()["api_key"]}
    assert client.get(registered.headers["location"], headers=auth).json()["id"] == registered.json()["user_id"]

    session = client.post("/sessions", json={"name": "work"}, headers=auth)
    session_id = session.json()["id"]
    assert session.headers["location"] == f"/sessions/{session_id}"
    assert client.get(session.headers["location"], headers=auth).json() == session.json()

    dataset = client.post(
        f"/sessions/{session_id}/datasets",
        json={"name": "people", "kind": "tabular", "schema": {"columns": [{"name": "name", "type": "text"}]}},
        headers=auth,
    )
    assert dataset.headers["location"] == f"/sessions/{session_id}/datasets/{dataset.json()['id']}"
    assert client.get(dataset.headers["location"], headers=auth).json()["name"] == "people"

    records = client.post(f"{dataset.headers['location']}/records", json=[{"name": "ada"}], headers=auth)
    assert records.status_code == 201
    assert records.headers["location"] == f"{dataset.headers['location']}/records"
    assert [r["name"] for r in client.get(records.headers["location"], headers=auth).json()["items"]] == ["ada"]

    rotated = client.post("/users/key", headers=auth)
    assert rotated.status_code == 201 and rotated.headers["location"] == "/users/me"
    new_auth = {"X-API-Key": rotated.json()["api_key"]}
    assert client.get(rotated.headers["location"], headers=new_auth).json()["id"] == registered.json()["user_id"]


def test_users_me_shows_the_callers_user_and_never_the_key(client: TestClient) -> None:
    registered = client.post("/users").json()
    auth = {"X-API-Key": registered["api_key"]}
    me = client.get("/users/me", headers=auth)
    assert me.status_code == 200, me.text
    body = me.json()
    assert set(body) == {"id", "created_at"} and body["id"] == registered["user_id"]
    assert body["created_at"].endswith("Z")
    assert registered["api_key"] not in me.text and hash_api_key(registered["api_key"]) not in me.text
    assert client.head("/users/me", headers=auth).status_code == 200
    other = client.post("/users").json()
    assert client.get("/users/me", headers={"X-API-Key": other["api_key"]}).json()["id"] == other["user_id"]
    problem(client.get("/users/me"), 401)


def test_an_import_points_at_the_datasets_it_joined(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth)
    write(client, auth, url, _people(3))
    archive = client.get(url.split("/datasets/")[0] + "/export", headers=auth).content
    target = create_session(client, auth, "copy")
    imported = client.post(
        f"/sessions/{target}/import", content=archive, headers={**auth, "Content-Type": "application/zip"}
    )
    assert imported.status_code == 201, imported.text
    assert imported.headers["location"] == f"/sessions/{target}/datasets"
    assert [d["name"] for d in client.get(imported.headers["location"], headers=auth).json()["items"]] == ["people"]


def test_every_route_that_answers_201_is_one_the_location_tests_cover(client: TestClient) -> None:
    created = {
        (route.path, method)
        for route in client.app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.status_code == 201
        for method in handler.http_methods
    }
    assert created == {
        ("/users", "POST"),
        ("/users/key", "POST"),
        ("/sessions", "POST"),
        ("/sessions/{session_id:str}/datasets", "POST"),
        ("/sessions/{session_id:str}/datasets/{dataset_id:str}/records", "POST"),
        ("/sessions/{session_id:str}/import", "POST"),
    }


# --- compression --------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["gzip", "gzip, deflate", "br;q=1.0, gzip;q=0.5", "*"])
def test_a_large_answer_is_gzipped_when_the_client_asks(client: TestClient, accept: str) -> None:
    auth = new_key(client)
    url = tabular(client, auth)
    write(client, auth, url, _people(200))
    response = client.get(f"{url}/records", params={"limit": 200}, headers={**auth, "Accept-Encoding": accept})
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert len(response.json()["items"]) == 200


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "GZIP; q=0.0, identity", "*;q=0, identity", "deflate"])
def test_nothing_is_compressed_unless_the_client_accepts_gzip(client: TestClient, accept: str) -> None:
    auth = new_key(client)
    url = tabular(client, auth)
    write(client, auth, url, _people(200))
    response = client.get(f"{url}/records", params={"limit": 200}, headers={**auth, "Accept-Encoding": accept})
    assert "content-encoding" not in response.headers
    assert "accept-encoding" in response.headers["vary"].lower()
    assert len(response.json()["items"]) == 200


def test_a_small_answer_goes_out_uncompressed(client: TestClient) -> None:
    response = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers


def test_an_export_streams_gzip_chunk_by_chunk_and_decodes_to_the_plain_export(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth)
    write(client, auth, url, _people(3000))
    plain = client.get(f"{url}/export", params={"format": "csv"}, headers={**auth, "Accept-Encoding": "identity"})
    with client.stream(
        "GET", f"{url}/export", params={"format": "csv"}, headers={**auth, "Accept-Encoding": "gzip"}
    ) as zipped:
        assert zipped.headers["content-encoding"] == "gzip"
        assert "content-length" not in zipped.headers
        raw = b"".join(zipped.iter_raw())
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(raw) == plain.content
    assert len(raw) < len(plain.content) / 3


# --- CORS ---------------------------------------------------------------------------------------------


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options("/sessions", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_a_configured_origin_passes_the_preflight_with_the_api_headers(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins=(ORIGIN,))
    preflight = client.options(
        "/sessions",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, authorization, idempotency-key, if-match, content-type",
        },
    )
    assert preflight.status_code in (200, 204), preflight.text
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"x-api-key", "authorization", "idempotency-key", "if-match", "content-type"} <= allowed
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers

    auth = new_key(client)
    response = client.post("/sessions", json={"name": "w"}, headers={**auth, "Origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "location", "link", "retry-after", "x-request-id"} <= exposed


def test_an_origin_not_configured_gets_no_cors_grant(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins=(ORIGIN,))
    response = client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert response.headers.get("access-control-allow-origin") not in ("https://evil.example.com", "*")
    preflight = client.options(
        "/sessions", headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.headers.get("access-control-allow-origin") not in ("https://evil.example.com", "*")


# --- OPTIONS, 405, HEAD -------------------------------------------------------------------------------


def _methods(header: str) -> set[str]:
    return {m.strip() for m in header.split(",")}


def test_options_lists_the_methods_the_route_has(client: TestClient) -> None:
    auth = new_key(client)
    session_id = create_session(client, auth)
    assert _methods(client.options("/sessions").headers["allow"]) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert _methods(client.options(f"/sessions/{session_id}").headers["allow"]) == {
        "GET",
        "HEAD",
        "PATCH",
        "DELETE",
        "OPTIONS",
    }
    assert _methods(client.options("/users").headers["allow"]) == {"POST", "OPTIONS"}


def test_a_method_the_route_lacks_is_a_405_problem_listing_the_real_ones(client: TestClient) -> None:
    auth = new_key(client)
    response = client.put("/sessions", json={}, headers=auth)
    body = problem(response, 405)
    assert body["title"] == "Method not allowed"
    assert _methods(response.headers["allow"]) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert "PUT" in body["detail"]
    assert _methods(problem(client.get("/users"), 405) and client.get("/users").headers["allow"]) == {
        "POST",
        "OPTIONS",
    }


@pytest.mark.parametrize("suffix", ["", "/records", "/records?limit=1", "/export?format=csv"])
def test_head_answers_the_get_headers_without_a_body(client: TestClient, suffix: str) -> None:
    auth = new_key(client)
    url = tabular(client, auth)
    write(client, auth, url, _people(5))
    headers = {**auth, "Accept-Encoding": "identity"}
    got = client.get(f"{url}{suffix}", headers=headers)
    head = client.head(f"{url}{suffix}", headers=headers)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "link", "content-disposition", "vary"):
        assert head.headers.get(name) == got.headers.get(name), name


@pytest.mark.parametrize("what", ["dataset", "session"])
def test_head_on_an_export_never_starts_it(client: TestClient, monkeypatch: pytest.MonkeyPatch, what: str) -> None:
    auth = new_key(client)
    url = tabular(client, auth)
    write(client, auth, url, _people(5))
    export = f"{url}/export?format=csv" if what == "dataset" else url.split("/datasets/")[0] + "/export"
    got = client.get(export, headers=auth)

    class NoPump:
        def __init__(self, *_: object, **__: object) -> None:
            raise AssertionError("HEAD started the export")

    monkeypatch.setattr("datainfra.adapters.http.routes.exports.Pump", NoPump)
    head = client.head(export, headers=auth)
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "content-disposition", "cache-control"):
        assert head.headers.get(name) == got.headers.get(name), name
    problem(client.get(f"{url}/export?format=xml", headers=auth), 400)
    assert client.head(f"{url}/export?format=xml", headers=auth).status_code == 400


def test_head_on_a_missing_resource_is_the_same_404(client: TestClient) -> None:
    auth = new_key(client)
    head = client.head("/sessions/nope", headers=auth)
    assert head.status_code == 404 and head.content == b""
    assert client.head("/sessions").status_code == 401


# --- Authorization: Bearer ----------------------------------------------------------------------------


def test_a_bearer_key_is_the_same_key_as_x_api_key(client: TestClient) -> None:
    auth = new_key(client)
    session_id = create_session(client, auth)
    bearer = {"Authorization": f"Bearer {auth['X-API-Key']}"}
    assert [s["id"] for s in client.get("/sessions", headers=bearer).json()["items"]] == [session_id]
    both = {**auth, **bearer}
    assert client.get("/sessions", headers=both).status_code == 200
    lower = {"Authorization": f"bearer {auth['X-API-Key']}"}
    assert client.get("/sessions", headers=lower).status_code == 200


def test_a_bearer_key_rotates_like_an_x_api_key(client: TestClient) -> None:
    auth = new_key(client)
    rotated = client.post("/users/key", headers={"Authorization": f"Bearer {auth['X-API-Key']}"})
    assert rotated.status_code == 201, rotated.text
    problem(client.get("/sessions", headers=auth), 401)
    assert client.get("/sessions", headers={"X-API-Key": rotated.json()["api_key"]}).status_code == 200


def test_two_different_keys_are_a_400(client: TestClient) -> None:
    mine, theirs = new_key(client), new_key(client)
    response = client.get("/sessions", headers={**mine, "Authorization": f"Bearer {theirs['X-API-Key']}"})
    assert problem(response, 400)["parameter"] == "Authorization"


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Token abcdefgh12"])
def test_a_malformed_authorization_is_a_401_with_a_challenge(client: TestClient, value: str) -> None:
    response = client.get("/sessions", headers={"Authorization": value})
    problem(response, 401)
    assert "Bearer" in response.headers["www-authenticate"]
    assert "X-API-Key" in response.headers["www-authenticate"]


def test_a_bearer_key_never_reaches_the_log(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    auth = new_key(client)
    capsys.readouterr()
    client.get("/sessions", headers={"Authorization": f"Bearer {auth['X-API-Key']}"})
    client.get("/sessions", headers={"Authorization": f"Bearer {auth['X-API-Key']}", "X-API-Key": "other-key-1"})
    captured = capsys.readouterr()
    assert auth["X-API-Key"] not in captured.out + captured.err


# --- next as Link ------------------------------------------------------------------------------------


def _link_next(header: str | None) -> str | None:
    if header is None:
        return None
    match = re.fullmatch(r'<([^>]*)>; rel="next"', header)
    assert match, header
    return match.group(1)


@pytest.mark.parametrize(
    "params",
    [{"limit": "2"}, {"limit": "2", "sort": "age:desc,name"}, {"limit": "2", "city": "eq:Lyon", "count": "exact"}],
)
def test_a_records_page_sends_next_as_link_and_it_can_be_followed_as_is(
    client: TestClient, params: dict[str, str]
) -> None:
    auth = new_key(client)
    url = tabular(client, auth)
    write(client, auth, url, _people(7))
    seen: list[Any] = []
    response = client.get(f"{url}/records", params=params, headers=auth)
    while True:
        body = response.json()
        seen.extend(body["items"])
        link = _link_next(response.headers.get("link"))
        assert link == body.get("next")
        if link is None:
            break
        assert link.startswith(f"{url}/records?")
        for name, value in params.items():
            assert f"{name}={value}".replace(",", "%2C").replace(":", "%3A") in link
        response = client.get(link, headers=auth)
    everything = client.get(f"{url}/records", params={**params, "limit": "100"}, headers=auth).json()["items"]
    assert seen == everything and seen


def test_graph_node_edge_and_algorithm_pages_send_link(client: TestClient) -> None:
    auth = new_key(client)
    url = graph(client, auth)
    nodes = [{"id": f"p{i}", "labels": ["Person"], "properties": {"name": f"p{i}"}} for i in range(5)]
    edges = [{"source": f"p{i}", "target": f"p{i + 1}", "type": "KNOWS", "properties": {}} for i in range(4)]
    write(client, auth, url, {"nodes": nodes, "edges": edges})
    for path in ("/nodes?limit=2", "/edges?limit=2", "/records?limit=2"):
        response = client.get(f"{url}{path}", headers=auth)
        assert response.status_code == 200, (path, response.text)
        assert _link_next(response.headers.get("link")) == response.json()["next"], path
    for algorithm in ("pagerank", "degree", "connected_components"):
        ranked = client.post(f"{url}/algorithms/{algorithm}", params={"limit": "2"}, json={}, headers=auth)
        assert ranked.status_code == 200, ranked.text
        link = _link_next(ranked.headers.get("link"))
        assert link == ranked.json()["next"] and link is not None, algorithm
        following = client.post(link, json={}, headers=auth)  # the same body, POSTed to the link
        assert following.status_code == 200 and following.json()["offset"] == 2


def test_a_last_page_has_no_link(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth)
    write(client, auth, url, _people(2))
    response = client.get(f"{url}/records", params={"limit": "5"}, headers=auth)
    assert "next" not in response.json() and "link" not in response.headers


def test_a_search_answers_next_as_a_body_without_a_link(client: TestClient) -> None:
    auth = new_key(client)
    session_id = create_session(client, auth)
    url = dataset_url(
        session_id,
        create_dataset(
            client, auth, session_id, "people", {"columns": [{"name": "name", "type": "text", "nullable": False}]}
        ),
    )
    write(client, auth, url, [{"name": f"n{i}"} for i in range(5)])
    response = client.post(f"{url}/records/search", json={"limit": 2}, headers=auth)
    assert isinstance(response.json()["next"], dict)
    assert "link" not in response.headers


# --- the CORS setting ---------------------------------------------------------------------------------


def test_cors_origins_are_read_from_the_environment_and_validated() -> None:
    from datainfra.config import Settings, SettingsError

    assert Settings.from_env({}).cors_origins == ()
    env = {"DATAINFRA_CORS_ORIGINS": f" {ORIGIN}, http://localhost:5173 ,{ORIGIN}"}
    assert Settings.from_env(env).cors_origins == (ORIGIN, "http://localhost:5173")
    assert Settings.from_env({"DATAINFRA_CORS_ORIGINS": "*"}).cors_origins == ("*",)
    for bad in ("app.example.com", "https://app.example.com/", "ftp://x.example", f"*,{ORIGIN}", "https://a b"):
        with pytest.raises(SettingsError, match="DATAINFRA_CORS_ORIGINS"):
            Settings.from_env({"DATAINFRA_CORS_ORIGINS": bad})


def test_any_origin_is_granted_without_credentials(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins=("*",))
    auth = new_key(client)
    response = client.get("/sessions", headers={**auth, "Origin": "https://anywhere.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


def test_the_openapi_document_declares_location_link_and_the_bearer_header(client: TestClient) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert "Location" in paths["/sessions"]["post"]["responses"]["201"]["headers"]
    assert "Location" in paths["/users"]["post"]["responses"]["201"]["headers"]
    records = paths["/sessions/{session_id}/datasets/{dataset_id}/records"]
    assert "Location" in records["post"]["responses"]["201"]["headers"]
    assert "Link" in records["get"]["responses"]["200"]["headers"]
    document = client.get("/schema/openapi.json").json()
    assert document["components"]["securitySchemes"]["Bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["Bearer"]["description"],
    }
    assert {"Bearer": []} in paths["/sessions"]["get"]["security"]
