"""A PageRequest checked against a dataset's fields → the RecordQuery a store answers, and a page
of results → the request of the following page."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import parse_filters
from datainfra.domain.query import (
    PageRequest,
    RecordQuery,
    SortKey,
    check_select,
    check_sort,
    decode_cursor,
    encode_cursor,
    page_limit,
    page_offset,
    with_tiebreak,
)
from datainfra.domain.tabular_schema import TabularSchema
from datainfra.domain.types import FieldType, FieldValue
from datainfra.domain.where import type_where

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageResult(Generic[T]):
    items: list[T]
    limit: int
    offset: int
    total: int | None
    next: PageRequest | None
    """The request of the following page (the same one, its cursor or offset moved on), or None on
    the last page."""


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    query: RecordQuery
    keyset: bool
    """Whether `next` can be a keyset cursor: every sort field is non-nullable."""


def parse_query(
    request: PageRequest,
    *,
    types: Mapping[str, FieldType],
    key: Sequence[str],
    non_nullable: Collection[str],
    open_fields: bool = False,
    selectable: Sequence[str] | None = None,
) -> ParsedQuery:
    """Check filters, sort, select, cursor, offset, limit and where against the fields; every
    problem names its parameter (the where tree: its JSON path)."""
    spec = parse_filters(request.filters, types, open_fields=open_fields)
    sort = with_tiebreak(check_sort(request.sort, types, open_fields=open_fields), key)
    keyset = all(k.field in non_nullable for k in sort)
    select = check_select(request.select, list(selectable if selectable is not None else types))
    offset = page_offset(request.offset)
    after = None
    if request.cursor is not None:
        if offset:
            raise InvalidRequest("use either cursor or offset, not both", parameter="cursor")
        if not keyset:
            raise InvalidRequest("this sort order pages by offset, not by cursor", parameter="cursor")
        after = decode_cursor(request.cursor, sort, types)
    limit = page_limit(request.limit)
    tree = type_where(request.where, types, open_fields=open_fields)
    query = RecordQuery(
        filter=replace(spec, where=tree),
        select=select,
        sort=sort,
        limit=limit,
        offset=offset,
        after=after,
        count=request.count,
    )
    return ParsedQuery(query, keyset)


def parse_tabular_query(schema: TabularSchema, request: PageRequest) -> ParsedQuery:
    """`parse_query` for a tabular dataset: its columns, its key, its non-nullable columns. The one
    parse the records route, the hot records GET and the tabular export share."""
    return parse_query(
        request,
        types=schema.field_types,
        key=schema.primary_key,
        non_nullable={c.name for c in schema.columns if not c.nullable},
    )


def next_request(
    request: PageRequest,
    parsed: ParsedQuery,
    has_more: bool,
    last_values: Sequence[FieldValue] | None,
    types: Mapping[str, FieldType],
) -> PageRequest | None:
    """The following page's request: a keyset cursor where the sort allows, else an offset."""
    query = parsed.query
    if not has_more or query.limit == 0:
        return None
    if parsed.keyset and last_values is not None:
        return replace(request, cursor=encode_cursor(last_values, query.sort, types), offset=None)
    return replace(request, cursor=None, offset=query.offset + query.limit)


def sort_values(record: Mapping[str, FieldValue], sort: Sequence[SortKey]) -> list[FieldValue]:
    return [record.get(k.field) for k in sort]
