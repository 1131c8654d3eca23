"""The hot path of `GET /sessions/{s}/datasets/{d}/records`: answered before Litestar's router,
dependency resolution and response machinery, with the page body written by the store.

A pure-ASGI wrapper inside HttpConventions (so HEAD, negotiation and Vary still apply) and
ObservabilityMiddleware (request id, access line, metrics). It answers only the plain case, through
`services.record_pages.RecordPages` (cached catalog facts, re-checked by the store in the page's own
read); every other request passes to the app unchanged: another method or path, a CORS request (an
`Origin` header) and whatever the
service declines (no/unknown/revoked key, unknown or graph dataset, `count`, a parameter problem, a
store error). So every problem document, header rule and status stays the route's; the answer here
is the route's 200 page document, byte for byte what `page_response(page_doc(...))` writes around
the items: `{"items": [...], "limit", "offset", "next"?}` and `Link` when a next page exists,
gzipped as Litestar's compression would (from GZIP_MINIMUM_BYTES, when the client accepts it)."""

from __future__ import annotations

import gzip
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from datainfra.adapters.http.conventions import GZIP_LEVEL, GZIP_MINIMUM_BYTES
from datainfra.adapters.http.dependencies import key_from_headers
from datainfra.adapters.http.encoding import encode_json
from datainfra.adapters.http.query_strings import RecordPageQuery, page_request, page_url, query_pairs, read_query
from datainfra.domain.errors import DomainError
from datainfra.services.record_pages import FastPage, RecordPages

log = structlog.get_logger("datainfra.fast_pages")

ROUTE_TEMPLATE = "/sessions/{session_id}/datasets/{dataset_id}/records"
"""The route's template as Litestar records it in the scope (the access line and metrics label)."""
_PATH = re.compile(r"^/sessions/([^/]+)/datasets/([^/]+)/records$")

ASGIApp = Callable[[Any, Any, Any], Any]


def page_body(page: FastPage, path: str) -> tuple[bytes, str | None]:
    """The page document (presenters.page_doc's members, in its order) and the next page's URL."""
    next_url = page_url(path, page.next) if page.next is not None else None
    body = b'{"items":' + page.items + b',"limit":' + str(page.limit).encode() + b',"offset":'
    body += str(page.offset).encode()
    if next_url is not None:
        body += b',"next":' + encode_json(next_url)
    return body + b"}", next_url


class FastRecordPages:
    """ASGI wrapper; `pages` answers the app's RecordPages at the moment of use (it lives in the
    container on app.state, which tests rebind), or None to switch the fast path off."""

    def __init__(self, app: ASGIApp, pages: Callable[[], RecordPages | Awaitable[RecordPages] | None]) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        match = _PATH.match(scope["path"])
        if match is None or not await self._answer(scope, send, match[1], match[2]):
            await self.app(scope, receive, send)

    async def _answer(self, scope: Any, send: Any, session_id: str, dataset_id: str) -> bool:
        api_key = authorization = None
        gzipped = False
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                api_key = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"accept-encoding":
                gzipped = value == b"gzip"  # HttpConventions reduced it to `gzip` or removed it
            elif name == b"origin":
                return False
        pages = self.pages()
        if inspect.isawaitable(pages):  # a provider with async resources beneath answers a future
            pages = await pages
        if pages is None:
            return False
        try:
            key = key_from_headers(api_key, authorization)
        except DomainError:
            return False
        # The query string read as the route reads it (query_strings.RecordPageQuery).
        try:
            query, filters = read_query(query_pairs(scope.get("query_string", b"")), RecordPageQuery)
        except DomainError:
            return False  # the route reads it again and reports the parameter at fault
        try:
            page = await pages.page(key, session_id, dataset_id, page_request(query, filters))
        except Exception:  # not a DomainError (the service declines those): the route meets it again
            log.warning("fast_page_failed", exc_info=True)  # and answers its 500 problem, logged there
            return False
        if page is None:
            return False
        body, next_url = page_body(page, scope.get("root_path", "") + scope["path"])
        headers = [(b"content-type", b"application/json")]
        if gzipped and len(body) >= GZIP_MINIMUM_BYTES:  # as Litestar's CompressionMiddleware would
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
        headers.append((b"content-length", str(len(body)).encode()))
        if next_url is not None:
            headers.append((b"link", f'<{next_url}>; rel="next"'.encode("latin-1")))
        scope["path_template"] = ROUTE_TEMPLATE
        scope.setdefault("state", {})["user_id"] = page.user.id
        structlog.contextvars.bind_contextvars(user_id=page.user.id)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True
