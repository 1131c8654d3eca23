"""Sessions: a user's containers of datasets."""

from __future__ import annotations

from datainfra.domain.errors import InvalidInput, NotFound
from datainfra.domain.model import DatasetKind, Session, User
from datainfra.domain.ports import Catalog, Clock, GraphStore, IdGenerator, TabularStore

MAX_SESSION_NAME = 200
MAX_DESCRIPTION = 10_000


def _check_text(value: str, field: str, limit: int, *, required: bool) -> str:
    if required and not value.strip():
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field} must be at most {limit} characters", field=field)
    if "\x00" in value:
        raise InvalidInput(f"{field} must not contain NUL characters", field=field)
    return value


class SessionService:
    def __init__(
        self, catalog: Catalog, tabular: TabularStore, graph: GraphStore, clock: Clock, ids: IdGenerator
    ) -> None:
        self._catalog = catalog
        self._tabular = tabular
        self._graph = graph
        self._clock = clock
        self._ids = ids

    async def create(self, user: User, name: str, description: str | None) -> Session:
        now = self._clock.now()
        session = Session(
            id=self._ids.new_id(),
            owner_id=user.id,
            name=_check_text(name, "name", MAX_SESSION_NAME, required=True),
            description=_check_text(description or "", "description", MAX_DESCRIPTION, required=False),
            created_at=now,
            updated_at=now,
        )
        await self._tabular.create_session_space(session)
        await self._catalog.add_session(session)
        return session

    async def get(self, user: User, session_id: str) -> Session:
        session = await self._catalog.get_session(user.id, session_id)
        if session is None:
            raise NotFound(f"no session {session_id!r}", parameter="session_id")
        return session

    async def list(self, user: User) -> list[Session]:
        return await self._catalog.list_sessions(user.id)

    async def update(self, user: User, session_id: str, name: str | None, description: str | None) -> Session:
        session = await self.get(user, session_id)
        changed = Session(
            id=session.id,
            owner_id=session.owner_id,
            name=session.name if name is None else _check_text(name, "name", MAX_SESSION_NAME, required=True),
            description=session.description
            if description is None
            else _check_text(description, "description", MAX_DESCRIPTION, required=False),
            created_at=session.created_at,
            updated_at=self._clock.now(),
        )
        await self._catalog.update_session(changed)
        return changed

    async def delete(self, user: User, session_id: str) -> None:
        """Graphs first (they live in another store), then the session's tables, then the catalog:
        a failure half-way leaves the session listed, so the client can retry the delete."""
        session = await self.get(user, session_id)
        for dataset in await self._catalog.list_datasets(user.id, session.id):
            if dataset.kind is DatasetKind.GRAPH:
                await self._graph.drop_graph(dataset)
        await self._tabular.drop_session_space(session)
        await self._catalog.remove_session(user.id, session.id)
