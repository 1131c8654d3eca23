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

import pytest

from datainfra.local_stores.citus_build import CitusUnavailable, citus_bin_dir
from datainfra.local_stores.citus_cluster import LocalCitusCluster

TEST_CITUS_URL_ENV = "DATAINFRA_TEST_CITUS_URL"
WORKERS = 2


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
        pytest.skip(f"Citus: {exc}")
    tmp = Path(tempfile.mkdtemp(prefix="datainfra-citus-"))
    try:
        with LocalCitusCluster(tmp / "citus", workers=WORKERS, durable=False, bin_dir=bin_dir) as cluster:
            yield cluster.url
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
