"""Request bodies read into typed requests: the search bodies (POST .../records/search and
.../nodes/search), and the next page's body a search answers with.

A search body holds what the GET of its route takes in its query string plus `where`, a JSON
filter tree (domain.where). Unknown members are refused by name (400 naming the member); a member
of the wrong kind is a 400 naming it in the service's own words; the members' bounds (limit,
offset) are the service's to enforce. The routes declare the body as
`opt={"body": {"application/json": RecordSearch}}` (media type → Struct), which the OpenAPI
document is generated from.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

from datainfra.adapters.http.encoding import decode_json
from datainfra.adapters.http.query_strings import Count, Cursor, Limit, Offset, field_shapes
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import split_list
from datainfra.domain.query import CountMode, PageRequest, select_names, sort_keys
from datainfra.domain.where import read_where

S = TypeVar("S", bound="RecordSearch")

_WHERE_DOC = (
    'Filters as JSON: {"age": {"gte": 28}, "name": {"ilike": "a%"}} ANDs its members; {"or": [...]}, '
    '{"and": [...]}, {"not": {...}} group them; {"city": "Paris"} is eq, {"city": null} is null; a field named '
    'and/or/not/field is written {"field": "or", "eq": 1}. Operators: eq ne gt gte lt lte like ilike in nin is.'
)
Names = str | list[str]


class RecordSearch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A records search: what GET .../records takes as query parameters, plus `where`."""

    where: Annotated[dict[str, Any], Meta(description=_WHERE_DOC, examples=[{"age": {"gte": 28}}])] | None = None
    select: (
        Annotated[Names, Meta(description="Field names to return: a list, or one comma-separated string.")] | None
    ) = None
    sort: (
        Annotated[Names, Meta(description="Sort fields, each `name[:asc|desc]`: a list or a comma-separated string.")]
        | None
    ) = None
    limit: Limit | None = None
    offset: Offset | None = None
    cursor: Cursor | None = None
    count: Count | None = None


class NodeSearch(RecordSearch, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A node search: what GET .../nodes takes as query parameters, plus `where`."""

    label: (
        Annotated[Names, Meta(description="Only nodes carrying every one of these labels.", examples=["Person"])] | None
    ) = None


def read_search(raw: bytes, shape: type[S]) -> S:
    """A search body (empty: every default) → the Struct `shape`; InvalidRequest names the member."""
    if not raw.strip():
        return shape()
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise InvalidRequest("a search body is a JSON object", field=None)
    fields = field_shapes(shape)
    members: dict[str, Any] = {}
    for key, value in body.items():
        field = fields.get(key)
        if field is None:
            raise InvalidRequest(f"unknown member {key!r}; a search takes {', '.join(sorted(fields))}", field=key)
        if value is None:
            continue
        if not _fits(field.kind, field.choices, value):
            raise InvalidRequest(field.problem(), field=key)
        members[key] = value
    return shape(**members)


def _fits(kind: str, choices: tuple[str, ...], value: object) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "choice":
        return isinstance(value, str) and value in choices
    if kind == "str_or_list":
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    return True  # json: read by domain.where.read_where, which names the JSON path of a problem


def search_request(body: RecordSearch) -> PageRequest:
    """The page a search asks for (its `where` read into the syntax tree)."""
    return PageRequest(
        where=read_where(body.where),
        select=select_names(_joined(body.select)),
        sort=sort_keys(_joined(body.sort)),
        limit=body.limit,
        offset=body.offset,
        cursor=body.cursor,
        count=None if body.count is None else CountMode(body.count),
    )


def search_labels(body: NodeSearch) -> tuple[str, ...]:
    """The labels of a node search: a list, or one text split as the query parameter is."""
    if body.label is None:
        return ()
    return tuple(split_list(body.label, "label")) if isinstance(body.label, str) else tuple(body.label)


def _joined(value: Names | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else ",".join(value)


def next_search(body: RecordSearch, following: PageRequest) -> dict[str, Any]:
    """The body to POST for the following page: the same search, its cursor or offset moved on."""
    doc: dict[str, Any] = {}
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if value is not None and name not in ("cursor", "offset"):
            doc[name] = value
    if following.cursor is not None:
        doc["cursor"] = following.cursor
    if following.offset is not None:
        doc["offset"] = following.offset
    return doc
