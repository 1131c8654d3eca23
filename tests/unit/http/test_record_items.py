"""One record as a resource: GET/PUT/PATCH/DELETE .../records/{key}, composite keys in the URL,
ETags, If-Match (412 on a stale tag: the lost update cannot happen), If-None-Match (304), and the
dataset's ETag guarding a migration."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.unit.http.api import graph, new_key, problem, tabular, write

ITEMS: dict[str, Any] = {
    "columns": [
        {"name": "sku", "type": "text", "nullable": False},
        {"name": "qty", "type": "integer", "nullable": False, "default": 0},
        {"name": "note", "type": "text"},
        {"name": "meta", "type": "json"},
    ],
    "primary_key": ["sku"],
}
READINGS: dict[str, Any] = {
    "columns": [
        {"name": "city", "type": "text", "nullable": False},
        {"name": "day", "type": "date", "nullable": False},
        {"name": "temp", "type": "numeric"},
    ],
    "primary_key": ["city", "day"],
}
SERIAL: dict[str, Any] = {"columns": [{"name": "name", "type": "text"}]}  # generated integer `id`


def items(client: TestClient) -> tuple[dict[str, str], str]:
    auth = new_key(client)
    url = tabular(client, auth, ITEMS)
    write(client, auth, url, [{"sku": "a1", "qty": 3, "note": "x", "meta": {"colour": "red", "size": 2}}])
    return auth, f"{url}/records"


def test_get_returns_the_record_with_a_strong_etag(client: TestClient) -> None:
    auth, records = items(client)
    response = client.get(f"{records}/a1", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {"sku": "a1", "qty": 3, "note": "x", "meta": {"colour": "red", "size": 2}}
    tag = response.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert client.get(f"{records}/a1", headers=auth).headers["etag"] == tag  # same content, same tag


def test_get_of_an_absent_key_is_404_naming_it(client: TestClient) -> None:
    auth, records = items(client)
    body = problem(client.get(f"{records}/nope", headers=auth), 404)
    assert body["key"] == {"sku": "nope"}
    assert "sku=nope" in body["detail"]


def test_if_none_match_answers_304(client: TestClient) -> None:
    auth, records = items(client)
    tag = client.get(f"{records}/a1", headers=auth).headers["etag"]
    response = client.get(f"{records}/a1", headers={**auth, "If-None-Match": tag})
    assert response.status_code == 304
    assert response.headers["etag"] == tag
    assert response.content == b""
    assert client.get(f"{records}/a1", headers={**auth, "If-None-Match": '"other"'}).status_code == 200


def test_patch_is_a_merge_patch(client: TestClient) -> None:
    auth, records = items(client)
    response = client.patch(
        f"{records}/a1",
        content=b'{"qty": 5, "note": null, "meta": {"size": null, "shape": "round"}}',
        headers={**auth, "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    expected = {"sku": "a1", "qty": 5, "note": None, "meta": {"colour": "red", "shape": "round"}}
    assert response.json() == expected
    assert response.headers["etag"] == client.get(f"{records}/a1", headers=auth).headers["etag"]
    assert client.get(f"{records}/a1", headers=auth).json() == expected
    assert client.patch(f"{records}/a1", json={"qty": 6}, headers=auth).json()["qty"] == 6  # plain JSON too


def test_patch_refuses_what_the_schema_refuses(client: TestClient) -> None:
    auth, records = items(client)
    assert problem(client.patch(f"{records}/a1", json={"qty": None}, headers=auth), 422)["field"] == "qty"
    assert problem(client.patch(f"{records}/a1", json={"qty": "many"}, headers=auth), 422)["field"] == "qty"
    assert problem(client.patch(f"{records}/a1", json={"colour": 1}, headers=auth), 422)["field"] == "colour"
    problem(client.patch(f"{records}/a1", json=[1], headers=auth), 422)
    problem(client.patch(f"{records}/a1", content=b"sku=a1", headers={**auth, "Content-Type": "text/plain"}), 415)
    assert client.get(f"{records}/a1", headers=auth).json()["qty"] == 3


def test_a_body_changing_the_key_is_422_and_the_same_key_is_fine(client: TestClient) -> None:
    auth, records = items(client)
    assert problem(client.patch(f"{records}/a1", json={"sku": "b2"}, headers=auth), 422)["field"] == "sku"
    assert problem(client.put(f"{records}/a1", json={"sku": "b2", "qty": 1}, headers=auth), 422)["field"] == "sku"
    assert client.patch(f"{records}/a1", json={"sku": "a1", "qty": 4}, headers=auth).json()["qty"] == 4
    assert client.get(f"{records}/b2", headers=auth).status_code == 404


def test_put_replaces_every_non_key_column(client: TestClient) -> None:
    auth, records = items(client)
    response = client.put(f"{records}/a1", json={"note": "y"}, headers=auth)
    assert response.status_code == 200, response.text
    # qty left out takes its default, note is set, meta left out is NULL
    assert response.json() == {"sku": "a1", "qty": 0, "note": "y", "meta": None}
    assert client.get(f"{records}/a1", headers=auth).json() == response.json()


def test_put_needs_not_null_columns_without_default(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(
        client,
        auth,
        {
            "columns": [{"name": "k", "type": "text"}, {"name": "v", "type": "integer", "nullable": False}],
            "primary_key": ["k"],
        },
    )
    write(client, auth, url, [{"k": "x", "v": 1}])
    assert problem(client.put(f"{url}/records/x", json={}, headers=auth), 422)["field"] == "v"
    assert client.put(f"{url}/records/x", json={"v": 2}, headers=auth).json() == {"k": "x", "v": 2}


def test_put_and_patch_of_an_absent_key_are_404_and_create_nothing(client: TestClient) -> None:
    auth, records = items(client)
    problem(client.put(f"{records}/zz", json={"qty": 1}, headers=auth), 404)
    problem(client.patch(f"{records}/zz", json={"qty": 1}, headers=auth), 404)
    problem(client.get(f"{records}/zz", headers=auth), 404)


def test_delete_is_204_then_404(client: TestClient) -> None:
    auth, records = items(client)
    response = client.delete(f"{records}/a1", headers=auth)
    assert response.status_code == 204
    assert response.content == b""
    problem(client.get(f"{records}/a1", headers=auth), 404)
    problem(client.delete(f"{records}/a1", headers=auth), 404)


def test_the_lost_update_cannot_happen(client: TestClient) -> None:
    """Two clients read the same ETag; the first PATCH wins; the second gets 412 and nothing of it
    is stored."""
    auth, records = items(client)
    alice_tag = client.get(f"{records}/a1", headers=auth).headers["etag"]
    bob_tag = client.get(f"{records}/a1", headers=auth).headers["etag"]
    assert alice_tag == bob_tag
    first = client.patch(f"{records}/a1", json={"qty": 10}, headers={**auth, "If-Match": alice_tag})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != alice_tag
    second = client.patch(f"{records}/a1", json={"note": "bob"}, headers={**auth, "If-Match": bob_tag})
    body = problem(second, 412)
    assert body["key"] == {"sku": "a1"}
    stored = client.get(f"{records}/a1", headers=auth)
    assert stored.json()["qty"] == 10 and stored.json()["note"] == "x"
    assert stored.headers["etag"] == first.headers["etag"]
    # Bob reads again and retries with the fresh tag: now it is his turn.
    retried = client.patch(f"{records}/a1", json={"note": "bob"}, headers={**auth, "If-Match": stored.headers["etag"]})
    assert retried.status_code == 200
    assert retried.json() == {**stored.json(), "note": "bob"}


def test_stale_if_match_is_412_for_put_and_delete_too(client: TestClient) -> None:
    auth, records = items(client)
    old = client.get(f"{records}/a1", headers=auth).headers["etag"]
    client.patch(f"{records}/a1", json={"qty": 9}, headers=auth)
    problem(client.put(f"{records}/a1", json={"qty": 1}, headers={**auth, "If-Match": old}), 412)
    problem(client.delete(f"{records}/a1", headers={**auth, "If-Match": old}), 412)
    assert client.get(f"{records}/a1", headers=auth).json()["qty"] == 9
    fresh = client.get(f"{records}/a1", headers=auth).headers["etag"]
    listed = f'"nope", {fresh}'
    assert client.delete(f"{records}/a1", headers={**auth, "If-Match": listed}).status_code == 204


def test_if_match_star_needs_the_record_and_weak_tags_never_match(client: TestClient) -> None:
    auth, records = items(client)
    assert client.patch(f"{records}/a1", json={"qty": 1}, headers={**auth, "If-Match": "*"}).status_code == 200
    problem(client.patch(f"{records}/zz", json={"qty": 1}, headers={**auth, "If-Match": "*"}), 412)
    tag = client.get(f"{records}/a1", headers=auth).headers["etag"]
    problem(client.patch(f"{records}/a1", json={"qty": 2}, headers={**auth, "If-Match": f"W/{tag}"}), 412)
    assert (
        problem(client.patch(f"{records}/a1", json={"qty": 2}, headers={**auth, "If-Match": "abc"}), 400)["parameter"]
        == "If-Match"
    )


def test_composite_key_in_column_order_with_percent_encoded_parts(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth, READINGS)
    write(
        client,
        auth,
        url,
        [
            {"city": "Paris", "day": "2024-01-31", "temp": "3.5"},
            {"city": "St. John's, NL/CA", "day": "2024-01-31", "temp": "-20"},
        ],
    )
    records = f"{url}/records"
    response = client.get(f"{records}/Paris,2024-01-31", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["temp"] == 3.5
    odd = client.get(f"{records}/St.%20John%27s%2C%20NL%2FCA,2024-01-31", headers=auth)
    assert odd.status_code == 200, odd.text
    assert odd.json()["city"] == "St. John's, NL/CA"
    patched = client.patch(f"{records}/Paris,2024-01-31", json={"temp": 4}, headers=auth)
    assert patched.json() == {"city": "Paris", "day": "2024-01-31", "temp": 4}
    assert client.delete(f"{records}/St.%20John%27s%2C%20NL%2FCA,2024-01-31", headers=auth).status_code == 204
    # the wrong number of parts, a bad part, the parts in the wrong order
    assert "city, day" in problem(client.get(f"{records}/Paris", headers=auth), 422)["detail"]
    problem(client.get(f"{records}/Paris,2024-01-31,x", headers=auth), 422)
    assert problem(client.get(f"{records}/Paris,31.01.2024", headers=auth), 422)["field"] == "day"
    assert problem(client.get(f"{records}/2024-01-31,Paris", headers=auth), 422)["field"] == "day"
    assert problem(client.get(f"{records}/Paris,2024-02-01", headers=auth), 404)["key"] == {
        "city": "Paris",
        "day": "2024-02-01",
    }


def test_single_column_keys_are_typed_and_take_commas_and_slashes(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth, SERIAL)
    write(client, auth, url, [{"name": "first"}])
    assert client.get(f"{url}/records/1", headers=auth).json() == {"id": 1, "name": "first"}
    assert problem(client.get(f"{url}/records/one", headers=auth), 422)["field"] == "id"
    auth, records = items(client)
    write(client, auth, records.removesuffix("/records"), [{"sku": "a,b/c é"}])
    assert client.get(f"{records}/a,b%2Fc%20%C3%A9", headers=auth).json()["sku"] == "a,b/c é"
    assert client.get(f"{records}/a%2Cb/c%20%C3%A9", headers=auth).json()["sku"] == "a,b/c é"
    assert problem(client.get(f"{records}/%FF", headers=auth), 400)["parameter"] == "key"


def test_graph_datasets_have_no_record_resource(client: TestClient) -> None:
    auth = new_key(client)
    url = graph(client, auth)
    problem(client.get(f"{url}/records/n1", headers=auth), 400)


def test_another_users_record_is_not_found(client: TestClient) -> None:
    auth, records = items(client)
    stranger = new_key(client)
    problem(client.get(f"{records}/a1", headers=stranger), 404)
    problem(client.patch(f"{records}/a1", json={"qty": 0}, headers=stranger), 404)
    assert client.get(f"{records}/a1", headers=auth).json()["qty"] == 3


def test_dataset_etag_guards_a_migration(client: TestClient) -> None:
    auth = new_key(client)
    url = tabular(client, auth, ITEMS)
    read = client.get(url, headers=auth)
    tag = read.headers["etag"]
    write(client, auth, url, [{"sku": "a1"}])
    assert client.get(url, headers=auth).headers["etag"] == tag  # records do not version the dataset
    more = {"columns": [*ITEMS["columns"], {"name": "extra", "type": "text"}], "primary_key": ["sku"]}
    migrated = client.put(url, json={"schema": more}, headers={**auth, "If-Match": tag})
    assert migrated.status_code == 200, migrated.text
    assert migrated.headers["etag"] != tag
    assert client.get(url, headers=auth).headers["etag"] == migrated.headers["etag"]
    again = {"columns": [*more["columns"], {"name": "other", "type": "text"}], "primary_key": ["sku"]}
    problem(client.put(url, json={"schema": again}, headers={**auth, "If-Match": tag}), 412)
    columns = [c["name"] for c in client.get(url, headers=auth).json()["schema"]["columns"]]
    assert "other" not in columns and "extra" in columns


def test_the_migration_documents_its_lost_race_answers(client: TestClient) -> None:
    operation = client.get("/schema/openapi.json").json()["paths"]["/sessions/{session_id}/datasets/{dataset_id}"][
        "put"
    ]
    assert {"409", "412"} <= set(operation["responses"])
