"""A Neo4j server for the tests: the configured one, or a throwaway local one.

``DATAINFRA_TEST_NEO4J_URI`` set: that server is used as is, with
``DATAINFRA_TEST_NEO4J_USER`` (default ``neo4j``) and ``DATAINFRA_TEST_NEO4J_PASSWORD``.
Unset: a :class:`LocalNeo4j` (Neo4j Community from Maven Central's jars, needs Java 17+ and,
the first time, mvn) is started in a fresh temporary directory, and stopped and deleted
afterwards. Meant to be entered once per test run (e.g. from a session-scoped fixture).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datainfra.local_stores.neo4j import NEO4J_USER, LocalNeo4j, Neo4jEndpoint

TEST_NEO4J_URI_ENV = "DATAINFRA_TEST_NEO4J_URI"
TEST_NEO4J_USER_ENV = "DATAINFRA_TEST_NEO4J_USER"
TEST_NEO4J_PASSWORD_ENV = "DATAINFRA_TEST_NEO4J_PASSWORD"


@contextmanager
def neo4j_endpoint_for_tests(*, start_timeout: float = 180.0) -> Iterator[Neo4jEndpoint]:
    """Yield the endpoint of a Neo4j server the tests may use freely."""
    configured = os.environ.get(TEST_NEO4J_URI_ENV)
    if configured:
        yield Neo4jEndpoint(
            uri=configured,
            user=os.environ.get(TEST_NEO4J_USER_ENV) or NEO4J_USER,
            password=os.environ.get(TEST_NEO4J_PASSWORD_ENV, ""),
        )
        return
    tmp = Path(tempfile.mkdtemp(prefix="datainfra-neo4j-"))
    try:
        server = LocalNeo4j(tmp / "neo4j")
        try:
            yield server.start(timeout=start_timeout)
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
