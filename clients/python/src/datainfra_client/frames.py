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
    are inferred): text, integer, float, boolean, uuid; dates and timestamps are read as text and
    cast afterwards (`typed`)."""
    import pyarrow as pa

    fields = []
    for column in schema.get("columns", []):
        kind = column.get("type")
        if kind in ARROW_TYPES:
            fields.append(pa.field(column["name"], pa.type_for_alias(ARROW_TYPES[kind])))
        elif kind in ("date", "timestamp"):
            fields.append(pa.field(column["name"], pa.string()))
    return pa.schema(fields)


def typed(table: Any, schema: Mapping[str, Any]) -> Any:
    """Date columns as date32, timestamp columns as UTC microseconds (values Arrow cannot hold,
    such as infinity or years past 9999, keep the column as text)."""
    import pyarrow as pa

    targets = {"date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC")}
    for column in schema.get("columns", []):
        target = targets.get(column.get("type"))
        name = column["name"]
        if target is None or name not in table.column_names:
            continue
        index = table.column_names.index(name)
        try:
            table = table.set_column(index, name, table.column(name).cast(target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return table


def read_ndjson(path: str | os.PathLike[str], schema: Mapping[str, Any], columns: list[str] | None = None) -> Any:
    """A pyarrow Table from an NDJSON export (an empty export gives the schema's empty columns)."""
    import pyarrow as pa
    import pyarrow.json as pajson

    explicit = arrow_schema(schema)
    if os.path.getsize(path) == 0:
        names = columns or [c["name"] for c in schema.get("columns", [])]
        table = pa.table({n: pa.array([], type=_type_or_null(explicit, n)) for n in names})
    else:
        options = pajson.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="infer")
        table = pajson.read_json(path, parse_options=options)
    return typed(table, schema)


def _type_or_null(schema: Any, name: str) -> Any:
    import pyarrow as pa

    index = schema.get_field_index(name)
    return schema.field(index).type if index >= 0 else pa.null()


def read_parquet(path: str | os.PathLike[str]) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(path)


def to_networkx(document: Mapping[str, Any]) -> Any:
    """A graph's node-link export read exactly as networkx reads it (`node_link_graph`): the export
    follows networkx's flat convention, so properties are node/edge attributes, labels the `:labels`
    attribute (":Person:Admin"), an edge's type `:type` and its key the multigraph key. One reading,
    the same a user gets opening the exported file themselves."""
    import networkx as nx

    edges = "links" if "links" in document and "edges" not in document else "edges"
    return nx.node_link_graph(dict(document), directed=True, multigraph=True, edges=edges)
