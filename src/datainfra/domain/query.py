"""Reading records: what a client asks of a page (PageRequest), projection, sort, pagination (offset
or keyset) and counting.

Order is PostgreSQL's: ascending puts NULLs last, descending puts them first; text compares by code
point (the stores use the "C" collation). The key columns are always appended to the sort, so every
order is total and pages never overlap or skip.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import FilterSpec, FilterTerm
from datainfra.domain.json_depth import json_depth_exceeds
from datainfra.domain.records import Record
from datainfra.domain.types import BadValue, FieldType, FieldValue, is_read_only_form, parse_text, render_text
from datainfra.domain.where import WhereNode

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_OFFSET = 10**18 - 1
"""An offset has at most 18 digits (beyond, no store could skip that far anyway)."""


class CountMode(enum.StrEnum):
    EXACT = "exact"
    ESTIMATED = "estimated"


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class RecordQuery:
    """What a store needs to answer one page. `after` holds the sort-key values of the last row of
    the previous page (keyset pagination); it is only set when every sort field is non-nullable."""

    filter: FilterSpec = field(default_factory=FilterSpec)
    select: tuple[str, ...] | None = None
    sort: tuple[SortKey, ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: tuple[FieldValue, ...] | None = None
    count: CountMode | None = None


@dataclass(frozen=True, slots=True)
class RecordPage:
    """One page of records. `has_more` says whether a row follows the last one (stores fetch one
    extra row to know); `total` is set when a count was asked for."""

    items: list[Record]
    has_more: bool
    total: int | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a client asks of one page, as written and before any schema sees it (the HTTP edge
    reads it from a query string or a search body): filters, a `where` tree, the fields selected,
    the sort, limit and offset or a keyset cursor, and whether to count. `None` is "not given":
    the defaults apply. `parse_query` (services.paging) checks it against a dataset's fields."""

    filters: tuple[FilterTerm, ...] = ()
    where: WhereNode | None = None
    select: tuple[str, ...] | None = None
    sort: tuple[SortKey, ...] = ()
    limit: int | None = None
    offset: int | None = None
    cursor: str | None = None
    count: CountMode | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """Which records a bulk update or delete touches: the filters, ANDed; none at all only with
    `every` (the query parameter `all=true`), so a forgotten filter never wipes a dataset."""

    filters: tuple[FilterTerm, ...] = ()
    every: bool = False


def sort_keys(text: str) -> tuple[SortKey, ...]:
    """`name[:asc|desc],...` → sort keys (names are checked against a schema by `check_sort`)."""
    if not text:
        return ()
    keys: list[SortKey] = []
    for part in text.split(","):
        name, _, direction = part.partition(":")
        if direction not in ("", "asc", "desc"):
            raise InvalidRequest(f"sort direction must be asc or desc, got {direction!r}", parameter="sort")
        keys.append(SortKey(name, direction == "desc"))
    return tuple(keys)


def sort_text(sort: Sequence[SortKey]) -> str:
    """The inverse of sort_keys."""
    return ",".join(f"{k.field}:desc" if k.descending else k.field for k in sort)


def check_sort(
    sort: Sequence[SortKey], field_types: Mapping[str, FieldType], *, open_fields: bool = False
) -> tuple[SortKey, ...]:
    named: set[str] = set()
    for key in sort:
        name = key.field
        field_type = field_types.get(name)
        if field_type is None and not open_fields:
            raise InvalidRequest(f"unknown sort field {name!r}", parameter="sort")
        if field_type is FieldType.JSON:
            raise InvalidRequest(f"json field {name!r} cannot be sorted", parameter="sort")
        if name in named:
            raise InvalidRequest(f"sort names {name!r} twice", parameter="sort")
        named.add(name)
    return tuple(sort)


def with_tiebreak(sort: Sequence[SortKey], key: Sequence[str]) -> tuple[SortKey, ...]:
    """The sort, completed with the key columns (ascending) it does not already name."""
    named = {k.field for k in sort}
    return tuple(sort) + tuple(SortKey(name) for name in key if name not in named)


def select_names(text: str) -> tuple[str, ...] | None:
    """`a,b` → the names selected; an empty text selects every field (None)."""
    return tuple(text.split(",")) if text else None


def check_select(names: Sequence[str] | None, field_names: Sequence[str]) -> tuple[str, ...] | None:
    if not names:
        return None
    known, seen = set(field_names), set()
    for name in names:
        if name not in known:
            raise InvalidRequest(f"unknown field {name!r} in select", parameter="select")
        if name in seen:  # also bounds the list by the dataset's columns
            raise InvalidRequest(f"select names {name!r} twice", parameter="select")
        seen.add(name)
    return tuple(names)


def page_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 0:
        raise InvalidRequest("limit must be a non-negative integer", parameter="limit")
    if limit > MAX_LIMIT:
        raise InvalidRequest(f"limit must be at most {MAX_LIMIT}", parameter="limit")
    return limit


def page_offset(offset: int | None) -> int:
    if offset is None:
        return 0
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest("offset must be a non-negative integer", parameter="offset")
    return offset


# -- keyset cursors -------------------------------------------------------------------------------


def encode_cursor(values: Sequence[FieldValue], sort: Sequence[SortKey], types: Mapping[str, FieldType]) -> str:
    """An opaque token for "after this row": the sort signature plus the row's sort values."""
    payload = {
        "s": [f"{k.field}:{'d' if k.descending else 'a'}" for k in sort],
        "v": [render_text(v, types[k.field]) for v, k in zip(values, sort, strict=True)],
    }
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_CURSOR_DEPTH = 2
"""A cursor is {"s": [...], "v": [...]}: anything deeper is not one of ours."""


def decode_cursor(token: str, sort: Sequence[SortKey], types: Mapping[str, FieldType]) -> tuple[FieldValue, ...]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if json_depth_exceeds(raw, _CURSOR_DEPTH):
            raise ValueError(raw)
        payload = json.loads(raw)
        signature = payload["s"]
        values = payload["v"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidRequest("cursor is not one this service issued", parameter="cursor") from None
    expected = [f"{k.field}:{'d' if k.descending else 'a'}" for k in sort]
    if signature != expected or not isinstance(values, list) or len(values) != len(sort):
        raise InvalidRequest("cursor belongs to another sort order", parameter="cursor")
    try:
        return tuple(_cursor_value(str(v), types[k.field]) for v, k in zip(values, sort, strict=True))
    except (BadValue, KeyError):
        raise InvalidRequest("cursor is not one this service issued", parameter="cursor") from None


def _cursor_value(text: str, field_type: FieldType) -> FieldValue:
    """A sort value back from its text; a value only PostgreSQL holds (NaN, infinity ...) stays
    text, which the store casts to the column's type."""
    if is_read_only_form(text, field_type):
        return text
    return parse_text(text, field_type)
