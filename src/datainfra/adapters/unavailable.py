"""A stand-in for a store that is not configured on this machine: every call answers 503 with a
problem document that says how to get the store, instead of failing at start-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from datainfra.domain.errors import StoreUnavailable


class UnavailableStore:
    configured = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        async def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailable(self.reason, retry_after=3600)

        return unavailable
