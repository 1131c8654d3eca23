"""Registration and key rotation."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from datainfra.adapters.http.dependencies import API_KEY_HEADER, Accounts, CurrentUser
from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.schemas import IssuedKeyOut


@post("/users", tags=["users"], summary="Register: a new user with a fresh API key", status_code=201)
async def register(accounts: Accounts) -> Response[IssuedKeyOut]:
    issued = await accounts.register()
    return json_response({"user_id": issued.user.id, "api_key": issued.api_key}, 201)


@post("/users/key", tags=["users"], summary="Rotate: a new key for the same user; the old one stops working")
async def rotate_key(
    request: Request[Any, Any, Any],
    accounts: Accounts,
    user: CurrentUser,
) -> Response[IssuedKeyOut]:
    issued = await accounts.rotate_key(user, request.headers[API_KEY_HEADER])
    return json_response({"user_id": issued.user.id, "api_key": issued.api_key}, 201)


ROUTES = [register, rotate_key]
