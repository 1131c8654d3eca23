"""The schema of a graph dataset: declared labels and relationship types with typed properties.

Declared properties are typed and validated; undeclared ones are allowed (as scalars or lists of
scalars, what a graph store can hold) unless the schema is `strict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from datainfra.domain import graph_limits as limits
from datainfra.domain.errors import InvalidInput
from datainfra.domain.json_value import JsonValue
from datainfra.domain.names import validate_name
from datainfra.domain.types import BadValue, FieldType, FieldValue, coerce_json

NODE_KEY = "id"
"""The key field of a node (and of an edge) in filters, sorts and the routes' JSON; a property may
also be named "id" (it lives in `properties`), but filters and sorts on "id" mean the key."""


@dataclass(frozen=True, slots=True)
class PropertyDef:
    name: str
    type: FieldType


@dataclass(frozen=True, slots=True)
class PropertyIndex:
    properties: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, slots=True)
class NodeLabel:
    name: str
    properties: tuple[PropertyDef, ...] = ()
    indexes: tuple[PropertyIndex, ...] = ()


@dataclass(frozen=True, slots=True)
class RelationshipType:
    name: str
    properties: tuple[PropertyDef, ...] = ()


@dataclass(frozen=True, slots=True)
class GraphSchema:
    node_labels: tuple[NodeLabel, ...] = ()
    relationship_types: tuple[RelationshipType, ...] = ()
    strict: bool = False

    def label(self, name: str) -> NodeLabel | None:
        return next((label for label in self.node_labels if label.name == name), None)

    def relationship_type(self, name: str) -> RelationshipType | None:
        return next((rel for rel in self.relationship_types if rel.name == name), None)

    def node_property_types(self, labels: tuple[str, ...] | None = None) -> dict[str, FieldType]:
        """Declared property types of the given labels (all labels when None)."""
        chosen = self.node_labels if labels is None else tuple(lb for lb in self.node_labels if lb.name in labels)
        return {p.name: p.type for label in chosen for p in label.properties}

    def edge_property_types(self, types: tuple[str, ...] | None = None) -> dict[str, FieldType]:
        chosen = (
            self.relationship_types if types is None else tuple(t for t in self.relationship_types if t.name in types)
        )
        return {p.name: p.type for rel in chosen for p in rel.properties}

    # -- values ----------------------------------------------------------------------------------

    def coerce_node_properties(self, labels: tuple[str, ...], raw: object, index: int) -> dict[str, FieldValue]:
        return PropertyTyping(self).node_properties(labels, raw, index)

    def coerce_edge_properties(self, rel_type: str, raw: object, index: int) -> dict[str, FieldValue]:
        return PropertyTyping(self).edge_properties(rel_type, raw, index)


_IndexCheck = tuple[str, PropertyIndex]
"""A declared index of a label a node carries: (label, index)."""


class PropertyTyping:
    """The schema's property typing for one batch of nodes and edges: what a label set or a
    relationship type declares (types, indexes, strictness) is looked up once, not once per item.
    Errors are exactly the schema's (`GraphSchema.coerce_node_properties` is this, for one item)."""

    def __init__(self, schema: GraphSchema) -> None:
        self._schema = schema
        self._nodes: dict[tuple[str, ...], tuple[dict[str, FieldType], tuple[_IndexCheck, ...]]] = {}
        self._edges: dict[str, dict[str, FieldType]] = {}

    def node_properties(self, labels: tuple[str, ...], raw: object, index: int) -> dict[str, FieldValue]:
        schema = self._schema
        known = self._nodes.get(labels)
        if known is None:
            if schema.strict:
                for label in labels:
                    if schema.label(label) is None:
                        raise InvalidInput(
                            f"label {label!r} is not declared (strict schema)", index=index, field="labels"
                        )
            found = [(name, schema.label(name)) for name in labels]
            checks = tuple((name, ix) for name, declared in found if declared for ix in declared.indexes)
            known = self._nodes[labels] = (schema.node_property_types(labels), checks)
        declared, checks = known
        properties = _coerce_properties(declared, raw, index, schema.strict, "node")
        for name, ix in checks:
            limits.check_indexed(name, ix.properties, properties, index=index, field="properties")
        return properties

    def edge_properties(self, rel_type: str, raw: object, index: int) -> dict[str, FieldValue]:
        schema = self._schema
        declared = self._edges.get(rel_type)
        if declared is None:
            if schema.strict and schema.relationship_type(rel_type) is None:
                raise InvalidInput(
                    f"relationship type {rel_type!r} is not declared (strict schema)", index=index, field="type"
                )
            declared = self._edges[rel_type] = schema.edge_property_types((rel_type,))
        return _coerce_properties(declared, raw, index, schema.strict, "edge")


