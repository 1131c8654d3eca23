"""What both clients decide the same way beyond single calls: timeouts, query documents, and when a
Parquet export falls back to NDJSON."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from datainfra_client import frames
from datainfra_client.core import PARQUET
from datainfra_client.errors import BadRequest

DEFAULT_TIMEOUT = httpx.Timeout(300.0, connect=10.0, pool=30.0)
"""Long reads and writes: an export or a large upload may take minutes."""


def query_document(language: str, **members: Any) -> dict[str, Any]:
    """The query endpoint's body: language plus the members given (None left out; `from_` is `from`)."""
    document: dict[str, Any] = {"language": language}
    for name, value in members.items():
        if value is not None:
            document["from" if name == "from_" else name] = value
    return document


def record_upload_types(document: Any) -> set[str]:
    """The media types the OpenAPI document lists for the record write's body."""
    if not isinstance(document, dict):
        return set()
    for path, operations in (document.get("paths") or {}).items():
        if path.endswith("/records") and isinstance(operations, dict) and "post" in operations:
            content = ((operations.get("post") or {}).get("requestBody") or {}).get("content") or {}
            return set(content)
    return set()


def accepts_parquet_uploads(document: Any) -> bool:
    """Whether the record write takes Parquet. Asked before a Parquet upload: a service without it
    would refuse the body only once the client had begun sending it."""
    return PARQUET in record_upload_types(document)


def wants_ndjson_fallback(exc: BaseException) -> bool:
    """Whether a Parquet export failed because the service has no Parquet export (a 400 about the
    format), or pyarrow could not read what came back."""
    if isinstance(exc, BadRequest):
        return exc.parameter in (None, "format") and "format" in (exc.detail + str(exc.parameter)).lower()
    return type(exc).__module__.startswith("pyarrow")


def export_fallback(path: str | os.PathLike[str], schema: Mapping[str, Any], select: Sequence[str] | None) -> Any:
    """The Table of an NDJSON export, its columns in `select`'s order (else the schema's)."""
    table = frames.read_ndjson(path, schema, list(select) if select else None)
    order = (
        list(select) if select else [c["name"] for c in schema.get("columns", []) if c["name"] in table.column_names]
    )
    rest = [name for name in table.column_names if name not in order]
    return table.select([*[n for n in order if n in table.column_names], *rest])
