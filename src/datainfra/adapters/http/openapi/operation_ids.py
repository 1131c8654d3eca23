"""Operation ids a code generator can name functions by: `<resource>_<handler>` (record_query,
session_create, export_export_dataset), from the controller (RecordItemRoutes → record_items) or
the module (users.register → users_register) and the handler's own name."""

from __future__ import annotations

import re

from datainfra.adapters.http.openapi.walk import Operation


def document(operation: Operation) -> None:
    fn = operation.handler.fn
    qualified = getattr(fn, "__qualname__", fn.__name__ if hasattr(fn, "__name__") else "handler")
    owner, _, name = qualified.rpartition(".")
    if owner:
        resource = re.sub(r"(?<!^)(?=[A-Z])", "_", owner.removesuffix("Routes")).lower()
    else:
        resource = getattr(fn, "__module__", "").rpartition(".")[2]
    operation.spec["operationId"] = f"{resource}_{name}" if resource != name else name
