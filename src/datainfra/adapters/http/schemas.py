"""Request and response shapes at the HTTP edge (msgspec Structs), which also document the OpenAPI.

Bodies are strict: unknown fields are rejected. Free-form parts (schemas, records, properties) are
`dict[str, Any]` here and validated by the domain, which knows their rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

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
