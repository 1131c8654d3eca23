"""JsonPages: one page of a tabular dataset as finished JSON, read under a guard on the catalog facts
the caller cached (its key, the dataset's version), checked in the same read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from datainfra.domain.model import Dataset
from datainfra.domain.query import RecordQuery
from datainfra.domain.types import FieldValue


@dataclass(frozen=True, slots=True)
class PageGuard:
    """What a cached request rests on: the key with hash `key_hash` is still the active key of the
    dataset's owner, and the dataset is still exactly `dataset` (same session, owner, name, kind,
    schema and updated_at: a migration or a drop changes or removes it)."""

    key_hash: str
    dataset: Dataset


@dataclass(frozen=True, slots=True)
class JsonPage:
    """`items`: the page's records as a JSON array (UTF-8), each record an object of the selected
    columns in selection order (else schema order). `has_more`: another row follows the last one.
    `last`: the typed values of the sort keys of the last item (as `TabularStore.query` gives
    them) when `has_more`, else None."""

    items: bytes
    has_more: bool
    last: tuple[FieldValue, ...] | None


class JsonPages(Protocol):
    """Pages as JSON documents, for the hot GET path.

    Contract (tests/contract/test_json_pages_contract.py, over every adapter):
    - `page(guard, query)` answers what `TabularStore.query(guard.dataset, query)` answers for a
      query without `count`, with the items already written as JSON, or None when the guard does not
      hold at the moment of the read: the key is revoked, rotated or unknown, the dataset is gone
      (dropped, its session deleted) or its table is, or its catalog entry differs from
      `guard.dataset` in any way (migrated). The guard and the rows are read together (one statement,
      one snapshot), so a change
      committed before the call is always seen. On None nothing of the page is returned.
    - JSON forms: each value decodes (numbers exactly: integers as integers, floats as floats,
      numerics as exact decimals) to what the API's JSON encoder writes for the typed value
      (`TabularStore.query`'s): text, integers, booleans, UUIDs and dates as the encoder writes them;
      timestamps RFC 3339 in UTC with `Z` (`domain.value_text.timestamp_rfc3339`); floats as numbers
      with a fraction or exponent ("NaN", "Infinity", "-Infinity" as strings); numerics as numbers at
      their scale (non-finite as strings); json values as JSON; NULL as null. Byte for byte the
      same as the encoder, except floats and json (whitespace, number spelling) and numerics the
      encoder writes with an exponent.
    - Errors as `TabularStore.query`'s (a LIKE pattern ending in a backslash is InvalidRequest).
    """

    async def page(self, guard: PageGuard, query: RecordQuery) -> JsonPage | None: ...
