"""The export formats on their own: readers of other projects (csv, json, zipfile, networkx) read
what the writers produce, for arbitrary values."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from datainfra.adapters.http.formats import tabular
from datainfra.adapters.http.formats.archive import StreamingZip
from datainfra.adapters.http.formats.counting import CsvRecordCounter
from datainfra.adapters.http.formats.graphml import GraphmlReader, graphml
from datainfra.adapters.http.formats.graphs import node_link_json, read_node_link
from datainfra.adapters.http.formats.jsonlines import ndjson_to_array
from datainfra.domain.graph import Edge, Node
from datainfra.domain.types import FieldType
from datainfra.services.exports import ExportColumn, ExportCounts
from tests.support.hypothesis_budget import examples

XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff"), max_size=20
).filter(lambda s: all(c in "\t\n\r" or ord(c) >= 0x20 for c in s))
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    XML_TEXT.filter(bool),
    st.lists(st.integers(min_value=-1000, max_value=1000), max_size=3),
)


def collect(stream: AsyncIterator[bytes]) -> bytes:
    async def run() -> bytes:
        return b"".join([chunk async for chunk in stream])

    return asyncio.run(run())


async def pages(items: Iterable[Any]) -> AsyncIterator[list[Any]]:
    yield list(items)


def csv_text(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)
    return buffer.getvalue().encode()


@given(
    st.lists(st.lists(st.text(alphabet='ab,"\n\r ', max_size=6), min_size=1, max_size=3), min_size=1, max_size=8),
    st.integers(min_value=1, max_value=7),
)
def test_csv_record_counter_counts_what_csv_reads(rows: list[list[str]], split: int) -> None:
    data = csv_text(rows)
    counter = CsvRecordCounter()
    for start in range(0, len(data), split):
        counter.feed(data[start : start + split])
    assert counter.lines == len(list(csv.reader(io.StringIO(data.decode(), newline=""))))


@given(st.lists(st.dictionaries(NAMES, st.integers() | st.text(max_size=5)), max_size=6), st.integers(1, 9))
def test_ndjson_to_array_is_one_json_array(objects: list[dict[str, Any]], split: int) -> None:
    data = b"".join(json.dumps(o).encode() + b"\n" for o in objects)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), split):
            yield data[start : start + split]

    assert json.loads(collect(ndjson_to_array(chunks()))) == objects


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(
        st.tuples(
            XML_TEXT.filter(bool), st.lists(NAMES, max_size=2, unique=True), st.dictionaries(NAMES, SCALARS, max_size=3)
        ),
        max_size=5,
        unique_by=lambda t: t[0],
    ),
    st.data(),
)
def test_graphml_reads_back_with_networkx_and_our_reader(raw_nodes: list[Any], data: st.DataObject) -> None:
    nodes = [Node(node_id, tuple(labels), props) for node_id, labels, props in raw_nodes]
    ids = [n.id for n in nodes]
    edges = []
    if ids:
        for i in range(data.draw(st.integers(0, 4))):
            props = data.draw(st.dictionaries(NAMES, SCALARS, max_size=2))
            edges.append(Edge(f"e{i}", data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(ids)), "T", props))
    counts = ExportCounts()
    text = collect(graphml("g", lambda: pages(nodes), lambda: pages(edges), counts))
    assert (counts.nodes, counts.edges) == (len(nodes), len(edges))

    reader = GraphmlReader()
    reader.feed(text)
    back_nodes, back_edges = reader.result()
    assert [(n["id"], tuple(n["labels"]), n["properties"]) for n in back_nodes] == [
        (n.id, n.labels, n.properties) for n in nodes
    ]
    assert [(e["id"], e["source"], e["target"], e["type"], e["properties"]) for e in back_edges] == [
        (e.id, e.source, e.target, e.type, e.properties) for e in edges
    ]

    graph = nx.read_graphml(io.BytesIO(text), force_multigraph=True)
    assert sorted(graph.nodes) == sorted(ids)
    for node in nodes:
        for name, value in node.properties.items():
            got = graph.nodes[node.id][name]
            assert (json.loads(got) if isinstance(value, list) else got) == value


def test_graphml_reader_keeps_values_exact() -> None:
    nodes = [Node("n", ("A",), {"d": Decimal("1.50"), "j": {"k": [Decimal("2.5")]}, "e": ""})]
    text = collect(graphml("g", lambda: pages(nodes), lambda: pages([]), ExportCounts()))
    reader = GraphmlReader()
    for i in range(0, len(text), 7):
        reader.feed(text[i : i + 7])
    (node,), _ = reader.result()
    assert node == {
        "id": "n",
        "labels": ["A"],
        "properties": {"d": Decimal("1.50"), "j": {"k": [Decimal("2.5")]}, "e": ""},
    }


def test_streaming_zip_is_read_by_zipfile() -> None:
    archive = StreamingZip()
    big = b"row,with,some,text\n" * 20_000

    async def chunked(data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    async def build() -> bytes:
        out = [chunk async for chunk in archive.entry("a.csv", chunked(big))]
        out += [chunk async for chunk in archive.entry("empty.json", chunked(b""))]
        out += [chunk async for chunk in archive.entry("manifest.json", chunked(b'{"x": 1}'))]
        assert len(out) > 2  # bytes leave while the archive is being built
        return b"".join(out) + archive.close()

    content = asyncio.run(build())
    with zipfile.ZipFile(io.BytesIO(content)) as read:
        assert read.testzip() is None
        assert read.namelist() == ["a.csv", "empty.json", "manifest.json"]
        assert read.read("a.csv") == big and read.read("empty.json") == b""


# -- tabular exports (the writers over typed rows; tests/integration/postgres/test_native_export.py
# holds them equal to PostgreSQL's COPY) ------------------------------------------------------------

TEXT_ROWS = st.lists(
    st.lists(st.one_of(st.none(), st.text(alphabet='ab,"\n\r \\.', max_size=6)), min_size=2, max_size=2),
    max_size=8,
)


@given(TEXT_ROWS)
def test_csv_export_reads_back_with_the_csv_module(rows: list[list[str | None]]) -> None:
    columns = [ExportColumn("a", FieldType.TEXT), ExportColumn("b", FieldType.TEXT)]
    text = collect(tabular.csv_text(columns, pages(rows))).decode()
    header, *back = csv.reader(io.StringIO(text, newline=""))
    assert header == ["a", "b"]
    assert back == [["" if v is None else v for v in row] for row in rows]


@given(TEXT_ROWS)
def test_ndjson_export_is_one_json_object_a_line(rows: list[list[str | None]]) -> None:
    columns = [ExportColumn("a", FieldType.TEXT), ExportColumn("b", FieldType.TEXT)]
    lines = collect(tabular.ndjson_text(columns, pages(rows))).decode().split("\n")
    assert lines[-1] == ""
    assert [json.loads(line) for line in lines[:-1]] == [{"a": a, "b": b} for a, b in rows]


def test_values_only_sql_stores_keep_their_postgres_forms() -> None:
    """Values Python's types cannot hold come from the store as their JSON text (a timestamptz in the
    API's one form, see special_values) and are written as that text in both formats."""
    columns = [
        ExportColumn("f", FieldType.FLOAT),
        ExportColumn("n", FieldType.NUMERIC),
        ExportColumn("d", FieldType.DATE),
        ExportColumn("ts", FieldType.TIMESTAMP),
    ]
    rows = [
        ("NaN", "-Infinity", "infinity", "-infinity"),
        ("Infinity", "NaN", "0044-03-15 BC", "0044-03-15T05:00:00Z BC"),
        (1e20, Decimal("1.50"), "12000-01-01", "12000-01-01T10:00:00.250000Z"),
    ]
    assert collect(tabular.csv_text(columns, pages(rows))) == (
        b"f,n,d,ts\n"
        b"NaN,-Infinity,infinity,-infinity\n"
        b"Infinity,NaN,0044-03-15 BC,0044-03-15T05:00:00Z BC\n"
        b"1e+20,1.50,12000-01-01,12000-01-01T10:00:00.250000Z\n"
    )
    assert collect(tabular.ndjson_text(columns, pages(rows))) == (
        b'{"f":"NaN","n":"-Infinity","d":"infinity","ts":"-infinity"}\n'
        b'{"f":"Infinity","n":"NaN","d":"0044-03-15 BC","ts":"0044-03-15T05:00:00Z BC"}\n'
        b'{"f":1e+20,"n":1.50,"d":"12000-01-01","ts":"12000-01-01T10:00:00.250000Z"}\n'
    )


