"""Reading exports into DataFrames and graphs: Parquet when the service offers it, else NDJSON read
with the dataset's schema (so columns keep their types), and node-link JSON into networkx."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

ARROW_TYPES = {
    "text": "string",
    "integer": "int64",
    "float": "float64",
    "boolean": "bool",
    "uuid": "string",
}


def arrow_schema(schema: Mapping[str, Any]) -> Any:
    """An explicit Arrow schema for the columns whose JSON form Arrow reads unambiguously (the rest
    are inferred): text, integer, float, boolean, uuid, date and timestamp (UTC)."""
    import pyarrow as pa

    fields = []
    for column in schema.get("columns", []):
        kind = column.get("type")
        if kind in ARROW_TYPES:
            fields.append(pa.field(column["name"], pa.type_for_alias(ARROW_TYPES[kind])))
        elif kind == "date":
            fields.append(pa.field(column["name"], pa.date32()))
        elif kind == "timestamp":
            fields.append(pa.field(column["name"], pa.timestamp("us", tz="UTC")))
    return pa.schema(fields)


def read_ndjson(path: str | os.PathLike[str], schema: Mapping[str, Any], columns: list[str] | None = None) -> Any:
    """A pyarrow Table from an NDJSON export (an empty export gives the schema's empty columns)."""
    import pyarrow as pa
    import pyarrow.json as pajson

    explicit = arrow_schema(schema)
    if os.path.getsize(path) == 0:
        names = columns or [c["name"] for c in schema.get("columns", [])]
        return pa.table({n: pa.array([], type=_type_or_null(explicit, n)) for n in names})
    options = pajson.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="infer")
    table = pajson.read_json(path, parse_options=options)
    return table


def _type_or_null(schema: Any, name: str) -> Any:
    import pyarrow as pa

    index = schema.get_field_index(name)
    return schema.field(index).type if index >= 0 else pa.null()


def read_parquet(path: str | os.PathLike[str]) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(path)


def to_networkx(document: Mapping[str, Any]) -> Any:
    """A networkx MultiDiGraph of a node-link export (node and edge properties as attributes)."""
    import networkx as nx

    links = "edges" if "edges" in document else "links"
    return nx.node_link_graph(dict(document), directed=True, multigraph=True, edges=links)
