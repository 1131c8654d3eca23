"""The archive an import reads: the service plans and loads datasets from it, the HTTP adapter that
received the upload (adapters/http/formats/archive.ZipArchive) reads its files."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import Protocol

from datainfra.domain.json_value import JsonValue


class ArchiveSource(Protocol):
    """The files of an archive, read by the adapter that received it."""

    def csv_rows(self, file: str) -> AsyncIterable[Mapping[str, str | None]]:
        """CSV rows keyed by the header (None = unquoted empty cell = NULL), streamed."""
        ...

    def ndjson_rows(self, file: str) -> AsyncIterable[Mapping[str, JsonValue]]: ...

    async def graph(self, file: str, fmt: str) -> tuple[list[JsonValue], list[JsonValue]]:
        """Raw nodes and edges ({"id", "labels", "properties"} / {"id", "source", "target", "type",
        "properties"}), as the graph write route takes them."""
        ...

    def has_file(self, file: str) -> bool: ...
