"""Inputs that reach past the first validation: the fuzz stage's own strategies, drawn beside what
schemathesis makes from the OpenAPI document.

The document describes most bodies as a bare `object` and leaves out the query parameters that
filter, sort and page (issue 13), so schemata alone would mostly test the first `isinstance`. These
strategies know the seeded datasets (their column names, node ids, edge ids, relationship types)
and mix well-formed requests with values at the edges of each type: huge integers, non-finite and
tiny floats, NUL and astral characters, long strings, infinite dates, nested JSON, wrong types."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st


def rarely(draw: Callable[..., Any], one_in: int) -> bool:
    """True about once in `one_in` draws, and False for Hypothesis's simplest choice (which it tries
    first): the rare branch is the unusual input, the simple one the realistic input. (Drawn from
    0-99 so that Hypothesis's liking for bounds does not make the rare branch common.)"""
    return bool(draw(st.integers(0, 99)) >= 100 - 100 // one_in)


def pick(draw: Callable[..., Any], usual: list[Any], odd: list[Any], one_in: int = 8) -> Any:
    """One of `usual`, or rarely one of `odd`."""
    return draw(st.sampled_from(odd if rarely(draw, one_in) else usual))


def mostly(draw: Callable[..., Any], one_in: int) -> bool:
    return not rarely(draw, one_in)


# -- the seeded world ------------------------------------------------------------------------------

TABLE_NAME = "things"
TABLE_SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "name", "type": "text", "nullable": False, "default": "anon"},
        {"name": "n", "type": "integer"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "numeric"},
        {"name": "b", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "ts", "type": "timestamp"},
        {"name": "doc", "type": "json"},
        {"name": "u", "type": "uuid"},
    ],
    "indexes": [{"columns": ["n"]}, {"columns": ["name", "day"]}],
}
COLUMN_TYPES = {c["name"]: c["type"] for c in TABLE_SCHEMA["columns"]} | {"id": "integer"}
TABLE_ROWS: list[dict[str, Any]] = [
    {
        "name": "ada",
        "n": 36,
        "f": 1.5,
        "d": "12.50",
        "b": True,
        "day": "2024-01-02",
        "ts": "2024-01-02T03:04:05Z",
        "doc": {"k": [1, 2]},
        "u": "6f1c3b1e-4a8e-4f57-9b7e-2a1d4c5e6f70",
    },
    {
        "name": "bob",
        "n": -7,
        "f": -0.0,
        "d": "0",
        "b": False,
        "day": "1999-12-31",
        "ts": "1999-12-31T23:59:59Z",
        "doc": None,
        "u": None,
    },
    {"name": "cy", "n": None, "f": None, "d": None, "b": None, "day": None, "ts": None, "doc": "text", "u": None},
    {
        "name": "dee",
        "n": 2147483647,
        "f": 1e300,
        "d": "-99999999999.999999",
        "b": True,
        "day": "2000-02-29",
        "ts": "2000-02-29T12:00:00+05:30",
        "doc": [],
        "u": "00000000-0000-0000-0000-000000000000",
    },
]

GRAPH_NAME = "social"
GRAPH_SCHEMA: dict[str, Any] = {
    "node_labels": [
        {
            "name": "Person",
            "properties": [
                {"name": "name", "type": "text"},
                {"name": "age", "type": "integer"},
                {"name": "score", "type": "float"},
            ],
            "indexes": [{"properties": ["name"]}],
        },
        {"name": "City", "properties": [{"name": "name", "type": "text"}]},
    ],
    "relationship_types": [
        {"name": "KNOWS", "properties": [{"name": "since", "type": "integer"}, {"name": "weight", "type": "float"}]},
        {"name": "LIVES_IN", "properties": []},
    ],
}
NODE_PROPERTY_TYPES = {"name": "text", "age": "integer", "score": "float"}
GRAPH_NODES: list[dict[str, Any]] = [
    {"id": "a", "labels": ["Person"], "properties": {"name": "Ada", "age": 36, "score": 0.5}},
    {"id": "b", "labels": ["Person"], "properties": {"name": "Bob", "age": 28}},
    {"id": "c", "labels": ["Person"], "properties": {"name": "Cy"}},
    {"id": "paris", "labels": ["City"], "properties": {"name": "Paris"}},
    {"id": "search", "labels": ["Person"], "properties": {"name": "a node named like a route"}},
]
GRAPH_EDGES: list[dict[str, Any]] = [
    {"id": "ab", "source": "a", "target": "b", "type": "KNOWS", "properties": {"since": 2001, "weight": 1.0}},
    {"id": "bc", "source": "b", "target": "c", "type": "KNOWS", "properties": {"since": 2010, "weight": 2.5}},
    {"id": "ac", "source": "a", "target": "c", "type": "KNOWS", "properties": {"weight": 5.0}},
    {"id": "a-paris", "source": "a", "target": "paris", "type": "LIVES_IN", "properties": {}},
    {"id": "loop", "source": "c", "target": "c", "type": "KNOWS", "properties": {}},
]
NODE_IDS = [n["id"] for n in GRAPH_NODES]
EDGE_IDS = [e["id"] for e in GRAPH_EDGES]
TYPE_NAMES = ["text", "integer", "float", "numeric", "boolean", "date", "timestamp", "json", "uuid"]

