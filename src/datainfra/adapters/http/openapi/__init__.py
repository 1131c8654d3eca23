"""The OpenAPI document, finished from typed metadata after Litestar has drafted it.

Litestar drafts paths, path parameters, operation ids, summaries and the bodies of `JSONBody`
routes. Everything a route reads or answers by itself is declared beside its handler, in `opt`:

- `opt["query"]`: a msgspec Struct class whose fields are the route's named query parameters (their
  `Meta` gives descriptions, examples and bounds; a field without default is required). A ClassVar
  `filters: ClassVar[str]` ("records", "nodes" or "edges") on it says the route also takes free-form
  filters `field=op:value` (documented as one form-exploded object parameter).
- `opt["body"]`: {media type: type} for a body the route reads raw; the type is a msgspec type
  (a Struct, a list, `str` for text, `bytes` for binary) or a tuple of them (any of them). Examples
  come from `Meta(examples=[...])` on the type. `opt["body_required"] = False` when an empty body
  means every default.
- `opt["response"]`: {media type: type} for the success answer, where the return annotation cannot
  say it (streamed exports, the query endpoint's result).
- `opt["errors"]`: the error statuses the route adds to those of its class (see `problems.py`).

Each module below does one job over the drafted document: components.py (msgspec types → JSON
Schema components), parameters.py, bodies.py, responses.py, problems.py, security.py, operation_ids.py."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin

from datainfra.adapters.http.openapi import bodies, operation_ids, parameters, problems, responses, security
from datainfra.adapters.http.openapi.components import Components
from datainfra.adapters.http.openapi.walk import operations


def finish_document(app: Litestar) -> dict[str, Any]:
    """Finish the document Litestar serves at /schema/openapi.json (in place) and return it."""
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    components = Components(document)
    components.replace_structs()
    for operation in operations(app, document):
        parameters.document(operation, components)
        bodies.document(operation, components)
        responses.document(operation, components)
        problems.document(operation, components)
        security.document(operation)
        operation_ids.document(operation)
    security.schemes(document)
    components.finish()
    return document


__all__ = ["finish_document"]
