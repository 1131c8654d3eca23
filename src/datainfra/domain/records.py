"""Writing records: conflict policy and what a write reports back."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from datainfra.domain.types import FieldValue

Record = dict[str, FieldValue]
"""A typed record: column name → value as returned by `types.coerce_json` / `types.parse_text`."""


@dataclass(frozen=True, slots=True)
class RecordRows:
    """Consecutive typed records as rows: each a tuple of values in `columns` order (every record
    names exactly these columns, and holds no null where the schema forbids one). What a bulk
    decoder makes of a body without a dict per record, so a store can write the rows as they are;
    `records()` gives the same records as dicts."""

    columns: tuple[str, ...]
    rows: list[tuple[FieldValue, ...]]

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[Record]:
        columns = self.columns
        return [dict(zip(columns, row, strict=True)) for row in self.rows]


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
