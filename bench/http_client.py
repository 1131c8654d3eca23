"""A minimal keep-alive HTTP/1.1 GET client on asyncio streams. The load generator shares two
cores with the API and the stores, so it must cost far less per request than the server it
measures; a general-purpose client (httpx) costs several times more per request."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import TracebackType


class HttpStatusError(RuntimeError):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:500]!r}")
        self.status = status


class KeepAliveClient:
    """One connection, one request at a time; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, headers: Mapping[str, str]) -> None:
        self._host = host
        self._port = port
        lines = [f"Host: {host}:{port}", "Accept: application/json", *(f"{k}: {v}" for k, v in headers.items())]
        self._head = "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> KeepAliveClient:
        await self._connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def get(self, target: str) -> bytes:
        """The body of a 200 answer to `GET target`; any other status raises HttpStatusError."""
        return await self.request(b"GET", target)

    async def post_json(self, target: str, body: bytes) -> bytes:
        """The body of a 200 answer to `POST target` with a JSON body."""
        return await self.request(b"POST", target, body)

    async def request(self, method: bytes, target: str, body: bytes | None = None) -> bytes:
        if self._writer is None:
            await self._connect()
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        head = method + b" " + target.encode("ascii") + b" HTTP/1.1\r\n"
        if body is None:
            writer.write(head + self._head)
        else:
            framing = b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
            writer.write(head + framing + self._head + body)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length: int | None = None
        chunked = False
        close = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            body = await _read_chunked(reader)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body = await reader.read()
            close = True
        if close:
            await self.close()
        if status != 200:
            raise HttpStatusError(status, body)
        return body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
