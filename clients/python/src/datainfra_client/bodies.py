"""Upload bodies: files, iterators of records and DataFrames, each a `Body` that streams in chunks
and can be sent again for a retry without holding the data in memory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sized
from pathlib import Path
from typing import IO, Any

from datainfra_client.core import CSV, GRAPHML, JSON, NDJSON, PARQUET, ZIP, Body, ndjson_chunks

CHUNK = 256 * 1024
BATCH_ROWS = 5000

SUFFIXES = {
    ".csv": CSV,
    ".ndjson": NDJSON,
    ".jsonl": NDJSON,
    ".parquet": PARQUET,
    ".pq": PARQUET,
    ".graphml": GRAPHML,
    ".xml": GRAPHML,
    ".json": JSON,
    ".zip": ZIP,
}
FORMATS = {"csv": CSV, "ndjson": NDJSON, "parquet": PARQUET, "graphml": GRAPHML, "json": JSON, "zip": ZIP}


def media_type_of(path: Path, format: str | None = None) -> str:
    """The Content-Type of a file: `format` (csv, ndjson, parquet, graphml, json, zip) or its suffix."""
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
        return FORMATS[format]
    media = SUFFIXES.get(path.suffix.lower())
    if media is None:
        raise ValueError(f"cannot tell the format of {path.name!r} from its suffix; say it (csv, ndjson, parquet, ...)")
    return media


def file_body(path: str | os.PathLike[str], format: str | None = None) -> Body:
    """A file, read in 256 KiB chunks on each attempt."""
    path = Path(path)
    media = media_type_of(path, format)
    total_rows = parquet_rows(path) if media == PARQUET else None

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    return Body(
        media,
        chunks,
        total_bytes=path.stat().st_size,
        total_rows=total_rows,
        rows=media in (CSV, NDJSON),
        header_lines=1 if media == CSV else 0,
    )


def records_body(records: Iterable[Mapping[str, Any]]) -> Body:
    """Records as NDJSON. A list (or any re-iterable) is encoded again for a retry; a one-shot
    iterator is copied to a temporary file as it is sent, so a retry replays that copy."""
    if isinstance(records, Iterator):
        replay = _Replayable(ndjson_chunks(records, BATCH_ROWS // 5))
        return Body(NDJSON, replay.chunks, rows=True)
    total = len(records) if isinstance(records, Sized) else None
    return Body(NDJSON, lambda: ndjson_chunks(records, BATCH_ROWS // 5), total_rows=total, rows=True)


def frame_body(frame: Any) -> Body:
    """A pandas or polars DataFrame (or a pyarrow Table) as NDJSON, converted a batch at a time."""
    table = arrow_table(frame)

    def chunks() -> Iterator[bytes]:
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            yield from ndjson_chunks(batch.to_pylist(), BATCH_ROWS)

    return Body(NDJSON, chunks, total_rows=table.num_rows, rows=True)


def parquet_as_ndjson(path: str | os.PathLike[str]) -> Body:
    """A Parquet file as NDJSON, a row group batch at a time (for a service without Parquet uploads)."""
    import pyarrow.parquet as pq

    path = Path(path)

    def chunks() -> Iterator[bytes]:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            yield from ndjson_chunks(batch.to_pylist(), BATCH_ROWS)

    return Body(NDJSON, chunks, total_rows=parquet_rows(path), rows=True)


def parquet_rows(path: Path) -> int | None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    return int(pq.ParquetFile(path).metadata.num_rows)


def arrow_table(frame: Any) -> Any:
    """A pyarrow Table of a pandas/polars DataFrame (or the Table itself)."""
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        return frame
    if hasattr(frame, "to_arrow"):  # polars
        return frame.to_arrow()
    return pa.Table.from_pandas(frame, preserve_index=False)


class _Replayable:
    """A one-shot chunk iterator made re-readable: chunks are copied to a temporary file as they
    pass; a later pass reads the copy, then carries on with the source where the last pass stopped."""

    def __init__(self, source: Iterator[bytes]) -> None:
        self._source = source
        self._spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the body
        self._spooled = 0

    def chunks(self) -> Iterator[bytes]:
        self._spool.seek(0)
        remaining = self._spooled
        while remaining > 0:
            chunk = self._spool.read(min(CHUNK, remaining))
            remaining -= len(chunk)
            yield chunk
        for chunk in self._source:
            self._spool.seek(0, os.SEEK_END)
            self._spool.write(chunk)
            self._spooled += len(chunk)
            yield chunk


def upload_body(data: Any, format: str | None = None) -> Body:
    """The body for `insert`'s data: a path (by suffix or `format`), a DataFrame or Table, or
    records (a list or any iterable of dicts)."""
    if isinstance(data, str | os.PathLike):
        return file_body(data, format)
    if hasattr(data, "to_arrow") or hasattr(data, "to_batches") or type(data).__module__.startswith("pandas"):
        return frame_body(data)
    if isinstance(data, Mapping):
        raise TypeError("insert takes many records: a list or iterable of dicts, a file path or a DataFrame")
    return records_body(data)
