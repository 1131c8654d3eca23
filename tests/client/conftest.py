"""The client's tests run against the API as its users meet it: `python -m datainfra` in its own
process (tests/fuzz/api_process.py) on the test run's PostgreSQL and Neo4j, one for this package
(stopped once its tests are done, so it does not idle through the rest of `make test`). A real
process, not an in-process test client, because the CLI tests run the command in a subprocess and
in a pseudo-terminal, which must reach the API over a socket."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from datainfra_client import Client

from tests.fuzz.api_process import RunningApi, fresh_database, running_api

CLIENT_SRC = Path(__file__).parents[2] / "clients" / "python" / "src"


@pytest.fixture(scope="package")
def api(postgres_runtime: Any, neo4j_runtime: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    workdir = tmp_path_factory.mktemp("client-api")
    with (
        fresh_database(postgres_runtime.url()) as database_url,
        running_api(database_url, neo4j_runtime.endpoint(), workdir) as running,
    ):
        yield running


@pytest.fixture(scope="package")
def api_key(api: RunningApi) -> str:
    """One registered user for the directory (each test makes its own sessions)."""
    with Client(api.base_url) as anonymous:
        return anonymous.register().api_key


@pytest.fixture
def client(api: RunningApi, api_key: str) -> Iterator[Client]:
    with Client(api.base_url, api_key) as made:
        yield made


@pytest.fixture
def session_id(client: Client) -> str:
    return client.create_session(f"s-{uuid.uuid4().hex[:8]}").id


@pytest.fixture
def cli_env(api: RunningApi, api_key: str, tmp_path: Path) -> dict[str, str]:
    """The environment a `datainfra` subprocess runs in: the URL and key, no config file, and the
    client's source first on the path (as the editable install would put it)."""
    return {
        **os.environ,
        "DATAINFRA_URL": api.base_url,
        "DATAINFRA_API_KEY": api_key,
        "DATAINFRA_CONFIG": str(tmp_path / "absent.toml"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(CLIENT_SRC), os.environ.get("PYTHONPATH")) if p),
    }
