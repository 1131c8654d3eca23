"""Session archives: a ZIP written as it is built (to a stream that cannot seek: zipfile then
puts sizes and CRCs in data descriptors after each file), and read back for an import.

Writing: every dataset in its default format (tabular CSV by COPY, graphs node-link JSON), rows in
key order, then manifest.json with the counts seen while writing. Entries are Deflate-compressed
(level 1: fast) and ZIP64, so a file may exceed 4 GiB.

Reading: the request body is spooled to a temporary file (ZIP's directory is at its end), then
each entry is decompressed as it is consumed, so memory stays flat whatever the archive size.
Before anything is read, the central directory is checked against the limits below (413): zipfile
never inflates an entry past the size its directory declares, so declared sizes bound the work."""

from __future__ import annotations

import contextlib
import lzma
import time
import zipfile
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from typing import IO, Any, cast

from datainfra.adapters.http.bodies import csv_rows, ndjson_rows
from datainfra.adapters.http.body_limit import spool
from datainfra.adapters.http.encoding import decode_json, encode_json
from datainfra.adapters.http.formats.counting import CsvRecordCounter
from datainfra.adapters.http.formats.graphml import GraphmlReader, graphml
from datainfra.adapters.http.formats.graphs import node_link_json, read_graph_ndjson, read_node_link
from datainfra.adapters.http.formats.tabular import tabular_text
from datainfra.domain.errors import InvalidRequest, PayloadTooLarge
from datainfra.domain.model import Dataset, DatasetKind, Session
from datainfra.domain.ports import ArchiveSource
from datainfra.services.exports import (
    DEFAULT_FORMAT,
    MANIFEST_FILE,
    ArchiveEntry,
    ExportCounts,
    ExportService,
    archive_file,
    default_query,
)

READ_CHUNK = 64 * 1024
MAX_MANIFEST = 64 * 1024 * 1024
MAX_ARCHIVE_ENTRIES = 10_000
"""Files in an archive (an export holds one per dataset, plus the manifest)."""
MAX_ARCHIVE_UNCOMPRESSED = 16 * 1024**3
"""Bytes of all entries once inflated."""
MAX_COMPRESSION_RATIO = 250
"""Inflated size over compressed size of one entry larger than RATIO_CHECKED_FROM (exports use
Deflate level 1, which stays far below it; a ZIP bomb is near Deflate's maximum of about 1,000)."""
RATIO_CHECKED_FROM = 64 * 1024 * 1024
MAX_GRAPH_ENTRY = 1024**3
"""A graph entry is parsed whole (as a graph body is), so it is bounded like one."""


