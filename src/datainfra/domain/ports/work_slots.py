"""WorkSlots: how many pieces of one kind of long work (a client's Cypher query) one owner may run
at once, counted over every API process that shares the catalog, not per process: N processes behind
a balancer must not grant a tenant N times its share of the graph store's worker threads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class HeldSlot:
    owner: str
    kind: str
    slot: int
    token: str
    """Unique to this holding: only its holder releases it."""


class WorkSlots(Protocol):
    async def claim(self, owner: str, kind: str, limit: int, lease_s: float) -> HeldSlot | None:
        """One of the owner's `limit` slots of `kind`, or None when all are held. The slot is the
        caller's until `release`, or for `lease_s` seconds at most (a holder that died frees its slot
        then), so `lease_s` must exceed the longest the work may run."""
        ...

    async def release(self, held: HeldSlot) -> None:
        """Free the slot (nothing happens when its lease has run out and another holds it now)."""
        ...
