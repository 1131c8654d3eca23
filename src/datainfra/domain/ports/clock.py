"""Time and identifiers, behind ports so tests can make them deterministic."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A fresh, globally unique, opaque identifier (lowercase hex/uuid text, at most 36 chars)."""
        ...
