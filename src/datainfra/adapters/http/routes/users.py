"""Registration, key rotation, and the caller's own user (`/users/me`, what both point Location at).

`/users/me` shows what the catalog keeps about a user that is not secret (id, created_at), never the
key or its hash: a key is shown once, when it is issued."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from datainfra.adapters.http.conventions import LOCATION_DOC, created
from datainfra.adapters.http.dependencies import Accounts, CurrentUser, presented_key
from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.presenters import timestamp
from datainfra.adapters.http.schemas import IssuedKeyOut, UserOut

ME_PATH = "/users/me"


@post(
    "/users",
    tags=["users"],
    summary="Register: a new user with a fresh API key",
    status_code=201,
    response_headers=LOCATION_DOC,
    opt={"errors": (403, 503, 504)},
)
async def register(accounts: Accounts) -> Response[IssuedKeyOut]:
    issued = await accounts.register()
    return created(json_response({"user_id": issued.user.id, "api_key": issued.api_key}, 201), ME_PATH)


@post(
    "/users/key",
    tags=["users"],
    summary="Rotate: a new key for the same user; the old one stops working",
    response_headers=LOCATION_DOC,
)
async def rotate_key(
    request: Request[Any, Any, Any],
    accounts: Accounts,
    user: CurrentUser,
) -> Response[IssuedKeyOut]:
    issued = await accounts.rotate_key(user, presented_key(request) or "")
    return created(json_response({"user_id": issued.user.id, "api_key": issued.api_key}, 201), ME_PATH)


@get(ME_PATH, tags=["users"], summary="The caller's user: id and creation time (never the key)")
async def me(user: CurrentUser) -> Response[UserOut]:
    return json_response({"id": user.id, "created_at": timestamp(user.created_at)})


ROUTES = [register, rotate_key, me]
