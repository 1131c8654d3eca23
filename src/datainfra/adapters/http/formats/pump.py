"""Running a streamed response body in its own task.

A streamed body read inside the response's cancel scope could be cancelled half-way through its own
clean-up (releasing a database connection) when the client disconnects. Here the source runs in a
separate task feeding a small queue: the response only reads the queue, and `aclose` (run as the
response's background task, which runs whether the body completed or the client left) cancels the
source task once, so its `finally` blocks run to the end. The queue bounds the memory held ahead
of the client, and reading ahead overlaps the store's work with the network's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

_END = object()
QUEUE_CHUNKS = 4


class Pump:
    def __init__(self, source: AsyncIterator[bytes], *, queue_chunks: int = QUEUE_CHUNKS) -> None:
        self._source = source
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_chunks)
        self._task: asyncio.Task[None] | None = None
        self._first: Any = None

    async def start(self) -> None:
        """Wait for the first chunk, so an error before any byte is sent (a bad query, a missing
        table) becomes an ordinary error response rather than a broken stream."""
        self._task = asyncio.create_task(self._run())
        self._first = await self._queue.get()
        if isinstance(self._first, BaseException):
            await self.aclose()
            raise self._first

    def __aiter__(self) -> Pump:
        return self

    async def __anext__(self) -> bytes:
        if self._task is None:
            await self.start()
        if self._first is not None:
            item, self._first = self._first, None
        else:
            item = await self._queue.get()
        if item is _END:
            self._first = _END
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, bytes)
        return item

    async def _run(self) -> None:
        try:
            async for chunk in self._source:
                if chunk:
                    await self._queue.put(chunk)
            await self._queue.put(_END)
        except Exception as exc:  # handed to the reader, which raises it in the response
            await self._queue.put(exc)
        finally:
            close = getattr(self._source, "aclose", None)
            if close is not None:
                await close()

    async def aclose(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
