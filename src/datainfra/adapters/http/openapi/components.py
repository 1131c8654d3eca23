"""msgspec types → JSON Schema, shared through the document's components.

msgspec is what decodes and validates every body, so its schema of a type is the truth about that
type: Litestar's drafts of the same Structs are replaced by msgspec's (which say, for instance, that
a Struct forbidding unknown fields has `additionalProperties: false`)."""

from __future__ import annotations

from typing import Any

import msgspec

REF = "#/components/schemas/{name}"
BINARY = {"type": "string", "format": "binary"}
"""A raw binary body (msgspec would say base64 text, which is JSON's way, not a raw body's)."""


def _structs() -> dict[str, type[msgspec.Struct]]:
    """Every Struct of the HTTP adapter by name (the names Litestar gives its components)."""
    found: dict[str, type[msgspec.Struct]] = {}
    pending = list(msgspec.Struct.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("datainfra.adapters.http"):
            found[cls.__name__] = cls
    return found


class Components:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})

    def schema(self, tp: Any) -> dict[str, Any]:
        """The JSON Schema of `tp` (a tuple: any of its types), its Structs added as components."""
        if isinstance(tp, tuple):
            return {"anyOf": [self.schema(item) for item in tp]}
        if tp is bytes:
            return dict(BINARY)
        (schema,), components = msgspec.json.schema_components([tp], ref_template=REF)
        self.schemas.update(components)
        return dict(schema)

    def replace_structs(self) -> None:
        """Litestar's component schemas of our Structs → msgspec's."""
        structs = _structs()
        for name in list(self.schemas):
            cls = structs.get(name)
            if cls is not None:
                self.schema(cls)

    def finish(self) -> None:
        self.document["components"]["schemas"] = dict(sorted(self.schemas.items()))
        _spelled_out(self.document["components"]["schemas"])
        _spelled_out(self.document.get("paths", {}))


def _spelled_out(node: Any) -> None:
    """What msgspec leaves implicit, said: `{"type": "array"}` (a `list[Any]`) gets `"items": {}`,
    an enum of strings `"type": "string"`. The same meaning; code generators and docs UIs need it."""
    if isinstance(node, dict):
        if node.get("type") == "array" and "items" not in node and "prefixItems" not in node:
            node["items"] = {}
        enum = node.get("enum")
        if isinstance(enum, list) and enum and "type" not in node and all(isinstance(v, str) for v in enum):
            node["type"] = "string"
        for key, value in node.items():
            if key not in ("example", "examples"):
                _spelled_out(value)
    elif isinstance(node, list):
        for item in node:
            _spelled_out(item)


def take_examples(schema: dict[str, Any]) -> list[Any]:
    """The examples of a schema (of each member of an anyOf, in order), taken out of it: they belong
    to the media type object, where tools look for a body's examples."""
    found = list(schema.pop("examples", []))
    for member in schema.get("anyOf", []):
        found.extend(member.pop("examples", []))
    return found
