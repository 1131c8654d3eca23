"""Success answers a return annotation cannot describe (`opt["response"]`: {media type: type}):
streamed exports in their formats, the query endpoint's result. And the headers answers carry."""

from __future__ import annotations

from typing import Any

from datainfra.adapters.http.openapi.components import Components, take_examples
from datainfra.adapters.http.openapi.walk import Operation


def document(operation: Operation, components: Components) -> None:
    declared: dict[str, Any] | None = operation.opt.get("response")
    if declared is None:
        return
    status = str(operation.handler.status_code)
    answer = operation.spec.setdefault("responses", {}).setdefault(status, {"description": "Success"})
    content = {}
    for media_type, tp in declared.items():
        schema = components.schema(tp)
        media: dict[str, Any] = {"schema": schema}
        examples = take_examples(schema)
        if examples:
            media["example"] = examples[0]
        content[media_type] = media
    answer["content"] = content
