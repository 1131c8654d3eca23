"""Who may call what: the API key (X-API-Key, or the same key as `Authorization: Bearer <key>`) on
every route that needs a user, nothing on the public ones (health, readiness, metrics,
registration, the docs). The key is a security scheme, not an optional header parameter."""

from __future__ import annotations

from typing import Any

from datainfra.adapters.http.openapi.walk import Operation

API_KEY = "ApiKey"
BEARER = "Bearer"
AUTH_HEADERS = frozenset({"x-api-key", "authorization"})
SCHEMES: dict[str, Any] = {
    API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Your API key (POST /users issues one; shown once).",
    },
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "The same API key as `Authorization: Bearer <key>` (send one of the two headers, or both "
        "with the same key).",
    },
}


def document(operation: Operation) -> None:
    spec = operation.spec
    spec["parameters"] = [
        p for p in spec.get("parameters", []) if not (p["in"] == "header" and p["name"].lower() in AUTH_HEADERS)
    ]
    if not spec["parameters"]:
        del spec["parameters"]
    spec["security"] = [{API_KEY: []}, {BEARER: []}] if operation.authenticated else []


def schemes(document: dict[str, Any]) -> None:
    document.setdefault("components", {})["securitySchemes"] = dict(SCHEMES)
    document["security"] = [{API_KEY: []}, {BEARER: []}]
