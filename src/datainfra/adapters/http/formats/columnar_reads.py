"""Reading Parquet and Arrow IPC stream bodies into a tabular dataset's typed rows.

Arrow IPC stream is read message by message as the body arrives (a record batch is written while
the next one is received); Parquet keeps its schema and row-group index in a footer at its end, so
the body is spooled to a temporary file first (memory up to `SPOOL_IN_MEMORY`, the body-size limit
bounding the file) and read a row group at a time. Either way `ROWS_PER_BATCH` rows are handed on
at a time, and memory holds one row group or one message.

The file's columns are matched to the dataset's by name (columnar_types.py: what converts to what,
with which errors): an unknown column, a missing required column or a column type that cannot
become the dataset's is a 422 naming the column before any row is written; a value that cannot is
one naming its column and row index. A body that is no Parquet or Arrow file (garbage, truncated,
a size it declares beyond its own length or the limits here) is a 400 or 413, never a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import IO

import pyarrow as pa
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq

from datainfra.adapters.http.body_limit import spool
from datainfra.adapters.http.formats.columnar_types import RowPlan
from datainfra.domain.errors import InvalidRequest, PayloadTooLarge
from datainfra.domain.records import RecordRows
from datainfra.domain.tabular_schema import TabularSchema

PARQUET = "application/vnd.apache.parquet"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
ROWS_PER_BATCH = 10_000
MAX_DECODED_BYTES = 512 * 1024 * 1024
"""The most bytes one Parquet row group (uncompressed, as its footer says) or one Arrow message may
take: a small body must not decode into gigabytes."""
MAX_COLUMNS = 1600
"""PostgreSQL's column limit: a file with more columns cannot match any dataset."""

_BROKEN = (pa.ArrowException, OSError, ValueError, EOFError, MemoryError, IndexError)
"""What pyarrow raises on a body that is not the file it claims to be."""


def columnar_rows(
    schema: TabularSchema, body: AsyncIterable[bytes], media_type: str, limit: int | None
) -> AsyncIterator[RecordRows]:
    """The body's rows (`media_type`: PARQUET or ARROW_STREAM), checked and typed for `schema`."""
    if media_type == PARQUET:
        return _parquet_rows(schema, body, limit)
    return _arrow_rows(schema, body, limit)


async def _parquet_rows(
    schema: TabularSchema, body: AsyncIterable[bytes], limit: int | None
) -> AsyncIterator[RecordRows]:
    spooled = await spool(body, limit)
    try:
        parquet = await asyncio.to_thread(_open_parquet, spooled)
        plan = RowPlan.of(schema, parquet.schema_arrow)
        index = 0
        for group in range(parquet.num_row_groups):
            table = await asyncio.to_thread(_row_group, parquet, group)
            for batch in table.to_batches(max_chunksize=ROWS_PER_BATCH):
                rows = plan.rows(batch, index)
                index += batch.num_rows
                if rows is not None:
                    yield rows
    finally:
        spooled.close()


def _open_parquet(spooled: IO[bytes]) -> pq.ParquetFile:
    try:
        parquet = pq.ParquetFile(spooled)
        metadata = parquet.metadata
        if metadata.num_columns > MAX_COLUMNS:
            raise InvalidRequest(
                f"the Parquet file has {metadata.num_columns} columns; a dataset has at most {MAX_COLUMNS}"
            )
        for group in range(metadata.num_row_groups):
            size = metadata.row_group(group).total_byte_size
            if size > MAX_DECODED_BYTES:
                raise PayloadTooLarge(
                    f"row group {group} of the Parquet file decodes to {size} bytes; at most {MAX_DECODED_BYTES} "
                    "are read at a time: write smaller row groups"
                )
        parquet.schema_arrow  # noqa: B018 - a schema pyarrow cannot map fails here, as a 400
    except _BROKEN as exc:
        raise InvalidRequest(f"the body is not a readable Parquet file: {_reason(exc)}") from None
    return parquet


def _row_group(parquet: pq.ParquetFile, group: int) -> pa.Table:
    try:
        return parquet.read_row_group(group)
    except _BROKEN as exc:
        raise InvalidRequest(f"row group {group} of the Parquet file cannot be read: {_reason(exc)}") from None


