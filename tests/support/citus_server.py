"""A Citus cluster for the tests: the configured one, or a throwaway local one (a coordinator and
two workers from the embedded PostgreSQL with Citus built into it, cached per machine).

``DATAINFRA_TEST_CITUS_URL`` set: its value is used as is (a coordinator's superuser URL).
Unset: Citus is built (or taken from the cache) and a :class:`LocalCitusCluster` is started in a
fresh temporary directory with durability off, stopped and deleted afterwards. Without the Citus
source archive (and no cached build) the test is skipped, with the reason."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from datainfra.local_stores.citus_build import CitusUnavailable, citus_bin_dir
from datainfra.local_stores.citus_cluster import LocalCitusCluster

TEST_CITUS_URL_ENV = "DATAINFRA_TEST_CITUS_URL"
WORKERS = 2
SKIPPED: list[str] = []
"""Why this run's Citus tests were skipped (printed at the end of the run by tests/conftest.py)."""


@contextmanager
def citus_url_for_tests() -> Iterator[str]:
    """Yield the superuser URL of a Citus coordinator the tests may use freely."""
    configured = os.environ.get(TEST_CITUS_URL_ENV)
    if configured:
        yield configured
        return
    try:
        bin_dir = citus_bin_dir()
    except CitusUnavailable as exc:
        if not SKIPPED:
            SKIPPED.append(str(exc))
        pytest.skip(f"Citus: {exc}")
    tmp = Path(tempfile.mkdtemp(prefix="datainfra-citus-"))
    try:
        with LocalCitusCluster(tmp / "citus", workers=WORKERS, durable=False, bin_dir=bin_dir) as cluster:
            yield cluster.url
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def node_url_of_schema(url: str, schema: str) -> str:
    """The superuser URL of the server that holds `schema`'s tables: `url` itself on plain PostgreSQL,
    the worker Citus placed the distributed schema on otherwise (the nodes share the password)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone() is None:
            return url
        row = conn.execute(
            "SELECT n.nodename, n.nodeport FROM pg_dist_node n JOIN pg_dist_placement p ON p.groupid = n.groupid "
            "JOIN pg_dist_shard s ON s.shardid = p.shardid "
            "JOIN pg_class c ON c.oid = s.logicalrelid WHERE c.relnamespace = %s::regnamespace LIMIT 1",
            (schema,),
        ).fetchone()
    if row is None:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[0] + f"@{row[0]}:{row[1]}"
    return urlunsplit(parts._replace(netloc=netloc))
