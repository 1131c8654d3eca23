"""The fast loop's guard: `make test-unit` sets DATAINFRA_TEST_NO_SERVERS=1, and then the moment a
test reaches for a real store (the PostgreSQL or Neo4j runtime starting or connecting to one) it
fails, naming the store. So a test that needs a server but carries no `postgres` / `neo4j` marker
breaks the unit run instead of quietly starting a server inside it."""

from __future__ import annotations

import os

import pytest

NO_SERVERS = "DATAINFRA_TEST_NO_SERVERS"


def servers_refused() -> bool:
    """True in the fast loop (`make test-unit`)."""
    return os.environ.get(NO_SERVERS, "") not in ("", "0")


def refuse_if_no_servers(store: str, marker: str) -> None:
    if servers_refused():
        pytest.fail(
            f"this test needs {store}, but {NO_SERVERS} is set (make test-unit starts no server): "
            f"mark it `pytest.mark.{marker}`",
            pytrace=False,
        )
