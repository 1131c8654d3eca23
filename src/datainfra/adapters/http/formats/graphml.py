"""GraphML: a streaming writer and an incremental reader.

Writing: keys are declared before the graph, so a first pass over the graph collects every
(property, value kind) pair; a second pass writes the elements. Memory holds the key set, never
the graph. Each property kind gets its own typed key (`long`, `double`, `boolean`, `string`);
kinds GraphML lacks are strings whose key's description says `datainfra:type=<kind>` (numeric,
date, timestamp, uuid, json — lists and objects as JSON text): networkx, igraph and Gephi ignore a
key's <desc>, our reader uses it to restore the exact value, and the document stays valid against
the GraphML 1.0 schema, which allows no foreign attribute on a key (older exports put the kind in a
`datainfra:type` attribute; the reader still takes it).

Attribute names follow formats/graph_attributes.py, as node-link JSON does: labels are the
`:labels` key (":Person:City"), the relationship type the `:type` key, the edge key is both the
edge's XML id and its `id` key (igraph otherwise fills an edge's `id` with wrong values, and
networkx reads that key as the edge's id), and a property named `id` (`source`, `target`, `key` on
an edge) is the key `property:id`: igraph drops every node's id when a node key is named `id`. No
key declares a default, so a property a node lacks stays absent for networkx (igraph has no absent
value: it reads NaN, "" or False there). Node and edge ids are written as they are: the GraphML
1.0 schema types them xs:NMTOKEN (letters, digits, . - _ :), so a document whose ids hold spaces or
other punctuation is not schema-valid, though networkx, igraph and Gephi read it. Characters XML 1.0
cannot carry (control characters other than tab, LF, CR) are written as U+FFFD.

An undirected input (edgedefault="undirected", or an edge with directed="false") is read only
when the import chose directed=false (formats/graphs.require_direction).

Reading: expat, fed chunk by chunk; a DOCTYPE (hence any entity declaration) is refused, and so are
elements nested more than MAX_GRAPHML_DEPTH deep and more than MAX_GRAPHML_KEYS key declarations
(expat keeps no recursion of its own, but nothing legitimate needs either)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.parsers import expat

from datainfra.adapters.http.encoding import encode_json
from datainfra.adapters.http.formats.graph_attributes import (
    EDGE_ID,
    EDGE_RESERVED,
    LABELS,
    NODE_RESERVED,
    TYPE,
    attribute_of,
    labels_text,
    property_of,
)
from datainfra.adapters.http.formats.graphs import DEFAULT_EDGE_TYPE, require_direction
from datainfra.adapters.http.formats.jsonlines import TARGET_CHUNK
from datainfra.domain.errors import InvalidInput, InvalidRequest, PayloadTooLarge
from datainfra.domain.graph import Edge, Node
from datainfra.domain.json_depth import json_depth_exceeds, json_depth_refusal
from datainfra.domain.types import MAX_JSON_VALUE_DEPTH
from datainfra.domain.value_text import timestamp_rfc3339
from datainfra.services.exports import ExportCounts

GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
DATAINFRA_NS = "urn:datainfra:graphml"
KIND_MARK = "datainfra:type="
"""A key's <desc> text before the kind of a value GraphML has no type for."""
MAX_GRAPHML_DEPTH = 32
"""Nested XML elements (graphml > graph > node > data is 4; editors' extensions add a few)."""
MAX_GRAPHML_KEYS = 10_000
"""Key declarations (one per property name and kind)."""
_NATIVE = {"boolean": "boolean", "long": "long", "double": "double", "string": "string"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, Decimal):
        return "numeric"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, uuid.UUID):
        return "uuid"
    if isinstance(value, str):
        return "string"
    return "json"


def render(value: Any, kind: str) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "double":
        return repr(float(value))
    if kind == "timestamp":
        return timestamp_rfc3339(value)  # the API's one form: 2026-01-02T03:04:05Z, or .500000Z
    if kind == "date":
        return str(value.isoformat())
    if kind == "json":
        return encode_json(value).decode()
    return str(value)


