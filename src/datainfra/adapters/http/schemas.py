"""Request and response shapes at the HTTP edge (msgspec Structs), which also document the OpenAPI.

Bodies are strict: unknown fields are rejected. Free-form parts (schemas, records, properties) are
`dict[str, Any]` here and validated by the domain, which knows their rules."""

from __future__ import annotations

import copyreg
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from datainfra.adapters.http.query_requests import QueryBody
from datainfra.adapters.http.requests import NodeSearch
from datainfra.domain.queries import DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT_MS, MAX_MAX_ROWS, MAX_QUERY_BYTES, MAX_TIMEOUT_MS

_META_FIELDS = [
    "gt",
    "ge",
    "lt",
    "le",
    "multiple_of",
    "pattern",
    "min_length",
    "max_length",
    "tz",
    "title",
    "description",
    "examples",
    "extra_json_schema",
    "extra",
]


def _meta_again(fields: dict[str, Any]) -> Meta:
    return Meta(**fields)


def _reduce_meta(meta: Meta) -> tuple[Any, tuple[dict[str, Any]]]:
    return _meta_again, ({name: getattr(meta, name) for name in _META_FIELDS if getattr(meta, name) is not None},)


# Litestar deep-copies each handler's `opt`, where the documented types (Annotated with a Meta) are
# kept; msgspec's Meta cannot be pickled, so copying rebuilds it from its fields (it is immutable).
copyreg.pickle(Meta, _reduce_meta)

# -- problems ------------------------------------------------------------------------------------


class ProblemOut(msgspec.Struct, frozen=True, kw_only=True, rename={"type_": "type"}):
    """An RFC 9457 problem document: every error the API answers (`application/problem+json`).
    `field`, `parameter`, `index` and `key` say where the problem is, when it is somewhere."""

    type_: Annotated[str, Meta(description="urn:datainfra:problem:<slug of the title>")]
    title: str
    status: int
    detail: str
    field: Annotated[str, Meta(description="The body member (or column) at fault.")] | UnsetType = UNSET
    parameter: Annotated[str, Meta(description="The query parameter or header at fault.")] | UnsetType = UNSET
    index: Annotated[int, Meta(description="The record (or line) at fault, from 0.")] | UnsetType = UNSET
    key: Annotated[Any, Meta(description="The key at fault: column → value, a list, or a value.")] | UnsetType = UNSET
    valid: Annotated[list[str], Meta(description="The values that would be accepted.")] | UnsetType = UNSET


# -- users ---------------------------------------------------------------------------------------


class IssuedKeyOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user_id: str
    api_key: str


class UserOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    created_at: str


# -- sessions ------------------------------------------------------------------------------------


class SessionCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    description: Annotated[str, Meta(max_length=10_000)] | None = None


class SessionPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Meta(max_length=10_000)] | None = None


class SessionOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    name: str
    description: str
    created_at: str
    updated_at: str


