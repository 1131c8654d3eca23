"""Query strings → typed requests: one msgspec Struct per family of query parameters, and the one
function that reads a query string into one of them.

The convention (the OpenAPI document is generated from it, and each route handler declares its
Struct as `opt={"query": TheStruct}`):

- every field of the Struct is a named query parameter, its annotation the value's type and its
  `Meta` the description, examples and the bounds the service enforces. A `list[...]` field may
  be repeated; any other given twice is a 400 naming it.
- a Struct whose routes take free-form filters declares `filters: ClassVar[str]` ("records",
  "nodes" or "edges": whose fields they filter). Every other parameter is then a filter
  `field=op:value` (domain.filters.FilterTerm); `where.<field>=...` filters a field named like a
  parameter.
- `ignored` names are taken and ignored (`all` where it means nothing), `refused` names are refused
  even where filters are allowed, and `unknown` is the problem detail for a name the route does not
  take (None: ignored, as a write route has always ignored what it does not read).

Values are read as text here (an integer is ASCII digits, a choice one of its values); the bounds
are the service's to enforce, so a problem names its parameter and reads the same whichever edge
the request came through. Every problem is an InvalidRequest naming the parameter (400).
"""

from __future__ import annotations

import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlencode

import msgspec
from litestar import Request
from litestar._parsers import parse_query_string
from msgspec import Meta

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import FilterTerm, filter_term, split_list
from datainfra.domain.graph import MAX_TRAVERSAL_DEPTH
from datainfra.domain.query import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    CountMode,
    PageRequest,
    Selection,
    select_names,
    sort_keys,
    sort_text,
)

Q = TypeVar("Q", bound="QueryParameters")


