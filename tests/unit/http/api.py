"""Small helpers the HTTP tests share: building sessions and datasets, reading problem documents,
walking `next` links."""

from __future__ import annotations

from typing import Any

from httpx import Response
from litestar.testing import TestClient

PROBLEM_JSON = "application/problem+json"

PEOPLE_SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "name", "type": "text", "nullable": False},
        {"name": "age", "type": "integer"},
        {"name": "city", "type": "text"},
    ]
}

SOCIAL_SCHEMA: dict[str, Any] = {
    "node_labels": [
        {
            "name": "Person",
            "properties": [{"name": "name", "type": "text"}, {"name": "age", "type": "integer"}],
        },
        {"name": "City", "properties": [{"name": "name", "type": "text"}]},
    ],
    "relationship_types": [
        {"name": "KNOWS", "properties": [{"name": "since", "type": "integer"}, {"name": "weight", "type": "float"}]},
        {"name": "LIVES_IN", "properties": []},
    ],
}


def problem(response: Response, status: int) -> dict[str, Any]:
    """Assert `response` is an RFC 9457 problem document with `status`; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, f"problem document lacks {member!r}: {body}"
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text
    return body


def new_key(client: TestClient) -> dict[str, str]:
    response = client.post("/users")
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["api_key"]}


def create_session(client: TestClient, auth: dict[str, str], name: str = "work") -> str:
    response = client.post("/sessions", json={"name": name}, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def create_dataset(
    client: TestClient,
    auth: dict[str, str],
    session_id: str,
    name: str,
    schema: dict[str, Any],
    kind: str = "tabular",
) -> str:
    response = client.post(
        f"/sessions/{session_id}/datasets", json={"name": name, "kind": kind, "schema": schema}, headers=auth
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def dataset_url(session_id: str, dataset_id: str) -> str:
    return f"/sessions/{session_id}/datasets/{dataset_id}"


def tabular(client: TestClient, auth: dict[str, str], schema: dict[str, Any] | None = None) -> str:
    """A fresh session holding one tabular dataset; returns the dataset URL."""
    session_id = create_session(client, auth)
    dataset_id = create_dataset(client, auth, session_id, "people", schema or PEOPLE_SCHEMA)
    return dataset_url(session_id, dataset_id)


def graph(client: TestClient, auth: dict[str, str], schema: dict[str, Any] | None = None) -> str:
    session_id = create_session(client, auth)
    dataset_id = create_dataset(client, auth, session_id, "social", schema or SOCIAL_SCHEMA, kind="graph")
    return dataset_url(session_id, dataset_id)


def write(client: TestClient, auth: dict[str, str], url: str, body: Any) -> dict[str, Any]:
    response = client.post(f"{url}/records", json=body, headers=auth)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def walk(client: TestClient, auth: dict[str, str], first: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Every page from `first`, following `next` until it is absent; returns the pages' bodies."""
    pages = []
    response = client.get(first, params=params, headers=auth)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        assert len(pages) < 1000, "next never ran out"
        if "next" not in body or body["next"] is None:
            return pages
        response = client.get(body["next"], headers=auth)


def strings_in(value: Any, seen: set[int] | None = None) -> list[str]:
    """Every string reachable from an object's attributes and containers."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings_in(k, seen) + strings_in(v, seen)]
    if isinstance(value, list | tuple | set | frozenset):
        return [s for item in value for s in strings_in(item, seen)]
    slots = getattr(type(value), "__slots__", ())
    attrs = dict(getattr(value, "__dict__", {}))
    attrs.update({name: getattr(value, name) for name in slots if hasattr(value, name)})
    return [s for v in attrs.values() for s in strings_in(v, seen)]
