"""Neo4j dates and times outside years 1-9999 (found by the fuzz stage, issue 10): Neo4j holds years
-999,999,999 to 999,999,999, Python only 1 to 9999. Such a value, returned by Cypher or stored on a
node, reads back as the text Neo4j's own toString() gives it, on every read path; never a 5xx."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import networkx as nx
import pytest

from tests.integration.query.social_graph import Graph, cypher, social_graph
from tests.unit.http.api import dataset_url

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


@pytest.fixture(scope="module")
def graph(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[Graph]:
    with social_graph(postgres_runtime, neo4j_runtime) as graph:
        yield graph


@pytest.mark.parametrize(
    "expression",
    [
        "date('-999999999-01-01')",
        "date('+10000-01-01')",
        "date('0000-02-29')",
        "date('-0044-03-15')",
        "datetime('+999999999-12-31T23:59:59.123456789Z')",
        "datetime('+20000-06-01T10:30+02:00')",
        "datetime('+20000-01-01T00:00[Europe/Berlin]')",
        "datetime('-20000-07-01T00:00[America/New_York]')",
        "datetime('-0001-01-01T00:00:01-05:30')",
        "localdatetime('-0001-06-01T12:00:00')",
        "localdatetime('+12345-01-01T00:00')",
    ],
)
def test_a_far_value_reads_as_neo4j_writes_it(graph: Graph, expression: str) -> None:
    rows = cypher(graph, f"WITH {expression} AS x RETURN x, toString(x) AS text, [x] AS list, {{x: x}} AS map")["rows"]
    value, text, listed, mapped = rows[0]
    assert value == text
    assert listed == [text] and mapped == {"x": text}


def test_values_in_range_are_unchanged(graph: Graph) -> None:
    rows = cypher(graph, "RETURN date('2024-02-29') AS d, datetime('2024-01-02T03:04:05Z') AS t")["rows"]
    assert rows == [["2024-02-29", "2024-01-02T03:04:05Z"]]


def test_a_utc_datetime_reads_the_api_s_one_way(graph: Graph) -> None:
    """Issue 13: a zoned DateTime in UTC, from Cypher or a stored timestamp property, reads as every
    timestamp in the API does: Z, no fraction when zero, else exactly 6 digits."""
    client, auth, sid, dataset = graph
    rows = cypher(graph, "RETURN datetime('2024-01-02T03:04:05.5Z') AS t, [datetime('2024-01-02T03:04:05Z')] AS l")
    assert rows["rows"] == [["2024-01-02T03:04:05.500000Z", ["2024-01-02T03:04:05Z"]]]
    cypher(
        graph, "CREATE (:Person {id: 'utc', name: 'utc', when: datetime('2024-01-02T03:04:05.25Z')})", read_only=False
    )
    [[key]] = cypher(graph, "MATCH (p {id: 'utc'}) RETURN datainfra.key(p)")["rows"]  # what the routes address
    node = client.get(f"{dataset_url(sid, dataset)}/nodes/{key}", headers=auth)
    assert node.status_code == 200, node.text
    assert node.json()["properties"]["when"] == "2024-01-02T03:04:05.250000Z"
    graphml = client.get(f"{dataset_url(sid, dataset)}/export", params={"format": "graphml"}, headers=auth)
    assert ">2024-01-02T03:04:05.250000Z<" in graphml.text


def test_a_stored_far_date_reads_back_on_every_path(graph: Graph) -> None:
    client, auth, sid, dataset = graph
    cypher(
        graph,
        "CREATE (:Person {id: 'far', name: 'far', seen: date('+20000-01-01'), "
        "at: localdatetime('-0044-03-15T12:00'), when: [datetime('+10000-01-01T00:00Z')]})",
        read_only=False,
    )
    url = dataset_url(sid, dataset)
    [[far]] = cypher(graph, "MATCH (p {id: 'far'}) RETURN datainfra.key(p)")["rows"]  # what the routes address
    node = client.get(f"{url}/nodes/{far}", headers=auth)
    assert node.status_code == 200, node.text
    props = node.json()["properties"]
    expected = ("+20000-01-01", "-0044-03-15T12:00:00", ["+10000-01-01T00:00:00Z"])
    assert (props["seen"], props["at"], props["when"]) == expected
    page = client.get(f"{url}/nodes", headers=auth)
    assert page.status_code == 200 and any(item["id"] == far for item in page.json()["items"]), page.text
    assert cypher(graph, "MATCH (p:Person {name: 'far'}) RETURN p.seen")["rows"] == [["+20000-01-01"]]
    returned = cypher(graph, "MATCH (p:Person {name: 'far'}) RETURN p")["rows"][0][0]
    assert returned["properties"]["seen"] == "+20000-01-01"
    for fmt in ("json", "ndjson", "graphml"):
        export = client.get(f"{url}/export", params={"format": fmt}, headers=auth)
        assert export.status_code == 200 and "+20000-01-01" in export.text, (fmt, export.text[-300:])
    linked = nx.node_link_graph(client.get(f"{url}/export", headers=auth).json())
    assert far in linked
    archive = client.get(f"/sessions/{sid}/export", headers=auth)
    assert archive.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(archive.content)).testzip() is None
