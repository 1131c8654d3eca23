"""Query parameters from `opt["query"]` (a Struct class: one parameter per field), the free-form
filters a route takes (`field=op:value`), and the headers: none of them is ever null, and every
authenticated POST takes an Idempotency-Key."""

from __future__ import annotations

from typing import Any

import msgspec

from datainfra.adapters.http.openapi.components import Components
from datainfra.adapters.http.openapi.walk import Operation
from datainfra.domain.filters import Operator
from datainfra.domain.names import MAX_NAME_BYTES

FILTERS = "filters"
OPERATORS = [op.value for op in Operator]
FILTER_TARGETS = {"records": "a column", "nodes": "a node property", "edges": "an edge property"}
FILTER_EXAMPLES = {
    "records": "?age=gte:30&city=in:Paris,Lyon&name=ilike:a%25",
    "nodes": "?age=gte:30&name=ilike:a%25&email=is:notnull",
    "edges": "?weight=gt:0.5&since=lt:2020",
}
FILTER_PREFILLED = {"records": {"age": "gte:30"}, "nodes": {"age": "gte:30"}, "edges": {"since": "gte:1900"}}
"""What the docs UI pre-fills: the examples' story (the `people` dataset, the `friends` graph)."""
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique text (e.g. a UUID) of yours. A retry with the same key and the same request "
    "replays the first answer (`Idempotent-Replayed: true`) instead of writing again; the same key with another "
    "request is a 422, while the first still runs a 409. Keys are per user and kept 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def document(operation: Operation, components: Components) -> None:
    spec = operation.spec
    params = [_path_parameter(_not_nullable(p), operation.spanning) for p in spec.get("parameters", [])]
    query = operation.opt.get("query")
    if query is not None:
        shapes = query if isinstance(query, tuple) else (query,)
        params = [p for p in params if p["in"] != "query"] + merged_parameters(shapes, components)
    if operation.method == "POST" and operation.authenticated:
        params.append(dict(IDEMPOTENCY_KEY))
    if params:
        spec["parameters"] = params


def merged_parameters(shapes: tuple[type[msgspec.Struct], ...], components: Components) -> list[dict[str, Any]]:
    """A route serving tabular and graph datasets reads its query string with one Struct per kind
    (e.g. RecordPageQuery, NodePageQuery): the first kind's parameters, then those only a later kind
    takes, said to be for graph datasets; the filters (of the first) last."""
    params = query_parameters(shapes[0], components)
    named = {p["name"] for p in params}
    extra = []
    for shape in shapes[1:]:
        for param in query_parameters(shape, components):
            if param["name"] in named or param["name"] == FILTERS:
                continue
            param["description"] = f"Graph datasets only. {param.get('description', '')}".strip()
            named.add(param["name"])
            extra.append(param)
    filters = [p for p in params if p["name"] == FILTERS]
    return [p for p in params if p["name"] != FILTERS] + extra + filters


def query_parameters(query: type[msgspec.Struct], components: Components) -> list[dict[str, Any]]:
    """One parameter per field of `query` (its Meta: description, examples, bounds), then the filters."""
    (ref,), defs = msgspec.json.schema_components([query], ref_template="{name}")
    schema = defs[ref["$ref"]]
    required = set(schema.get("required", []))
    params = []
    for name, field_schema in schema.get("properties", {}).items():
        field_schema = _without_null(_resolved(field_schema, defs, components))
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in field_schema:
            param["description"] = field_schema.pop("description")
        if "examples" in field_schema:
            param["example"] = field_schema.pop("examples")[0]
        field_schema.pop("title", None)
        if field_schema.get("default", 0) is None:
            del field_schema["default"]
        param["schema"] = field_schema
        if field_schema.get("type") == "array":
            param["style"], param["explode"] = "form", True
        params.append(param)
    target = getattr(query, "filters", None)
    if target is not None:
        params.append(filter_parameter(str(target), sorted(schema.get("properties", {}))))
    return params


def filter_parameter(target: str, reserved: list[str]) -> dict[str, Any]:
    """Free-form `field=op:value` parameters as one form-exploded object: each member is a parameter
    of its own on the wire (`?age=gte:30`), the object's name never is."""
    what = FILTER_TARGETS.get(target, "a field")
    return {
        "name": FILTERS,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "description": (
            f"Filters, one query parameter per condition: `<field>=<operator>:<value>`, where the field is {what} "
            f"name (`where.<name>` for a field named like one of this operation's own parameters: "
            f"{', '.join(reserved) or 'none'}). Operators: {', '.join(OPERATORS)}. `in`/`nin` take comma-separated "
            'values (a value holding a comma is double-quoted: `in:"a,b",c`); `like`/`ilike` take SQL patterns '
            "(`%` any run, `_` one character, backslash escapes); `is` takes null, notnull, true or false. "
            "Conditions AND together; a condition on NULL is false except `is:null`. Repeat a field for a range "
            f"(`age=gte:18&age=lt:65`). Example: `{FILTER_EXAMPLES.get(target, '?name=eq:x')}`."
        ),
        "example": FILTER_PREFILLED.get(target, {}),
        "schema": {
            "type": "object",
            "propertyNames": {
                "pattern": rf"^(where\.)?[A-Za-z_][A-Za-z0-9_]{{0,{MAX_NAME_BYTES - 1}}}$",
                "not": {"enum": reserved},
            },
            "additionalProperties": {"type": "string", "pattern": f"^({'|'.join(OPERATORS)}):"},
        },
    }


def _resolved(schema: dict[str, Any], defs: dict[str, Any], components: Components) -> dict[str, Any]:
    """A field's schema, with references to Structs kept as components of the document."""
    text = msgspec.json.encode(schema).decode()
    for name in defs:
        if f'"{name}"' in text:
            components.schemas.setdefault(name, _refs_to_components(defs[name]))
    resolved: dict[str, Any] = _refs_to_components(schema)
    return resolved


def _refs_to_components(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: (f"#/components/schemas/{v}" if k == "$ref" else _refs_to_components(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_refs_to_components(item) for item in schema]
    return schema


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter or header is absent or text, never null."""
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if options is None:
            continue
        kept = [o for o in options if o.get("type") != "null"]
        rest = {k: v for k, v in schema.items() if k != key}
        return {**rest, **kept[0]} if len(kept) == 1 else {**rest, key: kept}
    if isinstance(schema.get("type"), list):
        types = [t for t in schema["type"] if t != "null"]
        return {**schema, "type": types[0] if len(types) == 1 else types}
    return schema


def _path_parameter(param: dict[str, Any], spanning: frozenset[str]) -> dict[str, Any]:
    """A path parameter is never empty (`/records/`, an empty key, is another route's URL), and is one
    segment without `/` (even percent-encoded: the server decodes the path before routing), except
    one the route declares `{name:path}`, read from the raw path (a record key may hold `/`)."""
    if param["in"] != "path" or param.get("schema", {}).get("type") != "string":
        return param
    limits: dict[str, Any] = {"minLength": 1} if param["name"] in spanning else {"minLength": 1, "pattern": "^[^/]+$"}
    return {**param, "schema": {**param["schema"], **limits}}


def _not_nullable(param: dict[str, Any]) -> dict[str, Any]:
    if param["in"] in ("header", "query") and "schema" in param:
        return {**param, "schema": _without_null(param["schema"])}
    return param
