"""The asynchronous client: `AsyncClient` sends the core's calls with an `httpx.AsyncClient`. The
same surface as `sync.Client`: every method is awaited, and the lazy iterations (records, nodes,
edges, algorithms) are async iterators."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import IO, Any, TypeVar

import httpx
import msgspec

from datainfra_client import calls, frames
from datainfra_client.bodies import file_body, parquet_as_ndjson, upload_body
from datainfra_client.calls import Direction, OnConflict
from datainfra_client.config import Settings, resolve
from datainfra_client.core import PARQUET, Call, FilterValue, Progress, RetryPolicy, follow, problem_of
from datainfra_client.errors import ApiError, ConfigError, TransportError, UnsupportedMediaType
from datainfra_client.models import (
    Dataset,
    ImportResult,
    IssuedKey,
    Page,
    Path,
    Paths,
    QueryResult,
    Session,
    Subgraph,
    WriteResult,
)
from datainfra_client.shared import (
    DEFAULT_TIMEOUT,
    accepts_parquet_uploads,
    export_fallback,
    query_document,
    wants_ndjson_fallback,
)

T = TypeVar("T")
Destination = str | os.PathLike[str] | IO[bytes]


class AsyncClient:
    """A datainfra API client (asyncio). Use as an async context manager, or await `aclose()`.
    Configuration as for `Client`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings: Settings = resolve(api_key, base_url, None if config is None else FilePath(config))
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.AsyncClient(base_url=self.settings.base_url, timeout=timeout, transport=transport)
        self._parquet: bool | None = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- sending -----------------------------------------------------------------------------------

    async def send(self, call: Call[Any], progress: Progress | None = None, *, stream: bool = False) -> httpx.Response:
        """As `Client.send`."""
        if call.path != "/users" and self.settings.api_key is None:
            raise ConfigError("no API key: pass api_key, set DATAINFRA_API_KEY, or write the config file")
        headers = call.request_headers(self.settings.api_key)
        keyed = "Idempotency-Key" in headers
        attempt = 0
        while True:
            attempt += 1
            content = None if call.body is None else _async_chunks(call.body.counted(progress))
            request = self._http.build_request(
                call.method, call.path, params=call.params or None, headers=headers, content=content
            )
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                if attempt >= self.retry.attempts:
                    raise TransportError(f"{call.method} {call.path}: {exc!r}") from exc
                await self._sleep(self.retry.delay(attempt))
                continue
            if attempt < self.retry.attempts and self.retry.retryable(response, keyed):
                await response.aclose()
                await self._sleep(self.retry.delay(attempt, response.headers.get("retry-after")))
                continue
            if response.status_code >= 400 or not stream:
                try:
                    await response.aread()
                except httpx.TransportError as exc:
                    raise TransportError(f"{call.method} {call.path}: {exc!r}") from exc
                finally:
                    await response.aclose()
                if response.status_code >= 400:
                    raise problem_of(response)
            return response

    async def run(self, call: Call[T], progress: Progress | None = None) -> T:
        """Send a call and decode its answer."""
        return call.decode(await self.send(call, progress))

    async def pages(self, call: Call[Page]) -> AsyncIterator[Page]:
        """Every page of a paged call, fetched lazily by following `next`."""
        current: Call[Page] | None = call
        while current is not None:
            page = await self.run(current)
            yield page
            current = follow(current, page)

    async def items(self, call: Call[Page]) -> AsyncIterator[Any]:
        """Every item of every page, fetched a page at a time as the iteration reaches it."""
        async for page in self.pages(call):
            for item in page.items:
                yield item

    # -- users and sessions --------------------------------------------------------------------------

    async def register(self) -> IssuedKey:
        """Make a new user and key; this client uses the key from now on."""
        issued = await self.run(calls.register())
        self.settings = Settings(self.settings.base_url, issued.api_key)
        return issued

    async def list_sessions(self) -> list[Session]:
        return await self.run(calls.list_sessions())

    async def create_session(self, name: str, description: str | None = None) -> Session:
        return await self.run(calls.create_session(name, description))

    async def get_session(self, session: str) -> Session:
        return await self.run(calls.get_session(session))

    async def delete_session(self, session: str) -> None:
        await self.run(calls.delete_session(session))

    # -- datasets ----------------------------------------------------------------------------------

    async def list_datasets(self, session: str) -> list[Dataset]:
        return await self.run(calls.list_datasets(session))

    async def create_dataset(
        self, session: str, name: str, schema: Mapping[str, Any] | None = None, *, kind: str = "tabular"
    ) -> Dataset:
        """As `Client.create_dataset`."""
        return await self.run(calls.create_dataset(session, name, kind, schema))

    async def get_dataset(self, session: str, dataset: str) -> Dataset:
        return await self.run(calls.get_dataset(session, dataset))

    async def migrate_dataset(
        self,
        session: str,
        dataset: str,
        schema: Mapping[str, Any],
        *,
        renames: Mapping[str, str] | None = None,
        if_match: str | None = None,
    ) -> Dataset:
        """As `Client.migrate_dataset`."""
        return await self.run(calls.migrate_dataset(session, dataset, schema, renames, if_match))

    async def delete_dataset(self, session: str, dataset: str) -> None:
        await self.run(calls.delete_dataset(session, dataset))

    # -- records -----------------------------------------------------------------------------------

    async def insert(
        self,
        session: str,
        dataset: str,
        data: Any,
        *,
        on_conflict: OnConflict | None = None,
        format: str | None = None,
        progress: Progress | None = None,
    ) -> WriteResult:
        """As `Client.insert`; the body's chunks are read and encoded in a worker thread."""
        body = upload_body(data, format)
        if body.content_type == PARQUET and not await self._takes_parquet():
            body = parquet_as_ndjson(data)
        try:
            return await self.run(calls.write(session, dataset, body, on_conflict), progress)
        except UnsupportedMediaType:
            if body.content_type != PARQUET:
                raise
        return await self.run(calls.write(session, dataset, parquet_as_ndjson(data), on_conflict), progress)

    async def _takes_parquet(self) -> bool:
        """Whether the service takes Parquet uploads (its OpenAPI document, read once)."""
        if self._parquet is None:
            try:
                self._parquet = accepts_parquet_uploads(await self.run(calls.openapi()))
            except ApiError:
                self._parquet = False
        return self._parquet

    async def upsert(self, session: str, dataset: str, data: Any, **options: Any) -> WriteResult:
        return await self.insert(session, dataset, data, on_conflict="update", **options)

    def records(
        self,
        session: str,
        dataset: str,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        select: Sequence[str] | str | None = None,
        sort: Sequence[str] | str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every matching record, lazily (`async for`)."""
        return self.items(calls.records(session, dataset, filters, select=select, sort=sort, limit=page_size))

    async def page(
        self,
        session: str,
        dataset: str,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        select: Sequence[str] | str | None = None,
        sort: Sequence[str] | str | None = None,
        limit: int | None = None,
        count: bool = False,
    ) -> Page:
        return await self.run(
            calls.records(session, dataset, filters, select=select, sort=sort, limit=limit, count=count)
        )

    def search(
        self,
        session: str,
        dataset: str,
        where: Mapping[str, Any] | None = None,
        *,
        select: Sequence[str] | None = None,
        sort: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        return self.items(calls.search(session, dataset, where, select=select, sort=sort, limit=page_size))

    async def get_record(self, session: str, dataset: str, key: str) -> dict[str, Any]:
        return await self.run(calls.get_record(session, dataset, key))

    async def update_records(self, session: str, dataset: str, records: Sequence[Mapping[str, Any]]) -> int:
        return await self.run(calls.update_records(session, dataset, records))

    async def update_where(
        self, session: str, dataset: str, filters: Mapping[str, FilterValue], values: Mapping[str, Any]
    ) -> int:
        return await self.run(calls.update_where(session, dataset, filters, values))

    async def delete_where(self, session: str, dataset: str, filters: Mapping[str, FilterValue]) -> int:
        return await self.run(calls.delete_where(session, dataset, filters))

    # -- graphs ------------------------------------------------------------------------------------

    async def write_graph(
        self,
        session: str,
        dataset: str,
        nodes: Sequence[Mapping[str, Any]] = (),
        edges: Sequence[Mapping[str, Any]] = (),
        *,
        on_conflict: OnConflict | None = None,
    ) -> WriteResult:
        return await self.run(calls.write_graph(session, dataset, nodes, edges, on_conflict))

    def nodes(
        self,
        session: str,
        dataset: str,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        label: Sequence[str] | str | None = None,
        sort: Sequence[str] | str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        return self.items(calls.nodes(session, dataset, filters, label=label, sort=sort, limit=page_size))

    def edges(
        self,
        session: str,
        dataset: str,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        type: Sequence[str] | str | None = None,
        sort: Sequence[str] | str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        return self.items(calls.edges(session, dataset, filters, type=type, sort=sort, limit=page_size))

    async def node(self, session: str, dataset: str, node_id: str) -> dict[str, Any]:
        return await self.run(calls.node(session, dataset, node_id))

    async def delete_node(self, session: str, dataset: str, node_id: str) -> None:
        await self.run(calls.delete_node(session, dataset, node_id))

    async def delete_edge(self, session: str, dataset: str, edge_id: str) -> None:
        await self.run(calls.delete_edge(session, dataset, edge_id))

    async def neighbors(
        self,
        session: str,
        dataset: str,
        node_id: str,
        *,
        direction: Direction | None = None,
        types: Sequence[str] | str | None = None,
        depth: int | None = None,
        limit: int | None = None,
    ) -> Subgraph:
        return await self.run(
            calls.neighbors(session, dataset, node_id, direction=direction, types=types, depth=depth, limit=limit)
        )

    async def shortest_path(
        self, session: str, dataset: str, source: str | int, target: str | int, **options: Any
    ) -> Path:
        return await self.run(calls.shortest_path(session, dataset, source, target, **options))

    async def all_shortest_paths(
        self, session: str, dataset: str, source: str | int, target: str | int, **options: Any
    ) -> Paths:
        return await self.run(calls.all_shortest_paths(session, dataset, source, target, **options))

    def pagerank(
        self, session: str, dataset: str, *, page_size: int | None = None, **options: Any
    ) -> AsyncIterator[Any]:
        return self.items(calls.algorithm(session, dataset, "pagerank", page_size, **options))

    def connected_components(
        self, session: str, dataset: str, *, page_size: int | None = None, **options: Any
    ) -> AsyncIterator[Any]:
        return self.items(calls.algorithm(session, dataset, "connected_components", page_size, **options))

    def degree(self, session: str, dataset: str, *, page_size: int | None = None, **options: Any) -> AsyncIterator[Any]:
        return self.items(calls.algorithm(session, dataset, "degree", page_size, **options))

    # -- the query endpoint ------------------------------------------------------------------------

    async def sql(
        self, session: str, query: str, parameters: Sequence[Any] | None = None, **options: Any
    ) -> QueryResult:
        return await self.query(session, query_document("sql", query=query, parameters=parameters, **options))

    async def cypher(
        self, session: str, dataset: str, query: str, parameters: Mapping[str, Any] | None = None, **options: Any
    ) -> QueryResult:
        document = query_document("cypher", dataset=dataset, query=query, parameters=parameters, **options)
        return await self.query(session, document)

    async def structured(self, session: str, **document: Any) -> QueryResult:
        return await self.query(session, query_document("structured", **document))

    async def query(self, session: str, document: Mapping[str, Any]) -> QueryResult:
        return await self.run(calls.query(session, document))

    # -- export and import -------------------------------------------------------------------------

    @asynccontextmanager
    async def export_stream(
        self,
        session: str,
        dataset: str | None = None,
        format: str | None = None,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        select: Sequence[str] | str | None = None,
        sort: Sequence[str] | str | None = None,
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """The export's bytes as they arrive (a session ZIP when `dataset` is None)."""
        call = (
            calls.export_session(session)
            if dataset is None
            else calls.export(session, dataset, format, filters, select=select, sort=sort)
        )
        response = await self.send(call, stream=True)
        try:
            yield _bytes(response)
        finally:
            await response.aclose()

    async def export(
        self,
        session: str,
        dataset: str | None,
        dest: Destination,
        format: str | None = None,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        select: Sequence[str] | str | None = None,
        sort: Sequence[str] | str | None = None,
        progress: Progress | None = None,
    ) -> int:
        """As `Client.export`."""
        async with self.export_stream(session, dataset, format, filters, select=select, sort=sort) as chunks:
            if isinstance(dest, str | os.PathLike):
                with open(dest, "wb") as handle:
                    return await _write(chunks, handle, progress)
            return await _write(chunks, dest, progress)

    async def export_session(self, session: str, dest: Destination, *, progress: Progress | None = None) -> int:
        return await self.export(session, None, dest, progress=progress)

    async def import_session(
        self,
        session: str,
        source: str | os.PathLike[str],
        *,
        renames: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        return await self.run(calls.import_session(session, file_body(source, "zip"), renames), progress)

    # -- DataFrames and graphs ---------------------------------------------------------------------

    async def to_arrow(
        self,
        session: str,
        dataset: str,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        select: Sequence[str] | None = None,
        sort: Sequence[str] | str | None = None,
    ) -> Any:
        """As `Client.to_arrow`."""
        with tempfile.TemporaryDirectory(prefix="datainfra-") as where:
            target = FilePath(where) / "export"
            try:
                await self.export(session, dataset, target, "parquet", filters, select=select, sort=sort)
                return frames.read_parquet(target)
            except Exception as exc:
                if not wants_ndjson_fallback(exc):
                    raise
            schema = (await self.get_dataset(session, dataset)).schema
            await self.export(session, dataset, target, "ndjson", filters, select=select, sort=sort)
            return export_fallback(target, schema, select)

    async def to_pandas(
        self, session: str, dataset: str, filters: Mapping[str, FilterValue] | None = None, **options: Any
    ) -> Any:
        return (await self.to_arrow(session, dataset, filters, **options)).to_pandas()

    async def to_polars(
        self, session: str, dataset: str, filters: Mapping[str, FilterValue] | None = None, **options: Any
    ) -> Any:
        import polars as pl

        return pl.from_arrow(await self.to_arrow(session, dataset, filters, **options))

    async def to_networkx(self, session: str, dataset: str) -> Any:
        with tempfile.TemporaryFile() as spool:
            await self.export(session, dataset, spool, "json")
            spool.seek(0)
            return frames.to_networkx(msgspec.json.decode(spool.read()))


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A body's chunks, each made in a worker thread (file reads, NDJSON encoding and DataFrame
    conversion would otherwise block the event loop between chunks)."""
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        yield chunk


async def _bytes(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    except httpx.TransportError as exc:
        raise TransportError(f"the download broke off: {exc!r}") from exc


async def _write(chunks: AsyncIterator[bytes], dest: IO[bytes], progress: Progress | None) -> int:
    done = rows = 0
    if progress is not None:
        progress.start(None, None)
    async for chunk in chunks:
        dest.write(chunk)
        done += len(chunk)
        rows += chunk.count(b"\n")
        if progress is not None:
            progress.update(done, rows)
    if progress is not None:
        progress.finish()
    return done


__all__ = ["AsyncClient"]
