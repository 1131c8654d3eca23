"""HTTP as clients expect it, in one place: HEAD wherever GET is, content negotiation that honours
q-values before Litestar's gzip middleware sees the header, `Vary: Accept-Encoding` on every answer,
`Allow` lists that include HEAD, CORS for the configured origins only, and the `Location`/`Link`
headers routes add to their answers.

Why an ASGI wrapper and not per-route code: these rules hold for every route (404s and 405s included),
and a route cannot forget them."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Response
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders, ResponseHeader
from litestar.exceptions import MethodNotAllowedException
from litestar.types import ASGIApp

from datainfra.adapters.http.encoding import json_response

GZIP_MINIMUM_BYTES = 1024
"""Bodies smaller than this go out as they are: gzip saves little on them and costs a header."""
GZIP_LEVEL = 1
"""nginx's default level: on export CSV it makes 34% of the size where level 6 makes 31%, for a third
of the CPU (~100 MB/s against ~33 MB/s of input on this machine), which a streamed export spends on
the event loop; level 9 (Litestar's default) costs ~2x level 6 again."""

CORS_ALLOWED_HEADERS = ["X-API-Key", "Authorization", "Idempotency-Key", "If-Match", "Content-Type", "X-Request-ID"]
CORS_EXPOSED_HEADERS = ["ETag", "Location", "Link", "Retry-After", "X-Request-ID", "Content-Disposition"]
CORS_METHODS: list[Any] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CORS_MAX_AGE_S = 600

LOCATION_DOC = [
    ResponseHeader(name="Location", documentation_only=True, description="Absolute path of what was created")
]
LINK_DOC = [
    ResponseHeader(
        name="Link",
        documentation_only=True,
        description='`<next>; rel="next"`, the same URL as `next`; absent on the last page',
    )
]
"""For the OpenAPI document: the headers `created` and `page_response` add."""

_VARY_OR_ALLOW = (b"vary", b"allow")

HEAD_ONLY = "datainfra.head_only"
"""Set in a GET request's scope state when the client sent HEAD: a route may skip building a body."""


def compression_config() -> CompressionConfig:
    """gzip, streamed chunk by chunk (each chunk is compressed and flushed as it passes)."""
    return CompressionConfig(backend="gzip", minimum_size=GZIP_MINIMUM_BYTES, gzip_compress_level=GZIP_LEVEL)


def cors_config(origins: tuple[str, ...]) -> CORSConfig | None:
    """None (no CORS headers at all, browsers refuse cross-origin reads) unless origins are set.

    Credentials stay off: the API key travels in a header a script must set on purpose, never in a
    cookie a browser adds by itself, so `*` cannot let a foreign page act with a visitor's key."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=CORS_METHODS,
        allow_headers=CORS_ALLOWED_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=CORS_MAX_AGE_S,
    )


def accepted_encoding(header: str) -> str | None:
    """'gzip' when the Accept-Encoding header accepts it with a q-value above 0 (directly or through
    `*`), else None (identity). `gzip;q=0` is a refusal, not a request (RFC 9110 §12.5.3)."""
    explicit: dict[str, float] = {}
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        explicit[name] = quality
    quality = explicit.get("gzip", explicit.get("x-gzip", explicit.get("*", 0.0)))
    return "gzip" if quality > 0 else None


def created(response: Response[Any], location: str) -> Response[Any]:
    """A 201 answer with `Location`: the absolute path of the resource the request created."""
    response.headers["Location"] = location
    return response


def with_next_link(response: Response[Any], next_url: str | None) -> Response[Any]:
    """A page answer with `Link: <next>; rel="next"` when there is a following page."""
    if next_url is not None:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


def route_methods(app: Litestar, path: str) -> set[str] | None:
    """The methods the route at `path` really has, read from the router's trie (the one a 405 lists).

    Litestar's own OPTIONS answer lists the methods of the first handler group registered on a path,
    not of the route (a controller's GET next to its POST is missing), hence this look-up. It asks the
    router for a method no route has and reads the Allow of the MethodNotAllowedException it raises;
    None when the path has no route or the router's private look-up changed shape."""
    try:
        app.asgi_router._handle_routing(path, "NO-SUCH-METHOD")  # type: ignore[arg-type]
    except MethodNotAllowedException as exc:
        allow = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("allow", "")
        return {m.strip().upper() for m in allow.split(",") if m.strip()}
    except Exception:  # a 404 path, or a Litestar whose private router API moved
        return None
    return None


class HttpConventions:
    """ASGI wrapper around the whole app (router, CORS and error handling included)."""

    def __init__(self, app: ASGIApp, litestar: Litestar) -> None:
        self.app = app
        self.litestar = litestar

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The scope is changed in place, not copied: the middleware outside reads what the router
        # stores in it (the route template), and restores the method afterwards.
        _negotiate(scope)
        head = scope["method"] == "HEAD"
        options = scope["method"] == "OPTIONS"
        if head:
            scope["method"] = "GET"
            scope.setdefault("state", {})[HEAD_ONLY] = True
        started = False
        body_sent = False

        async def receive_wrapper() -> Any:
            if head and started:
                # A HEAD answer has its headers: tell a streaming body to stop (as if the client left).
                return {"type": "http.disconnect"}
            return await receive()

        async def send_wrapper(message: Any) -> None:
            nonlocal started, body_sent
            if message["type"] == "http.response.start":
                started = True
                allowed = route_methods(self.litestar, scope["path"]) if options else None
                _add_conventional_headers(message, allowed)
                await send(message)
                return
            if head and message["type"] == "http.response.body":
                if not body_sent:
                    body_sent = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            if head:
                scope["method"] = "HEAD"


def _negotiate(scope: Any) -> None:
    """Reduce Accept-Encoding to what Litestar's substring check reads correctly: `gzip` or nothing."""
    given = [v for k, v in scope.get("headers", ()) if k == b"accept-encoding"]
    if not given or given == [b"gzip"]:
        return  # nothing to reduce (the common cases, left as they are without copying the headers)
    headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"accept-encoding"]
    raw = b", ".join(given)
    if raw and accepted_encoding(raw.decode("latin-1")):
        headers.append((b"accept-encoding", b"gzip"))
    scope["headers"] = headers


def _add_conventional_headers(message: Any, allowed: set[str] | None) -> None:
    raw = message.get("headers")
    if isinstance(raw, list) and not any(name.lower() in _VARY_OR_ALLOW for name, _ in raw):
        raw.append((b"vary", b"Accept-Encoding"))  # what the general case below does to such a list
        return
    headers = MutableScopeHeaders(message)
    vary = [v.strip().lower() for v in (headers.get("vary") or "").split(",")]
    if "accept-encoding" not in vary and "*" not in vary:
        headers.extend_header_value("vary", "Accept-Encoding")
    allow = headers.get("allow")
    if allow is not None:
        methods = allowed or {m.strip().upper() for m in allow.split(",") if m.strip()}
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
        headers["Allow"] = ", ".join(sorted(methods))


def page_response(document: dict[str, Any]) -> Response[Any]:
    """A GET page document as JSON, its `next` (an absolute-path URL) also as a `Link` header."""
    return with_next_link(json_response(document), document.get("next"))
