"""The driver's bookmark manager over `GraphBookmarks`, one per dataset and call: every transaction
on the dataset starts from the bookmarks the catalog holds for it (a cluster member that has not
yet applied them waits until it has) and leaves its own there when it commits.

Used when the URI routes (`neo4j://`, `neo4j+s://`, `neo4j+ssc://`): reads may then go to another
member than the write they follow. Through `bolt://` every transaction reaches the one server, which
is causally consistent with itself, and no bookmark is read or kept."""

from __future__ import annotations

from collections.abc import Collection

from neo4j.api import AsyncBookmarkManager

from datainfra.domain.ports.graph_bookmarks import GraphBookmarks

ROUTING_SCHEMES = ("neo4j://", "neo4j+s://", "neo4j+ssc://")


def routes(uri: str) -> bool:
    """Whether a driver on `uri` routes reads and writes to different cluster members."""
    return uri.startswith(ROUTING_SCHEMES)


class DatasetBookmarks(AsyncBookmarkManager):
    """One call's view: the catalog is read once, when the call's first transaction starts (which
    covers every write answered before the call), and the call's own commits are added as they come
    (the driver asks for the bookmarks more than once per transaction)."""

    def __init__(self, store: GraphBookmarks, dataset_id: str) -> None:
        self._store = store
        self._dataset_id = dataset_id
        self._known: frozenset[str] | None = None

    async def get_bookmarks(self) -> Collection[str]:
        if self._known is None:
            self._known = await self._store.latest(self._dataset_id)
        return self._known

    async def update_bookmarks(self, previous_bookmarks: Collection[str], new_bookmarks: Collection[str]) -> None:
        if new_bookmarks:
            await self._store.replace(self._dataset_id, previous_bookmarks, new_bookmarks)
            self._known = (self._known or frozenset()).difference(previous_bookmarks).union(new_bookmarks)
