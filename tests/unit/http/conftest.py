"""An app on in-memory stores, driven through Litestar's test client.

Building a Litestar app (route registration, the OpenAPI document) costs ~0.1 s, more than most of
these tests take to run, so apps are reused across tests: one pool per set of settings, kept for the
whole run. Each test still gets fresh state: `bind_container` gives the app a new in-memory container
(so new stores, no overrides left behind) and new metrics, and every client is new. An app is lent to
one client at a time, so two clients in one test never share a container."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from datainfra.adapters.http.app import bind_container, create_app
from datainfra.config import Settings
from datainfra.containers import build_memory_container

_SettingsKey = tuple[tuple[str, object], ...]
_idle_apps: dict[_SettingsKey, list[Litestar]] = {}


def _fresh_app(settings: dict[str, object]) -> tuple[_SettingsKey, Litestar]:
    """An app built for `settings`, bound to a fresh in-memory container."""
    key = tuple(sorted(settings.items()))
    container = build_memory_container(Settings(**settings))  # type: ignore[arg-type]
    idle = _idle_apps.setdefault(key, [])
    if not idle:
        return key, create_app(container)  # type: ignore[arg-type]
    app = idle.pop()
    bind_container(app, container)  # type: ignore[arg-type]
    if app.logging_config is not None:
        # Litestar sets up stdlib logging when an app is built, its handlers bound to the sys.stderr
        # of that moment (an earlier test's capture): set it up again, as a fresh app would.
        app.get_logger = app.logging_config.configure()
    return key, app


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    lent: list[tuple[_SettingsKey, Litestar, TestClient]] = []

    def make(**settings: object) -> TestClient:
        key, app = _fresh_app(settings)
        client = TestClient(app)
        client.__enter__()
        lent.append((key, app, client))
        return client

    yield make
    for key, app, client in lent:
        client.__exit__(None, None, None)
        _idle_apps[key].append(app)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def api_key(client: TestClient) -> str:
    return str(client.post("/users").json()["api_key"])


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"X-API-Key": api_key}
