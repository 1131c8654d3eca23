"""Registration and key rotation."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from datainfra.adapters.http.conventions import LOCATION_DOC, created
from datainfra.adapters.http.dependencies import Accounts, CurrentUser, presented_key
from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.schemas import IssuedKeyOut

KEY_PATH = "/users/key"


@post(
    "/users",
    tags=["users"],
    summary="Register: a new user with a fresh API key",
    status_code=201,
    response_headers=LOCATION_DOC,
)
async def register(accounts: Accounts) -> Response[IssuedKeyOut]:
    issued = await accounts.register()
    # No user resource is readable; the new key is managed at /users/key (POST there rotates it).
    return created(json_response({"user_id": issued.user.id, "api_key": issued.api_key}, 201), KEY_PATH)


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
    return created(json_response({"user_id": issued.user.id, "api_key": issued.api_key}, 201), KEY_PATH)


ROUTES = [register, rotate_key]
