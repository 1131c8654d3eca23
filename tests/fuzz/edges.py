"""The sweep after the fuzzing: every value at the edge of a type, through every route that carries a
value of that type. Random fuzzing reaches a given value on a given route only by luck; a value that
breaks one route (a 400-digit integer where a float goes, a NaN numeric, an infinite date, a NUL in
text) usually breaks its siblings too, so the sweep sends each one everywhere, once, in a fixed
order. About 500 small requests."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

from tests.fuzz.realistic import GRAPH_NAME, TABLE_NAME, csv_body

DS = "/sessions/{session_id}/datasets/{dataset_id}"

BIG = 10**400


@dataclass(frozen=True, slots=True)
class Raw:
    """A value sent as raw JSON text, as no JSON encoder writes it: `Raw("1e400")`, `Raw("NaN")`."""

    text: str


EDGE_VALUES: dict[str, list[Any]] = {
    "integer": [BIG, 2**63, 1.5, Raw("1e400")],
    "float": [BIG, "NaN", "Infinity", Raw("1e400"), Raw("NaN")],
    "numeric": ["NaN", "Infinity", "1e131072", BIG],
    "date": ["infinity", "-infinity", "0000-01-01", "5874897-12-31"],
    "timestamp": ["infinity", "-infinity", "294277-01-01T00:00:00Z"],
    "text": ["\u0000", "x" * 3000, Raw('"\\ud800"')],
    "json": [{"a": "\u0000"}, BIG, Raw('{"a": NaN}')],
    "boolean": ["maybe"],
    "uuid": ["{6f1c3b1e-4a8e-4f57-9b7e-2a1d4c5e6f70}"],
}
COLUMN_OF = {
    "integer": "n",
    "float": "f",
    "numeric": "d",
    "date": "day",
    "timestamp": "ts",
    "text": "name",
    "json": "doc",
    "boolean": "b",
    "uuid": "u",
}
GRAPH_PROPERTY_OF = {"integer": "age", "float": "score", "text": "name"}
SQL_TYPE_OF = {
    "integer": "bigint",
    "float": "float8",
    "numeric": "numeric",
    "date": "date",
    "timestamp": "timestamptz",
    "text": "text",
    "json": "jsonb",
    "boolean": "boolean",
    "uuid": "uuid",
}
SPECIAL_SQL = [
    "SELECT 'NaN'::numeric",
    "SELECT 'Infinity'::numeric",
    "SELECT '-Infinity'::numeric",
    "SELECT 'NaN'::float8",
    "SELECT 'Infinity'::float8",
    "SELECT 'infinity'::timestamptz",
    "SELECT '-infinity'::timestamp",
    "SELECT 'infinity'::date",
    "SELECT '-infinity'::date",
    "SELECT '4713-01-01 BC'::date",
    "SELECT '294276-12-31'::date",
    "SELECT 10::numeric ^ 1000",
    "SELECT '1e-1000'::numeric",
    "SELECT 9223372036854775807::bigint",
    "SELECT '-0'::float8",
    "SELECT 'infinity'::interval",
    "SELECT '[1,infinity]'::numrange",
    "SELECT '\"\\u0000\"'::json",
    "SELECT '1e400'::json",
    "SELECT E'\\\\x00ff'::bytea",
    "SELECT ARRAY['NaN'::numeric]",
    "SELECT '{\"a\": 1e400}'::jsonb",
    "SELECT 1e308::float8 * 10",
]
SPECIAL_CYPHER = [
    "RETURN 0.0 / 0.0 AS x",
    "RETURN 1.0 / 0.0 AS x",
    "RETURN -1.0 / 0.0 AS x",
    "RETURN 9223372036854775807 AS x",
    "RETURN date('-999999999-01-01') AS x",
    "RETURN datetime('+999999999-12-31T23:59:59Z') AS x",
    "RETURN duration({seconds: 9223372036854775807}) AS x",
    "RETURN point({x: 0.0 / 0.0, y: 1}) AS x",
    "RETURN [0.0 / 0.0] AS x",
    "RETURN {a: 1.0 / 0.0} AS x",
    "RETURN '\\u0000' AS x",
    "RETURN localtime() AS x",
]


@dataclass
class Probe:
    label: str
    path_parameters: dict[str, str] = field(default_factory=dict)
    query: dict[str, list[str]] | None = None
    body: Any = None
    media_type: str | None = None


def _text(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    return value if isinstance(value, str) else json.dumps(value)


def _json(document: Any) -> str:
    """JSON text with Raw values spliced in verbatim."""
    marks: dict[str, str] = {}

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            marks[f"@@raw{len(marks)}@@"] = value.text
            return f"@@raw{len(marks) - 1}@@"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(document))
    for mark, raw in marks.items():
        text = text.replace(json.dumps(mark), raw)
    return text


def probes(session_id: str, tabular_id: str, graph_id: str, spare_session_id: str) -> list[Probe]:
    table = {"session_id": session_id, "dataset_id": tabular_id}
    graph = {"session_id": session_id, "dataset_id": graph_id}
    session = {"session_id": session_id}
    out: list[Probe] = []

    def body(label: str, params: dict[str, str], document: Any, query: dict[str, list[str]] | None = None) -> None:
        out.append(Probe(label, params, query, _json(document), "raw-json"))

    for kind, values in EDGE_VALUES.items():
        column = COLUMN_OF[kind]
        for value in values:
            text = _text(value)
            body(f"POST {DS}/records", table, {"records": [{"name": "edge", column: value}]})
            out.append(
                Probe(
                    f"POST {DS}/records",
                    table,
                    None,
                    _json({"name": "edge", column: value}) + "\n",
                    "application/x-ndjson",
                )
            )
            out.append(Probe(f"POST {DS}/records", table, None, csv_body([{"name": "edge", column: text}]), "text/csv"))
            body(f"PUT {DS}/records", table, {"records": [{"id": 1, column: value}]})
            body(f"PUT {DS}/records", table, {"set": {column: value}}, {"name": ["eq:nobody"]})
            out.append(Probe(f"GET {DS}/records", table, {column: [f"gte:{text}"]}))
            body(f"POST {DS}/records/search", table, {"where": {column: {"gte": value}}})
            body(
                "POST /sessions/{session_id}/query",
                session,
                {"language": "structured", "from": TABLE_NAME, "where": {column: {"lt": value}}},
            )
            body(
                "POST /sessions/{session_id}/query",
                session,
                {"language": "sql", "query": f"SELECT $1::{SQL_TYPE_OF[kind]}", "parameters": [value]},
            )
            body(
                "POST /sessions/{session_id}/query",
                session,
                {
                    "language": "sql",
                    "query": f"INSERT INTO {TABLE_NAME} (name, {column}) VALUES ('edge', $1) RETURNING *",  # noqa: S608
                    "parameters": [value],
                    "read_only": False,
                },
            )
            body(
                "POST /sessions/{session_id}/datasets",
                {"session_id": spare_session_id},
                {
                    "name": f"edge_{len(out)}",
                    "kind": "tabular",
                    "schema": {"columns": [{"name": "c", "type": kind, "default": value}]},
                },
            )
            prop = GRAPH_PROPERTY_OF.get(kind, column)
            node = {"id": "edge", "labels": ["Person"], "properties": {prop: value}}
            edge = {
                "source": "a",
                "target": "b",
                "type": "KNOWS",
                "properties": {"weight" if kind == "float" else "since": value},
            }
            body(f"POST {DS}/records", graph, {"nodes": [node], "edges": [], "on_conflict": "update"})
            body(f"POST {DS}/records", graph, {"nodes": [], "edges": [edge]})
            body(f"PUT {DS}/records", graph, {"records": [{"id": "a", "properties": {prop: value}}]})
            out.append(Probe(f"GET {DS}/nodes", graph, {prop: [f"gt:{text}"]}))
            body(f"POST {DS}/nodes/search", graph, {"where": {prop: {"ne": value}}})
            body(
                "POST /sessions/{session_id}/query",
                session,
                {"language": "cypher", "dataset": GRAPH_NAME, "query": "RETURN $v AS v", "parameters": {"v": value}},
            )
    for sql in SPECIAL_SQL:
        body("POST /sessions/{session_id}/query", session, {"language": "sql", "query": sql})
    for cypher in SPECIAL_CYPHER:
        body(
            "POST /sessions/{session_id}/query", session, {"language": "cypher", "dataset": GRAPH_NAME, "query": cypher}
        )
    # values Neo4j stores but the driver cannot build (years past 9999), stored without a RETURN
    body(
        "POST /sessions/{session_id}/query",
        session,
        {
            "language": "cypher",
            "dataset": GRAPH_NAME,
            "read_only": False,
            "query": "CREATE (:Person {name: 'far', age: 1, seen: date('+20000-01-01')})",
        },
    )
    # what was stored above, read back through every reader
    for fmt in ("csv", "json", "ndjson"):
        out.append(Probe(f"GET {DS}/export", table, {"format": [fmt]}))
    for fmt in ("json", "graphml", "ndjson"):
        out.append(Probe(f"GET {DS}/export", graph, {"format": [fmt]}))
    out.append(Probe(f"GET {DS}/records", table, {"limit": ["1000"]}))
    out.append(Probe(f"GET {DS}/nodes", graph, {"limit": ["1000"]}))
    out.append(Probe(f"GET {DS}/edges", graph, {"limit": ["1000"]}))
    body("POST /sessions/{session_id}/query", session, {"language": "sql", "query": "SELECT * FROM things"})
    body(
        "POST /sessions/{session_id}/query",
        session,
        {"language": "cypher", "dataset": GRAPH_NAME, "query": "MATCH (n) OPTIONAL MATCH (n)-[r]->() RETURN n, r"},
    )
    out.append(Probe("GET /sessions/{session_id}/export", session))
    return out


def damaged_archives(archive: bytes) -> list[bytes]:
    """The session's export damaged where a ZIP reader meets it: bytes flipped inside the first
    entry's compressed data (a broken deflate stream, or a bad CRC), an unsupported compression
    method, the encryption flag set, a truncated central directory."""
    first = archive.index(b"PK\x03\x04")
    name_length, extra_length = struct.unpack_from("<HH", archive, first + 26)
    data = first + 30 + name_length + extra_length
    out = []
    for offset in (1, 2, 5, 9, 17, 33):
        damaged = bytearray(archive)
        damaged[data + offset] ^= 0x5A
        out.append(bytes(damaged))
    central = archive.index(b"PK\x01\x02")
    for method in (99, 14):  # unknown; LZMA as flagged, though the data is deflate
        damaged = bytearray(archive)
        struct.pack_into("<H", damaged, first + 8, method)
        struct.pack_into("<H", damaged, central + 10, method)
        out.append(bytes(damaged))
    encrypted = bytearray(archive)
    for flags_at in (first + 6, central + 8):
        encrypted[flags_at] |= 0x01
    out.append(bytes(encrypted))
    out.append(archive[: len(archive) - 10])
    return out
