"""Clock and IdGenerator: the system's own, and deterministic ones for tests."""

from __future__ import annotations

import datetime as dt
import uuid

from datainfra.domain.ports.clock import Clock, IdGenerator


class SystemClock(Clock):
    def now(self) -> dt.datetime:
        """UTC now at microsecond precision, what PostgreSQL's timestamptz keeps."""
        return dt.datetime.now(dt.UTC)


class UuidGenerator(IdGenerator):
    def new_id(self) -> str:
        return str(uuid.uuid4())


class FixedClock(Clock):
    """Answers `start`, moving on by `step` after each call (zero by default) or when `advance`d."""

    def __init__(self, start: dt.datetime | None = None, step: dt.timedelta = dt.timedelta(0)) -> None:
        start = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(dt.UTC)
        self._step = step

    def now(self) -> dt.datetime:
        current = self._now
        self._now += self._step
        return current

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta


class SequentialIds(IdGenerator):
    """UUID-shaped ids in creation order: 00000000-0000-4000-8000-000000000001, ...2, ..."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def new_id(self) -> str:
        value = self._next
        self._next += 1
        return f"00000000-0000-4000-8000-{value:012x}"
