"""Catalog: users and key hashes, sessions and datasets (with their schemas)."""

from __future__ import annotations

from typing import Protocol

from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.model import Dataset, Session, User
from datainfra.domain.tabular_schema import TabularSchema


class Catalog(Protocol):
    """The system of record for who owns what.

    Contract:
    - Keys are stored only as hashes. A hash belongs to at most one user; a revoked hash stays known
      (so a revoked key can never silently come back as a new user).
    - Every read of a session or dataset is scoped by owner: another owner's id behaves as absent.
    - Names are unique per owner+session for datasets (`Conflict` on a clash); session names need not
      be unique.
    - Lists are ordered by creation time, then id.
    - Raises `StoreUnavailable` when the backing store cannot be reached.
    """

    # users and keys
    async def user_for_key(self, key_hash: str) -> User | None:
        """The user whose *active* key has this hash, else None."""
        ...

    async def is_revoked(self, key_hash: str) -> bool: ...

    async def create_user(self, user: User, key_hash: str) -> User:
        """Create a user holding one active key. `Conflict` if the hash is known (active or revoked);
        when two requests race to create a user for the same hash, exactly one wins."""
        ...

    async def rotate_key(self, user_id: str, old_hash: str, new_hash: str) -> None:
        """Revoke `old_hash` and make `new_hash` the user's active key, atomically."""
        ...

    # sessions
    async def add_session(self, session: Session) -> None: ...

    async def get_session(self, owner_id: str, session_id: str) -> Session | None: ...

    async def list_sessions(self, owner_id: str) -> list[Session]: ...

    async def update_session(self, session: Session) -> None:
        """Replace name, description and updated_at of an existing session of the same owner."""
        ...

    async def remove_session(self, owner_id: str, session_id: str) -> None:
        """Remove the session and every dataset entry in it."""
        ...

    # datasets
    async def add_dataset(self, dataset: Dataset) -> None:
        """`Conflict` when the session already has a dataset of that name."""
        ...

    async def get_dataset(self, owner_id: str, session_id: str, dataset_id: str) -> Dataset | None: ...

    async def find_dataset(self, owner_id: str, session_id: str, name: str) -> Dataset | None:
        """By name, within the session."""
        ...

    async def list_datasets(self, owner_id: str, session_id: str) -> list[Dataset]: ...

    async def update_dataset(
        self, dataset: Dataset, *, expected_schema: TabularSchema | GraphSchema | None = None
    ) -> bool:
        """Replace schema and updated_at; True when it did. With `expected_schema`, a compare-and-swap:
        only if the stored dataset still has that schema (checked and replaced atomically, so of two
        updates expecting the same schema exactly one succeeds); False when it does not or the dataset
        is absent."""
        ...

    async def remove_dataset(self, owner_id: str, session_id: str, dataset_id: str) -> None: ...

    async def facts_hold(self, key_hash: str, dataset: Dataset) -> bool:
        """True when the key with hash `key_hash` is the *active* key of `dataset`'s owner and the
        dataset's entry is still exactly `dataset` (same session, owner, name, kind, schema and
        updated_at). One read: a key rotated or revoked, a dataset dropped (or its session
        deleted) or migrated before the call is always seen. What a read served from cached
        catalog facts checks alongside itself (services/guarded_reads.py)."""
        ...

    async def ping(self) -> None:
        """Return when the store answers; raise StoreUnavailable otherwise."""
        ...
