"""In-memory Catalog: users, key hashes, sessions and datasets in dicts, scoped by owner."""

from __future__ import annotations

from dataclasses import dataclass, replace

from datainfra.domain.errors import Conflict, NotFound
from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.model import Dataset, Session, User
from datainfra.domain.ports.catalog import Catalog
from datainfra.domain.tabular_schema import TabularSchema


@dataclass(slots=True)
class _KeyEntry:
    user_id: str
    active: bool


class InMemoryCatalog(Catalog):
    """No method awaits while changing state, so each one is atomic under asyncio."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._keys: dict[str, _KeyEntry] = {}
        self._sessions: dict[str, Session] = {}
        self._datasets: dict[str, Dataset] = {}

    # users and keys

    async def user_for_key(self, key_hash: str) -> User | None:
        entry = self._keys.get(key_hash)
        if entry is None or not entry.active:
            return None
        return self._users.get(entry.user_id)

    async def is_revoked(self, key_hash: str) -> bool:
        entry = self._keys.get(key_hash)
        return entry is not None and not entry.active

    async def create_user(self, user: User, key_hash: str) -> User:
        if key_hash in self._keys:
            raise Conflict("this key is already registered", key="key")
        if user.id in self._users:
            raise Conflict("this user already exists", key=user.id)
        self._users[user.id] = user
        self._keys[key_hash] = _KeyEntry(user.id, active=True)
        return user

    async def rotate_key(self, user_id: str, old_hash: str, new_hash: str) -> None:
        old = self._keys.get(old_hash)
        if old is None or old.user_id != user_id or not old.active:
            raise NotFound("no such active key for this user")
        if new_hash in self._keys:
            raise Conflict("the new key is already registered", key="key")
        old.active = False
        self._keys[new_hash] = _KeyEntry(user_id, active=True)

    # sessions

    async def add_session(self, session: Session) -> None:
        if session.id in self._sessions:
            raise Conflict("this session already exists", key=session.id)
        self._sessions[session.id] = session

    async def get_session(self, owner_id: str, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        return session if session is not None and session.owner_id == owner_id else None

    async def list_sessions(self, owner_id: str) -> list[Session]:
        owned = [s for s in self._sessions.values() if s.owner_id == owner_id]
        return sorted(owned, key=lambda s: (s.created_at, s.id))

    async def update_session(self, session: Session) -> None:
        current = await self.get_session(session.owner_id, session.id)
        if current is not None:
            self._sessions[session.id] = replace(
                current, name=session.name, description=session.description, updated_at=session.updated_at
            )

    async def remove_session(self, owner_id: str, session_id: str) -> None:
        if await self.get_session(owner_id, session_id) is None:
            return
        del self._sessions[session_id]
        for dataset_id in [d.id for d in self._datasets.values() if d.session_id == session_id]:
            del self._datasets[dataset_id]

    # datasets

    async def add_dataset(self, dataset: Dataset) -> None:
        if self._sessions.get(dataset.session_id) is None or (
            self._sessions[dataset.session_id].owner_id != dataset.owner_id
        ):
            raise NotFound("no such session")
        if await self.find_dataset(dataset.owner_id, dataset.session_id, dataset.name) is not None:
            raise Conflict(f"a dataset named {dataset.name!r} already exists in this session", key=dataset.name)
        if dataset.id in self._datasets:
            raise Conflict("this dataset already exists", key=dataset.id)
        self._datasets[dataset.id] = dataset

    async def get_dataset(self, owner_id: str, session_id: str, dataset_id: str) -> Dataset | None:
        dataset = self._datasets.get(dataset_id)
        if dataset is None or dataset.owner_id != owner_id or dataset.session_id != session_id:
            return None
        return dataset

    async def facts_hold(self, key_hash: str, dataset: Dataset) -> bool:
        user = await self.user_for_key(key_hash)
        if user is None or user.id != dataset.owner_id:
            return False
        return await self.get_dataset(dataset.owner_id, dataset.session_id, dataset.id) == dataset

    async def find_dataset(self, owner_id: str, session_id: str, name: str) -> Dataset | None:
        return next(
            (
                d
                for d in self._datasets.values()
                if d.owner_id == owner_id and d.session_id == session_id and d.name == name
            ),
            None,
        )

    async def list_datasets(self, owner_id: str, session_id: str) -> list[Dataset]:
        owned = [d for d in self._datasets.values() if d.owner_id == owner_id and d.session_id == session_id]
        return sorted(owned, key=lambda d: (d.created_at, d.id))

    async def update_dataset(
        self, dataset: Dataset, *, expected_schema: TabularSchema | GraphSchema | None = None
    ) -> bool:
        # No await between the check and the write: atomic under asyncio.
        current = self._datasets.get(dataset.id)
        if current is None or current.owner_id != dataset.owner_id or current.session_id != dataset.session_id:
            return False
        if expected_schema is not None and current.schema != expected_schema:
            return False
        self._datasets[dataset.id] = replace(current, schema=dataset.schema, updated_at=dataset.updated_at)
        return True

    async def remove_dataset(self, owner_id: str, session_id: str, dataset_id: str) -> None:
        if await self.get_dataset(owner_id, session_id, dataset_id) is not None:
            del self._datasets[dataset_id]

    async def ping(self) -> None:
        return None
