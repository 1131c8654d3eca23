"""Issue 11 (types): every Cypher value comes back in one documented JSON form, its column naming the
type, full precision kept, and goes back as a parameter (`{"$type": <column type>, "value": <form>}`
where JSON alone cannot say it) comparing equal; the graph routes show stored values the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.query.social_graph import Graph, cypher, social_graph
from tests.unit.http.api import dataset_url

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

VALUES = [  # (Cypher expression, column type, JSON form)
    ("9223372036854775807", "integer", 9223372036854775807),
    ("-9223372036854775808", "integer", -9223372036854775808),
    ("0.1", "float", 0.1),
    ("0.0 / 0.0", "float", "NaN"),
    ("1.0 / 0.0", "float", "Infinity"),
    ("-1.0 / 0.0", "float", "-Infinity"),
    ("'NaN'", "string", "NaN"),
    ("true", "boolean", True),
    ("date('2020-01-02')", "date", "2020-01-02"),
    ("localtime('23:59:59.000000001')", "localtime", "23:59:59.000000001"),
    ("time('12:00:00.5+01:00')", "time", "12:00:00.5+01:00"),
    ("localdatetime('1816-01-01T00:00')", "localdatetime", "1816-01-01T00:00:00"),
    ("datetime('2015-07-21T21:40:32.142+01:00')", "datetime", "2015-07-21T21:40:32.142000+01:00"),
    (
        "datetime('2015-07-21T21:40:32.142000001[Europe/Stockholm]')",
        "datetime",
        "2015-07-21T21:40:32.142000001+02:00[Europe/Stockholm]",
    ),
    ("datetime('2024-01-02T03:04:05.5Z')", "datetime", "2024-01-02T03:04:05.500000Z"),
    ("duration('P1Y2M3DT4H5M6.000000007S')", "duration", "P1Y2M3DT4H5M6.000000007S"),
    ("point({x: 1.5, y: 2})", "point", {"srid": 7203, "x": 1.5, "y": 2.0}),
    ("point({longitude: 1, latitude: 2, height: 3})", "point", {"srid": 4979, "x": 1.0, "y": 2.0, "z": 3.0}),
]
PLAIN_JSON = {"integer", "string", "boolean"}


@pytest.fixture(scope="module")
def graph(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[Graph]:
    with social_graph(postgres_runtime, neo4j_runtime) as graph:
        yield graph


def typed(column_type: str, value: Any) -> Any:
    return value if column_type in PLAIN_JSON else {"$type": column_type, "value": value}


@pytest.mark.parametrize(("expression", "column_type", "shown"), VALUES, ids=[v[0] for v in VALUES])
def test_a_value_reads_in_its_form_and_goes_back_equal(
    graph: Graph, expression: str, column_type: str, shown: Any
) -> None:
    result = cypher(graph, f"RETURN {expression} AS x")
    assert result["columns"] == [{"name": "x", "type": column_type}]
    assert result["rows"] == [[shown]]
    back = cypher(
        graph,
        f"WITH {expression} AS x RETURN $p AS p, x = $p OR (isNaN(x) AND isNaN($p)) AS same"
        if shown == "NaN" and column_type == "float"
        else f"WITH {expression} AS x RETURN $p AS p, x = $p AS same",
        {"p": typed(column_type, shown)},
    )
    assert back["columns"][0]["type"] == column_type
    assert back["rows"] == [[shown, True]]


def test_typed_values_stand_in_lists_and_maps_and_find_stored_ones(graph: Graph) -> None:
    stamp = "2015-07-21T21:40:32.142000001+02:00[Europe/Stockholm]"
    cypher(
        graph,
        "CREATE (:Person {id: 'rt', name: 'rt', seen: datetime($t), at: $p.at, days: $days})",
        {
            "t": stamp,
            "p": {"at": {"$type": "localtime", "value": "12:00:00.000000001"}},
            "days": [{"$type": "date", "value": "2020-01-02"}, {"$type": "date", "value": "2020-01-03"}],
        },
        read_only=False,
    )
    found = cypher(
        graph,
        "MATCH (n:Person) WHERE n.seen = $t AND n.at = $at AND n.days = $days "
        "RETURN n.id, n.seen, n.days, datainfra.key(n)",
        {
            "t": {"$type": "datetime", "value": stamp},
            "at": {"$type": "localtime", "value": "12:00:00.000000001"},
            "days": [{"$type": "date", "value": "2020-01-02"}, {"$type": "date", "value": "2020-01-03"}],
        },
    )
    assert [row[:3] for row in found["rows"]] == [["rt", stamp, ["2020-01-02", "2020-01-03"]]]
    key = found["rows"][0][3]  # Cypher made the node, so its route key is generated (id is a property)
    client, auth, sid, dataset = graph
    node = client.get(f"{dataset_url(sid, dataset)}/nodes/{key}", headers=auth)
    assert node.status_code == 200, node.text
    assert node.json()["properties"]["seen"] == stamp  # the graph routes show it as Cypher does


@pytest.mark.parametrize(
    ("parameter", "field"),
    [
        ({"$type": "datetime", "value": "2015-07-21T21:40:32"}, "parameters.p"),
        ({"$type": "date", "value": 20200102}, "parameters.p"),
        ({"$type": "instant", "value": "x"}, "parameters.p"),
        ({"$type": "point", "value": {"srid": 1, "x": 1, "y": 2}}, "parameters.p"),
        ([{"$type": "duration", "value": "P1X"}], "parameters.p[0]"),
        ({"$type": "datetime", "value": "2015-07-21T21:40:32Z[Mars/Olympus]"}, "parameters.p"),
    ],
)
def test_a_wrong_typed_value_is_a_400_naming_it(graph: Graph, parameter: Any, field: str) -> None:
    client, auth, sid, _ = graph
    body = {"language": "cypher", "dataset": "social", "query": "RETURN $p", "parameters": {"p": parameter}}
    response = client.post(f"/sessions/{sid}/query", json=body, headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