class QueryParameters(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The base of every query-string Struct (see the module docstring)."""

    ignored: ClassVar[frozenset[str]] = frozenset()
    refused: ClassVar[frozenset[str]] = frozenset()
    unknown: ClassVar[str | None] = "unknown parameter {name!r}"


# -- the fields, once each ------------------------------------------------------------------------

_SELECT_DOC = "Comma-separated field names to return (default: every field)."
_SORT_DOC = (
    "Comma-separated fields, each optionally `:asc` (default) or `:desc`. The key is always added last, so the "
    "order is total. NULLs sort last ascending, first descending; text by code point."
)
_LIMIT_DOC = f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}; 0 answers only the count)."
_OFFSET_DOC = "Items to skip. Pages whose sort fields are all non-nullable page by `cursor` instead (see `next`)."
_CURSOR_DOC = "The keyset cursor of a page's `next` link: opaque, bound to the sort order it was made for."
_COUNT_DOC = "Also answer `total`: exact, or estimated (the planner's estimate once a table is large)."
_ALL_DOC = "true: act on every record when no filter is given (without filters and without all=true: 400)."
_LABEL_DOC = (
    "Only nodes carrying this label (repeat, or comma-separate, for nodes carrying every one of them; "
    'a label holding a comma is double-quoted: "a,b").'
)
_TYPE_DOC = "Only edges of this relationship type (repeat or comma-separate for several)."

Select = Annotated[str, Meta(description=_SELECT_DOC, examples=["name,age"])]
Sort = Annotated[str, Meta(description=_SORT_DOC, examples=["age:desc,name"])]
Limit = Annotated[int, Meta(ge=0, le=MAX_LIMIT, description=_LIMIT_DOC, examples=[DEFAULT_LIMIT])]
Offset = Annotated[int, Meta(ge=0, le=MAX_OFFSET, description=_OFFSET_DOC, examples=[0])]
Cursor = Annotated[str, Meta(description=_CURSOR_DOC, examples=["eyJzIjpbImlkOmEiXSwidiI6WyI0MiJdfQ"])]
Count = Annotated[Literal["exact", "estimated"], Meta(description=_COUNT_DOC, examples=["exact"])]
All = Annotated[bool, Meta(description=_ALL_DOC, examples=[True])]
Labels = Annotated[list[str], Meta(description=_LABEL_DOC, examples=[["Person"]])]
Types = Annotated[list[str], Meta(description=_TYPE_DOC, examples=[["KNOWS"]])]


class PageFields(QueryParameters, frozen=True, kw_only=True):
    """select, sort, limit, offset, cursor and count: what every page takes."""

    select: Select | None = None
    sort: Sort | None = None
    limit: Limit | None = None
    offset: Offset | None = None
    cursor: Cursor | None = None
    count: Count | None = None


class RecordPageQuery(PageFields, frozen=True, kw_only=True):
    """A page of records (of nodes, on a graph dataset: see NodePageQuery), filtered by fields."""

    filters: ClassVar[str] = "records"
    ignored: ClassVar[frozenset[str]] = frozenset({"all"})


class NodePageQuery(PageFields, frozen=True, kw_only=True):
    """A page of nodes: by label, filtered by properties (and `id`)."""

    filters: ClassVar[str] = "nodes"
    ignored: ClassVar[frozenset[str]] = frozenset({"all"})
    label: Labels | None = None


class EdgePageQuery(PageFields, frozen=True, kw_only=True):
    """A page of edges: by type, filtered by properties (and `id`, `source`, `target`)."""

    filters: ClassVar[str] = "edges"
    type: Types | None = None


class RecordFilterQuery(QueryParameters, frozen=True, kw_only=True):
    """The records a bulk update or delete touches."""

    filters: ClassVar[str] = "records"
    all: All | None = None


class NodeFilterQuery(QueryParameters, frozen=True, kw_only=True):
    """The nodes a bulk update or delete touches."""

    filters: ClassVar[str] = "nodes"
    label: Labels | None = None
    all: All | None = None


class EdgeFilterQuery(QueryParameters, frozen=True, kw_only=True):
    """The edges a bulk delete touches."""

    filters: ClassVar[str] = "edges"
    type: Types | None = None
    all: All | None = None


class NeighborsQuery(QueryParameters, frozen=True, kw_only=True):
    """A walk from one node."""

    direction: (
        Annotated[
            Literal["out", "in", "both"],
            Meta(description="Follow edges out of, into, or both ways (default both).", examples=["out"]),
        ]
        | None
    ) = None
    type: Types | None = None
    depth: (
        Annotated[
            int,
            Meta(
                ge=1,
                le=MAX_TRAVERSAL_DEPTH,
                description=f"Hops from the node (default 1, at most {MAX_TRAVERSAL_DEPTH}).",
                examples=[2],
            ),
        ]
        | None
    ) = None
    limit: Limit | None = None


class AlgorithmQuery(QueryParameters, frozen=True, kw_only=True):
    """A page of an algorithm's ranked result."""

    unknown: ClassVar[str | None] = "unknown parameter {name!r}; algorithms take limit and offset"
    limit: Limit | None = None
    offset: Offset | None = None


_FORMAT_DOC = (
    "Tabular: csv (default), json, ndjson, parquet, arrow (Arrow IPC stream). "
    "Graph: json (networkx node-link, default), graphml, ndjson. "
    "A format that does not fit the dataset is a 400 listing the valid ones."
)
Format = Annotated[str, Meta(description=_FORMAT_DOC, examples=["csv"])]


class ExportQuery(QueryParameters, frozen=True, kw_only=True):
    """A dataset export: its format; a tabular export also the records route's filters, select and
    sort (a graph export holds the whole graph: GraphExportQuery)."""

    filters: ClassVar[str] = "records"
    ignored: ClassVar[frozenset[str]] = frozenset({"all"})
    refused: ClassVar[frozenset[str]] = frozenset({"limit", "offset", "cursor", "count"})
    unknown: ClassVar[str | None] = "an export streams every matching record; {name} is not accepted"
    format: Format | None = None
    select: Select | None = None
    sort: Sort | None = None


class GraphExportQuery(QueryParameters, frozen=True, kw_only=True):
    """A graph dataset's export: the whole graph, in a format."""

    unknown: ClassVar[str | None] = "a graph export holds the whole graph; {name!r} is not accepted"
    format: Format | None = None


class SessionExportQuery(QueryParameters, frozen=True, kw_only=True):
    """A session archive takes no parameters."""

    unknown: ClassVar[str | None] = "a session export takes no parameters; {name!r} is not accepted"


class ImportQuery(QueryParameters, frozen=True, kw_only=True):
    """A session import: the datasets renamed on the way in."""

    unknown: ClassVar[str | None] = "unknown parameter {name!r}; an import takes rename=old:new"
    rename: (
        Annotated[
            list[str],
            Meta(description="old:new, once per dataset renamed on the way in.", examples=[["people:people_2024"]]),
        ]
        | None
    ) = None


OnConflict = Annotated[
    Literal["error", "update", "ignore"],
    Meta(
        description="A record (node, edge) whose key exists: fail the whole write (default), update it, or keep it.",
        examples=["update"],
    ),
]


class WriteQuery(QueryParameters, frozen=True, kw_only=True):
    """A bulk write sent as CSV, NDJSON, GraphML or node-link JSON (a JSON body of records carries
    on_conflict itself)."""

    unknown: ClassVar[str | None] = None
    on_conflict: OnConflict | None = None


_DIRECTED_DOC = (
    "Graph imports (node-link JSON, GraphML): false stores an undirected input graph, each edge once from source "
    "to target as the input lists it (query it with direction=both). Without it an undirected input is a 400, and "
    "false on a directed input is a 400 too."
)


class GraphWriteQuery(WriteQuery, frozen=True, kw_only=True):
    """A graph write: on_conflict, and `directed` for an undirected input graph."""

    directed: Annotated[bool, Meta(description=_DIRECTED_DOC, examples=[False])] | None = None


class SearchQuery(QueryParameters, frozen=True, kw_only=True):
    """A search takes everything in its body."""

    unknown: ClassVar[str | None] = "a search takes its parameters in the JSON body, not the query string"


# -- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldShape:
    """What a Struct field takes, as the readers of query strings and bodies check it."""

    name: str
    kind: Literal["str", "int", "bool", "choice", "list", "str_or_list", "json"]
    choices: tuple[str, ...] = ()
    ge: int | None = None
    le: int | None = None

    def problem(self) -> str:
        """The detail of a value of the wrong kind: the service's own words for its bounds."""
        if self.kind == "int":
            if self.ge == 0 or self.ge is None:
                return f"{self.name} must be a non-negative integer"
            return f"{self.name} must be {self.ge}..{self.le}"
        if self.kind in ("choice", "bool"):
            return f"{self.name} must be {alternatives(self.choices)}"
        if self.kind == "str_or_list":
            return f"{self.name} must be a string or an array of strings"
        if self.kind == "list":
            return f"{self.name} must be an array of strings"
        return f"{self.name} must be a string"


def alternatives(values: Sequence[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


_shapes: dict[type, dict[str, FieldShape]] = {}


def field_shapes(shape: type[msgspec.Struct]) -> dict[str, FieldShape]:
    """The fields of a Struct, by name."""
    known = _shapes.get(shape)
    if known is None:
        hints = get_type_hints(shape, include_extras=True)
        known = _shapes[shape] = {name: _field_shape(name, hints[name]) for name in shape.__struct_fields__}
    return known


def _field_shape(name: str, annotation: Any, metas: tuple[Meta, ...] = ()) -> FieldShape:
    if get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        return _field_shape(name, base, metas + tuple(m for m in extra if isinstance(m, Meta)))
    options = _without_none(annotation)
    if len(options) == 1 and options[0] is not annotation:
        return _field_shape(name, options[0], metas)
    if len(options) == 2 and {_field_shape(name, option).kind for option in options} == {"str", "list"}:
        return FieldShape(name, "str_or_list")
    if annotation is str:
        return FieldShape(name, "str")
    if annotation is bool:
        return FieldShape(name, "bool", ("true", "false"))
    if annotation is int:
        ge = next((int(m.ge) for m in metas if m.ge is not None), None)
        le = next((int(m.le) for m in metas if m.le is not None), None)
        return FieldShape(name, "int", ge=ge, le=le)
    if get_origin(annotation) is Literal:
        return FieldShape(name, "choice", tuple(str(v) for v in get_args(annotation)))
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return FieldShape(name, "list")
    if get_origin(annotation) is dict:
        return FieldShape(name, "json")
    raise TypeError(f"query field {name!r}: unsupported annotation {annotation!r}")


def _without_none(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return [annotation]


_DIGITS = re.compile(r"[0-9]+")
_PAST_EVERY_BOUND = 10**19


def _from_text(field: FieldShape, texts: list[str]) -> object:
    if field.kind == "list":
        return texts
    if len(texts) > 1:
        raise InvalidRequest(f"{field.name} given more than once", parameter=field.name)
    text = texts[0]
    if field.kind == "int":
        if not _DIGITS.fullmatch(text):
            raise InvalidRequest(field.problem(), parameter=field.name)
        return int(text) if len(text) < 19 else _PAST_EVERY_BOUND
    if field.kind == "bool":
        if text not in field.choices:
            raise InvalidRequest(field.problem(), parameter=field.name)
        return text == "true"
    if field.kind == "choice" and text not in field.choices:
        raise InvalidRequest(field.problem(), parameter=field.name)
    return text


def read_query(pairs: Sequence[tuple[str, str]], shape: type[Q]) -> tuple[Q, tuple[FilterTerm, ...]]:
    """A query string's (name, value) pairs, repeats in order → the Struct `shape` and, where it
    takes filters, the filter terms in the order given. InvalidRequest names the parameter."""
    fields = field_shapes(shape)
    takes_filters = getattr(shape, "filters", None) is not None
    values: dict[str, list[str]] = {}
    terms: list[FilterTerm] = []
    for name, raw in pairs:
        if name in fields:
            values.setdefault(name, []).append(raw)
        elif name in shape.ignored:
            continue
        elif takes_filters and name not in shape.refused:
            terms.append(filter_term(name, raw))
        elif shape.unknown is not None:
            raise InvalidRequest(shape.unknown.format(name=name), parameter=name)
    parsed = {name: _from_text(fields[name], texts) for name, texts in values.items()}
    return shape(**parsed), tuple(terms)


def query_pairs(query_string: bytes) -> list[tuple[str, str]]:
    """A raw query string's (name, value) pairs in the order given, decoded as Litestar decodes
    its query parameters (its `query_params` MultiDict regroups them by name in set order, which
    would make the order of filters on different fields vary from process to process)."""
    return list(parse_query_string(query_string))


def query_of(request: Request[Any, Any, Any], shape: type[Q]) -> tuple[Q, tuple[FilterTerm, ...]]:
    """`read_query` over the request's query string."""
    return read_query(query_pairs(request.scope.get("query_string", b"")), shape)


# -- into the services' requests, and back --------------------------------------------------------


def page_request(query: PageFields, filters: tuple[FilterTerm, ...] = ()) -> PageRequest:
    return PageRequest(
        filters=filters,
        select=None if query.select is None else select_names(query.select),
        sort=sort_keys(query.sort or ""),
        limit=query.limit,
        offset=query.offset,
        cursor=query.cursor,
        count=None if query.count is None else CountMode(query.count),
    )


def export_request(query: ExportQuery, filters: tuple[FilterTerm, ...]) -> PageRequest:
    """What a tabular export holds: the filters, select and sort of a page, no paging."""
    return PageRequest(
        filters=filters,
        select=None if query.select is None else select_names(query.select),
        sort=sort_keys(query.sort or ""),
    )


def selection(
    query: RecordFilterQuery | NodeFilterQuery | EdgeFilterQuery, filters: tuple[FilterTerm, ...]
) -> Selection:
    return Selection(filters, every=bool(query.all))


def names(values: Sequence[str] | None, parameter: str) -> tuple[str, ...]:
    """Repeated and comma-separated names (labels, types) → the names, in order; an element may
    be double-quoted ("a,b")."""
    return tuple(item for value in values or () for item in split_list(value, parameter))


def page_pairs(page: PageRequest, scope: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """A PageRequest as query parameters: its filters, then `scope` (label, type), then paging."""
    pairs = [(term.parameter, term.written) for term in page.filters]
    pairs += scope
    if page.select is not None:
        pairs.append(("select", ",".join(page.select)))
    if page.sort:
        pairs.append(("sort", sort_text(page.sort)))
    if page.limit is not None:
        pairs.append(("limit", str(page.limit)))
    if page.count is not None:
        pairs.append(("count", page.count.value))
    if page.cursor is not None:
        pairs.append(("cursor", page.cursor))
    if page.offset is not None:
        pairs.append(("offset", str(page.offset)))
    return pairs


def page_url(path: str, page: PageRequest, scope: Sequence[tuple[str, str]] = ()) -> str:
    """The absolute-path URL of a page (a `next` link, also sent as `Link: <...>; rel="next"`)."""
    return f"{path}?{urlencode(page_pairs(page, scope))}"


def repeated(name: str, values: Sequence[str] | None) -> list[tuple[str, str]]:
    """A repeated parameter's pairs, as given (label=..., type=...)."""
    return [(name, value) for value in values or ()]
