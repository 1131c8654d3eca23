"""JSON arrays and NDJSON built from streams, never holding more than a chunk."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any

from datainfra.adapters.http.encoding import encode_json

TARGET_CHUNK = 64 * 1024


async def ndjson_to_array(lines: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """NDJSON (no raw line break inside an object) → one JSON array, one element per line."""
    pending = b""
    started = False
    yield b"["
    async for chunk in lines:
        *complete, pending = (pending + chunk).split(b"\n")
        complete = [line for line in complete if line]
        if complete:
            yield (b",\n" if started else b"\n") + b",\n".join(complete)
            started = True
    if pending.strip():
        yield (b",\n" if started else b"\n") + pending
    yield b"\n]\n"


async def encoded_lines(pages: AsyncIterable[Iterable[Any]], doc: Callable[[Any], Any]) -> AsyncIterator[bytes]:
    """One JSON document per line for every item of every page, gathered into chunks."""
    buffer = bytearray()
    async for page in pages:
        for item in page:
            buffer += encode_json(doc(item))
            buffer += b"\n"
        if len(buffer) >= TARGET_CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)