def _text(value: str) -> str:
    value = _NOT_XML.sub("\ufffd", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attr(value: str) -> str:
    return '"' + _text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;") + '"'


@dataclass(slots=True)
class _Keys:
    ids: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def declare(self, found: set[tuple[str, str, str]]) -> bytes:
        lines = [
            f'<key id="labels" for="node" attr.name={_attr(LABELS)} attr.type="string"/>',
            f'<key id="type" for="edge" attr.name={_attr(TYPE)} attr.type="string"/>',
            f'<key id="id" for="edge" attr.name={_attr(EDGE_ID)} attr.type="string"/>',
        ]
        for n, (domain, name, kind) in enumerate(sorted(found)):
            key_id = f"{domain[0]}{n}"
            self.ids[(domain, name, kind)] = key_id
            marker = "/>" if kind in _NATIVE else f"><desc>{KIND_MARK}{kind}</desc></key>"
            reserved = NODE_RESERVED if domain == "node" else EDGE_RESERVED
            lines.append(
                f"<key id={_attr(key_id)} for={_attr(domain)} attr.name={_attr(attribute_of(name, reserved))} "
                f"attr.type={_attr(_NATIVE.get(kind, 'string'))}{marker}"
            )
        return ("\n".join(lines) + "\n").encode()

    def data(self, domain: str, properties: Mapping[str, Any]) -> str:
        parts = []
        for name, value in properties.items():
            kind = value_kind(value)
            parts.append(f"<data key={_attr(self.ids[(domain, name, kind)])}>{_text(render(value, kind))}</data>")
        return "".join(parts)


async def graphml(
    name: str,
    nodes: Callable[[], AsyncIterable[list[Node]]],
    edges: Callable[[], AsyncIterable[list[Edge]]],
    counts: ExportCounts,
) -> AsyncIterator[bytes]:
    """`nodes` and `edges` are called twice each: once to collect the keys, once to write."""
    found: set[tuple[str, str, str]] = set()
    async for node_page in nodes():
        for node in node_page:
            found.update(("node", k, value_kind(v)) for k, v in node.properties.items())
    async for edge_page in edges():
        for edge in edge_page:
            found.update(("edge", k, value_kind(v)) for k, v in edge.properties.items())
    keys = _Keys()
    yield (
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<graphml xmlns="{GRAPHML_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="{GRAPHML_NS} http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
        ).encode()
        + keys.declare(found)
        + f'<graph id={_attr(name)} edgedefault="directed">\n'.encode()
    )
    buffer: list[str] = []
    size = 0
    async for node_page in nodes():
        counts.nodes += len(node_page)
        for node in node_page:
            text = labels_text(node.labels)
            labels = "" if text is None else f'<data key="labels">{_text(text)}</data>'
            line = f"<node id={_attr(node.id)}>{labels}{keys.data('node', node.properties)}</node>\n"
            buffer.append(line)
            size += len(line)
        if size >= TARGET_CHUNK:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    async for edge_page in edges():
        counts.edges += len(edge_page)
        for edge in edge_page:
            line = (
                f"<edge id={_attr(edge.id)} source={_attr(edge.source)} target={_attr(edge.target)}>"
                f'<data key="type">{_text(edge.type)}</data><data key="id">{_text(edge.id)}</data>'
                f"{keys.data('edge', edge.properties)}</edge>\n"
            )
            buffer.append(line)
            size += len(line)
        if size >= TARGET_CHUNK:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    buffer.append("</graph>\n</graphml>\n")
    yield "".join(buffer).encode()


# -- reading --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Key:
    domain: str
    name: str
    type: str
    kind: str | None
    default: str | None = None


