"""Each documented operation with the handler that serves it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from datainfra.adapters.http.dependencies import AUTHENTICATED


@dataclass(frozen=True, slots=True)
class Operation:
    handler: HTTPRouteHandler
    method: str
    """Upper case, as in HTTP."""
    path: str
    """As in the document: /sessions/{session_id}."""
    spec: dict[str, Any]
    """The operation object of the document (changed in place)."""
    spanning: frozenset[str] = frozenset()
    """Path parameters declared `{name:path}`: they may span segments (a record key holding `/`)."""

    @property
    def opt(self) -> dict[str, Any]:
        return self.handler.opt

    @property
    def authenticated(self) -> bool:
        """Whether the handler needs the caller's user (the `user` dependency, or the path's session
        or dataset, which are resolved through it)."""
        return not AUTHENTICATED.isdisjoint(self.handler.parsed_fn_signature.parameters)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def operations(app: Litestar, document: dict[str, Any]) -> Iterator[Operation]:
    paths = document.get("paths", {})
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        item = paths.get(route.path_format or "/")
        if item is None:
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in sorted(handler.http_methods):
                spec = item.get(method.lower())
                if spec is not None and method != "HEAD":
                    yield Operation(handler, method, route.path_format, spec, _spanning(route.path))


_SPANNING = re.compile(r"{(\w+):path}")


def _spanning(path: str) -> frozenset[str]:
    return frozenset(_SPANNING.findall(path))
