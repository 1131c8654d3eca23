"""`datainfra import --create`: a dataset schema guessed from a file's header and values (the first
SAMPLE_ROWS rows of CSV or NDJSON; a Parquet file's own schema). GraphML and node-link files make a
graph dataset with an open schema."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import msgspec

from datainfra_client.core import CSV, GRAPHML, JSON, NDJSON, PARQUET

SAMPLE_ROWS = 10_000
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_BOOLEAN = frozenset({"true", "false"})
# the order a column widens in: a column with integers and floats is float, anything else is text
_WIDER = {
    ("integer", "float"): "float",
    ("float", "integer"): "float",
    ("date", "timestamp"): "timestamp",
    ("timestamp", "date"): "timestamp",
}


def infer(path: Path, media_type: str) -> tuple[str, dict[str, Any]]:
    """(kind, schema) for a new dataset holding this file."""
    if media_type in (GRAPHML, JSON):
        return "graph", {}
    if media_type == PARQUET:
        return "tabular", _parquet_schema(path)
    if media_type == CSV:
        return "tabular", _schema(*_csv_columns(path))
    if media_type == NDJSON:
        return "tabular", _schema(*_ndjson_columns(path))
    raise ValueError(f"cannot make a dataset from {media_type}")


def _text_type(cell: str) -> str | None:
    if cell == "":
        return None
    if _INTEGER.match(cell):
        return "integer"
    if _FLOAT.match(cell):
        return "float"
    if cell.lower() in _BOOLEAN:
        return "boolean"
    if _DATE.match(cell):
        return "date"
    if _TIMESTAMP.match(cell):
        return "timestamp"
    return "text"


def _json_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        kind = _text_type(value)
        return kind if kind in ("date", "timestamp") else "text"
    return "json"


def _merge(known: str | None, seen: str | None) -> str | None:
    if seen is None or known == seen:
        return known
    if known is None:
        return seen
    return _WIDER.get((known, seen), "text")


def _csv_columns(path: Path) -> tuple[list[str], dict[str, str | None], set[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        names = next(reader, [])
        types: dict[str, str | None] = dict.fromkeys(names)
        nulls: set[str] = set()
        for number, row in enumerate(reader):
            if number >= SAMPLE_ROWS:
                break
            for name, cell in zip(names, row, strict=False):
                if cell == "":
                    nulls.add(name)
                types[name] = _merge(types[name], _text_type(cell))
    return names, types, nulls


def _ndjson_columns(path: Path) -> tuple[list[str], dict[str, str | None], set[str]]:
    names: list[str] = []
    types: dict[str, str | None] = {}
    nulls: set[str] = set()
    with path.open("rb") as handle:
        for number, line in enumerate(handle):
            if number >= SAMPLE_ROWS:
                break
            if not line.strip():
                continue
            record = msgspec.json.decode(line)
            for name, value in record.items():
                if name not in types:
                    names.append(name)
                    types[name] = None
                    if number > 0:
                        nulls.add(name)
                if value is None:
                    nulls.add(name)
                types[name] = _merge(types[name], _json_type(value))
            nulls.update(name for name in names if name not in record)
    return names, types, nulls


def _schema(names: list[str], types: dict[str, str | None], nulls: set[str]) -> dict[str, Any]:
    columns: list[dict[str, Any]] = [{"name": name, "type": types.get(name) or "text"} for name in names]
    schema: dict[str, Any] = {"columns": columns}
    if "id" in types:  # the API reserves `id` for a key: a column of that name must be the key
        schema["primary_key"] = ["id"]
        columns[names.index("id")]["nullable"] = False
    return schema


def _parquet_schema(path: Path) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pq.read_schema(path)
    columns: list[dict[str, Any]] = []
    for field in arrow:
        kind = field.type
        if pa.types.is_boolean(kind):
            name = "boolean"
        elif pa.types.is_integer(kind):
            name = "integer"
        elif pa.types.is_floating(kind):
            name = "float"
        elif pa.types.is_decimal(kind):
            name = "numeric"
        elif pa.types.is_date(kind):
            name = "date"
        elif pa.types.is_timestamp(kind):
            name = "timestamp"
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            name = "text"
        else:
            name = "json"
        columns.append({"name": field.name, "type": name, "nullable": field.nullable})
    schema: dict[str, Any] = {"columns": columns}
    if "id" in arrow.names:
        schema["primary_key"] = ["id"]
        columns[arrow.names.index("id")]["nullable"] = False
    return schema