# -- values ---------------------------------------------------------------------------------------

EDGE_INTS = [0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, 10**400]
EDGE_FLOATS = [0.0, -0.0, 5e-324, 1.7976931348623157e308, -1e308, 1e-7, 0.1 + 0.2]
EDGE_TEXTS = [
    "",
    " ",
    "x" * 3000,
    "\u0000",
    "a\u0000b",
    "\U0001f600",
    "\ud7ff\ue000",
    "'; DROP TABLE things; --",
    "%",
    "_",
    "\\",
    "null",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "infinity",
    "-infinity",
    "2024-02-30",
    "0000-01-01",
    "9999-12-31T23:59:59Z",
    "294277-01-01",
    "epoch",
    "now",
    "allballs",
    "true",
    "t",
    "yes",
    "{}",
    "[]",
    "00000000-0000-0000-0000-00000000000",
    "a,b",
    "a:b",
    "in:",
    "eq:",
    "\n",
    "\r\n",
    '"',
    "é" * 200,
]
EDGE_DATES = [
    "2024-01-02",
    "1970-01-01",
    "0001-01-01",
    "9999-12-31",
    "infinity",
    "-infinity",
    "2024-13-01",
    "12/31/1999",
    "20240102",
    "5874897-12-31",
]
EDGE_TIMESTAMPS = [
    "2024-01-02T03:04:05Z",
    "2024-01-02 03:04:05",
    "1970-01-01T00:00:00+14:00",
    "infinity",
    "-infinity",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "2024-01-02T25:00:00",
]

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from(EDGE_INTS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(EDGE_FLOATS),
    st.text(max_size=20),
    st.sampled_from(EDGE_TEXTS),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10,
)
"""JSON values, scalars at the edges of each type most of the time. Non-finite floats are left out
here: JSON has no spelling for them (they are sent as raw text, see `raw_json_bodies`)."""


RIGHT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "text": st.one_of(st.text(max_size=30), st.sampled_from(EDGE_TEXTS)),
    "integer": st.one_of(st.integers(min_value=-1000, max_value=1000), st.sampled_from(EDGE_INTS)),
    "float": st.one_of(
        st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(EDGE_FLOATS), st.sampled_from(EDGE_INTS)
    ),
    "numeric": st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e131072", "1e-16384", "0.1"]),
        st.sampled_from(EDGE_INTS),
        st.sampled_from(EDGE_FLOATS),
    ),
    "boolean": st.one_of(st.booleans(), st.sampled_from(["true", "false", "t", "1", 0, 1, "maybe"])),
    "date": st.one_of(st.dates().map(str), st.sampled_from(EDGE_DATES)),
    "timestamp": st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.sampled_from(EDGE_TIMESTAMPS)),
    "json": json_values,
    "uuid": st.one_of(
        st.uuids().map(str), st.sampled_from(["", "not-a-uuid", "{6f1c3b1e-4a8e-4f57-9b7e-2a1d4c5e6f70}"])
    ),
}


@st.composite
def typed_value(draw: Callable[..., Any], type_name: str) -> Any:
    """A value for a column of `type_name`: of its type mostly (often at its edges), rarely null or
    of another type."""
    if rarely(draw, 8):
        return None
    if rarely(draw, 8):
        return draw(json_leaves)
    return draw(RIGHT_VALUES.get(type_name, json_values))


def scalar_text(type_name: str) -> st.SearchStrategy[str]:
    """A value as it is written in a query string or a CSV cell."""
    return typed_value(type_name).map(lambda v: v if isinstance(v, str) else json.dumps(v))