class GraphmlReader:
    """Feed bytes as they arrive; `result()` gives raw nodes and edges for the graph write."""

    def __init__(self, directed: bool | None = None) -> None:
        self._directed_chosen = directed
        self._undirected = False
        self._parser = expat.ParserCreate(namespace_separator=" ")
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._chars
        self._parser.StartDoctypeDeclHandler = self._doctype
        self._keys: dict[str, _Key] = {}
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self._element: dict[str, Any] | None = None
        self._domain = ""
        self._data_key: str | None = None
        self._default_key: _Key | None = None
        self._chunks: list[str] = []
        self._depth_graph = 0
        self._depth = 0
        self._default_key_id = ""
        self._defaulted: dict[str, _Key] = {}
        """The keys with a default, which every element without the property gets."""

    def feed(self, data: bytes, final: bool = False) -> None:
        try:
            self._parser.Parse(data, final)
        except expat.ExpatError as exc:
            raise InvalidRequest(f"the GraphML body is not well-formed XML: {exc}") from None

    def result(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        self.feed(b"", final=True)
        require_direction(not self._undirected, self._directed_chosen, "GraphML document")
        return self.nodes, self.edges

    @staticmethod
    def _doctype(*_: Any) -> None:
        raise InvalidRequest("GraphML with a DOCTYPE is not accepted")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > MAX_GRAPHML_DEPTH:
            raise InvalidRequest(f"the GraphML body nests elements more than {MAX_GRAPHML_DEPTH} deep")
        local = name.rsplit(" ", 1)[-1]
        if local == "key":
            kind = attrs.get(f"{DATAINFRA_NS} type")
            key = _Key(
                attrs.get("for", "all"),
                attrs.get("attr.name", attrs.get("id", "")),
                attrs.get("attr.type", "string"),
                kind,
            )
            key_id = attrs.get("id", "")
            self._keys[key_id] = key
            if len(self._keys) > MAX_GRAPHML_KEYS:
                raise InvalidRequest(f"the GraphML body declares more than {MAX_GRAPHML_KEYS} keys")
            self._defaulted.pop(key_id, None)
            self._default_key, self._default_key_id = key, key_id
        elif local in ("default", "desc"):
            self._chunks = []
        elif local == "graph":
            self._depth_graph += 1
            if self._depth_graph > 1:
                raise InvalidRequest("nested GraphML graphs are not supported")
            if attrs.get("edgedefault") == "undirected":
                self._undirected = True
                require_direction(False, self._directed_chosen, "GraphML document")  # said before the body is read
        elif local == "node":
            self._element = {"id": attrs.get("id"), "labels": [], "properties": {}}
            self._domain = "node"
        elif local == "edge":
            if attrs.get("directed") == "false":
                self._undirected = True
                require_direction(False, self._directed_chosen, "GraphML document")
            self._element = {
                "id": attrs.get("id"),
                "source": attrs.get("source"),
                "target": attrs.get("target"),
                "type": None,
                "properties": {},
            }
            self._domain = "edge"
        elif local == "hyperedge":
            raise InvalidRequest("GraphML hyperedges are not supported")
        elif local == "data" and self._element is not None:
            self._data_key = attrs.get("key")
            self._chunks = []

    def _chars(self, text: str) -> None:
        self._chunks.append(text)

    def _end(self, name: str) -> None:
        self._depth -= 1
        local = name.rsplit(" ", 1)[-1]
        if local == "default" and self._default_key is not None:
            self._default_key.default = "".join(self._chunks)
            self._defaulted[self._default_key_id] = self._default_key
        elif local == "desc" and self._default_key is not None:
            text = "".join(self._chunks).strip()
            if text.startswith(KIND_MARK):
                self._default_key.kind = text.removeprefix(KIND_MARK)
        elif local == "key":
            self._default_key = None
        elif local == "data" and self._element is not None and self._data_key is not None:
            self._assign(self._data_key, "".join(self._chunks))
            self._data_key = None
        elif local in ("node", "edge") and self._element is not None:
            element, self._element = self._element, None
            for key_id, key in self._defaulted.items():
                applies = key.default is not None and key.domain in (local, "all")
                name = property_of(key.name)
                if applies and name not in element["properties"] and key.name not in (LABELS, TYPE, EDGE_ID):
                    element["properties"][name] = self._value(key, str(key.default), key_id)
            if local == "node":
                self.nodes.append(element)
            else:
                element["type"] = element["type"] or DEFAULT_EDGE_TYPE
                self._edge_key(element)
                self.edges.append(element)

    def _edge_key(self, element: dict[str, Any]) -> None:
        """The edge's XML id, else its `id` data (networkx writes that for a graph without keys)."""
        data_id = element.pop(_DATA_ID, None)
        if data_id is None:
            return
        if element["id"] is None:
            element["id"] = data_id
        elif element["id"] != data_id:
            raise InvalidInput(
                f"the edge's id {element['id']!r} and its {EDGE_ID!r} data {data_id!r} differ",
                index=len(self.edges),
                field=f"edges[{len(self.edges)}].id",
            )

    def _assign(self, key_id: str, text: str) -> None:
        assert self._element is not None
        key = self._keys.get(key_id)
        if key is None:
            raise InvalidInput(f"data names an undeclared key {key_id!r}", index=self._index(), field=self._where())
        if key.name == LABELS and self._domain == "node":
            self._element["labels"] = [label for label in text.split(":") if label]
        elif key.name == TYPE and self._domain == "edge":
            self._element["type"] = text
        elif key.name == EDGE_ID and self._domain == "edge":
            self._element[_DATA_ID] = text
        else:
            self._element["properties"][property_of(key.name)] = self._value(key, text, key_id)

    def _value(self, key: _Key, text: str, key_id: str) -> Any:
        kind = key.kind or key.type
        try:
            if kind == "boolean":
                lowered = text.strip().lower()
                if lowered not in ("true", "false", "1", "0"):
                    raise ValueError(text)
                return lowered in ("true", "1")
            if kind in ("int", "long"):
                return int(text)
            if kind in ("float", "double"):
                return float(text)
            if kind == "numeric":
                return Decimal(text)
            if kind == "json":
                if json_depth_exceeds(text, MAX_JSON_VALUE_DEPTH):
                    raise InvalidInput(
                        json_depth_refusal(f"the json value of key {key_id!r}", MAX_JSON_VALUE_DEPTH),
                        index=self._index(),
                        field=self._where(),
                    )
                return json.loads(text, parse_float=Decimal)
        except (ValueError, InvalidOperation):
            raise InvalidInput(
                f"{text!r} is not a valid {kind} (key {key_id!r})", index=self._index(), field=self._where()
            ) from None
        return text

    def _index(self) -> int:
        return len(self.nodes) if self._domain == "node" else len(self.edges)

    def _where(self) -> str:
        return f"{self._domain}s[{self._index()}]"


_DATA_ID = ":data_id"


async def read_graphml(
    chunks: AsyncIterable[bytes], limit: Any = None, directed: bool | None = None
) -> tuple[list[Any], list[Any]]:
    """A GraphML body parsed as it arrives (at most `limit` bytes, when an int); `directed` is the
    import's choice for an undirected graph."""
    reader = GraphmlReader(directed)
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if isinstance(limit, int) and size > limit:
            raise PayloadTooLarge(f"the GraphML body is larger than {limit} bytes")
        reader.feed(chunk)
    return reader.result()
