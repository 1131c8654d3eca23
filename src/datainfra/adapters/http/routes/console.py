"""The web console (/console): static files shipped as package data (adapters/http/console/), served
by the API itself so it works offline and needs no Node.js. The pages talk to the public REST API
with the key the user typed, so this route holds no privilege of its own and needs no key.

Every answer carries a Content-Security-Policy allowing scripts, styles and connections to this
origin only (no inline script, no eval): a value that slipped into the page as markup could not run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Response
from litestar.static_files import create_static_files_router

CONSOLE_PATH = "/console"
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


async def _secure(response: Response[Any]) -> Response[Any]:
    response.headers.update(SECURITY_HEADERS)
    return response


def console_router() -> Any:
    """/console (index.html) and its assets under /console/..., out of the OpenAPI document."""
    return create_static_files_router(
        path=CONSOLE_PATH,
        directories=[CONSOLE_DIR],
        html_mode=True,
        name="console",
        after_request=_secure,
        include_in_schema=False,
    )
