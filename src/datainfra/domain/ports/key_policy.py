"""KeyPolicy: which API keys the operator accepts."""

from __future__ import annotations

import enum
from typing import Protocol


class KeyDecision(enum.Enum):
    ACCEPT = "accept"
    REFUSE = "refuse"


class KeyPolicy(Protocol):
    """Two policies exist: open (any well-formed key identifies its user) and an operator's allowlist
    (`ALLOWED_KEYS`), under which self-service registration and key rotation are refused because the
    keys belong to the operator. Well-formedness is checked before the policy is asked."""

    def decide(self, key: str) -> KeyDecision:
        """ACCEPT or REFUSE a well-formed key."""
        ...

    @property
    def self_service(self) -> bool:
        """Whether clients may register (`POST /users`) and rotate keys (`POST /users/key`)."""
        ...
