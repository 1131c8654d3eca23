"""Writing records: conflict policy and what a write reports back."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from datainfra.domain.types import FieldValue

Record = dict[str, FieldValue]
"""A typed record: column name → value as returned by `types.coerce_json` / `types.parse_text`."""


class OnConflict(enum.StrEnum):
    ERROR = "error"
    UPDATE = "update"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: int = 0
    updated: int = 0
    ignored: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(self.inserted + other.inserted, self.updated + other.updated, self.ignored + other.ignored)