def test_closing_an_export_closes_the_row_stream() -> None:
    closed: list[bool] = []

    async def rows() -> AsyncIterator[list[tuple[str]]]:
        try:
            while True:
                yield [("x" * 100,)] * 1000
        finally:
            closed.append(True)

    async def run() -> None:
        stream = tabular.csv_text([ExportColumn("s", FieldType.TEXT)], rows())
        assert await anext(stream)
        await stream.aclose()

    asyncio.run(run())
    assert closed == [True]


READER_NAMES = st.one_of(NAMES, st.sampled_from(["id", "source", "target", "key", "labels", "properties", "type"]))
"""Property names, with the ones node-link and GraphML readers reserve or older documents used."""


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(
        st.tuples(NAMES, st.lists(NAMES, max_size=2, unique=True), st.dictionaries(READER_NAMES, SCALARS, max_size=4)),
        max_size=4,
        unique_by=lambda t: t[0],
    ),
    st.data(),
)
def test_node_link_and_graphml_read_back_every_property_name(raw_nodes: list[Any], data: st.DataObject) -> None:
    """The clash rule (formats/graph_attributes.py): any property name, `id`, `source`, `target`,
    `key` included, comes back under its own name from both formats, and networkx sees it as
    `property:<name>` exactly where a reader reserves the name."""
    nodes = [Node(node_id, tuple(labels), props) for node_id, labels, props in raw_nodes]
    ids = [n.id for n in nodes]
    edges = []
    if ids:
        for i in range(data.draw(st.integers(0, 3))):
            props = data.draw(st.dictionaries(READER_NAMES, SCALARS, max_size=4))
            edges.append(Edge(f"e{i}", data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(ids)), "T", props))
    expected_nodes = [(n.id, list(n.labels), n.properties) for n in nodes]
    expected_edges = [(e.id, e.source, e.target, e.type, e.properties) for e in edges]

    linked = collect(node_link_json("g", pages(nodes), pages(edges), ExportCounts()))
    back_nodes, back_edges = read_node_link(json.loads(linked))
    assert [(n["id"], n["labels"], n["properties"]) for n in back_nodes] == expected_nodes
    assert [(e["id"], e["source"], e["target"], e["type"], e["properties"]) for e in back_edges] == expected_edges

    markup = collect(graphml("g", lambda: pages(nodes), lambda: pages(edges), ExportCounts()))
    reader = GraphmlReader()
    reader.feed(markup)
    ml_nodes, ml_edges = reader.result()
    assert [(n["id"], n["labels"], n["properties"]) for n in ml_nodes] == expected_nodes
    assert [(e["id"], e["source"], e["target"], e["type"], e["properties"]) for e in ml_edges] == expected_edges

    graph = nx.node_link_graph(json.loads(linked))
    for node in nodes:
        attributes = graph.nodes[node.id]
        for name, value in node.properties.items():
            assert attributes["property:id" if name == "id" else name] == value
    for u, v, key, attributes in graph.edges(keys=True, data=True):
        edge = next(e for e in edges if e.id == key)
        assert (u, v, attributes["id"], attributes[":type"]) == (edge.source, edge.target, edge.id, edge.type)
        for name, value in edge.properties.items():
            reserved = name in ("id", "source", "target", "key")
            assert attributes[f"property:{name}" if reserved else name] == value
