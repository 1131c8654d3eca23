"""The local Neo4j server (datainfra.local_stores.neo4j) against the real jars.

Three server starts in all: one fresh data dir is started, used, stopped and started again to
check that data and the generated password survive a restart; one more checks a stored
password that begins with "-".
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import neo4j
import pytest

from datainfra.local_stores.neo4j import LocalNeo4j, Neo4jEndpoint
from datainfra.local_stores.neo4j_runtime import NEO4J_VERSION, LocalNeo4jError, java_available

pytestmark = [
    pytest.mark.neo4j,
    pytest.mark.skipif(not java_available(), reason="needs Java 17+ for the local Neo4j server"),
]


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="datainfra-neo4j-test-"))
    try:
        yield tmp / "neo4j"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[LocalNeo4j]:
    local = LocalNeo4j(data_dir)
    started = time.monotonic()
    local.start()
    print(f"local Neo4j started in {time.monotonic() - started:.1f}s")
    try:
        yield local
    finally:
        local.stop()


async def _driver(endpoint: Neo4jEndpoint) -> neo4j.AsyncDriver:
    driver = neo4j.AsyncGraphDatabase.driver(endpoint.uri, auth=endpoint.auth)
    await driver.verify_connectivity()
    return driver


@pytest.fixture
async def driver(server: LocalNeo4j) -> AsyncIterator[neo4j.AsyncDriver]:
    drv = await _driver(server.endpoint)
    try:
        yield drv
    finally:
        await drv.close()


async def test_bolt_on_loopback_with_a_generated_password(server: LocalNeo4j, data_dir: Path) -> None:
    endpoint = server.endpoint
    assert endpoint.uri.startswith("bolt://127.0.0.1:")
    assert endpoint.user == "neo4j"
    password_file = data_dir / "password"
    assert password_file.read_text(encoding="utf-8").strip() == endpoint.password
    assert password_file.stat().st_mode & 0o077 == 0
    conf = (data_dir / "conf" / "neo4j.conf").read_text(encoding="utf-8")
    assert "server.http.enabled=false" in conf
    assert "dbms.usage_report.enabled=false" in conf


async def test_return_1(driver: neo4j.AsyncDriver) -> None:
    records, _, _ = await driver.execute_query("RETURN 1 AS one", database_="neo4j")
    assert [r["one"] for r in records] == [1]


async def test_reports_the_pinned_community_version(driver: neo4j.AsyncDriver) -> None:
    records, _, _ = await driver.execute_query(
        "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition",
        database_="system",
    )
    kernel = next(r for r in records if r["name"] == "Neo4j Kernel")
    assert kernel["versions"] == [NEO4J_VERSION]
    assert NEO4J_VERSION.startswith("5.26.")
    assert kernel["edition"] == "community"


async def test_wrong_password_is_refused(server: LocalNeo4j) -> None:
    endpoint = server.endpoint
    async with neo4j.AsyncGraphDatabase.driver(endpoint.uri, auth=(endpoint.user, "wrong-password")) as drv:
        with pytest.raises(neo4j.exceptions.AuthError):
            await drv.verify_connectivity()


async def test_second_instance_on_the_same_data_dir_is_refused(server: LocalNeo4j, data_dir: Path) -> None:
    with pytest.raises(LocalNeo4jError, match="already run"):
        LocalNeo4j(data_dir).start(timeout=5)
    assert server.is_running()


async def test_constraint_and_data_survive_a_restart(server: LocalNeo4j, driver: neo4j.AsyncDriver) -> None:
    await driver.execute_query(
        "CREATE CONSTRAINT item_key IF NOT EXISTS FOR (n:Item) REQUIRE n.key IS UNIQUE", database_="neo4j"
    )
    await driver.execute_query("CREATE (:Item {key: 'k1', value: 42})", database_="neo4j")
    with pytest.raises(neo4j.exceptions.ConstraintError):
        await driver.execute_query("CREATE (:Item {key: 'k1'})", database_="neo4j")
    await driver.close()
    password = server.endpoint.password
    pid = server.pid
    assert pid is not None

    server.stop()
    server.stop()  # idempotent
    assert not server.is_running()
    assert not Path(f"/proc/{pid}").exists()

    started = time.monotonic()
    endpoint = server.start()
    print(f"local Neo4j restarted in {time.monotonic() - started:.1f}s")
    assert endpoint.password == password
    drv = await _driver(endpoint)
    try:
        records, _, _ = await drv.execute_query("MATCH (n:Item {key: 'k1'}) RETURN n.value AS value", database_="neo4j")
        assert [r["value"] for r in records] == [42]
        records, _, _ = await drv.execute_query(
            "SHOW CONSTRAINTS YIELD name, type WHERE name = 'item_key' RETURN type", database_="neo4j"
        )
        assert [r["type"] for r in records] == ["UNIQUENESS"]
        with pytest.raises(neo4j.exceptions.ConstraintError):
            await drv.execute_query("CREATE (:Item {key: 'k1'})", database_="neo4j")
    finally:
        await drv.close()


async def test_a_stored_password_that_looks_like_an_option_still_works(tmp_path: Path) -> None:
    """CI once failed on a generated password that began with "-": neo4j-admin read it as an option."""
    data_dir = tmp_path / "neo4j"
    data_dir.mkdir()
    (data_dir / "password").write_text("-looks-like-an-option\n", encoding="utf-8")
    local = LocalNeo4j(data_dir)
    endpoint = local.start()
    try:
        assert endpoint.password == "-looks-like-an-option"
        drv = await _driver(endpoint)
        await drv.close()
    finally:
        local.stop()
