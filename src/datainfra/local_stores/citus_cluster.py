"""A Citus cluster on this machine: a coordinator and N workers, each an :class:`EmbeddedPostgres` run
from the install that has Citus built into it (:mod:`datainfra.local_stores.citus_build`).

What makes three servers one cluster, done by :meth:`LocalCitusCluster.start`: ``shared_preload_libraries
= 'citus'`` and ``wal_level = logical`` (shard moves) on every node, the extension created on every node,
the coordinator registered (``citus_set_coordinator_host``) and each worker added (``citus_add_node``).

Connections between nodes: all nodes share one superuser password, which Citus takes from
``pg_dist_authinfo`` (node 0: to every node; a row on each node, as workers connect to each other
to move a shard) for its own connections as the superuser. A user's SQL runs
on the coordinator as the user's own role, and Citus reaches the workers as that role too: the workers
trust non-superuser roles from the loopback address (on a real cluster: the coordinator's private
address, or certificates), as Citus's own images do for their network.

Layout of ``data_dir``::

    data_dir/coordinator/   an EmbeddedPostgres data dir
    data_dir/worker-<i>/    one per worker
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Final, Self
from urllib.parse import urlsplit

import psycopg

from datainfra.local_stores.citus_build import citus_bin_dir
from datainfra.local_stores.postgres import SUPERUSER, EmbeddedPostgres

__all__ = ["CITUS_SETTINGS", "LocalCitusCluster"]

CITUS_SETTINGS: Final[dict[str, str | int]] = {
    "shared_preload_libraries": "citus",
    "wal_level": "logical",
    "max_connections": 300,
    "max_prepared_transactions": 200,
}
_WORKER_HBA: Final = (
    f"host    all       {SUPERUSER}  127.0.0.1/32  scram-sha-256",
    "host    all       all   127.0.0.1/32  trust",
)


class LocalCitusCluster:
    """A coordinator and ``workers`` worker nodes; ``url`` is the coordinator's superuser URL."""

    def __init__(
        self,
        data_dir: Path,
        *,
        workers: int = 2,
        durable: bool = True,
        bin_dir: Path | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        self.data_dir: Final = data_dir
        self._bin_dir = bin_dir
        self._durable = durable
        self._start_timeout = start_timeout
        self._worker_count = workers
        self.coordinator: EmbeddedPostgres | None = None
        self.workers: list[EmbeddedPostgres] = []

    @property
    def url(self) -> str:
        if self.coordinator is None:
            raise RuntimeError("the Citus cluster is not started")
        return self.coordinator.url

    def worker_urls(self) -> list[str]:
        return [w.url for w in self.workers]

    def start(self) -> str:
        """Build Citus if needed, start every node (in parallel), join them; the coordinator's URL."""
        bin_dir = self._bin_dir or citus_bin_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = self._shared_password()
        names = ["coordinator", *(f"worker-{i}" for i in range(1, self._worker_count + 1))]
        nodes = []
        for name in names:
            node_dir = self.data_dir / name
            node_dir.mkdir(mode=0o700, exist_ok=True)
            pw_file = node_dir / "superuser-password"
            if not pw_file.exists():
                pw_file.write_text(password + "\n", encoding="utf-8")
                pw_file.chmod(0o600)
            nodes.append(
                EmbeddedPostgres(
                    node_dir,
                    durable=self._durable,
                    bin_dir=bin_dir,
                    settings=CITUS_SETTINGS,
                    hba_lines=() if name == "coordinator" else _WORKER_HBA,
                    start_timeout=self._start_timeout,
                )
            )
        self.coordinator, self.workers = nodes[0], nodes[1:]
        try:
            self._each(nodes, lambda node: node.start())
            self._each(nodes, _create_extension)
            self._join(password)
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        nodes = [n for n in (self.coordinator, *self.workers) if n is not None]
        self._each(nodes, lambda node: node.stop())

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- steps ---------------------------------------------------------------------------------------

    def _shared_password(self) -> str:
        path = self.data_dir / "superuser-password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()

    def _join(self, password: str) -> None:
        assert self.coordinator is not None
        for node in (self.coordinator, *self.workers):  # each node's own table: workers connect to each other
            with psycopg.connect(node.url, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) SELECT 0, %s, %s "
                    "WHERE NOT EXISTS (SELECT 1 FROM pg_dist_authinfo WHERE nodeid = 0 AND rolename = %s)",
                    (SUPERUSER, f"password={password}", SUPERUSER),
                )
        with psycopg.connect(self.coordinator.url, autocommit=True) as conn:
            conn.execute("SELECT citus_set_coordinator_host('127.0.0.1', %s)", (_port(self.coordinator.url),))
            for worker in self.workers:
                port = _port(worker.url)
                conn.execute(
                    "SELECT citus_add_node('127.0.0.1', %s) WHERE NOT EXISTS "
                    "(SELECT 1 FROM pg_dist_node WHERE nodename = '127.0.0.1' AND nodeport = %s)",
                    (port, port),
                )

    @staticmethod
    def _each(nodes: list[EmbeddedPostgres], step: Callable[[EmbeddedPostgres], object]) -> None:
        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            for future in [pool.submit(step, node) for node in nodes]:
                future.result()


def _create_extension(node: EmbeddedPostgres) -> None:
    with psycopg.connect(node.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS citus")


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port
