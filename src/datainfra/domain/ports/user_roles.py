"""UserRoles: each user's own identity in the stores, apart from the data the user keeps there.

A port of its own because it is not data: on PostgreSQL it is the user's LOGIN role, the privilege
boundary client SQL runs behind; the data ports (TabularStore) only grant to it.
"""

from __future__ import annotations

from typing import Protocol


class UserRoles(Protocol):
    """Makes the user's own store identity (PostgreSQL: a LOGIN role through which the query endpoint
    runs that user's SQL, NOINHERIT, with no privilege of its own until the user's session schemas and
    tables are granted to it; in memory: nothing).

    Contract (every adapter, checked by tests/contract/test_user_roles_contract.py):
    - `ensure_role` is idempotent, also when called concurrently for the same user;
    - it is called when a user is created, and before a session's space is granted to its owner;
    - raises `StoreUnavailable` when the server cannot be reached.
    """

    async def ensure_role(self, user_id: str) -> None:
        """Make `user_id`'s role if it does not exist yet; an existing one is left as it is."""
        ...