class _Sink:
    """A write-only, unseekable file for zipfile: it only gathers what was written."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class StreamingZip:
    def __init__(self) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(cast(IO[bytes], self._sink), "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._when: tuple[int, int, int, int, int, int] = time.gmtime()[:6]

    async def entry(self, name: str, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        info = zipfile.ZipInfo(name, date_time=self._when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with self._zip.open(info, "w", force_zip64=True) as target:
            async for chunk in chunks:
                target.write(chunk)
                if len(self._sink.buffer) >= READ_CHUNK:
                    yield self._sink.take()
        if self._sink.buffer:
            yield self._sink.take()

    def close(self) -> bytes:
        self._zip.close()
        return self._sink.take()


async def session_archive(
    session: Session, datasets: Sequence[Dataset], exports: ExportService
) -> AsyncIterator[bytes]:
    archive = StreamingZip()
    entries: list[ArchiveEntry] = []
    for dataset in datasets:
        fmt = DEFAULT_FORMAT[dataset.kind]
        entry = ArchiveEntry(dataset, archive_file(dataset, fmt), fmt, ExportCounts())
        if dataset.kind is DatasetKind.TABULAR:
            counter = CsvRecordCounter()
            async for out in archive.entry(
                entry.file, counter.wrap(tabular_text(exports, dataset, default_query(dataset), "csv"))
            ):
                yield out
            entry.counts.records = counter.records
        else:
            source = node_link_json(dataset.name, exports.nodes(dataset), exports.edges(dataset), entry.counts)
            async for out in archive.entry(entry.file, source):
                yield out
        entries.append(entry)
    manifest = encode_json(exports.manifest(session, entries))

    async def manifest_bytes() -> AsyncIterator[bytes]:
        yield manifest

    async for out in archive.entry(MANIFEST_FILE, manifest_bytes()):
        yield out
    yield archive.close()


# -- reading --------------------------------------------------------------------------------------


class ZipArchive(ArchiveSource):
    """An ArchiveSource over a spooled ZIP body."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        try:
            self._zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError):
            file.close()
            raise InvalidRequest("the body is not a ZIP archive") from None
        try:
            _check_directory(self._zip.infolist())
        except BaseException:
            self.close()
            raise
        self._names = set(self._zip.namelist())

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def manifest(self) -> Any:
        if MANIFEST_FILE not in self._names:
            raise InvalidRequest("the archive holds no manifest.json")
        if self._zip.getinfo(MANIFEST_FILE).file_size > MAX_MANIFEST:
            raise InvalidRequest("manifest.json is too large")
        return decode_json(self._read_all(MANIFEST_FILE))

    def has_file(self, file: str) -> bool:
        return file in self._names and file != MANIFEST_FILE

    async def _chunks(self, file: str) -> AsyncIterator[bytes]:
        try:
            with self._zip.open(file) as member:
                while chunk := member.read(READ_CHUNK):
                    yield chunk
        except _DAMAGED as exc:
            raise InvalidRequest(f"{file} cannot be read from the archive: {exc}") from None

    def _read_all(self, file: str) -> bytes:
        try:
            return self._zip.read(file)
        except _DAMAGED as exc:
            raise InvalidRequest(f"{file} cannot be read from the archive: {exc}") from None

    def csv_rows(self, file: str) -> AsyncIterable[Mapping[str, str | None]]:
        return csv_rows(self._chunks(file))

    def ndjson_rows(self, file: str) -> AsyncIterable[Mapping[str, Any]]:
        return ndjson_rows(self._chunks(file))

    async def graph(self, file: str, fmt: str) -> tuple[list[Any], list[Any]]:
        if self._zip.getinfo(file).file_size > MAX_GRAPH_ENTRY:
            raise PayloadTooLarge(
                f"{file} inflates to more than {MAX_GRAPH_ENTRY} bytes, the most a graph entry may hold"
            )
        if fmt == "graphml":
            reader = GraphmlReader()
            async for chunk in self._chunks(file):
                reader.feed(chunk)
            return reader.result()
        if fmt == "ndjson":
            return await read_graph_ndjson(ndjson_rows(self._chunks(file)))
        return read_node_link(decode_json(self._read_all(file)))


# What inflating a damaged entry raises: zipfile's own errors, and the decompressors' (zlib.error for a
# broken deflate stream is no OSError).
_DAMAGED = (zipfile.BadZipFile, OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)

_READABLE_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
_ENCRYPTED_FLAG = 0x1


def _check_directory(entries: Sequence[zipfile.ZipInfo]) -> None:
    """413 for an archive past an entry, size or compression-ratio limit (its declared sizes); 400 for an
    entry no reader here can open (encrypted, or compressed by a method other than stored, deflate, bzip2
    and lzma), said before any of it is read."""
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        raise PayloadTooLarge(f"the archive holds more than {MAX_ARCHIVE_ENTRIES} files")
    total = 0
    for entry in entries:
        if entry.flag_bits & _ENCRYPTED_FLAG:
            raise InvalidRequest(f"{entry.filename} is encrypted; archives must not be encrypted")
        if entry.compress_type not in _READABLE_METHODS:
            raise InvalidRequest(
                f"{entry.filename} is compressed with method {entry.compress_type}; "
                f"use one of {', '.join(sorted(_READABLE_METHODS.values()))}"
            )
        total += entry.file_size
        if total > MAX_ARCHIVE_UNCOMPRESSED:
            raise PayloadTooLarge(f"the archive inflates to more than {MAX_ARCHIVE_UNCOMPRESSED} bytes")
        if entry.file_size > RATIO_CHECKED_FROM and entry.file_size > MAX_COMPRESSION_RATIO * entry.compress_size:
            raise PayloadTooLarge(
                f"{entry.filename} inflates more than {MAX_COMPRESSION_RATIO} times its compressed size "
                "(a ZIP bomb?); compress it less or import its data in pieces"
            )


@contextlib.asynccontextmanager
async def opened_archive(chunks: AsyncIterable[bytes], limit: int | None) -> AsyncIterator[ZipArchive]:
    archive = ZipArchive(await spool(chunks, limit))
    try:
        yield archive
    finally:
        archive.close()


__all__ = ["StreamingZip", "ZipArchive", "graphml", "opened_archive", "session_archive"]