class SessionList(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[SessionOut]


# -- datasets ------------------------------------------------------------------------------------

SCHEMA_DOC = (
    'Tabular: {"columns": [{"name", "type", "nullable"?, "default"?}], "primary_key"?: [...], '
    '"indexes"?: [{"columns": [...], "unique"?}]}; types: text integer float numeric boolean date timestamp json '
    'uuid. Graph: {"node_labels": [{"name", "properties": [{"name", "type"}], "indexes"?: [...]}], '
    '"relationship_types": [{"name", "properties": [...]}], "strict"?: false}.'
)


class DatasetCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    kind: Literal["tabular", "graph"]
    schema: Annotated[dict[str, Any], Meta(description=SCHEMA_DOC)] = msgspec.field(default_factory=dict)


class DatasetSchemaChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    schema: Annotated[dict[str, Any], Meta(description=SCHEMA_DOC)]
    renames: Annotated[dict[str, str], Meta(description="Explicit column renames, old name → new name.")] | None = None


class DatasetOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    session_id: str
    name: str
    kind: str
    schema: dict[str, Any]
    created_at: str
    updated_at: str
    record_count: int | None = None


class DatasetList(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[DatasetOut]


# -- records -------------------------------------------------------------------------------------


class RecordsWrite(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    records: list[dict[str, Any]]
    on_conflict: Literal["error", "update", "ignore"] = "error"


class GraphWrite(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    nodes: list[dict[str, Any]] = msgspec.field(default_factory=list)
    edges: list[dict[str, Any]] = msgspec.field(default_factory=list)
    on_conflict: Literal["error", "update", "ignore"] = "error"


class RecordsUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    records: list[dict[str, Any]] | None = None
    set: dict[str, Any] | None = None


class WriteResultOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    inserted: int
    updated: int
    ignored: int


class UpdatedOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    updated: int


class DeletedOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    deleted: int


class RecordPageOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[dict[str, Any]]
    limit: int
    offset: int
    total: int | None = None
    next: str | None = None


# -- graph ---------------------------------------------------------------------------------------


class NodeOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    labels: list[str]
    properties: dict[str, Any]


class EdgeOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    source: str
    target: str
    type: str
    properties: dict[str, Any]


class NodePageOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[NodeOut]
    limit: int
    offset: int
    total: int | None = None
    next: str | None = None


class EdgePageOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[EdgeOut]
    limit: int
    offset: int
    total: int | None = None
    next: str | None = None


class SubgraphOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    nodes: list[NodeOut]
    edges: list[EdgeOut]


class ShortestPathIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    source: str | int
    target: str | int
    direction: Literal["out", "in", "both"] | None = None
    types: list[str] | None = None
    weight: str | None = None
    max_depth: int | None = None


class PathOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    found: bool
    length: int | None = None
    cost: float | None = None
    nodes: list[NodeOut] = msgspec.field(default_factory=list)
    edges: list[EdgeOut] = msgspec.field(default_factory=list)


class AllShortestPathsIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    source: str | int
    target: str | int
    direction: Literal["out", "in", "both"] | None = None
    types: list[str] | None = None
    weight: str | None = None
    max_depth: int | None = None
    limit: Annotated[int, Meta(description="How many paths at most (1-1000, default 50).")] | None = None


class PathStepsOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    length: int
    nodes: list[NodeOut]
    edges: list[EdgeOut]


class PathsOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every minimal path, ordered by node ids then edge ids; `length` is the fewest hops among them,
    `cost` (weighted only) their common total; `truncated` when more paths exist beyond `limit`."""

    found: bool
    length: int | None = None
    cost: float | None = None
    truncated: bool = False
    paths: list[PathStepsOut] = msgspec.field(default_factory=list)


# -- graph algorithms ----------------------------------------------------------------------------


class PageRankIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    types: list[str] | None = None
    direction: Literal["out", "in", "both"] | None = None
    damping: float | None = None
    iterations: int | None = None
    tolerance: float | None = None
    weight: str | None = None


class ComponentsIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    types: list[str] | None = None


class DegreeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    types: list[str] | None = None
    direction: Literal["out", "in", "both"] | None = None


class ScoreOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    score: float


class ScorePageOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[ScoreOut]
    limit: int
    offset: int
    total: int
    iterations: int
    converged: bool
    next: str | None = None


class ComponentOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    component: str
    size: int


class ComponentPageOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[ComponentOut]
    limit: int
    offset: int
    total: int
    components: int
    next: str | None = None


class DegreeOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    degree: int


class DegreePageOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[DegreeOut]
    limit: int
    offset: int
    total: int
    next: str | None = None


# -- health --------------------------------------------------------------------------------------


class HealthOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    status: str


class ReadyOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    status: str
    stores: dict[str, str]


# -- search pages ------------------------------------------------------------------------------


class SearchPageOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[dict[str, Any]]
    limit: int
    offset: int
    total: int | None = None
    next: Annotated[dict[str, Any], Meta(description="The body to POST for the following page.")] | None = None


# -- the query endpoint --------------------------------------------------------------------------

QueryBodyDoc = Annotated[
    QueryBody,
    Meta(
        description=(
            "language: sql | cypher | structured. sql: values as $1, $2 ... from `parameters` (a JSON array); "
            "cypher: over the graph `dataset`, values as $name from `parameters` (a JSON object); `n.id` is an "
            "ordinary property, datainfra.key(n) the key the graph routes address (a node or relationship in a "
            "result is in the routes' shape, its key as `id`); structured: "
            "from, select, where, group_by, aggregates, join, order_by, limit, offset. read_only (default true), "
            f"timeout_ms (default {DEFAULT_TIMEOUT_MS}, at most {MAX_TIMEOUT_MS}), max_rows (default "
            f"{DEFAULT_MAX_ROWS}, at most {MAX_MAX_ROWS}); the query text is at most {MAX_QUERY_BYTES} bytes."
        ),
        examples=[
            {"language": "sql", "query": "SELECT $1::int + 1 AS answer", "parameters": [41], "timeout_ms": 5000},
        ],
    ),
]
"""What the document shows of the query body (QueryBody, decoded as it is), with an example it accepts."""


# -- import --------------------------------------------------------------------------------------


class ImportedDatasetOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    name: str
    kind: Literal["tabular", "graph"]
    records: int | UnsetType = UNSET
    nodes: int | UnsetType = UNSET
    edges: int | UnsetType = UNSET


class ImportOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    session_id: str
    datasets: list[ImportedDatasetOut]


# -- documented bodies: what the docs UI pre-fills, each accepted by the API -------------------------
# One story: a session, a tabular dataset `people` (id, name, age), its records; a graph dataset's
# nodes and edges. tests/unit/http/test_openapi_document.py sends every example.

PEOPLE_SCHEMA = {
    "columns": [
        {"name": "id", "type": "integer", "nullable": False},
        {"name": "name", "type": "text"},
        {"name": "age", "type": "integer"},
    ],
    "primary_key": ["id"],
}
SessionCreateBody = Annotated[SessionCreate, Meta(examples=[{"name": "demo", "description": "a first session"}])]
SessionPatchBody = Annotated[SessionPatch, Meta(examples=[{"description": "renamed and described"}])]
DatasetCreateBody = Annotated[
    DatasetCreate,
    Meta(
        examples=[
            {"name": "people", "kind": "tabular", "schema": PEOPLE_SCHEMA},
            {"name": "friends", "kind": "graph", "schema": {}},
        ]
    ),
]
DatasetSchemaChangeBody = Annotated[
    DatasetSchemaChange,
    Meta(
        examples=[
            {"schema": {**PEOPLE_SCHEMA, "columns": [*PEOPLE_SCHEMA["columns"], {"name": "city", "type": "text"}]}}
        ]
    ),
]
RecordsWriteBody = Annotated[
    RecordsWrite,
    Meta(
        examples=[
            {
                "records": [{"id": 1, "name": "Ada", "age": 36}, {"id": 2, "name": "Alan", "age": 41}],
                "on_conflict": "update",
            }
        ]
    ),
]
RecordListBody = Annotated[list[dict[str, Any]], Meta(description="Records, on_conflict from the query string.")]
GraphWriteBody = Annotated[
    GraphWrite,
    Meta(
        description='{"nodes", "edges", "on_conflict"?}: nodes {"id", "labels", "properties"}, edges {"source", '
        '"target", "type", "properties", "id"?}.',
        examples=[
            {
                "nodes": [
                    {"id": "ada", "labels": ["Person"], "properties": {"name": "Ada", "age": 36}},
                    {"id": "alan", "labels": ["Person"], "properties": {"name": "Alan", "age": 41}},
                ],
                "edges": [{"source": "ada", "target": "alan", "type": "KNOWS", "properties": {"since": 1936}}],
                "on_conflict": "update",
            }
        ],
    ),
]
_NODE_LINK_DOC = (
    "networkx's node-link JSON (networkx 3.6 reads it with its defaults: nx.node_link_graph(doc)): a directed "
    'multigraph; nodes {"id", ":labels"?: ":Person:Admin", <property>: value, ...}, edges {"source", "target", '
    '"key" (the edge id, also as "id"), ":type", <property>: value, ...}; a property named id (edges: also source, '
    'target, key) is written "property:<name>". graph carries {"name", ":format": "datainfra-graph-2"}. '
    "Import: ours reads back exactly; any other node-link document (plain networkx, or the older nested "
    '{"labels": [...], "properties": {...}} shape) has its attributes read as properties, "labels"/"type" as '
    'labels and type (RELATED_TO when none); "directed": false needs directed=false.'
)
_NODE_LINK_EXAMPLE = {
    "directed": True,
    "multigraph": True,
    "graph": {"name": "social", ":format": "datainfra-graph-2"},
    "nodes": [
        {"id": "a", ":labels": ":Person", "name": "Ada", "property:id": 7},
        {"id": "b", ":labels": ":Person", "name": "Bob"},
    ],
    "edges": [{"source": "a", "target": "b", "key": "e1", "id": "e1", ":type": "KNOWS", "weight": 1.0}],
}
NodeLinkBody = Annotated[dict[str, Any], Meta(description=_NODE_LINK_DOC, examples=[_NODE_LINK_EXAMPLE])]
CsvBody = Annotated[str, Meta(description="A header row, then one record per line (RFC 4180; unquoted empty = NULL).")]
NdjsonBody = Annotated[
    str,
    Meta(
        description="Tabular: one JSON record per line. Graph: the lines GET .../export?format=ndjson writes, every "
        '{"kind": "node", "id", "labels", "properties"} line before the first {"kind": "edge", "id", "source", '
        '"target", "type", "properties"} line; all-or-nothing, a problem names its line.'
    ),
]
GraphmlBody = Annotated[
    str,
    Meta(
        description="A GraphML document (as GET .../export?format=graphml writes it, or networkx, igraph, Gephi). "
        'edgedefault="undirected" (or an edge directed="false") needs directed=false.'
    ),
]
RecordsUpdateBody = Annotated[
    RecordsUpdate,
    Meta(
        description='{"records": [...]} updates by primary key (node id for graphs); {"set": {...}} updates every '
        "record matching the query-string filters (all=true to update every record).",
        examples=[{"records": [{"id": 1, "age": 37}]}],
    ),
]
SearchBody = Annotated[NodeSearch, Meta(examples=[{"where": {"age": {"gte": 30}}, "sort": ["age:desc"], "limit": 10}])]
NodeSearchBody = Annotated[NodeSearch, Meta(examples=[{"where": {"age": {"gte": 30}}, "limit": 10}])]
RecordBody = Annotated[dict[str, Any], Meta(description="column → value", examples=[{"name": "Ada", "age": 37}])]
ZipBody = bytes
ParquetBody = bytes
"""A Parquet file (as GET .../export?format=parquet writes it, or pandas, polars, DuckDB or Spark)."""
ArrowStreamBody = bytes
"""An Arrow IPC stream (as GET .../export?format=arrow writes it, or pyarrow.ipc.new_stream)."""
PageRankBody = Annotated[PageRankIn, Meta(examples=[{"damping": 0.85, "iterations": 100}])]
ComponentsBody = Annotated[ComponentsIn, Meta(examples=[{}])]
DegreeBody = Annotated[DegreeIn, Meta(examples=[{"direction": "both"}])]
ShortestPathBody = Annotated[ShortestPathIn, Meta(examples=[{"source": "ada", "target": "alan", "direction": "both"}])]
AllShortestPathsBody = Annotated[
    AllShortestPathsIn, Meta(examples=[{"source": "ada", "target": "alan", "direction": "both", "limit": 10}])
]

NodeLinkOut = Annotated[
    dict[str, Any],
    Meta(description="Graph datasets: " + _NODE_LINK_DOC.split(" Import:")[0], examples=[_NODE_LINK_EXAMPLE]),
]
RecordArrayOut = Annotated[list[dict[str, Any]], Meta(description="Tabular datasets: every matching record.")]
TextOut = str
BinaryOut = bytes
