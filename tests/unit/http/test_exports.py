"""Exports and imports through the API (in-memory stores): every format read back by an independent
reader (csv, json, networkx, zipfile) and compared with the source, types included; the session
round trip export → import → export gives the same files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
import zipfile
from decimal import Decimal
from typing import Any

import networkx as nx
import pytest
from litestar.testing import TestClient

from tests.unit.http.api import create_dataset, create_session, dataset_url, problem, write

TYPES_SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "t", "type": "text"},
        {"name": "i", "type": "integer"},
        {"name": "f", "type": "float"},
        {"name": "n", "type": "numeric"},
        {"name": "b", "type": "boolean"},
        {"name": "d", "type": "date"},
        {"name": "ts", "type": "timestamp"},
        {"name": "j", "type": "json"},
        {"name": "u", "type": "uuid"},
    ]
}
ROWS: list[dict[str, Any]] = [
    {
        "t": 'quote " comma , newline\nand ✓ 😀 ünïcode',
        "i": 9223372036854775807,
        "f": 0.1,
        "n": "12345678901234567890.1234567890",
        "b": True,
        "d": "1999-12-31",
        "ts": "2026-03-04T05:06:07.891011Z",
        "j": {"a": [1, 2.5, "x", None, True], "ü": '"q"'},
        "u": "12345678-1234-5678-1234-567812345678",
    },
    {"t": "", "i": -5, "f": 1e20, "n": "1.50", "b": False, "d": "0001-01-01", "ts": "1970-01-01T00:00:00Z", "j": []},
    {"t": None, "i": None, "f": None, "n": None, "b": None, "d": None, "ts": None, "j": None, "u": None},
]
GRAPH_SCHEMA: dict[str, Any] = {
    "node_labels": [
        {
            "name": "Person",
            "properties": [
                {"name": "name", "type": "text"},
                {"name": "born", "type": "date"},
                {"name": "seen", "type": "timestamp"},
                {"name": "score", "type": "numeric"},
                {"name": "meta", "type": "json"},
                {"name": "uid", "type": "uuid"},
            ],
        }
    ],
    "relationship_types": [{"name": "KNOWS", "properties": [{"name": "weight", "type": "float"}]}],
}
NODES: list[dict[str, Any]] = [
    {
        "id": "a",
        "labels": ["Person"],
        "properties": {
            "name": 'Ada "<&>" \n line',
            "born": "1815-12-10",
            "seen": "2026-01-02T03:04:05.5Z",
            "score": "1.50",
            "meta": {"k": [1, "v"]},
            "uid": "12345678-1234-5678-1234-567812345678",
            "tags": ["x", "y"],
            "count": 3,
            "flag": True,
        },
    },
    {"id": "b", "labels": ["Person", "Admin"], "properties": {"name": "Bob ✓", "id": 2}},
    {"id": "c", "labels": [], "properties": {"ratio": 0.25, "id": "a"}},  # `id`: a property like any other
]
EDGES: list[dict[str, Any]] = [
    {"id": "e1", "source": "a", "target": "b", "type": "KNOWS", "properties": {"weight": 1.5, "source": "s"}},
    {"id": "e2", "source": "a", "target": "b", "type": "KNOWS", "properties": {"id": "e1"}},
    {"id": "e3", "source": "b", "target": "c", "type": "LIKES", "properties": {"since": 2020}},
]


def typed_row(row: dict[str, Any]) -> dict[str, Any]:
    """The source row as typed Python values (what every reader must give back)."""
    return {
        "t": row.get("t"),
        "i": row.get("i"),
        "f": row.get("f"),
        "n": None if row.get("n") is None else Decimal(row["n"]),
        "b": row.get("b"),
        "d": None if row.get("d") is None else dt.date.fromisoformat(row["d"]),
        "ts": None if row.get("ts") is None else dt.datetime.fromisoformat(row["ts"]),
        "j": _decimals(row.get("j")),
        "u": None if row.get("u") is None else uuid.UUID(row["u"]),
    }


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    return value


def from_json_values(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "t": record["t"],
        "i": record["i"],
        "f": None if record["f"] is None else float(record["f"]),
        "n": record["n"],
        "b": record["b"],
        "d": None if record["d"] is None else dt.date.fromisoformat(record["d"]),
        "ts": None if record["ts"] is None else dt.datetime.fromisoformat(record["ts"]),
        "j": record["j"],
        "u": None if record["u"] is None else uuid.UUID(record["u"]),
    }


@pytest.fixture
def tabular_url(client: TestClient, auth: dict[str, str]) -> str:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "things", TYPES_SCHEMA))
    write(client, auth, url, {"records": ROWS})
    return url


@pytest.fixture
def graph_url(client: TestClient, auth: dict[str, str]) -> str:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "social", GRAPH_SCHEMA, kind="graph"))
    write(client, auth, url, {"nodes": NODES, "edges": EDGES})
    return url


# -- tabular --------------------------------------------------------------------------------------


def test_csv_is_the_default_and_reads_back_exactly(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    response = client.get(f"{tabular_url}/export", headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="things.csv"' in response.headers["content-disposition"]
    header, *rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert header == ["id", *(c["name"] for c in TYPES_SCHEMA["columns"])]
    assert 'quote "" comma , newline\nand' in response.text  # RFC 4180 quoting, line break kept
    assert '\n2,"",' in response.text and response.text.endswith("\n3,,,,,,,,,\n")  # "" vs NULL
    back = []
    for cells in rows:
        record = dict(zip(header[1:], cells[1:], strict=True))
        back.append(
            {
                "t": record["t"] if cells[0] != "3" else None,
                "i": int(record["i"]) if record["i"] else None,
                "f": float(record["f"]) if record["f"] else None,
                "n": Decimal(record["n"]) if record["n"] else None,
                "b": {"true": True, "false": False}.get(record["b"]),
                "d": dt.date.fromisoformat(record["d"]) if record["d"] else None,
                "ts": dt.datetime.fromisoformat(record["ts"]) if record["ts"] else None,
                "j": json.loads(record["j"], parse_float=Decimal) if record["j"] else None,
                "u": uuid.UUID(record["u"]) if record["u"] else None,
            }
        )
    assert back == [typed_row(r) for r in ROWS]
    assert str(back[1]["n"]) == "1.50"


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_json_and_ndjson_read_back_exactly(
    client: TestClient, auth: dict[str, str], tabular_url: str, fmt: str
) -> None:
    response = client.get(f"{tabular_url}/export", params={"format": fmt}, headers=auth)
    assert response.status_code == 200, response.text
    assert 'filename="things.' + fmt + '"' in response.headers["content-disposition"]
    if fmt == "json":
        assert response.headers["content-type"].startswith("application/json")
        records = json.loads(response.text, parse_float=Decimal)
    else:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        records = [json.loads(line, parse_float=Decimal) for line in response.text.splitlines()]
    assert [r["id"] for r in records] == [1, 2, 3]
    assert [from_json_values(r) for r in records] == [typed_row(r) for r in ROWS]


def test_an_empty_dataset_exports_valid_documents(client: TestClient, auth: dict[str, str]) -> None:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "empty", TYPES_SCHEMA))
    assert client.get(f"{url}/export", params={"format": "json"}, headers=auth).json() == []
    assert client.get(f"{url}/export", params={"format": "ndjson"}, headers=auth).text == ""
    assert client.get(f"{url}/export", headers=auth).text == "id,t,i,f,n,b,d,ts,j,u\n"


def test_record_filters_select_and_sort_apply(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    params = {"i": "gte:-5", "select": "i,t", "sort": "i:desc", "format": "ndjson"}
    response = client.get(f"{tabular_url}/export", params=params, headers=auth)
    assert response.status_code == 200, response.text
    assert [json.loads(line) for line in response.text.splitlines()] == [
        {"i": 9223372036854775807, "t": ROWS[0]["t"]},
        {"i": -5, "t": ""},
    ]
    csv_text = client.get(f"{tabular_url}/export", params={"b": "is:false", "select": "b"}, headers=auth).text
    assert csv_text == "b\nfalse\n"  # true/false since issue 13 (was COPY's t/f)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"format": "xlsx"}, "format"),
        ({"format": "graphml"}, "format"),
        ({"limit": "5"}, "limit"),
        ({"nope": "eq:1"}, "nope"),
        ({"sort": "j"}, "sort"),
    ],
)
def test_bad_export_parameters_are_400(
    client: TestClient, auth: dict[str, str], tabular_url: str, params: dict[str, str], parameter: str
) -> None:
    body = problem(client.get(f"{tabular_url}/export", params=params, headers=auth), 400)
    assert body["parameter"] == parameter
    if parameter == "format":
        assert body["valid"] == ["csv", "json", "ndjson", "parquet", "arrow"]
        assert "csv, json, ndjson, parquet, arrow" in body["detail"]


def test_graph_formats_are_listed_for_graphs(client: TestClient, auth: dict[str, str], graph_url: str) -> None:
    body = problem(client.get(f"{graph_url}/export", params={"format": "csv"}, headers=auth), 400)
    assert body["valid"] == ["json", "graphml", "ndjson"]
    body = problem(client.get(f"{graph_url}/export", params={"label": "Person"}, headers=auth), 400)
    assert body["parameter"] == "label"


def test_exports_are_owner_scoped(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    other = {"X-API-Key": client.post("/users").json()["api_key"]}
    problem(client.get(f"{tabular_url}/export", headers=other), 404)
    session_id = tabular_url.split("/")[2]
    problem(client.get(f"/sessions/{session_id}/export", headers=other), 404)
    problem(client.get(f"{tabular_url}/export", headers={}), 401)


# -- graphs ---------------------------------------------------------------------------------------


def expected_node_properties() -> dict[str, dict[str, Any]]:
    first = dict(NODES[0]["properties"])
    first.update(
        born=dt.date(1815, 12, 10),
        seen=dt.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=dt.UTC),
        score=Decimal("1.50"),
        uid=uuid.UUID(first["uid"]),
    )
    return {"a": first, "b": dict(NODES[1]["properties"]), "c": dict(NODES[2]["properties"])}


def test_node_link_json_reads_back_with_networkx(client: TestClient, auth: dict[str, str], graph_url: str) -> None:
    response = client.get(f"{graph_url}/export", headers=auth)
    assert response.status_code == 200, response.text
    assert 'filename="social.json"' in response.headers["content-disposition"]
    graph = nx.node_link_graph(json.loads(response.text, parse_float=Decimal))  # networkx 3.6's defaults
    assert graph.is_directed() and graph.is_multigraph()
    assert graph.graph == {"name": "social", ":format": "datainfra-graph-2"}
    assert sorted(graph.nodes) == ["a", "b", "c"]
    assert graph.nodes["b"] == {":labels": ":Person:Admin", "name": "Bob ✓", "property:id": 2}
    assert graph.nodes["c"] == {"ratio": Decimal("0.25"), "property:id": "a"}  # no labels: no attribute
    a = graph.nodes["a"]
    assert a["seen"] == "2026-01-02T03:04:05.500000Z"
    assert dt.datetime.fromisoformat(a["seen"]) == expected_node_properties()["a"]["seen"]
    assert a["score"] == Decimal("1.50") and a["meta"] == {"k": [1, "v"]} and a["tags"] == ["x", "y"]
    assert a["name"] == NODES[0]["properties"]["name"] and a["count"] == 3 and a["flag"] is True
    edges = {key: (u, v, data) for u, v, key, data in graph.edges(keys=True, data=True)}
    assert set(edges) == {"e1", "e2", "e3"}
    assert edges["e1"] == ("a", "b", {"id": "e1", ":type": "KNOWS", "weight": Decimal("1.5"), "property:source": "s"})
    assert edges["e2"][2] == {"id": "e2", ":type": "KNOWS", "property:id": "e1"}
    assert edges["e3"][2] == {"id": "e3", ":type": "LIKES", "since": 2020}


def test_node_link_and_graphml_give_networkx_the_same_graph(
    client: TestClient, auth: dict[str, str], graph_url: str
) -> None:
    """One attribute convention for both formats: the graphs networkx reads differ only where
    GraphML has no type for a value (dates, numerics, json: text there)."""
    linked = nx.node_link_graph(client.get(f"{graph_url}/export", headers=auth).json())
    markup = client.get(f"{graph_url}/export", params={"format": "graphml"}, headers=auth).content
    graphml = nx.read_graphml(io.BytesIO(markup), force_multigraph=True)
    assert sorted(linked.nodes) == sorted(graphml.nodes)
    assert set(linked.nodes["b"]) == set(graphml.nodes["b"]) and linked.nodes["c"] == graphml.nodes["c"]
    assert sorted(linked.edges(keys=True, data=True)) == sorted(graphml.edges(keys=True, data=True))
    written = io.BytesIO()
    document = _without_lists(client.get(f"{graph_url}/export", headers=auth).json())
    nx.write_graphml(nx.node_link_graph(document), written)
    assert b'attr.name=":labels"' in written.getvalue()


def _without_lists(document: dict[str, Any]) -> dict[str, Any]:
    """networkx.write_graphml cannot write list or dict values: the json and list properties go."""
    for node in document["nodes"]:
        for name in [k for k, v in node.items() if isinstance(v, list | dict)]:
            del node[name]
    return document


def test_graphml_reads_back_with_networkx(client: TestClient, auth: dict[str, str], graph_url: str) -> None:
    response = client.get(f"{graph_url}/export", params={"format": "graphml"}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/graphml+xml")
    graph = nx.read_graphml(io.BytesIO(response.content), force_multigraph=True)
    assert graph.is_directed()
    assert graph.nodes["b"][":labels"] == ":Person:Admin"
    a = graph.nodes["a"]
    assert a["name"] == NODES[0]["properties"]["name"]  # quotes, <&>, line break kept
    assert a["count"] == 3 and type(a["count"]) is int
    assert a["flag"] is True
    assert a["born"] == "1815-12-10" and a["score"] == "1.50"
    assert a["seen"] == "2026-01-02T03:04:05.500000Z"  # the one timestamp form (was +00:00, issue 13)
    assert json.loads(a["tags"]) == ["x", "y"] and json.loads(a["meta"]) == {"k": [1, "v"]}
    assert graph.nodes["c"]["ratio"] == 0.25
    edges = {key: (u, v, data) for u, v, key, data in graph.edges(keys=True, data=True)}
    assert edges["e1"] == ("a", "b", {"id": "e1", ":type": "KNOWS", "weight": 1.5, "property:source": "s"})
    assert edges["e3"][2] == {"id": "e3", ":type": "LIKES", "since": 2020}
    assert graph.nodes["b"]["property:id"] == 2 and "id" not in graph.nodes["b"]  # igraph keeps node ids


def test_graph_ndjson_has_one_element_per_line(client: TestClient, auth: dict[str, str], graph_url: str) -> None:
    response = client.get(f"{graph_url}/export", params={"format": "ndjson"}, headers=auth)
    lines = [json.loads(line) for line in response.text.splitlines()]
    kinds = [("node", "a"), ("node", "b"), ("node", "c"), ("edge", "e1"), ("edge", "e2"), ("edge", "e3")]
    assert [(x["kind"], x["id"]) for x in lines] == kinds
    assert lines[3] == {"kind": "edge", **EDGES[0]}
    assert lines[0]["properties"]["seen"] == "2026-01-02T03:04:05.500000Z"


@pytest.mark.parametrize("fmt", ["json", "graphml"])
def test_graph_exports_post_back_into_a_new_dataset(
    client: TestClient, auth: dict[str, str], graph_url: str, fmt: str
) -> None:
    exported = client.get(f"{graph_url}/export", params={"format": fmt}, headers=auth)
    session_id = create_session(client, auth)
    copy = dataset_url(session_id, create_dataset(client, auth, session_id, "copy", GRAPH_SCHEMA, kind="graph"))
    media = "application/json" if fmt == "json" else "application/graphml+xml"
    response = client.post(f"{copy}/records", content=exported.content, headers={**auth, "content-type": media})
    assert response.status_code == 201, response.text
    assert response.json() == {"inserted": 6, "updated": 0, "ignored": 0}
    again = client.get(f"{copy}/export", params={"format": fmt}, headers=auth)
    assert again.content.replace(b"copy", b"social") == exported.content


def test_a_networkx_graph_posts_as_node_link(client: TestClient, auth: dict[str, str]) -> None:
    made = nx.MultiDiGraph()
    made.add_node(1, name="one")
    made.add_node(2, name="two")
    made.add_edge(1, 2, key="k", weight=2.5)
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "nx", {}, kind="graph"))
    response = client.post(f"{url}/records", json=nx.node_link_data(made, edges="edges"), headers=auth)
    assert response.status_code == 201, response.text
    nodes = client.get(f"{url}/records", headers=auth).json()["items"]
    assert [(n["id"], n["properties"]) for n in nodes] == [("1", {"name": "one"}), ("2", {"name": "two"})]
    edges = client.get(f"{url}/edges", headers=auth).json()["items"]
    assert [(e["id"], e["type"], e["properties"]) for e in edges] == [("k", "RELATED_TO", {"weight": 2.5})]


def test_graphml_with_a_doctype_is_refused(client: TestClient, auth: dict[str, str], graph_url: str) -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><graphml><graph><node id="&a;"/></graph></graphml>'
    response = client.post(
        f"{graph_url}/records", content=body, headers={**auth, "content-type": "application/graphml+xml"}
    )
    problem(response, 400)


# -- sessions -------------------------------------------------------------------------------------


def session_of(url: str) -> str:
    return url.split("/")[2]


def archive_files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_session_export_is_a_zip_with_a_manifest(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    session_id = session_of(tabular_url)
    graph = dataset_url(session_id, create_dataset(client, auth, session_id, "social", GRAPH_SCHEMA, kind="graph"))
    write(client, auth, graph, {"nodes": NODES, "edges": EDGES})
    response = client.get(f"/sessions/{session_id}/export", headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="work.zip"' in response.headers["content-disposition"]
    files = archive_files(response.content)
    assert list(files) == ["things.csv", "social.json", "manifest.json"]
    assert files["things.csv"] == client.get(f"{tabular_url}/export", headers=auth).content
    assert files["social.json"] == client.get(f"{graph}/export", headers=auth).content
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == "datainfra-session-export" and manifest["format_version"] == 1
    assert manifest["session"]["id"] == session_id and manifest["session"]["name"] == "work"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", manifest["exported_at"])
    things, social = manifest["datasets"]
    assert (things["name"], things["kind"], things["file"], things["format"], things["records"]) == (
        "things",
        "tabular",
        "things.csv",
        "csv",
        3,
    )
    assert things["schema"]["columns"][0] == {"name": "id", "type": "integer", "nullable": False, "generated": True}
    assert (social["kind"], social["nodes"], social["edges"], social["format"]) == ("graph", 3, 3, "json")
    assert social["schema"]["node_labels"][0]["name"] == "Person"


def export_import_export(
    client: TestClient, auth: dict[str, str], session_id: str
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    first = client.get(f"/sessions/{session_id}/export", headers=auth).content
    target = create_session(client, auth, "copy")
    response = client.post(
        f"/sessions/{target}/import", content=first, headers={**auth, "content-type": "application/zip"}
    )
    assert response.status_code == 201, response.text
    second = client.get(f"/sessions/{target}/export", headers=auth).content
    return archive_files(first), archive_files(second)


def test_round_trip_export_import_export_is_equal(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    session_id = session_of(tabular_url)
    graph = dataset_url(session_id, create_dataset(client, auth, session_id, "social", GRAPH_SCHEMA, kind="graph"))
    write(client, auth, graph, {"nodes": NODES, "edges": EDGES})
    first, second = export_import_export(client, auth, session_id)
    assert first.keys() == second.keys()
    for name in first:
        if name != "manifest.json":
            assert first[name] == second[name], name
    one, two = json.loads(first["manifest.json"]), json.loads(second["manifest.json"])
    assert one["datasets"] == two["datasets"]
    assert one["session"]["id"] != two["session"]["id"]


def test_imported_generated_ids_keep_counting(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    archive = client.get(f"/sessions/{session_of(tabular_url)}/export", headers=auth).content
    target = create_session(client, auth, "copy")
    response = client.post(
        f"/sessions/{target}/import", content=archive, headers={**auth, "content-type": "application/zip"}
    )
    (item,) = response.json()["datasets"]
    assert (item["name"], item["kind"], item["records"]) == ("things", "tabular", 3)
    url = dataset_url(target, item["id"])
    write(client, auth, url, {"records": [{"t": "new"}]})
    ids = [r["id"] for r in client.get(f"{url}/records", headers=auth).json()["items"]]
    assert ids == [1, 2, 3, 4]


def test_import_name_clash_is_409_unless_renamed(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    session_id = session_of(tabular_url)
    archive = client.get(f"/sessions/{session_id}/export", headers=auth).content
    zip_headers = {**auth, "content-type": "application/zip"}
    body = problem(client.post(f"/sessions/{session_id}/import", content=archive, headers=zip_headers), 409)
    assert body["key"] == {"names": ["things"]}
    response = client.post(
        f"/sessions/{session_id}/import", params={"rename": "things:things2"}, content=archive, headers=zip_headers
    )
    assert response.status_code == 201, response.text
    names = sorted(d["name"] for d in client.get(f"/sessions/{session_id}/datasets", headers=auth).json()["items"])
    assert names == ["things", "things2"]
    problem(
        client.post(f"/sessions/{session_id}/import", params={"rename": "x"}, content=archive, headers=zip_headers), 400
    )
    problem(
        client.post(
            f"/sessions/{session_id}/import", params={"rename": "nope:y"}, content=archive, headers=zip_headers
        ),
        400,
    )


def test_a_failing_import_leaves_nothing_behind(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    session_id = session_of(tabular_url)
    files = archive_files(client.get(f"/sessions/{session_id}/export", headers=auth).content)
    manifest = json.loads(files["manifest.json"])
    manifest["datasets"].append({**manifest["datasets"][0], "name": "broken", "file": "broken.csv"})
    files["broken.csv"] = files["things.csv"].replace(b"\n2,", b"\n1,")  # a duplicate key: 409 from the store
    files["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    target = create_session(client, auth, "target")
    response = client.post(
        f"/sessions/{target}/import", content=buffer.getvalue(), headers={**auth, "content-type": "application/zip"}
    )
    problem(response, 409)
    assert client.get(f"/sessions/{target}/datasets", headers=auth).json()["items"] == []


def test_import_refuses_what_is_not_an_archive(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    session_id = session_of(tabular_url)
    problem(
        client.post(
            f"/sessions/{session_id}/import", content=b"nope", headers={**auth, "content-type": "application/zip"}
        ),
        400,
    )
    problem(
        client.post(
            f"/sessions/{session_id}/import", content=b"{}", headers={**auth, "content-type": "application/json"}
        ),
        415,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", b'{"format": "other"}')
    problem(
        client.post(
            f"/sessions/{session_id}/import",
            content=buffer.getvalue(),
            headers={**auth, "content-type": "application/zip"},
        ),
        400,
    )


def test_a_timestamp_reads_the_same_in_a_record_and_every_export(
    client: TestClient, auth: dict[str, str], tabular_url: str
) -> None:
    """One rendering (issue 13): RFC 3339, UTC, `Z`, no fraction when zero, else exactly 6 digits."""
    stamps = ["2026-03-04T05:06:07.891011Z", "1970-01-01T00:00:00Z"]
    records = client.get(f"{tabular_url}/records", params={"select": "ts", "sort": "id"}, headers=auth).json()
    assert [r["ts"] for r in records["items"]][:2] == stamps
    for fmt in ("json", "ndjson"):
        text = client.get(f"{tabular_url}/export", params={"format": fmt, "select": "ts"}, headers=auth).text
        assert all(f'"ts":"{stamp}"' in text for stamp in stamps), text
    csv_text = client.get(f"{tabular_url}/export", params={"select": "ts,b", "sort": "id"}, headers=auth).text
    assert csv_text == f"ts,b\n{stamps[0]},true\n{stamps[1]},false\n,\n"