async def _arrow_rows(
    schema: TabularSchema, body: AsyncIterable[bytes], limit: int | None
) -> AsyncIterator[RecordRows]:
    messages = _IpcMessages()
    plan: RowPlan | None = None
    arrow_schema: pa.Schema | None = None
    index = 0
    size = 0
    async for chunk in body:
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        for message in messages.feed(chunk):
            if arrow_schema is None:
                arrow_schema = _schema_of(message)
                plan = RowPlan.of(schema, arrow_schema)
                continue
            assert plan is not None
            for batch in _batches(message, arrow_schema):
                rows = plan.rows(batch, index)
                index += batch.num_rows
                if rows is not None:
                    yield rows
    messages.end()
    if arrow_schema is None:
        raise InvalidRequest("the Arrow IPC stream is empty: it has no schema message")


def _schema_of(message: pa_ipc.Message) -> pa.Schema:
    if message.type != "schema":
        raise InvalidRequest(f"an Arrow IPC stream starts with its schema, not a {message.type} message")
    try:
        return pa_ipc.read_schema(message)
    except _BROKEN as exc:
        raise InvalidRequest(f"the Arrow IPC stream's schema cannot be read: {_reason(exc)}") from None


def _batches(message: pa_ipc.Message, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    if message.type == "dictionary batch":
        raise InvalidRequest(
            "dictionary-encoded Arrow columns are not accepted; decode them (pyarrow: "
            "table.cast(plain schema), pandas: categorical.astype(str)) or send Parquet"
        )
    if message.type != "record batch":
        raise InvalidRequest(f"unexpected {message.type} message in the Arrow IPC stream")
    try:
        batch = pa_ipc.read_record_batch(message, schema)
        batch.validate(full=True)
    except _BROKEN as exc:
        raise InvalidRequest(f"a record batch of the Arrow IPC stream cannot be read: {_reason(exc)}") from None
    for start in range(0, batch.num_rows, ROWS_PER_BATCH):
        yield batch.slice(start, ROWS_PER_BATCH)


class _IpcMessages:
    """Arrow IPC messages cut from a stream's chunks as they arrive. A message is tried once the
    bytes pending have doubled since the last try, so a large message is parsed a bounded number
    of times (linear in all); pending bytes beyond `MAX_DECODED_BYTES` are a 413."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._tried_at = 0
        self._ended = False

    def feed(self, chunk: bytes) -> list[pa_ipc.Message]:
        self._pending += chunk
        if self._ended:
            if self._pending.strip(b"\x00"):
                raise InvalidRequest("bytes follow the end of the Arrow IPC stream")
            return []
        if len(self._pending) < 2 * self._tried_at:
            return []
        return self._read(final=False)

    def end(self) -> None:
        if not self._ended:
            self._read(final=True)
        if self._pending and not self._ended:
            raise InvalidRequest("the Arrow IPC stream is truncated: it ends inside a message")

    def _read(self, *, final: bool) -> list[pa_ipc.Message]:
        messages = []
        buffer = pa.py_buffer(bytes(self._pending))
        source = pa.BufferReader(buffer)
        used = 0
        reader = pa_ipc.MessageReader.open_stream(source)
        while True:
            try:
                message = reader.read_next_message()
            except StopIteration:
                self._ended = source.tell() > used or (used == len(self._pending) and final)
                if source.tell() > used:  # the end-of-stream marker
                    used = source.tell()
                break
            except _BROKEN as exc:
                if final or len(self._pending) - used > MAX_DECODED_BYTES:
                    if not final:
                        raise PayloadTooLarge(
                            f"an Arrow IPC message is larger than {MAX_DECODED_BYTES} bytes: write smaller batches"
                        ) from None
                    raise InvalidRequest(f"the Arrow IPC stream cannot be read: {_reason(exc)}") from None
                break
            if message.body is not None and message.body.size > MAX_DECODED_BYTES:
                raise PayloadTooLarge(f"an Arrow IPC message is larger than {MAX_DECODED_BYTES} bytes")
            messages.append(message)
            used = source.tell()
        del self._pending[:used]
        self._tried_at = len(self._pending)
        return messages


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
