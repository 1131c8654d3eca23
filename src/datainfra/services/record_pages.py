"""The hot GET of a tabular dataset's records: one store round trip with the catalog facts cached.

`RecordPages.page` answers a page from cached facts (API key hash → user, (user, session, dataset)
→ dataset) and one `JsonPages.page` call whose guard re-checks those facts in the same read. When
anything is not plainly the fast case it answers None and the caller takes the ordinary path (the
route, which authenticates, looks the dataset up and reports every problem): no key or a malformed
one, a key the policy refuses, a key or dataset the catalog does not know, a graph dataset, a
`count`, a parameter the parser refuses, a store error, and a guard that no longer holds. In the
last case the cached facts are dropped first, so the ordinary path and the next request read the
catalog afresh: a rotated or revoked key, a dropped or migrated dataset is seen by the very next
request, in every process (the guard is read from the database, not from this process's memory).

Without a cached fact the catalog is read (as the ordinary path would) and the answer cached; a
key the catalog does not know as an active key is never cached (the ordinary path creates users
and tells revoked keys).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeVar

from datainfra.domain.auth import hash_api_key, is_well_formed_key
from datainfra.domain.errors import DomainError
from datainfra.domain.model import Dataset, DatasetKind, User
from datainfra.domain.ports import Catalog, KeyDecision, KeyPolicy
from datainfra.domain.ports.json_pages import JsonPages, PageGuard
from datainfra.domain.query import PageRequest
from datainfra.services.paging import next_request, parse_tabular_query

CACHE_ENTRIES = 10_000
"""Entries per cache (users, datasets); a full cache is emptied (then refilled by use)."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class FastPage:
    """A page document's parts: `items` is the JSON array, the rest as `PageResult` has them."""

    user: User
    items: bytes
    limit: int
    offset: int
    next: PageRequest | None
    """The following page's request, or None on the last page."""


class RecordPages:
    """Holds the caches: one instance per process (a singleton), shared by all its requests."""

    def __init__(self, catalog: Catalog, policy: KeyPolicy, pages: JsonPages, *, entries: int = CACHE_ENTRIES) -> None:
        self._catalog = catalog
        self._policy = policy
        self._pages = pages
        self._entries = entries
        self._users: dict[str, User] = {}
        self._datasets: dict[tuple[str, str, str], Dataset] = {}

    async def page(self, key: str | None, session_id: str, dataset_id: str, request: PageRequest) -> FastPage | None:
        """The page, or None: take the ordinary path (see the module docstring)."""
        try:
            return await self._page(key, session_id, dataset_id, request)
        except DomainError:
            return None  # the ordinary path meets it again and reports it

    async def _page(self, key: str | None, session_id: str, dataset_id: str, request: PageRequest) -> FastPage | None:
        if key is None or not is_well_formed_key(key) or self._policy.decide(key) is KeyDecision.REFUSE:
            return None
        key_hash = hash_api_key(key)
        user = self._users.get(key_hash)
        if user is None:
            user = await self._catalog.user_for_key(key_hash)
            if user is None:
                return None
            self._remember(self._users, key_hash, user)
        where = (user.id, session_id, dataset_id)
        dataset = self._datasets.get(where)
        if dataset is None:
            dataset = await self._catalog.get_dataset(*where)
            if dataset is None:
                return None
            self._remember(self._datasets, where, dataset)
        if dataset.kind is not DatasetKind.TABULAR:
            return None
        parsed = parse_tabular_query(dataset.tabular_schema, request)
        query = parsed.query
        if query.count is not None:
            return None
        page = await self._pages.page(PageGuard(key_hash, dataset), query)  # count is None (checked above)
        if page is None:
            self._users.pop(key_hash, None)
            self._datasets.pop(where, None)
            return None
        last = list(page.last) if page.last is not None else None
        types = dataset.tabular_schema.field_types
        following = next_request(request, parsed, page.has_more, last, types)
        return FastPage(user=user, items=page.items, limit=query.limit, offset=query.offset, next=following)

    def forget(self) -> None:
        """Drop every cached fact."""
        self._users.clear()
        self._datasets.clear()

    def _remember(self, cache: dict[K, V], key: K, value: V) -> None:
        if len(cache) >= self._entries:
            cache.clear()
        cache[key] = value