# -- tabular --------------------------------------------------------------------------------------

column_names = st.one_of(st.sampled_from(sorted(COLUMN_TYPES)), st.sampled_from(["nope", "ID", "name ", "a.b", ""]))
FILTER_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "like", "ilike", "in", "nin", "is", "between", "", "EQ"]
OPS_BY_TYPE = {
    "text": ["eq", "ne", "gt", "gte", "lt", "lte", "like", "ilike", "in", "nin", "is"],
    "json": ["is"],
    "boolean": ["eq", "ne", "is"],
}
ORDERED_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "is"]


def filter_op(draw: Callable[..., Any], kind: str) -> str:
    return str(pick(draw, OPS_BY_TYPE.get(kind, ORDERED_OPS), FILTER_OPS))


@st.composite
def table_row(draw: Callable[..., Any], extra_columns: bool = True, min_size: int = 0) -> dict[str, Any]:
    columns = sorted(COLUMN_TYPES)
    names = draw(st.lists(st.sampled_from(columns), unique=True, min_size=min_size, max_size=len(columns)))
    row = {name: draw(typed_value(COLUMN_TYPES[name])) for name in names}
    if extra_columns and rarely(draw, 10):
        row[draw(st.text(max_size=10))] = draw(json_leaves)
    return row


@st.composite
def filter_pairs(draw: Callable[..., Any], types: dict[str, str]) -> list[tuple[str, str]]:
    """`field=op:value` query parameters, the README's filter syntax."""
    pairs = []
    for _ in range(draw(st.integers(1, 3))):
        field = pick(draw, sorted(types), ["nope", "ID", "name ", "a.b", "", "where.n"])
        kind = types.get(field, "text")
        op = filter_op(draw, kind)
        if op in ("in", "nin"):
            value = ",".join(draw(st.lists(scalar_text(kind), max_size=4)))
        elif op == "is":
            value = draw(st.sampled_from(["null", "notnull", "true", "false", "nan", ""]))
        else:
            value = draw(scalar_text(kind))
        pairs.append((field, f"{op}:{value}" if op else value))
    return pairs


@st.composite
def paging_pairs(draw: Callable[..., Any], types: dict[str, str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    names = sorted(types)
    usable = [n for n in names if types[n] != "json"]
    if draw(st.booleans()):
        fields = [pick(draw, usable, ["nope", "doc", "", "name "]) for _ in range(draw(st.integers(1, 3)))]
        pairs.append(("sort", ",".join(f + pick(draw, ["", ":asc", ":desc"], [":up", ":"]) for f in fields)))
    if draw(st.booleans()):
        pairs.append(("select", ",".join(pick(draw, names, ["nope", "", "*"]) for _ in range(draw(st.integers(1, 4))))))
    for name, usual, odd in (
        ("limit", [str(n) for n in (1, 2, 10, 1000)], ["0", "-1", "1001", "1e3", "x", str(2**64), ""]),
        ("offset", ["0", "1", "3", "100"], ["-1", str(2**63), str(10**30), "-0", "1.5"]),
        ("count", ["exact", "estimated"], ["none", "", "EXACT"]),
        ("cursor", ["eyJ2IjpbMV19", "W10"], ["", "!!", "e30=", "\u00e9"]),
    ):
        if rarely(draw, 3) or (name == "limit" and draw(st.booleans())):
            pairs.append((name, pick(draw, usual, odd, 6)))
    return pairs


@st.composite
def where_tree(draw: Callable[..., Any], types: dict[str, str], depth: int = 0) -> Any:
    """A JSON `where` (domain.where): members ANDed, and/or/not groups, operators per field."""
    if depth < 3 and rarely(draw, 4):
        group = draw(st.sampled_from(["and", "or", "not"]))
        if group == "not":
            return {"not": draw(where_tree(types, depth + 1))}
        return {group: draw(st.lists(where_tree(types, depth + 1), max_size=3))}
    tree: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 3))):
        field = pick(draw, sorted(types), ["nope", "ID", "a.b", "", "and", "or", "not", "field"])
        kind = types.get(field, "text")
        shape = draw(st.integers(0, 5))
        if shape == 0:
            tree[field] = draw(typed_value(kind))
        elif shape == 1:
            tree[field] = {draw(st.sampled_from(["in", "nin"])): draw(st.lists(typed_value(kind), max_size=4))}
        elif shape == 2:
            tree[field] = {"is": pick(draw, [None, "notnull", True, False], ["null", 3, "x"])}
        else:
            tree[field] = {filter_op(draw, kind): draw(typed_value(kind)) for _ in range(draw(st.integers(1, 2)))}
    if rarely(draw, 10):
        tree["field"] = draw(st.sampled_from(["or", "n", 3]))
    return tree


