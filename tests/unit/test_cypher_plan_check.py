"""The plan check lets through plans anchored on the dataset and refuses anything else, failing closed.

Plans are dicts shaped like the driver's `summary.plan`; their details are written as Neo4j 5.26
prints them (seen on a real server while this was written)."""

from __future__ import annotations

from typing import Any

import pytest

from datainfra.adapters.neo4j.client_cypher.plan_check import ANCHORED_LEAVES, CREATING, SAFE_OPERATORS, check_plan
from datainfra.adapters.neo4j.namespacing import Namespace
from datainfra.domain.errors import InvalidRequest

NS = Namespace("ab" * 16)
D, R, L = NS.node_label, NS.rel_type, NS.label_prefix
OTHER = Namespace("cd" * 16)


def op(name: str, details: str | None = None, *children: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {"EstimatedRows": 1.0}
    if details is not None:
        args["Details"] = details
    return {"operatorType": f"{name}@neo4j", "args": args, "identifiers": [], "children": list(children)}


def plan(*leaves: dict[str, Any]) -> dict[str, Any]:
    """Leaves under ProduceResults (several become a CartesianProduct)."""
    body = leaves[0] if len(leaves) == 1 else op("CartesianProduct", "", *leaves)
    return op("ProduceResults", "n", body)


ACCEPTED = [
    op("NodeByLabelScan", f"n:{D}"),
    op("NodeByLabelScan", f"n:{L}Person"),
    op("IntersectionNodeByLabelsScan", f"n:{D}&{L}Person"),
    op("UnionNodeByLabelsScan", f"n:{L}A|{L}B"),
    op("SubtractionNodeByLabelsScan", f"n:{D}&!{L}A"),
    op("NodeUniqueIndexSeek", f"UNIQUE n:{D}(#id) WHERE #id = $_ds_s0"),
    op("NodeUniqueIndexSeek(Locking)", f"UNIQUE n:{D}(#id) WHERE #id = $_ds_s0"),
    op("NodeIndexSeek", f"RANGE INDEX n:{L}Person(email) WHERE email = $x"),
    op("NodeIndexSeekByRange", f"RANGE INDEX n:{L}Person(age) WHERE age > $x"),
    op("MultiNodeIndexSeek", f"UNIQUE a:{D}(#id) WHERE #id = $a, UNIQUE b:{D}(#id) WHERE #id = $b"),
    op("NodeCountFromCountStore", f"count( (:{D}) ) AS `count(n)`"),
    op("RelationshipCountFromCountStore", f"count( ()-[:{R}]->() ) AS `count(r)`"),
    op("RelationshipCountFromCountStore", f"count( (:{D})-[]->() ) AS `count(r)`"),
    op("DirectedRelationshipTypeScan", f"(anon_0)-[r:{R}]->(anon_1)"),
    op("UndirectedRelationshipTypeScan", f"(anon_0)-[r:{R}]-(anon_1)"),
    op("DirectedRelationshipIndexSeek", f"RANGE INDEX (a)-[r:{R}(#type)]->(b) WHERE #type = $x"),
    op("DirectedRelationshipUniqueIndexSeek(Locking)", f"UNIQUE (a)-[r:{R}(#id)]->(b) WHERE #id = $x"),
]


@pytest.mark.parametrize("leaf", ACCEPTED, ids=lambda leaf: leaf["operatorType"])
def test_anchored_leaves_pass(leaf: dict[str, Any]) -> None:
    check_plan(plan(op("Filter", "n.x > $p", op("Expand(All)", f"(n)-[r:{R}]->(m)", leaf))), NS)


def test_a_realistic_read_passes() -> None:
    check_plan(
        op(
            "ProduceResults",
            "c, l",
            op(
                "RollUpApply",
                "l, anon_0",
                op(
                    "Apply",
                    "",
                    op("NodeByLabelScan", f"a:{D}"),
                    op(
                        "EagerAggregation",
                        "count(*) AS c",
                        op(
                            "Filter",
                            f"anon_2:{D}",
                            op("Expand(All)", f"(a)-[anon_1:{R}]->(anon_2)", op("Argument", "a")),
                        ),
                    ),
                ),
                op(
                    "Projection",
                    "b.`#id` AS anon_0",
                    op("VarLengthExpand(All)", f"p = (a)-[anon_0:{R}*..3]->(b)", op("Argument", "a")),
                ),
            ),
        ),
        NS,
    )


# (leaf or operator, a fragment of the refusal)
REFUSED = [
    (op("AllNodesScan", "n"), "every node"),
    (op("DirectedAllRelationshipsScan", "(a)-[r]->(b)"), "every relationship"),
    (op("UndirectedAllRelationshipsScan", "(a)-[r]-(b)"), "every relationship"),
    (op("NodeByIdSeek", "n WHERE id(n) = $x"), "internal id"),
    (op("NodeByElementIdSeek", "n WHERE elementId(n) = $x"), "internal id"),
    (op("DirectedRelationshipByIdSeek", "(a)-[r]->(b) WHERE id(r) = $x"), "internal id"),
    (op("UndirectedRelationshipByElementIdSeek", "(a)-[r]-(b) WHERE elementId(r) = $x"), "internal id"),
    (op("ProcedureCall", "db.labels() :: (label :: STRING)"), "procedure"),
    (op("LoadCSV", "l"), "file"),
    (op("NodeByLabelScan", "n:Person"), "outside the dataset"),
    (op("NodeByLabelScan", f"n:{OTHER.node_label}"), "outside its dataset"),
    (op("NodeByLabelScan", f"n:{OTHER.label_prefix}Person"), "outside its dataset"),
    (op("IntersectionNodeByLabelsScan", f"n:{D}&Person"), "outside the dataset"),
    (op("UnionNodeByLabelsScan", f"n:{L}A|Person"), "outside the dataset"),
    (op("NodeIndexSeek", "RANGE INDEX n:Person(email) WHERE email = $x"), "outside the dataset"),
    (op("NodeUniqueIndexSeek(Locking)", "UNIQUE n:Person(email) WHERE email = $x"), "outside the dataset"),
    (op("NodeCountFromCountStore", "count( () ) AS `count(n)`"), "outside the dataset"),
    (op("RelationshipCountFromCountStore", "count( ()-[]->() ) AS `count(r)`"), "outside the dataset"),
    (op("DirectedRelationshipTypeScan", "(a)-[r:KNOWS]->(b)"), "outside the dataset"),
    (op("DirectedRelationshipTypeScan", f"(a)-[r:{OTHER.rel_type}]->(b)"), "outside its dataset"),
    (op("DirectedUnionRelationshipTypesScan", f"(a)-[r:{R}|KNOWS]->(b)"), "outside the dataset"),
    (op("DirectedRelationshipIndexSeek", "RANGE INDEX (a)-[r:KNOWS(w)]->(b) WHERE w = $x"), "outside the dataset"),
    (op("NodeByLabelScan", ""), "outside the dataset"),
    (op("NodeByLabelScan"), "outside the dataset"),
    (op("PartitionedAllNodesScan", "n"), "every node"),
    (op("DynamicLabelNodeLookup", "n:$any($x)"), "DynamicLabelNodeLookup"),
    (op("ShowIndexes", "name"), "ShowIndexes"),
    (op("CreateIndex", "RANGE INDEX i FOR (n:P) ON (n.x)"), "CreateIndex"),
    (op("TerminateTransactions", "x"), "TerminateTransactions"),
    (op("Frobnicate", ""), "Frobnicate"),
    # writes
    (op("SetLabels", "n:Admin", op("NodeByLabelScan", f"n:{D}")), "label outside"),
    (op("SetLabels", f"n:{L}A:{D}", op("NodeByLabelScan", f"n:{D}")), "label outside"),
    (op("RemoveLabels", f"n:{D}", op("NodeByLabelScan", f"n:{D}")), "label outside"),
    (op("RemoveLabels", f"n:{OTHER.label_prefix}A", op("NodeByLabelScan", f"n:{D}")), "outside its dataset"),
    (op("SetDynamicProperty", "n[$k] = $v", op("NodeByLabelScan", f"n:{D}")), "computed"),
    (op("TransactionApply", "", op("NodeByLabelScan", f"n:{D}")), "transactions"),
    (op("TransactionForeach", "", op("NodeByLabelScan", f"n:{D}")), "transactions"),
    (op("Create", "(n)"), "node outside"),
    (op("Create", "(n:Person {name: $x})"), "node outside"),
    (op("Create", f"(n:{L}Person)"), "node outside"),
    (op("Create", f"(n:{D}:Person)"), "node outside"),
    (op("Create", f"(n:{D}), (a)-[r:KNOWS]->(n)"), "relationship outside"),
    (op("Create", f"(n:{D}), (a)-[r]->(n)"), "relationship outside"),
    (op("Create", f"(a)-[r:{R} {{x: [1]}}]->(b), (a)<-[s:KNOWS {{x: [1]}}]-(b)"), "relationship outside"),
    (op("Merge", "CREATE (n:Person {`#id`: $x}), ON CREATE SET n.x = 1"), "node outside"),
    (op("LockingMerge", "CREATE (a)-[r:KNOWS]->(b), LOCK(a)"), "relationship outside"),
    (op("Merge", f"CREATE (n:{D} {{`#id`: $x}}), ON CREATE SET n:Admin"), "label outside"),
    (op("Foreach", "x IN [1], SET n:Foo"), "label outside"),
    (op("Foreach", "x IN [1], SET n.a = x, REMOVE n:B, DELETE n"), "label outside"),
    (op("Foreach", "x IN [1, 2], CREATE (anon_0:Person {i: x})"), "node outside"),
    # any other namespace's name, anywhere
    (op("Filter", f"n:{OTHER.node_label}", op("NodeByLabelScan", f"n:{D}")), "outside its dataset"),
    (op("Projection", f"`{OTHER.label_prefix}x` AS y", op("NodeByLabelScan", f"n:{D}")), "outside its dataset"),
]


@pytest.mark.parametrize(
    ("operator", "fragment"), REFUSED, ids=lambda x: x["operatorType"] if isinstance(x, dict) else x
)
def test_refusals(operator: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_plan(plan(operator), NS)
    assert caught.value.field == "query"
    assert fragment in caught.value.detail


def test_a_refused_operator_deep_in_the_tree_is_found() -> None:
    deep = op("Apply", "", op("NodeByLabelScan", f"a:{D}"), op("Filter", "true", op("AllNodesScan", "b")))
    with pytest.raises(InvalidRequest, match="every node"):
        check_plan(op("ProduceResults", "a", op("Limit", "10", deep)), NS)


ALLOWED_WRITES = [
    op("Create", f"(n:{D}:{L}Person {{name: $x, `#id`: randomUUID(), `#labels`: $autolist_0}})"),
    op("Create", f"(a)-[anon_0:{R} {{`#type`: $t, `#id`: randomUUID()}}]->(b)"),
    op("Create", f"(b:{D} {{`#id`: randomUUID()}}), (a)-[r:{R} {{`#type`: $t}}]->(b)"),
    # a list in a created relationship's properties is not a relationship (the TCK's movie graph)
    op("Create", f"(a)-[r:{R} {{roles: [$_ds_s0], `#type`: $t}}]->(b), (b)<-[s:{R} {{x: [1, [2]]}}]-(a)"),
    op("Merge", f"CREATE (n:{D}:{L}P {{`#id`: toString($x)}}), ON CREATE SET n.`#labels` = $autolist_0"),
    op(
        "LockingMerge",
        f"CREATE (b:{D}:{L}P {{name: $x}}), (a)-[`#r1`:{R} {{`#type`: $t}}]->(b), ON CREATE SET `#r1`.`#id` = "
        f"randomUUID(), SET b.`#id` = randomUUID(), b.`#labels` = $autolist_1, LOCK(a)",
    ),
    op(
        "Foreach",
        f'x IN [1, 2], CREATE (anon_0:{D}:{L}P {{`#id`: coalesce(toString(x), randomUUID()), `#labels`: ["P"]}})',
    ),
    op("Foreach", "x IN [1], SET n.a = x, n.b = 2, DELETE n"),
    # the dataset's client labels may change (issue 11 item 4); a map's keys are no labels
    op("SetLabels", f"n:{L}Admin:{L}B", op("NodeByLabelScan", f"n:{D}")),
    op("RemoveLabels", f"n:{L}Admin", op("NodeByLabelScan", f"n:{D}")),
    op("Merge", f"CREATE (n:{D}), ON CREATE SET n:{L}Foo, SET n += {{name: $x, `#o:name`: NULL}}"),
    op("Foreach", f"x IN [1], SET n:{L}Foo, REMOVE n:{L}B"),
    op("SetProperties", "n.x = $autoint_0, n.`#o:x` = NULL"),
    op("SetNodePropertiesFromMap", "n = {a: $autoint_0, `#id`: n.`#id`, `#labels`: n.`#labels`, `#type`: n.`#type`}"),
    op("DetachDelete", "n"),
]


@pytest.mark.parametrize("write", ALLOWED_WRITES, ids=lambda w: w["operatorType"])
def test_anchored_writes_pass(write: dict[str, Any]) -> None:
    write["children"] = [op("NodeByLabelScan", f"n:{D}")]
    check_plan(plan(write), NS)


def test_operator_lists_are_disjoint_and_no_refused_operator_is_listed() -> None:
    assert not SAFE_OPERATORS & ANCHORED_LEAVES
    assert not SAFE_OPERATORS & CREATING
    assert not ANCHORED_LEAVES & CREATING
    for name in ("AllNodesScan", "NodeByIdSeek", "ProcedureCall", "LoadCSV", "SetLabels", "SetDynamicProperty"):
        assert name not in SAFE_OPERATORS | ANCHORED_LEAVES | CREATING


def test_a_plan_without_an_operator_type_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        check_plan({}, NS)


NESTED_OK = [
    f"CASE WHEN a.x THEN COUNT {{ MATCH (a)-[`anon_0`:{R}]->(`anon_1`)   WHERE a:{D} AND `anon_1`:{D} }} END AS c",
    f"[x IN [a] | COLLECT {{ MATCH (x)-[`anon_1`:{R}]->(y)   WHERE x:{D} AND y:{D} RETURN y.v AS `anon_0` }}] AS c",
    f"CASE WHEN true THEN COUNT {{ MATCH (m)   WHERE m:{L}P RETURN m AS m }} END AS c",
    f"[x IN $l WHERE EXISTS {{ MATCH (a:{D})-[r:{R}]->(b:{D}) WHERE b.v IN [x] }}] AS c",
    "[x IN $l WHERE getDegree((a)-->()) > 0] AS c",
]
NESTED_REFUSED = [
    "CASE WHEN true THEN COUNT { MATCH (m) RETURN m AS m } END AS c",
    f"CASE WHEN a.x THEN COUNT {{ MATCH (a)-[`anon_0`:{R}]->(`anon_1`)   WHERE a:{D} }} END AS c",
    "[x IN [a] | COLLECT { MATCH (x)-[`anon_1`:R]->(y)   WHERE y:Person RETURN y.v AS `anon_0` }] AS c",
    "CASE WHEN true THEN EXISTS { MATCH () WHERE true } END AS c",
    f"COUNT {{ MATCH (m) WHERE m:{D} RETURN COLLECT {{ MATCH (q) RETURN q }} AS x }} AS c",
]


@pytest.mark.parametrize("details", NESTED_OK)
def test_nested_subqueries_on_labelled_nodes_pass(details: str) -> None:
    check_plan(plan(op("Projection", details, op("NodeByLabelScan", f"a:{D}"))), NS)


@pytest.mark.parametrize("details", NESTED_REFUSED)
def test_nested_subqueries_on_unlabelled_nodes_are_refused(details: str) -> None:
    with pytest.raises(InvalidRequest, match="subquery inside an expression"):
        check_plan(plan(op("Projection", details, op("NodeByLabelScan", f"a:{D}"))), NS)
