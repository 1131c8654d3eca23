"""What every graph use case reads from a request the same way: that the dataset is a graph, node
and edge keys, label and relationship-type names (in bodies and in query parameters), directions,
and the typed filters of node and edge searches. Also the base of the graph use-case classes."""

from __future__ import annotations

from collections.abc import Sequence

from datainfra.domain.errors import InvalidInput, InvalidRequest
from datainfra.domain.filters import FilterSpec, FilterTerm, parse_filters
from datainfra.domain.graph import Direction
from datainfra.domain.graph_limits import MAX_LABELS_PER_NODE, check_labels
from datainfra.domain.graph_schema import NODE_KEY, GraphSchema
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.names import validate_name
from datainfra.domain.ports import GraphStore, IdGenerator
from datainfra.domain.types import FieldType

MAX_KEY_LENGTH = 512
EDGE_FIELDS = {"id": FieldType.TEXT, "source": FieldType.TEXT, "target": FieldType.TEXT}


class GraphUseCases:
    """The ports every graph use case works with; `GraphService` composes the use cases."""

    def __init__(self, graph: GraphStore, ids: IdGenerator) -> None:
        self._graph = graph
        self._ids = ids


def require_graph(dataset: Dataset) -> GraphSchema:
    if dataset.kind is not DatasetKind.GRAPH:
        raise InvalidRequest(f"dataset {dataset.name!r} is tabular; this operation is for graph datasets")
    return dataset.graph_schema


def node_key(value: object, *, index: int | None, field: str) -> str:
    """Node and edge keys are text; integers are accepted and kept as their decimal text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput("a key must be a string or an integer", index=index, field=field)
    text = str(value)
    if not text or len(text) > MAX_KEY_LENGTH or "\x00" in text or "/" in text:
        raise InvalidInput(
            f"a key must be 1-{MAX_KEY_LENGTH} characters without NUL or '/' (it must be addressable in a URL)",
            index=index,
            field=field,
        )
    return text


def name_list(values: object, what: str, field: str, index: int | None = None) -> tuple[str, ...]:
    if values is None:
        return ()
    if not isinstance(values, list):
        raise InvalidInput(f"{what}s must be a list", index=index, field=field)
    try:
        names = tuple(validate_name(v, what=what, field=field) for v in values)
    except InvalidInput as exc:
        raise exc.located(index=index) from None
    return tuple(dict.fromkeys(names))


def node_labels(values: object, field: str, index: int) -> tuple[str, ...]:
    labels = name_list(values, "label", field, index)
    check_labels(labels, index=index, field=field)
    return labels


def label_names(values: Sequence[str]) -> tuple[str, ...]:
    """The labels a node search or bulk change is limited to (the parameter `label`)."""
    labels: list[str] = []
    for label in values:
        try:
            labels.append(validate_name(label, what="label", field="label"))
        except InvalidInput as exc:
            raise InvalidRequest(exc.detail, parameter="label") from None
        if len(labels) > MAX_LABELS_PER_NODE:
            raise InvalidRequest(
                f"a label filter may name at most {MAX_LABELS_PER_NODE} labels (a node has at most as many)",
                parameter="label",
            )
    return tuple(dict.fromkeys(labels))


def type_names(values: Sequence[str], parameter: str = "type") -> tuple[str, ...]:
    """The relationship types an edge search, delete or walk is limited to (the parameter `type`)."""
    types: list[str] = []
    for item in values:
        try:
            types.append(validate_name(item, what="relationship type", field=parameter))
        except InvalidInput as exc:
            raise InvalidRequest(exc.detail, parameter=parameter) from None
    return tuple(dict.fromkeys(types))


def node_types(schema: GraphSchema, labels: tuple[str, ...]) -> dict[str, FieldType]:
    """The typed fields of nodes carrying `labels` (every declared one when none), "id" included."""
    types = schema.node_property_types(labels or None)
    types[NODE_KEY] = FieldType.TEXT
    return types


def node_filter(schema: GraphSchema, filters: Sequence[FilterTerm], labels: tuple[str, ...]) -> FilterSpec:
    return parse_filters(filters, node_types(schema, labels), open_fields=not schema.strict)


def declared_labels(schema: GraphSchema) -> tuple[str, ...]:
    """Typing an update that names no labels: every declared property type applies."""
    return tuple(label.name for label in schema.node_labels)


def direction_of(value: str | None, default: Direction, *, field: str) -> Direction:
    """A body's direction member (None: the default)."""
    if value is None:
        return default
    try:
        return Direction(value)
    except ValueError:
        raise InvalidInput("direction must be out, in or both", field=field) from None