def search_body(types: dict[str, str], label: bool) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def body(draw: Callable[..., Any]) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if mostly(draw, 4):
            doc["where"] = draw(where_tree(types))
        for name, value in draw(paging_pairs(types)):
            doc[name] = int(value) if name in ("limit", "offset") and value.lstrip("-").isdigit() else value
        if label and draw(st.booleans()):
            doc["label"] = draw(st.one_of(st.sampled_from(["Person", "City", "Nope"]), st.lists(st.text(max_size=5))))
        return doc

    return body()


def csv_body(rows: list[dict[str, Any]]) -> str:
    header = sorted({k for row in rows for k in row}) or ["name"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            ["" if row.get(k) is None else (v if isinstance(v := row.get(k), str) else json.dumps(v)) for k in header]
        )
    return out.getvalue()


def ndjson_body(rows: list[Any]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


raw_json_bodies = st.sampled_from(
    [
        '{"records": [{"f": NaN}]}',
        '{"records": [{"f": Infinity}]}',
        '{"records": [{"n": -Infinity}]}',
        '{"records": [{"n": 1e999}]}',
        '{"records": [{"n": ' + "9" * 5000 + "}]}",
        '{"records": [' + "[" * 200 + "]" * 200 + "]}",
        '{"records": [{"name": "a", "name": "b"}]}',
        '{"records": [{"name": "\\ud800"}]}',
        "[]",
        "null",
        "",
        '{"records": [{"doc": ' + '{"a":' * 300 + "1" + "}" * 300 + "}]}",
        '{"nodes": [], "edges": [], "x": 1}',
    ]
)
"""JSON texts that a JSON encoder would never write: non-finite numbers, lone surrogates, duplicate
keys, deep nesting, a 5,000-digit number."""


# -- graph ----------------------------------------------------------------------------------------

node_ids = st.one_of(
    st.sampled_from(NODE_IDS), st.text(max_size=12), st.sampled_from(["", "x" * 600, "a/b", "%2F", "..", "search"])
)
labels = st.one_of(
    st.sampled_from(["Person", "City"]), st.text(max_size=10), st.sampled_from(["", "a b", "`", "x" * 300])
)
rel_types = st.one_of(st.sampled_from(["KNOWS", "LIVES_IN"]), st.text(max_size=10), st.sampled_from(["", "A-B", "R_0"]))


@st.composite
def graph_node(draw: Callable[..., Any]) -> dict[str, Any]:
    props = {name: draw(typed_value(kind)) for name, kind in NODE_PROPERTY_TYPES.items() if draw(st.booleans())}
    if rarely(draw, 5):
        props[draw(st.text(max_size=10))] = draw(json_values)
    node: dict[str, Any] = {
        "id": draw(st.one_of(node_ids, st.integers(), st.none())),
        "labels": draw(st.lists(labels, max_size=3)),
        "properties": props,
    }
    if rarely(draw, 10):
        del node[draw(st.sampled_from(sorted(node)))]
    return node


@st.composite
def graph_edge(draw: Callable[..., Any]) -> dict[str, Any]:
    props = {}
    if draw(st.booleans()):
        props["weight"] = draw(typed_value("float"))
    if draw(st.booleans()):
        props["since"] = draw(typed_value("integer"))
    edge: dict[str, Any] = {
        "source": draw(node_ids),
        "target": draw(node_ids),
        "type": draw(rel_types),
        "properties": props,
    }
    if draw(st.booleans()):
        edge["id"] = draw(st.one_of(st.sampled_from(EDGE_IDS), st.text(max_size=12), st.integers()))
    return edge


@st.composite
def graph_write(draw: Callable[..., Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nodes": draw(st.lists(graph_node(), max_size=4)),
        "edges": draw(st.lists(graph_edge(), max_size=4)),
    }
    if draw(st.booleans()):
        body["on_conflict"] = draw(st.sampled_from(["error", "update", "ignore", "merge", None]))
    return body


@st.composite
def node_link(draw: Callable[..., Any]) -> dict[str, Any]:
    nodes = [
        {"id": n["id"], "labels": n.get("labels", []), **n.get("properties", {})}
        for n in draw(st.lists(graph_node(), max_size=4))
        if "id" in n
    ]
    edges = [
        {"source": e["source"], "target": e["target"], "type": e["type"], **e["properties"]}
        for e in draw(st.lists(graph_edge(), max_size=4))
    ]
    return {"directed": True, "multigraph": draw(st.booleans()), "graph": {}, "nodes": nodes, "edges": edges}


@st.composite
def graphml(draw: Callable[..., Any]) -> str:
    kind = draw(st.sampled_from(["string", "int", "long", "double", "boolean", "float", "nope"]))
    value = draw(scalar_text("text")).replace("&", "&amp;").replace("<", "&lt;")
    nodes = "".join(
        f'<node id="{i}"><data key="k0">{value}</data></node>'
        for i in draw(st.lists(st.sampled_from(NODE_IDS), max_size=3))
    )
    edge = '<edge source="a" target="b"><data key="k0">1e400</data></edge>' if draw(st.booleans()) else ""
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        f'<key id="k0" for="all" attr.name="name" attr.type="{kind}"/>'
        f'<graph edgedefault="directed">{nodes}{edge}</graph></graphml>'
    )
    return draw(st.sampled_from([doc, doc[: len(doc) // 2], doc.replace("graphml", "graphm1", 1)]))


def neighbors_pairs() -> st.SearchStrategy[list[tuple[str, str]]]:
    pair = st.one_of(
        st.tuples(st.just("direction"), st.sampled_from(["out", "in", "both", "up", ""])),
        st.tuples(st.just("type"), rel_types),
        st.tuples(st.just("depth"), st.sampled_from(["1", "2", "3", "0", "-1", "100", str(2**64), "x"])),
        st.tuples(st.just("limit"), st.sampled_from(["1", "10", "1000", "1001", "0", "-5"])),
        st.tuples(st.sampled_from(["label", "name", "foo"]), st.text(max_size=8)),
    )
    return st.lists(pair, max_size=4)


@st.composite
def path_body(draw: Callable[..., Any], all_paths: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": draw(st.one_of(node_ids, st.integers())),
        "target": draw(st.one_of(node_ids, st.integers())),
    }
    options: dict[str, st.SearchStrategy[Any]] = {
        "direction": st.sampled_from(["out", "in", "both", None, "sideways"]),
        "types": st.lists(rel_types, max_size=3),
        "weight": st.sampled_from(["weight", "since", "nope", ""]),
        "max_depth": st.sampled_from([1, 2, 15, 0, -1, 10**20, None]),
    }
    if all_paths:
        options["limit"] = st.sampled_from([1, 50, 1000, 1001, 0, None])
    for name, values in options.items():
        if draw(st.booleans()):
            body[name] = draw(values)
    return body


ALGORITHM_OPTIONS: dict[str, tuple[str, ...]] = {
    "pagerank": ("types", "direction", "damping", "iterations", "tolerance", "weight"),
    "degree": ("types", "direction"),
    "connected_components": ("types",),
}


@st.composite
def algorithm_body(draw: Callable[..., Any], algorithm: str) -> dict[str, Any]:
    options: dict[str, st.SearchStrategy[Any]] = {
        "types": st.lists(rel_types, max_size=3),
        "direction": st.sampled_from(["out", "in", "both", "sideways"]),
        "damping": st.sampled_from([0.0, 0.85, 0.999999, 1.0, -0.1, 2, 1e-300]),
        "iterations": st.sampled_from([1, 100, 1000, 1001, 0, 10**20]),
        "tolerance": st.sampled_from([1e-6, 0.0, -1.0, 1e308, 5e-324]),
        "weight": st.sampled_from(["weight", "since", "nope"]),
    }
    allowed = ALGORITHM_OPTIONS.get(algorithm, tuple(options))
    names = [n for n in options if n in allowed or rarely(draw, 20)]
    return {name: draw(options[name]) for name in names if draw(st.booleans())}


# -- schemas --------------------------------------------------------------------------------------


@st.composite
def tabular_schema(draw: Callable[..., Any]) -> dict[str, Any]:
    columns = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.one_of(st.sampled_from(TYPE_NAMES), st.sampled_from(["int", "varchar", "", "text[]"])))
        column: dict[str, Any] = {
            "name": draw(st.one_of(st.just(f"c{i}"), column_names, st.text(max_size=70))),
            "type": kind,
        }
        if draw(st.booleans()):
            column["nullable"] = draw(st.sampled_from([True, False, "no"]))
        if rarely(draw, 3):
            column["default"] = draw(typed_value(kind))
        columns.append(column)
    names = [c["name"] for c in columns if isinstance(c["name"], str)]
    schema: dict[str, Any] = {"columns": columns}
    if names and rarely(draw, 3):
        schema["primary_key"] = draw(st.lists(st.sampled_from(names), max_size=3))
    if names and rarely(draw, 3):
        schema["indexes"] = [
            {"columns": draw(st.lists(st.sampled_from(names), max_size=3)), "unique": draw(st.booleans())}
        ]
    return schema


@st.composite
def graph_schema(draw: Callable[..., Any]) -> dict[str, Any]:
    def props() -> list[dict[str, Any]]:
        return [
            {
                "name": draw(st.one_of(st.sampled_from(["name", "age", "w"]), st.text(max_size=10))),
                "type": draw(st.sampled_from([*TYPE_NAMES, "list", ""])),
            }
            for _ in range(draw(st.integers(0, 3)))
        ]

    node_labels = []
    for _ in range(draw(st.integers(1, 3))):
        label: dict[str, Any] = {"name": draw(labels), "properties": props()}
        if draw(st.booleans()):
            label["indexes"] = [
                {
                    "properties": draw(st.lists(st.sampled_from(["name", "age", "w", "zz"]), max_size=2)),
                    "unique": draw(st.booleans()),
                }
            ]
        node_labels.append(label)
    rels = [{"name": draw(rel_types), "properties": props()} for _ in range(draw(st.integers(0, 2)))]
    schema: dict[str, Any] = {"node_labels": node_labels, "relationship_types": rels}
    if draw(st.booleans()):
        schema["strict"] = draw(st.sampled_from([True, False, "yes"]))
    return schema


@st.composite
def changed_table_schema(draw: Callable[..., Any]) -> dict[str, Any]:
    """The seeded schema with a column added, dropped, retyped or renamed."""
    columns = [dict(c) for c in TABLE_SCHEMA["columns"]]
    change = draw(st.sampled_from(["add", "drop", "retype", "nullable", "rename", "default", "indexes"]))
    renames: dict[str, str] | None = None
    target = draw(st.integers(0, len(columns) - 1))
    if change == "add":
        columns.append(
            {
                "name": draw(st.one_of(st.just("extra"), column_names)),
                "type": draw(st.sampled_from(TYPE_NAMES)),
                **({"default": draw(typed_value("integer"))} if draw(st.booleans()) else {}),
            }
        )
    elif change == "drop":
        del columns[target]
    elif change == "retype":
        columns[target]["type"] = draw(st.sampled_from(TYPE_NAMES))
    elif change == "nullable":
        columns[target]["nullable"] = draw(st.booleans())
    elif change == "rename":
        new = draw(st.one_of(st.just("renamed"), column_names))
        renames = {columns[target]["name"]: new}
        columns[target]["name"] = new
    elif change == "default":
        columns[target]["default"] = draw(typed_value(columns[target]["type"]))
    indexes = (
        TABLE_SCHEMA["indexes"]
        if change != "indexes"
        else [
            {
                "columns": draw(st.lists(st.sampled_from([c["name"] for c in columns]), max_size=3)),
                "unique": draw(st.booleans()),
            }
        ]
    )
    body: dict[str, Any] = {"schema": {"columns": columns, "indexes": indexes}}
    if renames is not None:
        body["renames"] = renames
    return body


# -- queries --------------------------------------------------------------------------------------

SQL_TEXTS = [
    "SELECT * FROM things",
    "SELECT name, n FROM things WHERE n > $1 ORDER BY n",
    "SELECT count(*), avg(f), sum(d) FROM things",
    "SELECT * FROM things WHERE name = $1",
    "SELECT $1",
    "SELECT $1::int",
    "SELECT $1::numeric",
    "SELECT $1::date",
    "SELECT day + 1, ts - interval '1 day' FROM things",
    "SELECT doc -> 'k', doc ->> 0 FROM things",
    "SELECT u::text FROM things",
    "SELECT 1/0",
    "SELECT 'abc'::int",
    "SELECT n * 2147483647 * 2147483647 FROM things",
    "SELECT 2^1024::float8",
    "SELECT f / 0.0 FROM things",
    "SELECT sqrt(-1)",
    "SELECT repeat('x', 100000)",
    "SELECT generate_series(1, 20000)",
    "SELECT 10^400::numeric",
    "SELECT 1e308::float8 * 10",
    "SELECT '1e400'::numeric",
    "SELECT to_timestamp(1e15)",
    "SELECT date '0001-01-01' - 1",
    "SELECT '294276-12-31'::timestamp + interval '1 year'",
    "SELECT chr(0)",
    "SELECT E'\\\\x00'::bytea",
    "SELECT array[1,2,3]",
    "SELECT array[[1],[2]]",
    "SELECT row(1, 'a')",
    "SELECT '{}'::jsonb",
    "SELECT NULL",
    "SELECT true, 1.5::real, 12345678901234567890::numeric",
    "SELECT point(1, 2)",
    "SELECT now()",
    "SELECT interval '1000000 years'",
    "SELECT '[1,2)'::int4range",
    "SELECT 'a'::xml",
    "SELECT gen_random_uuid()",
    "WITH x AS (SELECT n FROM things) SELECT sum(n) FROM x",
    "SELECT a.name FROM things a JOIN things b ON a.n = b.n",
    "INSERT INTO things (name, n) VALUES ($1, $2)",
    "UPDATE things SET n = n + 1 WHERE name = $1",
    "DELETE FROM things WHERE n < $1",
    "INSERT INTO things (name, d) VALUES ('x', 'NaN')",
    "INSERT INTO things (name, day) VALUES ('x', 'infinity') RETURNING day",
    "UPDATE things SET f = 'Infinity' RETURNING f",
    "SELECT * FROM pg_catalog.pg_class",
    "SELECT pg_sleep(0.01)",
    "DROP TABLE things",
    "SET work_mem = '1GB'",
    "SELECT * FROM social",
    "SELECT * FROM nope",
    "SELECT 1; SELECT 2",
    "",
    "SELECT",
    "COPY things TO STDOUT",
    "SELECT $2",
    "SELECT $0",
    "SELECT $99999999999",
    "SELECT ''''",
    'SELECT "name" FROM "things"',
]
CYPHER_TEXTS = [
    "MATCH (n) RETURN n",
    "MATCH (n:Person) RETURN n.name, n.age ORDER BY n.name",
    "MATCH (n:Person {name: $name}) RETURN n",
    "MATCH p = (a)-[:KNOWS*1..3]->(b) RETURN p",
    "MATCH (a)-[r]->(b) RETURN a, r, b",
    "MATCH (n) RETURN count(n)",
    "RETURN $v",
    "RETURN 1/0",
    "RETURN toInteger('x')",
    "RETURN 9223372036854775807 + 1",
    "RETURN 0.0/0.0, 1.0/0.0",
    "RETURN date('+999999999-12-31')",
    "RETURN duration('P1000000000Y')",
    "RETURN point({x: 1, y: 2})",
    "RETURN [1, 'a', null]",
    "RETURN {a: {b: [1]}}",
    "UNWIND range(1, 20000) AS i RETURN i",
    "UNWIND range(1, $v) AS i RETURN i",
    "CREATE (n:Person {name: $name}) RETURN n",
    "MATCH (n:Person) SET n.score = $v RETURN n",
    "MERGE (c:City {name: $name}) RETURN c",
    "MATCH (n {id: $name}) DETACH DELETE n",
    "CREATE (a:Person)-[:KNOWS {weight: $v}]->(b:Person) RETURN a, b",
    "CALL db.labels()",
    "MATCH (n) RETURN labels(n), keys(n), id(n), elementId(n)",
    "SHOW INDEXES",
    "LOAD CSV FROM 'file:///x' AS r RETURN r",
    "CREATE INDEX FOR (n:Person) ON (n.x)",
    "MATCH (n) WHERE n.name =~ $name RETURN n",
    "RETURN reduce(s = 0, x IN range(1, 10) | s + x)",
    "",
    "MATCH",
    "RETURN $missing",
    "MATCH (n:`R_0`) RETURN n",
    "RETURN 'a' + $v",
]


@st.composite
def query_body(draw: Callable[..., Any]) -> dict[str, Any]:
    language = draw(st.sampled_from(["sql", "cypher", "structured"]))
    body: dict[str, Any] = {"language": language}
    if language == "sql":
        body["query"] = draw(st.sampled_from(SQL_TEXTS))
        body["parameters"] = draw(st.lists(typed_value(draw(st.sampled_from(TYPE_NAMES))), max_size=3))
    elif language == "cypher":
        body["query"] = draw(st.sampled_from(CYPHER_TEXTS))
        body["dataset"] = draw(st.sampled_from([GRAPH_NAME, "nope", TABLE_NAME]))
        body["parameters"] = {
            name: draw(typed_value(kind)) for name, kind in (("name", "text"), ("v", "integer")) if mostly(draw, 5)
        }
    else:
        body.update(draw(structured_query()))
    if draw(st.booleans()):
        body["read_only"] = pick(draw, [True, False], ["no", None, 0])
    if rarely(draw, 4):
        body["max_rows"] = draw(st.sampled_from([0, 1, 10000, 10001, -1]))
    if rarely(draw, 10):
        # Small enough to be refused up front, or large; never a timeout the query could really hit,
        # which would make the documented 504 depend on the machine's speed.
        body["timeout_ms"] = draw(st.sampled_from([0, -1, 60000, 60001, 10**20, "10"]))
    return body


@st.composite
def structured_query(draw: Callable[..., Any]) -> dict[str, Any]:
    fields = st.one_of(st.sampled_from(sorted(COLUMN_TYPES)), st.sampled_from(["things.n", "nope", "x.y.z", ""]))
    body: dict[str, Any] = {"from": draw(st.sampled_from([TABLE_NAME, TABLE_NAME, GRAPH_NAME, "nope", 3]))}
    if draw(st.booleans()):
        body["select"] = draw(
            st.lists(
                st.one_of(fields, st.fixed_dictionaries({"field": fields, "as": st.sampled_from(["a", "b", "1x"])})),
                max_size=3,
            )
        )
    if draw(st.booleans()):
        body["where"] = draw(where_tree(COLUMN_TYPES))
    if draw(st.booleans()):
        body["group_by"] = draw(st.lists(fields, max_size=2))
    if draw(st.booleans()):
        body["aggregates"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "fn": st.sampled_from(["count", "sum", "avg", "min", "max", "median"]),
                        "as": st.sampled_from(["k", "m", "n"]),
                    },
                    optional={"field": fields},
                ),
                max_size=3,
            )
        )
    if rarely(draw, 4):
        body["join"] = [
            {
                "dataset": draw(st.sampled_from([TABLE_NAME, "nope"])),
                "type": draw(st.sampled_from(["inner", "left", "outer"])),
                "on": {draw(fields): draw(fields)},
            }
        ]
    if draw(st.booleans()):
        body["order_by"] = draw(
            st.lists(
                st.one_of(
                    fields,
                    fields.map(lambda f: "-" + f),
                    st.fixed_dictionaries({"field": fields, "desc": st.booleans()}),
                ),
                max_size=2,
            )
        )
    if draw(st.booleans()):
        body["limit"] = draw(st.sampled_from([0, 1, 10000, 10001, -1, 10**20]))
    if draw(st.booleans()):
        body["offset"] = draw(st.sampled_from([0, 1, 2**63 - 1, 2**63, -1]))
    return body


# -- archives -------------------------------------------------------------------------------------


@st.composite
def archive(draw: Callable[..., Any], exported: bytes) -> bytes:
    """The session's own export, damaged or rebuilt with a hostile manifest or entry."""
    shape = draw(st.sampled_from(["as is", "truncated", "flipped", "manifest", "entry", "empty", "not a zip"]))
    if shape == "as is":
        return exported
    if shape == "truncated":
        return exported[: draw(st.integers(0, max(0, len(exported) - 1)))]
    if shape == "flipped":
        data = bytearray(exported)
        if data:
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= 0xFF
        return bytes(data)
    if shape == "not a zip":
        return draw(st.binary(max_size=64))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(exported)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if shape == "manifest" and info.filename == "manifest.json":
                manifest = json.loads(content)
                datasets = manifest.get("datasets") or [{}]
                item = datasets[draw(st.integers(0, len(datasets) - 1))]
                item[draw(st.sampled_from(["name", "file", "format", "kind", "schema"]))] = draw(json_values)
                content = json.dumps(manifest).encode()
            elif shape == "entry" and info.filename.endswith(".csv"):
                content = csv_body(draw(st.lists(table_row(), max_size=3))).encode()
            elif shape == "entry" and info.filename.endswith(".json") and info.filename != "manifest.json":
                content = json.dumps(draw(node_link())).encode()
            if shape != "empty":
                target.writestr(info.filename, content)
    return out.getvalue()
