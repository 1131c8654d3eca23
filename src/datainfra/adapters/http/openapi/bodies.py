"""Request bodies a route reads raw (`opt["body"]`: {media type: type}), with their examples.

Examples come from `Meta(examples=[...])` on the declared type and move to the media type object,
where Swagger UI pre-fills "Try it out" and schemathesis sends them first: every one must be a body
the API accepts (tests/unit/http/test_openapi_document.py sends them)."""

from __future__ import annotations

from typing import Any

from datainfra.adapters.http.openapi.components import Components, take_examples
from datainfra.adapters.http.openapi.walk import Operation


def document(operation: Operation, components: Components) -> None:
    declared: dict[str, Any] | None = operation.opt.get("body")
    if declared is None:
        return
    content = {}
    for media_type, tp in declared.items():
        schema = components.schema(tp)
        media: dict[str, Any] = {"schema": schema}
        examples = take_examples(schema)
        if examples:
            media["examples"] = {f"example{i + 1}" if i else "example": {"value": v} for i, v in enumerate(examples)}
        content[media_type] = media
    body: dict[str, Any] = {"required": operation.opt.get("body_required", True), "content": content}
    description = operation.opt.get("body_description") or operation.spec.get("requestBody", {}).get("description")
    if description:
        body["description"] = description
    operation.spec["requestBody"] = body
