"""HTTP conditional requests (RFC 9110 §13) and record keys in URLs, turned into domain values.

Why a module: two resources (a record, a dataset) read `If-Match` / `If-None-Match` the same way,
and the record key must be read from the *raw* path, where a percent-encoded comma is still told
apart from the comma that separates the parts of a composite key.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import unquote

from litestar import Request
from litestar.params import HeaderParameter

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.record_versions import IfMatch

IfMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description='Write only if the resource\'s ETag is one of these ("..." tags, comma-separated) or, with *, '
        "only if it exists; else 412.",
    ),
]
IfNoneMatchHeader = Annotated[
    str | None,
    HeaderParameter(name="If-None-Match", required=False, description="304 when the record's ETag is one of these."),
]
"""Documentation of the headers (the handlers read them through `if_match` / `none_match`)."""

_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def _tags(value: str, header: str) -> list[tuple[bool, str]]:
    """(weak, opaque tag) pairs of a list of entity tags; 400 naming the header when malformed."""
    found: list[tuple[bool, str]] = []
    position = 0
    value = value.strip()
    while position < len(value):
        match = _ENTITY_TAG.match(value, position)
        if match is None or match.end() == position:
            raise InvalidRequest(f'{header} must be * or a list of entity tags ("..." or W/"...")', parameter=header)
        found.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return found


def if_match(request: Request[Any, Any, Any]) -> IfMatch | None:
    """The request's If-Match: None when absent; strong comparison, so a weak tag never matches."""
    value = request.headers.get("if-match")
    if value is None:
        return None
    if value.strip() == "*":
        return IfMatch(any=True)
    return IfMatch(tags=frozenset(tag for weak, tag in _tags(value, "If-Match") if not weak))


def none_match(request: Request[Any, Any, Any], current: str) -> bool:
    """Whether If-None-Match names the current tag (weak comparison), i.e. a GET answers 304."""
    value = request.headers.get("if-none-match")
    if value is None:
        return False
    if value.strip() == "*":
        return True
    return any(tag == current for _weak, tag in _tags(value, "If-None-Match"))


def key_parts(request: Request[Any, Any, Any], decoded: str, columns: int) -> list[str]:
    """The text parts of the record key that ends the path, for a key of `columns` columns: the
    path's tail after the segments before the key, taken from the raw (still percent-encoded) path,
    split on "," when the key has several columns, each part then percent-decoded as UTF-8.
    `decoded` is the path parameter (the decoded tail), used when the server passes no raw path."""
    raw = request.scope.get("raw_path")
    tail = decoded.lstrip("/")
    if isinstance(raw, bytes | bytearray) and raw:
        path = request.scope["path"]
        before = path[: len(path) - len(tail)] if tail and path.endswith(tail) else path
        raw_text = bytes(raw).split(b"?", 1)[0].decode("latin-1")
        tail = "/".join(raw_text.split("/")[before.count("/") :])
        parts = tail.split(",") if columns > 1 else [tail]
        try:
            return [unquote(part, errors="strict") for part in parts]
        except UnicodeDecodeError:
            raise InvalidRequest("the record key is not percent-encoded UTF-8", parameter="key") from None
    return tail.split(",") if columns > 1 else [tail]
