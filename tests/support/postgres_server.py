"""A PostgreSQL server for the tests: the configured one, or a throwaway embedded one.

``DATAINFRA_TEST_DATABASE_URL`` set: its value is used as is (a superuser's URL).
Unset: an :class:`EmbeddedPostgres` is started in a fresh temporary directory with
durability off (fsync, synchronous_commit, full_page_writes), and stopped and deleted
afterwards. Meant to be entered once per test run (e.g. from a session-scoped fixture).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datainfra.local_stores.postgres import EmbeddedPostgres

TEST_DATABASE_URL_ENV = "DATAINFRA_TEST_DATABASE_URL"


@contextmanager
def postgres_url_for_tests() -> Iterator[str]:
    """Yield a superuser ``postgresql://`` URL of a server the tests may use freely."""
    configured = os.environ.get(TEST_DATABASE_URL_ENV)
    if configured:
        yield configured
        return
    tmp = Path(tempfile.mkdtemp(prefix="datainfra-pg-"))
    try:
        with EmbeddedPostgres(tmp / "postgres", durable=False) as server:
            yield server.url
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
