"""The request body limit on routes that read their body themselves.

The records write and the session import turn Litestar's own limit off (`request_max_body_size=None`)
so that CSV, NDJSON, GraphML, Arrow and ZIP bodies stream past it; every reader on those routes takes
the app's limit from here, and a body read whole (JSON) is read through `read_body`, never
`request.body()`, so no body there is unbounded."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from typing import IO, Any

from datainfra.domain.errors import PayloadTooLarge

SPOOL_IN_MEMORY = 8 * 1024 * 1024
"""A spooled body stays in memory up to this size, then moves to a temporary file."""


def body_limit(request: Any) -> int | None:
    """The app's request body limit in bytes (DATAINFRA_MAX_BODY_BYTES), None when unset."""
    limit = request.app.request_max_body_size
    return limit if isinstance(limit, int) else None


async def bounded(chunks: AsyncIterable[bytes], limit: int | None) -> AsyncIterator[bytes]:
    """The body's chunks, refused (413) past `limit` bytes."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        yield chunk


async def read_body(request: Any) -> bytes:
    """The whole body, refused (413) as soon as it passes the app's limit."""
    return b"".join([chunk async for chunk in bounded(request.stream(), body_limit(request))])


async def spool(chunks: AsyncIterable[bytes], limit: int | None) -> IO[bytes]:
    """The body in a temporary file (memory up to SPOOL_IN_MEMORY, then disk), refused (413) past
    `limit` bytes: for formats read from their end (ZIP's directory, Parquet's footer)."""
    spooled: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        async for chunk in bounded(chunks, limit):
            spooled.write(chunk)
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return spooled
