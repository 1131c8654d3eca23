"""UserRoles for the memory build: in memory there are no database roles, so there is nothing to make
(and no client SQL to run behind one)."""

from __future__ import annotations

from datainfra.domain.ports import UserRoles


class InMemoryUserRoles(UserRoles):
    async def ensure_role(self, user_id: str) -> None:
        """Nothing to make."""
