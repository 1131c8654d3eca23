"""Users and API keys."""

from __future__ import annotations

from dataclasses import dataclass

from datainfra.domain.auth import hash_api_key, is_well_formed_key, new_api_key
from datainfra.domain.errors import Conflict, Forbidden, Unauthenticated
from datainfra.domain.model import User
from datainfra.domain.ports import Catalog, Clock, IdGenerator, KeyDecision, KeyPolicy, UserRoles


@dataclass(frozen=True, slots=True)
class IssuedKey:
    user: User
    api_key: str


class AccountService:
    def __init__(self, catalog: Catalog, policy: KeyPolicy, roles: UserRoles, clock: Clock, ids: IdGenerator) -> None:
        self._catalog = catalog
        self._policy = policy
        self._roles = roles
        self._clock = clock
        self._ids = ids

    async def register(self) -> IssuedKey:
        if not self._policy.self_service:
            raise Forbidden("registration is closed: API keys are issued by the operator (ALLOWED_KEYS)")
        key = new_api_key()
        user = await self._create_user(hash_api_key(key))
        return IssuedKey(user, key)

    async def authenticate(self, key: str | None) -> User:
        """The user a key identifies. Missing/malformed/revoked → 401; refused by policy → 403.
        Under the open policy a well-formed key seen for the first time becomes a new user."""
        if key is None or not is_well_formed_key(key):
            raise Unauthenticated("send a valid API key in the X-API-Key header (8-64 of A-Z a-z 0-9 _ -)")
        if self._policy.decide(key) is KeyDecision.REFUSE:
            raise Forbidden("this API key is not allowed on this service")
        key_hash = hash_api_key(key)
        user = await self._catalog.user_for_key(key_hash)
        if user is not None:
            return user
        if await self._catalog.is_revoked(key_hash):
            raise Unauthenticated("this API key was revoked; use the key that replaced it")
        try:
            return await self._create_user(key_hash)
        except Conflict:
            user = await self._catalog.user_for_key(key_hash)
            if user is None:
                raise Unauthenticated("this API key was revoked; use the key that replaced it") from None
            return user

    async def rotate_key(self, user: User, current_key: str) -> IssuedKey:
        if not self._policy.self_service:
            raise Forbidden("key rotation is closed: API keys are issued by the operator (ALLOWED_KEYS)")
        key = new_api_key()
        await self._catalog.rotate_key(user.id, hash_api_key(current_key), hash_api_key(key))
        return IssuedKey(user, key)

    async def _create_user(self, key_hash: str) -> User:
        user = User(id=self._ids.new_id(), created_at=self._clock.now())
        await self._roles.ensure_role(user.id)
        return await self._catalog.create_user(user, key_hash)
