"""Turning query parameters into a RecordQuery, and a page of results into the next page's link."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import FilterSpec, parse_filters
from datainfra.domain.query import (
    RecordQuery,
    SortKey,
    decode_cursor,
    encode_cursor,
    parse_count,
    parse_limit,
    parse_offset,
    parse_select,
    parse_sort,
    with_tiebreak,
)
from datainfra.domain.types import FieldType

PAGING_PARAMS = frozenset({"select", "sort", "limit", "offset", "count", "cursor"})
T = TypeVar("T")

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class PageResult(Generic[T]):
    items: list[T]
    limit: int
    offset: int
    total: int | None
    next_params: list[tuple[str, str]] | None
    """The query parameters of the following page, or None on the last page."""


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    query: RecordQuery
    keyset: bool
    """Whether `next` can be a keyset cursor: every sort field is non-nullable."""


def single(params: Params, name: str) -> str | None:
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise InvalidRequest(f"{name} given more than once", parameter=name)
    return values[0] if values else None


def filter_params(params: Params, reserved: Collection[str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in params if k not in reserved]


def parse_filter_only(
    params: Params, types: Mapping[str, FieldType], reserved: Collection[str], *, open_fields: bool = False
) -> FilterSpec:
    return parse_filters(filter_params(params, reserved), types, open_fields=open_fields)


def parse_query(
    params: Params,
    *,
    types: Mapping[str, FieldType],
    key: Sequence[str],
    non_nullable: Collection[str],
    reserved: Collection[str],
    open_fields: bool = False,
    selectable: Sequence[str] | None = None,
) -> ParsedQuery:
    """Parse filters, select, sort, limit, offset, count and cursor; every problem names its parameter."""
    all_reserved = set(reserved) | PAGING_PARAMS
    spec = parse_filters(filter_params(params, all_reserved), types, open_fields=open_fields)
    sort = with_tiebreak(parse_sort(single(params, "sort"), types, open_fields=open_fields), key)
    keyset = all(k.field in non_nullable for k in sort)
    select = parse_select(single(params, "select"), list(selectable if selectable is not None else types))
    cursor = single(params, "cursor")
    offset = parse_offset(single(params, "offset"))
    after = None
    if cursor is not None:
        if offset:
            raise InvalidRequest("use either cursor or offset, not both", parameter="cursor")
        if not keyset:
            raise InvalidRequest("this sort order pages by offset, not by cursor", parameter="cursor")
        after = decode_cursor(cursor, sort, types)
    query = RecordQuery(
        filter=spec,
        select=select,
        sort=sort,
        limit=parse_limit(single(params, "limit")),
        offset=offset,
        after=after,
        count=parse_count(single(params, "count")),
    )
    return ParsedQuery(query, keyset)


def next_params(
    params: Params,
    parsed: ParsedQuery,
    has_more: bool,
    last_values: Sequence[Any] | None,
    types: Mapping[str, FieldType],
) -> list[tuple[str, str]] | None:
    """The parameters for the following page: a keyset cursor where the sort allows, else an offset."""
    query = parsed.query
    if not has_more or query.limit == 0:
        return None
    kept = [(k, v) for k, v in params if k not in ("cursor", "offset")]
    if parsed.keyset and last_values is not None:
        return [*kept, ("cursor", encode_cursor(last_values, query.sort, types))]
    return [*kept, ("offset", str(query.offset + query.limit))]


def sort_values(record: Mapping[str, Any], sort: Sequence[SortKey]) -> list[Any]:
    return [record.get(k.field) for k in sort]
