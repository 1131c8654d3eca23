"""GraphBookmarks: the causal-consistency bookmarks of each graph dataset, kept where every API
process reads them (the catalog), so a read routed to any member of a Neo4j cluster, through any API
process, sees every write to that dataset that was answered before it (read-your-writes across
requests, clients and processes, with nothing for the client to carry)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol


class GraphBookmarks(Protocol):
    async def latest(self, dataset_id: str) -> frozenset[str]:
        """The bookmarks a transaction on the dataset must wait for (empty: none yet)."""
        ...

    async def replace(self, dataset_id: str, previous: Collection[str], new: Collection[str]) -> None:
        """A transaction that started from `previous` committed as `new`: drop `previous` and add
        `new`, atomically, keeping any a concurrent transaction added meanwhile."""
        ...

    async def forget(self, dataset_id: str) -> None:
        """The dataset is gone."""
        ...
