"""Counting what a stream holds without parsing it."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator


class CsvRecordCounter:
    """Counts CSV records (lines outside quoted fields) in a stream: a quote toggles the quoted state
    and a doubled quote toggles it twice, so splitting on quotes is enough. The header counts too."""

    def __init__(self) -> None:
        self.lines = 0
        self._quoted = False

    async def wrap(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.feed(chunk)
            yield chunk

    def feed(self, chunk: bytes) -> None:
        if not self._quoted and b'"' not in chunk:
            self.lines += chunk.count(b"\n")
            return
        for i, part in enumerate(chunk.split(b'"')):
            if i:
                self._quoted = not self._quoted
            if not self._quoted:
                self.lines += part.count(b"\n")

    @property
    def records(self) -> int:
        return max(0, self.lines - 1)
