"""The two KeyPolicy adapters: open self-service, and the operator's allowlist (ALLOWED_KEYS)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from datainfra.domain.ports.key_policy import KeyDecision, KeyPolicy


class OpenKeyPolicy(KeyPolicy):
    """Any well-formed key identifies its user; clients register and rotate keys themselves."""

    def decide(self, key: str) -> KeyDecision:
        return KeyDecision.ACCEPT

    @property
    def self_service(self) -> bool:
        return True


class AllowListKeyPolicy(KeyPolicy):
    """Only the operator's keys; compared in constant time so timing reveals nothing about them."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = tuple(k.encode() for k in keys)

    def decide(self, key: str) -> KeyDecision:
        candidate = key.encode()
        found = False
        for allowed in self._keys:
            found |= hmac.compare_digest(candidate, allowed)
        return KeyDecision.ACCEPT if found else KeyDecision.REFUSE

    @property
    def self_service(self) -> bool:
        return False


def key_policy_for(allowed_keys: Iterable[str]) -> KeyPolicy:
    keys = tuple(allowed_keys)
    return AllowListKeyPolicy(keys) if keys else OpenKeyPolicy()
