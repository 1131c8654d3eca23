"""InProcessWorkSlots: the WorkSlots port counted in this process alone (tests, the in-memory app);
leases are not needed here, since a holder cannot die while its process lives."""

from __future__ import annotations

import uuid
from collections import defaultdict

from datainfra.domain.ports.work_slots import HeldSlot, WorkSlots


class InProcessWorkSlots(WorkSlots):
    def __init__(self) -> None:
        self._held: defaultdict[tuple[str, str], dict[int, str]] = defaultdict(dict)

    async def claim(self, owner: str, kind: str, limit: int, lease_s: float) -> HeldSlot | None:
        held = self._held[(owner, kind)]
        free = next((slot for slot in range(1, limit + 1) if slot not in held), None)
        if free is None:
            return None
        token = uuid.uuid4().hex
        held[free] = token
        return HeldSlot(owner, kind, free, token)

    async def release(self, held: HeldSlot) -> None:
        slots = self._held.get((held.owner, held.kind))
        if slots is not None and slots.get(held.slot) == held.token:
            del slots[held.slot]
            if not slots:
                del self._held[(held.owner, held.kind)]
