"""The other side of the corpus: each tenant's legitimate queries still work, over its own data
only, in the graph routes' shapes (so isolation is not bought by refusing everything)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.support import ATTACKER_SECRET, VICTIM_SECRET, Guarded, Tenant, World, send
from tests.unit.http.api import dataset_url

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

GUARD_SCOPE = "all"


def rows(world: World, language: str, query: str, parameters: Any = None, *, tenant: Tenant | None = None) -> Any:
    tenant = tenant or world.attacker
    options = {"dataset": tenant.graph} if language == "cypher" else {}
    response, _ = send(world, language, query, parameters, tenant=tenant, **options)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["row_count"] == len(body["rows"]) and body["truncated"] is False
    return body["rows"]


# -- SQL ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("query", "parameters", "expected"),
    [
        pytest.param("SELECT $1::text", ['it\'s; -- "quoted"'], [['it\'s; -- "quoted"']], id="string"),
        pytest.param("SELECT $1::bigint * 2", [2**40], [[2**41]], id="integer"),
        pytest.param("SELECT $1::numeric + 0.05", [1.25], [[1.3]], id="number"),
        pytest.param("SELECT NOT $1::boolean", [False], [[True]], id="boolean"),
        pytest.param("SELECT $1::int IS NULL", [None], [[True]], id="null"),
        pytest.param("SELECT cardinality($1::text[])", [["a", "b", "c"]], [[3]], id="array"),
        pytest.param("SELECT $1::jsonb -> 'k'", [{"k": [1, {"x": None}]}], [[[1, {"x": None}]]], id="object"),
        pytest.param("SELECT jsonb_array_length($1::jsonb)", [[1, "two", None, {"3": 3}]], [[4]], id="mixed-list"),
        pytest.param("SELECT $1::date + 1", ["2024-02-28"], [["2024-02-29"]], id="date-as-text"),
        pytest.param(
            "SELECT name FROM people WHERE name = ANY($1::text[]) AND coalesce(age, 0) < $2 ORDER BY name",
            [["ada", "cy", "zebra"], 40],
            [["ada"], ["cy"]],
            id="filtering-own-table",
        ),
    ],
)
def test_sql_parameters_of_every_json_type(world: World, query: str, parameters: list[Any], expected: Any) -> None:
    assert rows(world, "sql", query, parameters) == expected


@pytest.mark.usefixtures("unchanged")
def test_sql_join_and_aggregates_across_the_tenants_two_tables(world: World) -> None:
    query = (
        "SELECT p.name, count(o.person) AS n, sum(o.total) AS spent, max(o.placed) AS last "
        "FROM people p LEFT JOIN orders o ON o.person = p.name GROUP BY p.name ORDER BY p.name"
    )
    assert rows(world, "sql", query) == [
        ["ada", 2, 15.10, "2024-01-02"],
        ["bob", 1, 1, "2024-03-04"],
        ["cy", 0, None, None],
    ]
    window = "SELECT person, total, rank() OVER (PARTITION BY person ORDER BY total DESC) FROM orders ORDER BY 1, 2"
    assert rows(world, "sql", window) == [["ada", 5, 2], ["ada", 10.10, 1], ["bob", 1, 1]]


@pytest.mark.usefixtures("unchanged")
def test_each_tenant_reads_its_own_rows_under_the_same_names(world: World) -> None:
    query = "SELECT note FROM people WHERE name = 'ada'"
    assert rows(world, "sql", query) == [[ATTACKER_SECRET]]
    assert rows(world, "sql", query, tenant=world.victim) == [[VICTIM_SECRET]]


# -- Cypher ----------------------------------------------------------------------------------------


def route_node(world: World, tenant: Tenant, node_id: str) -> Any:
    response = world.client.get(f"{dataset_url(tenant.sid, tenant.graph)}/nodes/{node_id}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    return response.json()


def route_edges(world: World, tenant: Tenant) -> dict[str, Any]:
    response = world.client.get(f"{dataset_url(tenant.sid, tenant.graph)}/edges?limit=1000", headers=tenant.auth)
    assert response.status_code == 200, response.text
    return {edge["id"]: edge for edge in response.json()["items"]}


@pytest.mark.usefixtures("unchanged")
def test_cypher_nodes_relationships_and_paths_in_the_graph_routes_shapes(world: World) -> None:
    attacker = world.attacker
    [[node]] = rows(world, "cypher", "MATCH (n:Person {id: 'a'}) RETURN n")
    assert node == route_node(world, attacker, "a")
    assert node == {
        "id": "a",
        "labels": ["Person"],
        "properties": {"id": "a", "name": "ada", "age": 36, "secret": ATTACKER_SECRET},
    }
    [[edge]] = rows(world, "cypher", "MATCH (:Person {id: 'a'})-[r:KNOWS]->() RETURN r")
    assert edge == route_edges(world, attacker)["e1"]
    assert edge == {
        "id": "e1",
        "source": "a",
        "target": "b",
        "type": "KNOWS",
        "properties": {"id": "e1", "since": 2001, "secret": ATTACKER_SECRET},
    }
    [[path]] = rows(world, "cypher", "MATCH p = (:Person {id: 'a'})-[:KNOWS]->()-[:LIVES_IN]->(:City) RETURN p")
    edges = route_edges(world, attacker)
    assert path == {
        "length": 2,
        "nodes": [route_node(world, attacker, n) for n in ("a", "b", "c")],
        "edges": [edges["e1"], edges["e2"]],
    }
    found = rows(world, "cypher", "MATCH (n)-[r]->(m) RETURN n.id, type(r), r.id, m.id, labels(m) ORDER BY r.id")
    assert found == [
        ["a", "KNOWS", "e1", "b", ["Person"]],
        ["b", "LIVES_IN", "e2", "c", ["City"]],
        ["a", "LIVES_IN", "e3", "c", ["City"]],
    ]


@pytest.mark.usefixtures("unchanged")
def test_cypher_parameters_and_aggregates(world: World) -> None:
    params = {"ids": ["a", "b", "zebra-node"], "min": 30, "name": "ada", "flag": True, "none": None, "m": {"k": [1]}}
    found = rows(
        world,
        "cypher",
        "MATCH (n:Person) WHERE n.id IN $ids AND n.age >= $min AND n.name = $name "
        "RETURN n.id, $flag AS flag, $none AS none, $m.k AS k",
        params,
    )
    assert found == [["a", True, None, [1]]]
    [[count, ids]] = rows(world, "cypher", "MATCH (n:Person) RETURN count(n) AS c, collect(n.id) AS ids")
    assert count == 3 and sorted(ids) == ["0", "a", "b"]
    grouped = rows(world, "cypher", "MATCH (n) RETURN labels(n)[0] AS label, count(*) AS c ORDER BY label")
    assert grouped == [["City", 1], ["Person", 3]]
    degrees = rows(world, "cypher", "MATCH (n)-[r]-() RETURN n.id, count(r) AS degree ORDER BY n.id")
    assert degrees == [["a", 2], ["b", 2], ["c", 2]]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "parameters",
    [pytest.param({"f": 1.5}, id="top-level"), pytest.param({"m": {"k": [0.25]}}, id="nested")],
)
def test_cypher_parameters_with_a_fraction(world: World, parameters: dict[str, Any]) -> None:
    [[value]] = rows(
        world, "cypher", "RETURN $f * 2 AS x" if "f" in parameters else "RETURN $m.k[0] * 2 AS x", parameters
    )
    assert value in (3.0, 0.5)


@pytest.mark.usefixtures("unchanged")
def test_cypher_bounded_loops_still_run(world: World) -> None:
    """The expression-loop bounds leave everyday loops alone."""
    query = (
        "WITH [x IN range(1, 100) | x * 2] AS evens, $l AS l "
        "RETURN size(evens), reduce(s = 0, x IN l | s + x), [x IN [1, 2, 3] | size([y IN l WHERE y > x])], "
        "any(x IN l WHERE x = 3), size(range(0, size(l) - 1)), size(range(1, 1000000))"
    )
    assert rows(world, "cypher", query, {"l": [1, 2, 3, 4]}) == [[100, 10, [3, 2, 1], True, 4, 1_000_000]]
    path_cost = "MATCH p = (:Person {id: 'a'})-[:KNOWS]->() RETURN reduce(c = 0, r IN relationships(p) | c + r.since)"
    assert rows(world, "cypher", path_cost) == [[2001]]


@pytest.mark.usefixtures("unchanged")
def test_each_tenant_sees_its_own_graph_under_the_same_names(world: World) -> None:
    query = "MATCH (n {id: 'a'}) RETURN n.secret"
    assert rows(world, "cypher", query) == [[ATTACKER_SECRET]]
    assert rows(world, "cypher", query, tenant=world.victim) == [[VICTIM_SECRET]]
    assert rows(world, "cypher", "MATCH (n:ZebraLabel) RETURN n.id", tenant=world.victim) == [["zebra-node"]]
    assert rows(world, "cypher", "MATCH ()-[r:ZEBRA_REL]->() RETURN r.id", tenant=world.victim) == [["zebra-edge"]]


@pytest.mark.usefixtures("unchanged")
def test_cypher_distinct_var_length_reach_over_the_own_graph(world: World) -> None:
    assert sorted(rows(world, "cypher", "MATCH (:Person {id: 'a'})-[*]-(b) RETURN DISTINCT b.id")) == [
        ["a"],
        ["b"],
        ["c"],
    ]


def test_after_everything_both_tenants_are_exactly_as_before(baseline: dict[str, Guarded]) -> None:
    baseline["victim"].assert_unchanged()
    baseline["attacker"].assert_unchanged()