def _coerce_properties(
    declared: Mapping[str, FieldType], raw: object, index: int, strict: bool, what: str
) -> dict[str, FieldValue]:
    """Typed property values. A null value means "no such property", as in a graph store."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{what} properties must be an object", index=index, field="properties")
    limits.check_property_count(len(raw), index=index, field="properties")
    properties: dict[str, FieldValue] = {}
    total = 0
    for name, value in raw.items():
        where = f"properties.{name}"
        try:
            validate_name(name, what="property name", field=where)
        except InvalidInput as exc:
            raise exc.located(index=index) from None
        if value is None:
            continue
        field_type = declared.get(name)
        if field_type is None:
            if strict:
                raise InvalidInput(f"property {name!r} is not declared (strict schema)", index=index, field=where)
            properties[name] = _undeclared_value(value, index, where)
        else:
            try:
                properties[name] = coerce_json(value, field_type)
            except BadValue as exc:
                raise InvalidInput(f"property {name!r}: {exc}", index=index, field=where) from None
        json = field_type is FieldType.JSON
        total += limits.check_value(name, properties[name], json=json, index=index, field=where)
    limits.check_item_size(total, index=index, field="properties")
    return properties


def _undeclared_value(value: object, index: int, where: str) -> FieldValue:
    """Undeclared properties: a scalar or a homogeneous list of scalars (what Neo4j can store)."""
    if isinstance(value, list):
        items = [_undeclared_scalar(item, index, where) for item in value]
        kinds = {_scalar_kind(item) for item in items}
        if len(kinds) > 1:
            raise InvalidInput("a list property must hold values of one type", index=index, field=where)
        return cast("list[JsonValue]", items)  # booleans, text and numbers: JSON scalars
    return _undeclared_scalar(value, index, where)


def _undeclared_scalar(value: object, index: int, where: str) -> FieldValue:
    if isinstance(value, bool | str):
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput("text must not contain NUL characters", index=index, field=where)
        return value
    if isinstance(value, int | float | Decimal):
        try:
            if isinstance(value, int):
                return coerce_json(value, FieldType.INTEGER)
            if (
                isinstance(value, Decimal)
                and value == value.to_integral_value()
                and "." not in str(value)
                and "E" not in str(value).upper()
            ):
                return coerce_json(int(value), FieldType.INTEGER)
            return coerce_json(value, FieldType.FLOAT)
        except BadValue as exc:
            raise InvalidInput(str(exc), index=index, field=where) from None
    raise InvalidInput(
        "an undeclared property must be a string, number, boolean or a list of those; declare it as json "
        "to store objects",
        index=index,
        field=where,
    )


def _scalar_kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


# -- building a schema from a client document ------------------------------------------------------


def parse_graph_schema(document: object) -> GraphSchema:
    if document is None:
        return GraphSchema()
    if not isinstance(document, Mapping):
        raise InvalidInput("schema must be an object", field="schema")
    unknown = set(document) - {"node_labels", "relationship_types", "strict"}
    if unknown:
        raise InvalidInput(f"unknown schema field {sorted(unknown)[0]!r}", field="schema")
    strict = document.get("strict", False)
    if not isinstance(strict, bool):
        raise InvalidInput("schema.strict must be a boolean", field="schema.strict")
    labels = tuple(
        _parse_label(raw, f"schema.node_labels[{i}]") for i, raw in enumerate(_list(document, "node_labels"))
    )
    rels = tuple(
        RelationshipType(name, _parse_properties(raw, where))
        for i, raw in enumerate(_list(document, "relationship_types"))
        for where in [f"schema.relationship_types[{i}]"]
        for name in [_parse_named(raw, where, {"name", "properties"}, "relationship type")]
    )
    declared_indexes = sum(len(lb.indexes) for lb in labels)
    if declared_indexes > limits.MAX_DECLARED_INDEXES:
        raise InvalidInput(
            f"a graph schema may declare at most {limits.MAX_DECLARED_INDEXES} indexes ({declared_indexes} given)",
            field="schema.node_labels",
        )
    _unique([lb.name for lb in labels], "schema.node_labels", "label")
    _unique([r.name for r in rels], "schema.relationship_types", "relationship type")
    return GraphSchema(node_labels=labels, relationship_types=rels, strict=strict)


def _list(document: Mapping[str, object], key: str) -> list[Any]:
    value = document.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"schema.{key} must be a list", field=f"schema.{key}")
    return value


def _parse_named(raw: object, where: str, allowed: set[str], what: str) -> str:
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"a {what} must be an object", field=where)
    unknown = set(raw) - allowed
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}", field=where)
    return validate_name(raw.get("name"), what=f"{what} name", field=f"{where}.name")


def _parse_label(raw: object, where: str) -> NodeLabel:
    name = _parse_named(raw, where, {"name", "properties", "indexes"}, "label")
    raw = cast("Mapping[str, Any]", raw)  # _parse_named has checked that it is an object
    properties = _parse_properties(raw, where)
    declared = {p.name for p in properties}
    indexes: list[PropertyIndex] = []
    for j, item in enumerate(raw.get("indexes") or []):
        at = f"{where}.indexes[{j}]"
        if isinstance(item, str):
            item = {"properties": [item]}
        if not isinstance(item, Mapping) or set(item) - {"properties", "unique"}:
            raise InvalidInput('an index is {"properties": [...], "unique"?: bool} or a property name', field=at)
        props = item.get("properties")
        if not isinstance(props, list) or not props or not all(isinstance(p, str) for p in props):
            raise InvalidInput("index properties must be a non-empty list of names", field=at)
        if len(props) > limits.MAX_INDEX_PROPERTIES:
            raise InvalidInput(f"an index may cover at most {limits.MAX_INDEX_PROPERTIES} properties", field=at)
        for prop in props:
            if prop not in declared:
                raise InvalidInput(f"index property {prop!r} is not declared on {name!r}", field=at)
        unique = item.get("unique", False)
        if not isinstance(unique, bool):
            raise InvalidInput("unique must be a boolean", field=at)
        indexes.append(PropertyIndex(tuple(props), unique))
    return NodeLabel(name, properties, tuple(indexes))


def _parse_properties(raw: Mapping[str, object], where: str) -> tuple[PropertyDef, ...]:
    items = raw.get("properties") or []
    if not isinstance(items, list):
        raise InvalidInput("properties must be a list", field=f"{where}.properties")
    result: list[PropertyDef] = []
    for k, item in enumerate(items):
        at = f"{where}.properties[{k}]"
        if not isinstance(item, Mapping) or set(item) - {"name", "type"}:
            raise InvalidInput('a property is {"name", "type"}', field=at)
        name = validate_name(item.get("name"), what="property name", field=f"{at}.name")
        if name == NODE_KEY:
            raise InvalidInput(
                "'id' names the key in filters and sorts, so it cannot be declared (a property named id may "
                "still be written, undeclared, in a schema that is not strict)",
                field=f"{at}.name",
            )
        try:
            result.append(PropertyDef(name, FieldType(str(item.get("type")))))
        except ValueError:
            allowed = ", ".join(t.value for t in FieldType)
            raise InvalidInput(f"property type must be one of {allowed}", field=f"{at}.type") from None
    _unique([p.name for p in result], f"{where}.properties", "property")
    return tuple(result)


def _unique(names: list[str], where: str, what: str) -> None:
    for name in names:
        if names.count(name) > 1:
            raise InvalidInput(f"{what} {name!r} is declared twice", field=where)


def graph_schema_document(schema: GraphSchema) -> dict[str, Any]:
    def props(items: tuple[PropertyDef, ...]) -> list[dict[str, str]]:
        return [{"name": p.name, "type": p.type.value} for p in items]

    return {
        "node_labels": [
            {
                "name": label.name,
                "properties": props(label.properties),
                "indexes": [{"properties": list(ix.properties), "unique": ix.unique} for ix in label.indexes],
            }
            for label in schema.node_labels
        ],
        "relationship_types": [{"name": r.name, "properties": props(r.properties)} for r in schema.relationship_types],
        "strict": schema.strict,
    }
