"""The synchronous client: `Client` sends the core's calls with an `httpx.Client`, retrying as
`RetryPolicy` says. `aio.AsyncClient` is the same surface over `httpx.AsyncClient`."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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


class Client:
    """A datainfra API client (synchronous). Use as a context manager, or call `close()`.

    `base_url` and `api_key` come from the arguments, else `DATAINFRA_URL` / `DATAINFRA_API_KEY`,
    else the config file (`datainfra_client.config`). `transport` replaces httpx's (tests, proxies);
    `retry` says how 429/503 answers and broken connections are retried."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings: Settings = resolve(api_key, base_url, None if config is None else FilePath(config))
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.settings.base_url, timeout=timeout, transport=transport)
        self._parquet: bool | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- sending -----------------------------------------------------------------------------------

    def send(self, call: Call[Any], progress: Progress | None = None, *, stream: bool = False) -> httpx.Response:
        """Send a call (retrying as the policy says) and return the successful response; an error
        answer is raised as its typed ApiError. With `stream`, the body is left unread (close it)."""
        if call.path != "/users" and self.settings.api_key is None:
            raise ConfigError("no API key: pass api_key, set DATAINFRA_API_KEY, or write the config file")
        headers = call.request_headers(self.settings.api_key)
        keyed = "Idempotency-Key" in headers
        attempt = 0
        while True:
            attempt += 1
            content = None if call.body is None else call.body.counted(progress)
            request = self._http.build_request(
                call.method, call.path, params=call.params or None, headers=headers, content=content
            )
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                if attempt >= self.retry.attempts:
                    raise TransportError(f"{call.method} {call.path}: {exc!r}") from exc
                self._sleep(self.retry.delay(attempt))
                continue
            if attempt < self.retry.attempts and self.retry.retryable(response, keyed):
                response.close()
                self._sleep(self.retry.delay(attempt, response.headers.get("retry-after")))
                continue
            if response.status_code >= 400 or not stream:
                try:
                    response.read()
                except httpx.TransportError as exc:
                    raise TransportError(f"{call.method} {call.path}: {exc!r}") from exc
                finally:
                    response.close()
                if response.status_code >= 400:
                    raise problem_of(response)
            return response

    def run(self, call: Call[T], progress: Progress | None = None) -> T:
        """Send a call and decode its answer."""
        return call.decode(self.send(call, progress))

    def pages(self, call: Call[Page]) -> Iterator[Page]:
        """Every page of a paged call, fetched lazily by following `next`."""
        current: Call[Page] | None = call
        while current is not None:
            page = self.run(current)
            yield page
            current = follow(current, page)

    def items(self, call: Call[Page]) -> Iterator[Any]:
        """Every item of every page, fetched a page at a time as the iteration reaches it."""
        for page in self.pages(call):
            yield from page.items

    # -- users and sessions --------------------------------------------------------------------------

    def register(self) -> IssuedKey:
        """Make a new user and key (POST /users); this client uses the key from now on."""
        issued = self.run(calls.register())
        self.settings = Settings(self.settings.base_url, issued.api_key)
        return issued

    def list_sessions(self) -> list[Session]:
        """Your sessions."""
        return self.run(calls.list_sessions())

    def create_session(self, name: str, description: str | None = None) -> Session:
        """A new session."""
        return self.run(calls.create_session(name, description))

    def get_session(self, session: str) -> Session:
        return self.run(calls.get_session(session))

    def delete_session(self, session: str) -> None:
        """Delete a session and every dataset in it."""
        self.run(calls.delete_session(session))

    # -- datasets ----------------------------------------------------------------------------------

    def list_datasets(self, session: str) -> list[Dataset]:
        return self.run(calls.list_datasets(session))

    def create_dataset(
        self, session: str, name: str, schema: Mapping[str, Any] | None = None, *, kind: str = "tabular"
    ) -> Dataset:
        """A tabular dataset (`schema`: {"columns": [{"name", "type", "nullable"?}], "primary_key"?,
        "indexes"?}) or a graph (`kind="graph"`, schema {"node_labels", "relationship_types"} or none)."""
        return self.run(calls.create_dataset(session, name, kind, schema))

    def get_dataset(self, session: str, dataset: str) -> Dataset:
        """The dataset with its record count and its ETag (for `migrate_dataset`'s if_match)."""
        return self.run(calls.get_dataset(session, dataset))

    def migrate_dataset(
        self,
        session: str,
        dataset: str,
        schema: Mapping[str, Any],
        *,
        renames: Mapping[str, str] | None = None,
        if_match: str | None = None,
    ) -> Dataset:
        """Change the schema (add, drop, rename columns; types; indexes). `if_match`: the ETag read
        before, so a migration someone else made meanwhile is refused (PreconditionFailed)."""
        return self.run(calls.migrate_dataset(session, dataset, schema, renames, if_match))

    def delete_dataset(self, session: str, dataset: str) -> None:
        self.run(calls.delete_dataset(session, dataset))

    # -- records -----------------------------------------------------------------------------------

    def insert(
        self,
        session: str,
        dataset: str,
        data: Any,
        *,
        on_conflict: OnConflict | None = None,
        format: str | None = None,
        progress: Progress | None = None,
    ) -> WriteResult:
        """Write records, all-or-nothing, streamed: a list or iterator of dicts, a file path (CSV,
        NDJSON, Parquet; GraphML or node-link JSON for graphs; by suffix or `format`) or a pandas /
        polars DataFrame. `on_conflict="update"` upserts, `"ignore"` keeps existing records."""
        body = upload_body(data, format)
        if body.content_type == PARQUET and not self._takes_parquet():
            body = parquet_as_ndjson(data)
        try:
            return self.run(calls.write(session, dataset, body, on_conflict), progress)
        except UnsupportedMediaType:
            if body.content_type != PARQUET:
                raise
        return self.run(calls.write(session, dataset, parquet_as_ndjson(data), on_conflict), progress)

    def _takes_parquet(self) -> bool:
        """Whether the service takes Parquet uploads (its OpenAPI document, read once)."""
        if self._parquet is None:
            try:
                self._parquet = accepts_parquet_uploads(self.run(calls.openapi()))
            except ApiError:
                self._parquet = False
        return self._parquet

    def upsert(self, session: str, dataset: str, data: Any, **options: Any) -> WriteResult:
        """`insert` with on_conflict="update": existing keys are updated."""
        return self.insert(session, dataset, data, on_conflict="update", **options)

    def records(
        self,
        session: str,
        dataset: str,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        select: Sequence[str] | str | None = None,
        sort: Sequence[str] | str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching record, lazily: a page is fetched when the iteration reaches it.
        Filters: {"age": "gte:18"}, {"age": ("gte", 18)}, {"name": "Ada"} (eq), ranges as lists."""
        return self.items(calls.records(session, dataset, filters, select=select, sort=sort, limit=page_size))

    def page(
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
        """One page (with `total` when `count`); `next` says whether more follow."""
        return self.run(calls.records(session, dataset, filters, select=select, sort=sort, limit=limit, count=count))

    def search(
        self,
        session: str,
        dataset: str,
        where: Mapping[str, Any] | None = None,
        *,
        select: Sequence[str] | None = None,
        sort: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Records matching a JSON `where` tree ({"or": [{"age": {"gte": 40}}, ...]}), lazily."""
        return self.items(calls.search(session, dataset, where, select=select, sort=sort, limit=page_size))

    def get_record(self, session: str, dataset: str, key: str) -> dict[str, Any]:
        """One record by its key (a composite key's parts percent-encoded and joined by commas)."""
        return self.run(calls.get_record(session, dataset, key))

    def update_records(self, session: str, dataset: str, records: Sequence[Mapping[str, Any]]) -> int:
        """Update records by key; returns how many were updated."""
        return self.run(calls.update_records(session, dataset, records))

    def update_where(
        self, session: str, dataset: str, filters: Mapping[str, FilterValue], values: Mapping[str, Any]
    ) -> int:
        """Set `values` on every record matching `filters` (empty filters: every record)."""
        return self.run(calls.update_where(session, dataset, filters, values))

    def delete_where(self, session: str, dataset: str, filters: Mapping[str, FilterValue]) -> int:
        """Delete every record matching `filters` (empty filters: every record)."""
        return self.run(calls.delete_where(session, dataset, filters))

    # -- graphs ------------------------------------------------------------------------------------

    def write_graph(
        self,
        session: str,
        dataset: str,
        nodes: Sequence[Mapping[str, Any]] = (),
        edges: Sequence[Mapping[str, Any]] = (),
        *,
        on_conflict: OnConflict | None = None,
    ) -> WriteResult:
        """Nodes ({"id", "labels", "properties"}) and edges ({"source", "target", "type", "properties"})."""
        return self.run(calls.write_graph(session, dataset, nodes, edges, on_conflict))

    def nodes(
        self,
        session: str,
        dataset: str,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        label: Sequence[str] | str | None = None,
        sort: Sequence[str] | str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching node, lazily."""
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
    ) -> Iterator[dict[str, Any]]:
        """Every matching edge, lazily."""
        return self.items(calls.edges(session, dataset, filters, type=type, sort=sort, limit=page_size))

    def node(self, session: str, dataset: str, node_id: str) -> dict[str, Any]:
        return self.run(calls.node(session, dataset, node_id))

    def delete_node(self, session: str, dataset: str, node_id: str) -> None:
        self.run(calls.delete_node(session, dataset, node_id))

    def delete_edge(self, session: str, dataset: str, edge_id: str) -> None:
        self.run(calls.delete_edge(session, dataset, edge_id))

    def neighbors(
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
        """The nodes and edges within `depth` hops of a node."""
        return self.run(
            calls.neighbors(session, dataset, node_id, direction=direction, types=types, depth=depth, limit=limit)
        )

    def shortest_path(self, session: str, dataset: str, source: str | int, target: str | int, **options: Any) -> Path:
        """By hops, or by a numeric property (`weight="weight"`); options: direction, types, max_depth."""
        return self.run(calls.shortest_path(session, dataset, source, target, **options))

    def all_shortest_paths(
        self, session: str, dataset: str, source: str | int, target: str | int, **options: Any
    ) -> Paths:
        return self.run(calls.all_shortest_paths(session, dataset, source, target, **options))

    def pagerank(self, session: str, dataset: str, *, page_size: int | None = None, **options: Any) -> Iterator[Any]:
        """{"id", "score"} of every node, best first, lazily; options: types, direction, damping, ..."""
        return self.items(calls.algorithm(session, dataset, "pagerank", page_size, **options))

    def connected_components(
        self, session: str, dataset: str, *, page_size: int | None = None, **options: Any
    ) -> Iterator[Any]:
        return self.items(calls.algorithm(session, dataset, "connected_components", page_size, **options))

    def degree(self, session: str, dataset: str, *, page_size: int | None = None, **options: Any) -> Iterator[Any]:
        return self.items(calls.algorithm(session, dataset, "degree", page_size, **options))

    # -- the query endpoint ------------------------------------------------------------------------

    def sql(self, session: str, query: str, parameters: Sequence[Any] | None = None, **options: Any) -> QueryResult:
        """One SQL statement over the session's tabular datasets ($1, $2 ... parameters);
        options: read_only, max_rows, timeout_ms."""
        return self.query(session, query_document("sql", query=query, parameters=parameters, **options))

    def cypher(
        self, session: str, dataset: str, query: str, parameters: Mapping[str, Any] | None = None, **options: Any
    ) -> QueryResult:
        """One Cypher query over a graph dataset ($name parameters)."""
        document = query_document("cypher", dataset=dataset, query=query, parameters=parameters, **options)
        return self.query(session, document)

    def structured(self, session: str, **document: Any) -> QueryResult:
        """A structured query: from, where, select, aggregates, ... (use from_="people" for `from`)."""
        return self.query(session, query_document("structured", **document))

    def query(self, session: str, document: Mapping[str, Any]) -> QueryResult:
        """The query endpoint with a whole request document."""
        return self.run(calls.query(session, document))

    # -- export and import -------------------------------------------------------------------------

    @contextmanager
    def export_stream(
        self,
        session: str,
        dataset: str | None = None,
        format: str | None = None,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        select: Sequence[str] | str | None = None,
        sort: Sequence[str] | str | None = None,
    ) -> Iterator[Iterator[bytes]]:
        """The export's bytes as they arrive (a session ZIP when `dataset` is None)."""
        call = (
            calls.export_session(session)
            if dataset is None
            else calls.export(session, dataset, format, filters, select=select, sort=sort)
        )
        response = self.send(call, stream=True)
        try:
            yield _bytes(response)
        finally:
            response.close()

    def export(
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
        """Write an export to a file path or binary file object (a session ZIP when `dataset` is
        None); returns the bytes written. `progress` sees bytes and rows (lines) as they arrive."""
        with self.export_stream(session, dataset, format, filters, select=select, sort=sort) as chunks:
            return _write(chunks, dest, progress)

    def export_session(self, session: str, dest: Destination, *, progress: Progress | None = None) -> int:
        """The whole session as a ZIP archive (each dataset and manifest.json)."""
        return self.export(session, None, dest, progress=progress)

    def import_session(
        self,
        session: str,
        source: str | os.PathLike[str],
        *,
        renames: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        """Recreate a session archive's datasets in `session` (renames: {"old": "new"})."""
        return self.run(calls.import_session(session, file_body(source, "zip"), renames), progress)

    # -- DataFrames and graphs ---------------------------------------------------------------------

    def to_arrow(
        self,
        session: str,
        dataset: str,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        select: Sequence[str] | None = None,
        sort: Sequence[str] | str | None = None,
    ) -> Any:
        """A tabular dataset (filtered) as a pyarrow Table: through a Parquet export, or an NDJSON
        one read with the dataset's schema when the service has no Parquet export."""
        with tempfile.TemporaryDirectory(prefix="datainfra-") as where:
            target = FilePath(where) / "export"
            try:
                self.export(session, dataset, target, "parquet", filters, select=select, sort=sort)
                return frames.read_parquet(target)
            except Exception as exc:
                if not wants_ndjson_fallback(exc):
                    raise
            schema = self.get_dataset(session, dataset).schema
            self.export(session, dataset, target, "ndjson", filters, select=select, sort=sort)
            return export_fallback(target, schema, select)

    def to_pandas(
        self, session: str, dataset: str, filters: Mapping[str, FilterValue] | None = None, **options: Any
    ) -> Any:
        """A tabular dataset (filtered) as a pandas DataFrame (see to_arrow)."""
        return self.to_arrow(session, dataset, filters, **options).to_pandas()

    def to_polars(
        self, session: str, dataset: str, filters: Mapping[str, FilterValue] | None = None, **options: Any
    ) -> Any:
        """A tabular dataset (filtered) as a polars DataFrame (see to_arrow)."""
        import polars as pl

        return pl.from_arrow(self.to_arrow(session, dataset, filters, **options))

    def to_networkx(self, session: str, dataset: str) -> Any:
        """A graph dataset as a networkx MultiDiGraph (from its node-link export)."""
        with tempfile.TemporaryFile() as spool:
            self.export(session, dataset, spool, "json")
            spool.seek(0)
            return frames.to_networkx(msgspec.json.decode(spool.read()))


def _bytes(response: httpx.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes()
    except httpx.TransportError as exc:
        raise TransportError(f"the download broke off: {exc!r}") from exc


def _write(chunks: Iterable[bytes], dest: Destination, progress: Progress | None) -> int:
    if isinstance(dest, str | os.PathLike):
        with open(dest, "wb") as handle:
            return _write(chunks, handle, progress)
    done = rows = 0
    if progress is not None:
        progress.start(None, None)
    for chunk in chunks:
        dest.write(chunk)
        done += len(chunk)
        rows += chunk.count(b"\n")
        if progress is not None:
            progress.update(done, rows)
    if progress is not None:
        progress.finish()
    return done


__all__ = ["Client"]
