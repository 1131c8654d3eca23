"""Idempotency keys: the stored answers that let a client retry a write without writing twice
(the IETF httpapi Idempotency-Key draft, as Stripe does it).

A key is scoped to a user. `begin` claims it for one request; the request then either `complete`s
it with its answer (kept for `IDEMPOTENCY_WINDOW`, replayed to a retry) or `release`s it (a 5xx, an
exception, a client gone: the retry runs afresh). The token `begin` hands out makes a late
`complete`/`release` of a claim another request has since taken over a no-op."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)
"""How long a completed answer is kept and replayed; an older one counts as absent."""

IN_FLIGHT_LEASE = dt.timedelta(minutes=15)
"""How long a claim blocks retries (409) before it counts as abandoned (a worker died mid-request)."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """What a completed request answered, and the fingerprint of the request that got it."""

    fingerprint: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Claimed:
    """The key is this request's to run; `token` identifies the claim."""

    token: str


@dataclass(frozen=True, slots=True)
class InFlight:
    """Another request holds the key and has not finished."""


@dataclass(frozen=True, slots=True)
class Completed:
    answer: StoredAnswer


Claim = Claimed | InFlight | Completed


class IdempotencyStore(Protocol):
    async def begin(self, user_id: str, key: str, token: str, now: dt.datetime) -> Claim:
        """Claim (user_id, key) for a new request with `token`, atomically: Claimed(token) when the
        key is unknown, expired (completed before `now - IDEMPOTENCY_WINDOW`) or abandoned (claimed
        before `now - IN_FLIGHT_LEASE`); otherwise what holds it (InFlight or Completed). Keys of
        other users are independent."""
        ...

    async def complete(self, user_id: str, key: str, token: str, answer: StoredAnswer, now: dt.datetime) -> None:
        """Store the answer of the claim `token` (nothing happens if that claim no longer holds)."""
        ...

    async def release(self, user_id: str, key: str, token: str) -> None:
        """Forget the claim `token` so a retry runs (nothing happens if it no longer holds)."""
        ...

    async def purge(self, now: dt.datetime) -> int:
        """Delete expired answers and abandoned claims; return how many went."""
        ...
