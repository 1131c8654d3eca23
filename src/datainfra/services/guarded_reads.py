"""Graph reads from cached catalog facts, checked alongside the read in another store (Neo4j).

The records GET (services/record_pages.py) re-checks its cached facts inside the page's own
statement; a graph read cannot, its data being in Neo4j. The ordinary path reads the key's user,
then the dataset, then the graph: three round trips one after the other. `GuardedReads.open` takes
the facts from the cache and starts ONE catalog check (`Catalog.facts_hold`: the key is still the
owner's active key, the dataset entry unchanged); `DatasetRead` runs the read alongside it and uses
the read's answer (or error) only when the check holds. Otherwise the facts are dropped and the
ordinary path runs (authenticate, look the dataset up, read again): 401/403/404, or the read of the
migrated dataset. So a key rotated or revoked, a dataset dropped or migrated is refused or seen on
the very next request, in every process: the check is a catalog read made for that request. Only
reads go this way (nothing may happen before the check holds that could not be thrown away). On a
miss the ordinary lookups run where the route's dependency would run them, and are cached.

The graph routes and the query endpoint's read-only Cypher (which may name its dataset by id or by
name: a `Find`) read this way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from datainfra.domain.auth import hash_api_key, is_well_formed_key
from datainfra.domain.model import Dataset, User
from datainfra.domain.ports import Catalog, KeyDecision, KeyPolicy
from datainfra.services.accounts import AccountService
from datainfra.services.datasets import DatasetService
from datainfra.services.record_pages import CACHE_ENTRIES

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class ReadTarget:
    """What a read names: the caller's key (as presented, None when absent) and the dataset."""

    key: str | None
    session_id: str
    dataset_id: str


Find = Callable[[User, str, str], Awaitable[Dataset]]
"""How a read finds its dataset other than by id: (user, session id, reference) → the dataset or
the error to report (the query endpoint's dataset by id or name, graph only)."""


class GuardedReads:
    """Holds the caches: one instance per process (a singleton), shared by all its requests."""

    def __init__(
        self,
        catalog: Catalog,
        policy: KeyPolicy,
        accounts: AccountService,
        datasets: DatasetService,
        *,
        entries: int = CACHE_ENTRIES,
    ) -> None:
        self._catalog = catalog
        self._policy = policy
        self._accounts = accounts
        self._datasets = datasets
        self._entries = entries
        self._users: dict[str, User] = {}
        self._known: dict[tuple[str, str, str], Dataset] = {}
        self._found: dict[tuple[str, str, str], Dataset] = {}
        """Datasets found by a `Find` (kept apart: a name found there is no dataset id of a route)."""

    async def open(self, target: ReadTarget, find: Find | None = None) -> DatasetRead:
        """The caller and the dataset, as the ordinary path resolves them (401/403 for the key,
        then 404 for the dataset, by id or by `find`), or from the cache; a cached answer's check
        starts now."""
        key_hash = self._cacheable(target.key)
        user = self._users.get(key_hash) if key_hash is not None else None
        where = (user.id, target.session_id, target.dataset_id) if user is not None else None
        known = self._known if find is None else self._found
        dataset = known.get(where) if where is not None else None
        if key_hash is None or user is None or where is None or dataset is None:
            user, dataset = await self.resolve(target, find)
            return DatasetRead(self, target, user, dataset, None, find)
        check = asyncio.ensure_future(self._catalog.facts_hold(key_hash, dataset))
        check.add_done_callback(lambda done: self._checked(done, key_hash, known, where))
        return DatasetRead(self, target, user, dataset, check, find)

    def known_user(self, key: str | None) -> User | None:
        """The user a key was last seen to be, from the cache (unchecked: a read opened with it
        checks it; anything else authenticates)."""
        key_hash = self._cacheable(key)
        return self._users.get(key_hash) if key_hash is not None else None

    def forget(self) -> None:
        """Drop every cached fact."""
        self._users.clear()
        self._known.clear()
        self._found.clear()

    def _checked(
        self,
        check: asyncio.Future[bool],
        key_hash: str,
        known: dict[tuple[str, str, str], Dataset],
        where: tuple[str, str, str],
    ) -> None:
        """A check that did not hold (or failed) drops the facts it was about, whoever awaits it."""
        if check.cancelled() or check.exception() is not None or not check.result():
            self._users.pop(key_hash, None)
            known.pop(where, None)

    def _cacheable(self, key: str | None) -> str | None:
        """The key's hash when the key may be served from the cache (else the ordinary path
        reports what is wrong with it)."""
        if key is None or not is_well_formed_key(key) or self._policy.decide(key) is KeyDecision.REFUSE:
            return None
        return hash_api_key(key)

    async def resolve(self, target: ReadTarget, find: Find | None = None) -> tuple[User, Dataset]:
        """The route's own lookups (the catalog read afresh), their answers cached."""
        user = await self._accounts.authenticate(target.key)
        if find is None:
            dataset = await self._datasets.get(user, target.session_id, target.dataset_id)
        else:
            dataset = await find(user, target.session_id, target.dataset_id)
        key_hash = self._cacheable(target.key)
        if key_hash is not None:
            self._remember(self._users, key_hash, user)
            known = self._known if find is None else self._found
            self._remember(known, (user.id, target.session_id, target.dataset_id), dataset)
        return user, dataset

    def _remember(self, cache: dict[K, V], key: K, value: V) -> None:
        if len(cache) >= self._entries:
            cache.clear()
        cache[key] = value


class DatasetRead:
    """One request's caller and dataset; `await read(work)` runs `work` over the dataset. With facts
    from the cache, `work` runs alongside their check and its answer (or error) counts only when
    the check holds; otherwise the ordinary path runs (its 401/403/404, or `work` again over the
    dataset as the catalog has it now)."""

    def __init__(
        self,
        reads: GuardedReads,
        target: ReadTarget,
        user: User,
        dataset: Dataset,
        check: asyncio.Future[bool] | None,
        find: Find | None = None,
    ) -> None:
        self._reads = reads
        self._target = target
        self.user = user
        self._dataset = dataset
        self._check = check
        self._find = find

    async def __call__(self, work: Callable[[Dataset], Awaitable[T]]) -> T:
        # Only the first read waits for the check: once it held (or the facts were read afresh),
        # they are this request's own.
        check, self._check = self._check, None
        if check is None:
            return await work(self._dataset)
        answer, holds = await asyncio.gather(work(self._dataset), check, return_exceptions=True)
        if holds is not True:
            self.user, self._dataset = await self._reads.resolve(self._target, self._find)
            return await work(self._dataset)
        if isinstance(answer, BaseException):
            raise answer
        return answer
