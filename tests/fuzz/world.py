"""What the fuzzer's requests point at: one user, one session holding a tabular and a graph dataset
with a few rows, nodes and edges, and the session's own export (for the import route).

Path parameters are these real ids most of the time, so the generated requests reach the code
behind the lookups. Destructive operations (deleting a session or a dataset, importing into a
session) get throwaway targets made on demand, so the seeded world survives the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from tests.fuzz.realistic import (
    GRAPH_EDGES,
    GRAPH_NAME,
    GRAPH_NODES,
    GRAPH_SCHEMA,
    TABLE_NAME,
    TABLE_ROWS,
    TABLE_SCHEMA,
)

TIMEOUT = (5, 120)


def _ok(response: requests.Response, *statuses: int) -> Any:
    assert response.status_code in statuses, (
        f"{response.request.method} {response.url}: {response.status_code} {response.text[:500]}"
    )
    return response.json() if response.content and "json" in response.headers.get("content-type", "") else None


@dataclass
class World:
    http: requests.Session
    base_url: str
    key: str = ""
    session_id: str = ""
    tabular_id: str = ""
    graph_id: str = ""
    archive: bytes = b""
    keys_seen: set[str] = field(default_factory=set)
    _spares: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"X-API-Key": self.key, **kwargs.pop("headers", {})}
        return self.http.request(method, self.base_url + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def build(self) -> World:
        self.key = _ok(self.http.post(self.base_url + "/users", timeout=TIMEOUT), 201)["api_key"]
        self.keys_seen.add(self.key)
        self.session_id = self.new_session("fuzz")
        self.tabular_id = self.new_dataset(self.session_id, TABLE_NAME, "tabular", TABLE_SCHEMA)
        self.graph_id = self.new_dataset(self.session_id, GRAPH_NAME, "graph", GRAPH_SCHEMA)
        _ok(self.call("POST", f"{self.dataset_path(self.tabular_id)}/records", json={"records": TABLE_ROWS}), 201)
        _ok(
            self.call(
                "POST", f"{self.dataset_path(self.graph_id)}/records", json={"nodes": GRAPH_NODES, "edges": GRAPH_EDGES}
            ),
            201,
        )
        response = self.call("GET", f"/sessions/{self.session_id}/export")
        _ok(response, 200)
        self.archive = response.content
        return self

    def dataset_path(self, dataset_id: str, session_id: str | None = None) -> str:
        return f"/sessions/{session_id or self.session_id}/datasets/{dataset_id}"

    def new_session(self, name: str) -> str:
        return str(_ok(self.call("POST", "/sessions", json={"name": name}), 201)["id"])

    def new_dataset(self, session_id: str, name: str, kind: str, schema: dict[str, Any]) -> str:
        body = {"name": name, "kind": kind, "schema": schema}
        return str(_ok(self.call("POST", f"/sessions/{session_id}/datasets", json=body), 201)["id"])

    def spare(self, what: str) -> str:
        """A throwaway session (`session`) or dataset (`tabular`, `graph`) of the seeded session,
        made when the previous one was used up (deleted, or filled by an import)."""
        if what not in self._spares:
            if what == "session":
                self._spares[what] = self.new_session("spare")
            else:
                schema = TABLE_SCHEMA if what == "tabular" else GRAPH_SCHEMA
                self._spares[what] = self.new_dataset(self.session_id, f"spare_{what}", what, schema)
        return self._spares[what]

    def used_up(self, what: str) -> None:
        self._spares.pop(what, None)

    def clean_up(self) -> list[str]:
        """Delete every session of every key the run used: graphs live in the shared Neo4j.
        Returns what could not be deleted."""
        left = []
        for key in sorted(self.keys_seen):
            listing = self.http.get(self.base_url + "/sessions", headers={"X-API-Key": key}, timeout=TIMEOUT)
            if listing.status_code != 200:
                continue
            for session in listing.json().get("items", []):
                gone = self.http.delete(
                    f"{self.base_url}/sessions/{session['id']}", headers={"X-API-Key": key}, timeout=TIMEOUT
                )
                if gone.status_code != 204:
                    left.append(f"session {session['id']}: {gone.status_code} {gone.text[:200]}")
        return left
