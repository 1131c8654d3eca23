"""InMemoryIdempotencyStore: the IdempotencyStore port as a dict under a lock (tests, one process)."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from datainfra.domain.ports.idempotency import (
    IDEMPOTENCY_WINDOW,
    IN_FLIGHT_LEASE,
    Claim,
    Claimed,
    Completed,
    IdempotencyStore,
    InFlight,
    StoredAnswer,
)


@dataclass(frozen=True, slots=True)
class _Entry:
    token: str
    at: dt.datetime
    """When claimed (in flight) or completed."""
    answer: StoredAnswer | None = None

    def is_stale(self, now: dt.datetime) -> bool:
        age = IN_FLIGHT_LEASE if self.answer is None else IDEMPOTENCY_WINDOW
        return self.at < now - age


class InMemoryIdempotencyStore(IdempotencyStore):
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    async def begin(self, user_id: str, key: str, token: str, now: dt.datetime) -> Claim:
        with self._lock:
            entry = self._entries.get((user_id, key))
            if entry is None or entry.is_stale(now):
                self._entries[(user_id, key)] = _Entry(token, now)
                return Claimed(token)
            return InFlight() if entry.answer is None else Completed(entry.answer)

    async def complete(self, user_id: str, key: str, token: str, answer: StoredAnswer, now: dt.datetime) -> None:
        with self._lock:
            entry = self._entries.get((user_id, key))
            if entry is not None and entry.token == token and entry.answer is None:
                self._entries[(user_id, key)] = _Entry(token, now, answer)

    async def release(self, user_id: str, key: str, token: str) -> None:
        with self._lock:
            entry = self._entries.get((user_id, key))
            if entry is not None and entry.token == token and entry.answer is None:
                del self._entries[(user_id, key)]

    async def purge(self, now: dt.datetime) -> int:
        with self._lock:
            stale = [scope for scope, entry in self._entries.items() if entry.is_stale(now)]
            for scope in stale:
                del self._entries[scope]
            return len(stale)
