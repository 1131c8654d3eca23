"""Sessions: create, list, read, rename, delete."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from datainfra.adapters.http.conventions import LOCATION_DOC, created
from datainfra.adapters.http.dependencies import CurrentUser, PathSession, Sessions
from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.presenters import session_doc
from datainfra.adapters.http.schemas import (
    SessionCreate,
    SessionCreateBody,
    SessionList,
    SessionOut,
    SessionPatch,
    SessionPatchBody,
)


class SessionRoutes(Controller):
    path = "/sessions"
    tags = ["sessions"]

    @post(
        "/",
        summary="Create a session",
        status_code=201,
        response_headers=LOCATION_DOC,
        opt={"body": {"application/json": SessionCreateBody}},
    )
    async def create(
        self, data: JSONBody[SessionCreate], sessions: Sessions, user: CurrentUser
    ) -> Response[SessionOut]:
        session = await sessions.create(user, data.name, data.description)
        return created(json_response(session_doc(session), 201), f"/sessions/{session.id}")

    @get("/", summary="List your sessions")
    async def list_sessions(self, sessions: Sessions, user: CurrentUser) -> Response[SessionList]:
        items = [session_doc(s) for s in await sessions.list(user)]
        return json_response({"items": items})

    @get("/{session_id:str}", summary="Read a session")
    async def read(self, session: PathSession) -> Response[SessionOut]:
        return json_response(session_doc(session))

    @patch(
        "/{session_id:str}",
        summary="Change a session's name or description",
        opt={"body": {"application/json": SessionPatchBody}},
    )
    async def update(
        self,
        session_id: FromPath[str],
        data: JSONBody[SessionPatch],
        sessions: Sessions,
        user: CurrentUser,
    ) -> Response[SessionOut]:
        session = await sessions.update(user, session_id, data.name, data.description)
        return json_response(session_doc(session))

    @delete("/{session_id:str}", summary="Delete a session and every dataset in it", status_code=204)
    async def remove(self, session_id: FromPath[str], sessions: Sessions, user: CurrentUser) -> None:
        await sessions.delete(user, session_id)
