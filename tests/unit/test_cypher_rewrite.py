"""The Cypher rewriter scopes a client's query to its dataset's namespace, and refuses what it cannot scope.

Pure: no Neo4j. The texts below were checked against a real Neo4j 5 (EXPLAIN) while this was
written; the integration tests run them for real."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datainfra.adapters.neo4j.client_cypher.rewrite import RewrittenQuery, rewrite
from datainfra.adapters.neo4j.client_cypher.rewrite.rewriter import Rewriter
from datainfra.adapters.neo4j.client_cypher.rewrite.rules import Rules
from datainfra.adapters.neo4j.client_cypher.tokens import Kind, Token, quoted_value, tokenize
from datainfra.adapters.neo4j.namespacing import Namespace
from datainfra.domain.errors import InvalidRequest
from tests.support.hypothesis_budget import examples

NS = Namespace("ab" * 16)
OTHER = "cd" * 16


def out(query: str) -> str:
    """The rewritten text with the namespace hex shortened to X."""
    return rewrite(query, NS).text.replace(NS.hex, "X")


# -- rewriting ------------------------------------------------------------------------------------

REWRITES: list[tuple[str, str]] = [
    # node patterns: the dataset label always, client labels namespaced
    ("MATCH (n) RETURN n", "MATCH (n:`D_X`) RETURN n"),
    ("MATCH (n:Person) RETURN n", "MATCH (n:`D_X`&`L_X__Person`) RETURN n"),
    ("MATCH (n:A:B) RETURN n", "MATCH (n:`D_X`&`L_X__A`&`L_X__B`) RETURN n"),
    ("MATCH (n:A&B) RETURN n", "MATCH (n:`D_X`&`L_X__A`&`L_X__B`) RETURN n"),
    ("MATCH (n IS A) RETURN n", "MATCH (n:`D_X`&`L_X__A`) RETURN n"),
    ("MATCH (n:A|B) RETURN n", "MATCH (n:`D_X`&(`L_X__A`|`L_X__B`)) RETURN n"),
    ("MATCH (n:!A) RETURN n", "MATCH (n:`D_X`&!`L_X__A`) RETURN n"),
    ("MATCH (n:%) RETURN n", "MATCH (n:`D_X`&%) RETURN n"),
    ("MATCH (`my var`:`Person`) RETURN `my var`", "MATCH (`my var`:`D_X`&`L_X__Person`) RETURN `my var`"),
    ("MATCH (n {id: 'a'}) RETURN n", "MATCH (n:`D_X` {`id`: $_ds_s0}) RETURN n"),
    ("MATCH (n:P WHERE n.x > 1) RETURN n", "MATCH (n:`D_X`&`L_X__P` WHERE n.x > 1) RETURN n"),
    # relationship patterns: the dataset type, the client's as #type
    ("MATCH ()-[r]->() RETURN r", "MATCH (:`D_X`)-[r:`R_X`]->(:`D_X`) RETURN r"),
    ("MATCH (a)-->(b) RETURN b", "MATCH (a:`D_X`)-[:`R_X`]->(b:`D_X`) RETURN b"),
    ("MATCH (a)<--(b) RETURN b", "MATCH (a:`D_X`)<-[:`R_X`]-(b:`D_X`) RETURN b"),
    ("MATCH (a)--(b) RETURN b", "MATCH (a:`D_X`)-[:`R_X`]-(b:`D_X`) RETURN b"),
    ("MATCH (a)-[:T]->(b) RETURN b", "MATCH (a:`D_X`)-[:`R_X` {`#type`: 'T'}]->(b:`D_X`) RETURN b"),
    (
        "MATCH (a)-[r:T {id: 'e', w: 2}]->(b) RETURN r",
        "MATCH (a:`D_X`)-[r:`R_X` {`id`: $_ds_s0, `w`: 2, `#type`: 'T'}]->(b:`D_X`) RETURN r",
    ),
    (
        "MATCH (a)-[r:A|B]->(b) RETURN r",
        "MATCH (a:`D_X`)-[r:`R_X` WHERE r.`#type` IN ['A', 'B']]->(b:`D_X`) RETURN r",
    ),
    (
        "MATCH (a)-[:A|:B]->(b) RETURN b",
        "MATCH (a:`D_X`)-[`#r1`:`R_X` WHERE `#r1`.`#type` IN ['A', 'B']]->(b:`D_X`) RETURN b",
    ),
    (
        "MATCH (a)-[r:!A WHERE r.w > 1]->(b) RETURN r",
        "MATCH (a:`D_X`)-[r:`R_X` WHERE (NOT (r.`#type` = 'A')) AND (r.w > 1)]->(b:`D_X`) RETURN r",
    ),
    ("MATCH (a)-[r*]->(b) RETURN b", "MATCH (a:`D_X`)-[r:`R_X`*]->(b:`D_X`) RETURN b"),
    ("MATCH (a)-[:T*1..3]->(b) RETURN b", "MATCH (a:`D_X`)-[:`R_X`*1..3 {`#type`: 'T'}]->(b:`D_X`) RETURN b"),
    (
        "MATCH (a)(()-[r:A|B]->()){1,3}(b) RETURN b",
        "MATCH (a:`D_X`)((:`D_X`)-[r:`R_X` WHERE r.`#type` IN ['A', 'B']]->(:`D_X`)){1,3}(b:`D_X`) RETURN b",
    ),
    (
        "MATCH p = SHORTEST 1 (a:P)-[:R]-+(b:P) RETURN p",
        "MATCH p = SHORTEST 1 (a:`D_X`&`L_X__P`)-[:`R_X` {`#type`: 'R'}]-+(b:`D_X`&`L_X__P`) RETURN p",
    ),
    (
        "MATCH p = shortestPath((a {id: 'a'})-[*..5]-(b)) RETURN p",
        "MATCH p = shortestPath((a:`D_X` {`id`: $_ds_s0})-[:`R_X`*..5]-(b:`D_X`)) RETURN p",
    ),
    # expressions: label predicates, datainfra.key(), labels(), type(), keys(); `id` is a property like any other
    ("MATCH (n) WHERE n:A RETURN n", "MATCH (n:`D_X`) WHERE n:`L_X__A` RETURN n"),
    ("MATCH (n) WHERE n IS A OR n:B|C RETURN n", "MATCH (n:`D_X`) WHERE n:`L_X__A` OR n:`L_X__B`|`L_X__C` RETURN n"),
    ("MATCH (n) WHERE n:A:B RETURN n", "MATCH (n:`D_X`) WHERE n:`L_X__A`&`L_X__B` RETURN n"),
    ("MATCH ()-[r]->() WHERE r:T RETURN r", "MATCH (:`D_X`)-[r:`R_X`]->(:`D_X`) WHERE (r.`#type` = 'T') RETURN r"),
    ("MATCH (n) WHERE n.id IN $ids RETURN n", "MATCH (n:`D_X`) WHERE n.id IN $ids RETURN n"),
    ("MATCH (n) RETURN n.id AS id", "MATCH (n:`D_X`) RETURN n.id AS id"),
    ("MATCH (n) RETURN n.id", "MATCH (n:`D_X`) RETURN n.id"),
    (
        "MATCH (n) WHERE datainfra.key(n) IN $ids RETURN DataInfra.Key(n) AS k",
        "MATCH (n:`D_X`) WHERE (n).`#id` IN $ids RETURN (n).`#id` AS k",
    ),
    ("MATCH ()-[r]->() RETURN datainfra.key(r)", "MATCH (:`D_X`)-[r:`R_X`]->(:`D_X`) RETURN (r).`#id` AS `#c0`"),
    ("MATCH (n) RETURN labels(n) AS l", "MATCH (n:`D_X`) RETURN (n).`#labels` AS l"),
    ("MATCH ()-[r]->() RETURN type(r) AS t", "MATCH (:`D_X`)-[r:`R_X`]->(:`D_X`) RETURN (r).`#type` AS t"),
    (
        "MATCH (n) RETURN keys(n) AS k",
        "MATCH (n:`D_X`) RETURN [`#k` IN keys(n) WHERE NOT `#k` STARTS WITH '#'] AS k",
    ),
    ("MATCH (n) RETURN n {.id, .name, .*} AS m", "MATCH (n:`D_X`) RETURN n {.`id`, .`name`, .*} AS m"),
    ("WITH {id: 1} AS m RETURN m.id AS i", "WITH {`id`: 1} AS m RETURN m.id AS i"),
    ("RETURN $row.id AS i", "RETURN $row.id AS i"),
    (
        "MATCH p = (a)-->(b) RETURN nodes(p)[0].id AS i",
        "MATCH p = (a:`D_X`)-[:`R_X`]->(b:`D_X`) RETURN nodes(p)[0].id AS i",
    ),
    (
        "MATCH (n) RETURN [x IN [n] WHERE x:A | x.id] AS i",
        "MATCH (n:`D_X`) RETURN [x IN [n] WHERE x:`L_X__A` | x.id] AS i",
    ),
    ("RETURN 'lit' AS s", "RETURN $_ds_s0 AS s"),
    ("MATCH (n) RETURN n.name, 'lit'", "MATCH (n:`D_X`) RETURN n.name, $_ds_s0 AS `#c0`"),
    ("MATCH (n) WHERE n.name STARTS WITH 'a' RETURN n", "MATCH (n:`D_X`) WHERE n.name STARTS WITH $_ds_s0 RETURN n"),
    ("MATCH (n) RETURN CASE WHEN n:A THEN 1 END AS k", "MATCH (n:`D_X`) RETURN CASE WHEN n:`L_X__A` THEN 1 END AS k"),
    # pattern predicates and subqueries
    (
        "MATCH (a) WHERE (a)-[:T]->(:P) AND NOT (a)-->() RETURN a",
        "MATCH (a:`D_X`) WHERE EXISTS { (a:`D_X`)-[:`R_X` {`#type`: 'T'}]->(:`D_X`&`L_X__P`) } AND NOT EXISTS "
        "{ (a:`D_X`)-[:`R_X`]->(:`D_X`) } RETURN a",
    ),
    (
        "MATCH (a) WHERE EXISTS { MATCH (a)-->(m) WHERE m.x = 1 } RETURN a",
        "MATCH (a:`D_X`) WHERE EXISTS { MATCH (a:`D_X`)-[:`R_X`]->(m:`D_X`) WHERE m.x = 1 } RETURN a",
    ),
    ("MATCH (a) RETURN COUNT { (a)-->() } AS c", "MATCH (a:`D_X`) RETURN COUNT { (a:`D_X`)-[:`R_X`]->(:`D_X`) } AS c"),
    (
        "MATCH (a) RETURN [(a)-[:T]->(b) WHERE b.x > 1 | b.id] AS l",
        "MATCH (a:`D_X`) RETURN [(a:`D_X`)-[:`R_X` {`#type`: 'T'}]->(b:`D_X`) WHERE b.x > 1 | b.id] AS l",
    ),
    (
        "MATCH (n) CALL (n) { MATCH (n)-->(m) RETURN m } RETURN m",
        "MATCH (n:`D_X`) CALL (n) { MATCH (n:`D_X`)-[:`R_X`]->(m:`D_X`) RETURN m } RETURN m",
    ),
    (
        "MATCH (n) CALL { WITH n MATCH (n)-->(m) RETURN m.id AS k } RETURN k",
        "MATCH (n:`D_X`) CALL { WITH n MATCH (n:`D_X`)-[:`R_X`]->(m:`D_X`) RETURN m.id AS k } RETURN k",
    ),
    ("MATCH (n) RETURN n UNION MATCH (n) RETURN n", "MATCH (n:`D_X`) RETURN n UNION MATCH (n:`D_X`) RETURN n"),
    # what a subquery sees of the outer scope decides whether (a) is a reference or a new node
    (
        "MATCH (a) CALL { WITH a CREATE (a)-[:T]->(:X) UNION CREATE (a) } RETURN 1",
        "MATCH (a:`D_X`) CALL { WITH a CREATE (a)-[:`R_X` {`#type`: 'T', `#id`: randomUUID()}]->(:`D_X`&`L_X__X` "
        "{`#id`: randomUUID(), `#labels`: ['X']}) UNION CREATE (a:`D_X` {`#id`: randomUUID(), `#labels`: []}) } "
        "RETURN 1",
    ),
    (
        "MATCH (a) CALL { CREATE (a) } RETURN 1",
        "MATCH (a:`D_X`) CALL { CREATE (a:`D_X` {`#id`: randomUUID(), `#labels`: []}) } RETURN 1",
    ),
    (
        "MATCH (a) CALL (a) { CREATE (a)-[:T]->(a) } RETURN 1",
        "MATCH (a:`D_X`) CALL (a) { CREATE (a)-[:`R_X` {`#type`: 'T', `#id`: randomUUID()}]->(a) } RETURN 1",
    ),
    # comments are dropped, a trailing ';' too
    ("MATCH (n) // :Evil\nRETURN n /* (x:Evil) */;", "MATCH (n:`D_X`)  \nRETURN n"),
    # writes
    (
        "CREATE (n:P {id: 1, name: 'x'}) RETURN n",
        "CREATE (n:`D_X`&`L_X__P` {`id`: 1, `name`: $_ds_s0, `#id`: randomUUID(), `#labels`: ['P']}) RETURN n",
    ),
    ("CREATE (n)", "CREATE (n:`D_X` {`#id`: randomUUID(), `#labels`: []})"),
    (
        "MATCH (a {id: 'a'}), (b {id: 'b'}) CREATE (a)-[r:T {w: 1}]->(b) RETURN r",
        "MATCH (a:`D_X` {`id`: $_ds_s0}), (b:`D_X` {`id`: $_ds_s1}) CREATE (a)-[r:`R_X` {`w`: 1, `#type`: 'T', "
        "`#id`: randomUUID()}]->(b) RETURN r",
    ),
    (
        "MATCH (a) WITH a AS x CREATE (x)-[:T {id: 'e'}]->(y)",
        "MATCH (a:`D_X`) WITH a AS x CREATE (x)-[:`R_X` {`id`: $_ds_s0, `#type`: 'T', `#id`: randomUUID()}]->"
        "(y:`D_X` {`#id`: randomUUID(), `#labels`: []})",
    ),
    (
        "MATCH (a) WITH a.name AS nm CREATE (a)",
        "MATCH (a:`D_X`) WITH a.name AS nm CREATE (a:`D_X` {`#id`: randomUUID(), `#labels`: []})",
    ),
    (
        "UNWIND $rows AS row CREATE (:P {id: row.id})",
        "UNWIND $rows AS row CREATE (:`D_X`&`L_X__P` {`id`: row.id, `#id`: randomUUID(), `#labels`: ['P']})",
    ),
    (
        "MERGE (n:P {id: 'z'}) ON CREATE SET n.x = 1 RETURN n",
        "MERGE (n:`D_X`&`L_X__P` {`id`: $_ds_s0}) ON CREATE SET n.`#id` = randomUUID(), n.`#labels` = ['P'] "
        "ON CREATE SET n.`x` = 1, n.`#o:x` = null RETURN n",
    ),
    (
        "MATCH (a) MERGE (a)-[:T]->(b:P {name: 'q'})",
        "MATCH (a:`D_X`) MERGE (a)-[`#r1`:`R_X` {`#type`: 'T'}]->(b:`D_X`&`L_X__P` {`name`: $_ds_s0}) "
        "ON CREATE SET `#r1`.`#id` = randomUUID(), b.`#id` = randomUUID(), b.`#labels` = ['P']",
    ),
    (
        "MATCH (n) SET n.x = 1, n += {y: 2}, n += $p REMOVE n.z",
        "MATCH (n:`D_X`) SET n.`x` = 1, n.`#o:x` = null, n += {`y`: 2, `#o:y`: null}, n += $p, n += $_ds_o_p "
        "REMOVE n.`z`, n.`#o:z`",
    ),
    (
        "MATCH (n) SET n = {a: 1}",
        "MATCH (n:`D_X`) SET n = {`a`: 1, `#id`: n.`#id`, `#labels`: n.`#labels`, `#type`: n.`#type`}",
    ),
    (
        "MATCH (n) SET n = $p",
        "MATCH (n:`D_X`) SET n = {`#id`: n.`#id`, `#labels`: n.`#labels`, `#type`: n.`#type`}, n += $p",
    ),
    ("MATCH (n) DETACH DELETE n", "MATCH (n:`D_X`) DETACH DELETE n"),
    (
        "MATCH (n) SET n.id = 'x', n += {id: 2} REMOVE n.id",
        "MATCH (n:`D_X`) SET n.`id` = $_ds_s0, n.`#o:id` = null, n += {`id`: 2, `#o:id`: null} "
        "REMOVE n.`id`, n.`#o:id`",
    ),
    (
        "FOREACH (x IN [1, 2] | CREATE (:P {id: x}))",
        "FOREACH (x IN [1, 2] | CREATE (:`D_X`&`L_X__P` {`id`: x, `#id`: randomUUID(), `#labels`: ['P']}))",
    ),
]


@pytest.mark.parametrize(("query", "expected"), REWRITES)
def test_rewrites(query: str, expected: str) -> None:
    assert out(query) == expected


def test_what_a_rewrite_carries() -> None:
    rewritten = rewrite("MATCH (n) WHERE n.a = 'x' SET n += $p RETURN labels(n), 'y'", NS)
    assert rewritten.writes
    assert rewritten.parameters == {"_ds_s0": "x", "_ds_s1": "y"}
    assert rewritten.literals == {"_ds_s0": "'x'", "_ds_s1": "'y'"}
    assert rewritten.map_parameters == {"p"}
    assert rewritten.client_parameters == {"p"}
    assert rewritten.columns == {"#c0": "labels(n)", "#c1": "'y'"}
    assert not rewrite("MATCH (n) RETURN n", NS).writes


def test_leading_point_floats_and_numeric_parameters_pass_through() -> None:
    """Issue 11 item 6: `.1` is a float and `$1` a parameter named "1", as in Neo4j; the rewriter's own
    parameters (`_ds_...`) start with `_`, which no client parameter name may."""
    rewritten = rewrite("RETURN .1 AS a, -.5e3 AS c, $1 AS b, $0 + 1, 'x' AS s, [1, 2][0..1] AS r", NS)
    assert rewritten.text.startswith("RETURN .1 AS a, -.5e3 AS c, $1 AS b, $0 + 1")
    assert "[1, 2][0..1] AS r" in rewritten.text
    assert rewritten.client_parameters == {"0", "1"}
    assert set(rewritten.parameters) == {"_ds_s0"}
    assert out("MATCH (n) WHERE n.w > .5 RETURN n.a.b") == "MATCH (n:`D_X`) WHERE n.w > .5 RETURN n.a.b"
    for refused in ("RETURN $_ds_s0", "RETURN $1a", "RETURN $`1 x`"):
        with pytest.raises(InvalidRequest):
            rewrite(refused, NS)


def test_the_same_unaliased_expression_gets_the_same_alias_in_every_union_branch() -> None:
    assert out("MATCH (n) RETURN labels(n) UNION MATCH (n) RETURN labels(n)").count("AS `#c0`") == 2


# (query, a fragment the refusal's detail must contain)
REFUSED: list[tuple[str, str]] = [
    ("", "empty"),
    ("  // only a comment", "empty"),
    ("MATCH (n) RETURN n; MATCH (m) RETURN m", "one statement"),
    ("RETURN 1;;", "one statement"),
    ("USE system MATCH (n) RETURN n", "USE"),
    ("MATCH (n) CALL { USE other MATCH (m) RETURN m } RETURN n", "USE"),
    ("LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l", "LOAD CSV"),
    ("CALL db.labels()", "procedure"),
    ("CALL dbms.components() YIELD name RETURN name", "procedure"),
    ("MATCH (n) CALL apoc.help('x') YIELD name RETURN name", "procedure"),
    ("MATCH (n) CALL { MATCH (m) RETURN m } IN TRANSACTIONS RETURN n", "IN TRANSACTIONS"),
    ("SHOW INDEXES", "SHOW"),
    ("SHOW DATABASES", "SHOW"),
    ("CREATE INDEX i FOR (n:P) ON (n.x)", "schema"),
    ("CREATE CONSTRAINT c FOR (n:P) REQUIRE n.x IS UNIQUE", "schema"),
    ("CREATE DATABASE x", "schema"),
    ("CREATE USER x SET PASSWORD 'y'", "schema"),
    ("CREATE OR REPLACE DATABASE x", "schema"),
    ("DROP INDEX i", "schema"),
    ("GRANT ROLE r TO u", "administration"),
    ("DENY TRAVERSE ON GRAPH * TO r", "administration"),
    ("REVOKE ROLE r FROM u", "administration"),
    ("ALTER USER x SET PASSWORD 'y'", "administration"),
    ("START DATABASE neo4j", "administration"),
    ("STOP DATABASE neo4j", "administration"),
    ("TERMINATE TRANSACTIONS 'x'", "administration"),
    ("EXPLAIN MATCH (n) RETURN n", "EXPLAIN"),
    ("PROFILE MATCH (n) RETURN n", "EXPLAIN"),
    ("CYPHER runtime=slotted MATCH (n) RETURN n", "CYPHER"),
    ("INSERT (n:P)", "CREATE"),
    ("MATCH (n) USING SCAN n:P RETURN n", "hints"),
    ("MATCH (n) WHERE id(n) = 0 RETURN n", "internal ids"),
    ("MATCH (n) WHERE elementId(n) = '4:x:0' RETURN n", "internal ids"),
    ("MATCH ()-[r]->() WHERE ID(r) = 0 RETURN r", "internal ids"),
    ("RETURN db.nameFromElementId('x')", "not available"),
    ("RETURN apoc.text.join(['a'], ',')", "not available"),
    ("RETURN gds.version()", "not available"),
    ("RETURN graph.names()", "not available"),
    # other namespaces and internal names
    (f"MATCH (n:`D_{OTHER}`) RETURN n", "reserved"),
    (f"MATCH (n:D_{OTHER}) RETURN n", "reserved"),
    (f"MATCH (n:`L_{OTHER}__Person`) RETURN n", "reserved"),
    (f"MATCH ()-[r:R_{OTHER}]->() RETURN r", "reserved"),
    (f"MATCH (n) WHERE n:D_{OTHER} RETURN n", "reserved"),
    (f"MATCH (D_{OTHER}) RETURN 1", "reserved"),
    ("MATCH (n) RETURN n.`#id`", "reserved"),
    ("MATCH (n) RETURN n.`#labels`", "reserved"),
    ("MATCH (n {`#id`: 'a'}) RETURN n", "reserved"),
    ("MATCH (n) RETURN 1 AS `#c0`", "reserved"),
    ("MATCH (n) SET n.`#type` = 'x'", "reserved"),
    ("MATCH (n) RETURN $_ds_s0", "parameter"),
    ("MATCH (n) RETURN $0x", "parameter"),
    ("MATCH (n:`Per son`) RETURN n", "must match"),
    ("MATCH (n) RETURN n.`a-b`", "must match"),
    ("MATCH (n:$($l)) RETURN n", "dynamic"),
    ("MATCH (n) WHERE n:$($l) RETURN n", "dynamic"),
    ("MATCH ()-[r:$($t)]->() RETURN r", "dynamic"),
    # the lexer: what Neo4j would read differently
    ("RETURN `a\\u0060b`", "backslash"),
    ("RETURN \\u0061", "backslash"),
    ("MATCH (n) RETURN n.na\u00efve", "ASCII"),
    ("MATCH (n)\u2028RETURN n", "ASCII"),
    ("MATCH (n) RETURN 'unterminated", "string"),
    ("MATCH (n:`unterminated) RETURN n", "quoted name"),
    ("MATCH (n) /* unterminated RETURN n", "comment"),
    ("RETURN '\\u12'", "escape"),
    ("MATCH (n RETURN n", "unclosed"),
    ("MATCH (n)) RETURN n", "unbalanced"),
    ("RETURN " + "(" * 100 + "1" + ")" * 100, "nests"),
    # writes that would break the stored form
    ("MATCH (n) SET n:A&B", "plain labels"),
    ("MATCH (n) REMOVE n:`#labels`", "reserved"),
    ("MATCH (n) SET n:pg_x", "pg_"),
    ("MATCH (n) SET n[$k] = 1", "dynamic property"),
    ("MATCH (n), (m) SET n += properties(m)", "map literal"),
    ("MATCH (n), (m) SET n = m", "map literal"),
    ("UNWIND $rows AS row MATCH (n) SET n += row", "map literal"),
    ("CREATE (n:A|B)", "plain labels"),
    ("CREATE (n:!A)", "plain labels"),
    ("CREATE (n $props)", "parameter as a pattern"),
    ("MATCH (n $props) RETURN n", "parameter as a pattern"),
    ("CREATE (a)-[:A|B]->(b)", "exactly one type"),
    ("CREATE (a)-->(b)", "exactly one type"),
    ("CREATE (a)-[:T*2]->(b)", "variable-length"),
    ("CREATE (:pg_thing)", "pg_"),
    ("MATCH (a)-[:A|B*1..3]->(b) RETURN b", "quantified path pattern"),
    ("MATCH (a)-[:!A*]->(b) RETURN b", "quantified path pattern"),
    ("FOREACH (x IN [1] | MATCH (n) RETURN n)", "FOREACH may only contain"),
    # not Cypher we can read
    ("(n) RETURN n", "starts with a clause"),
    ("ORDER BY 1", "must follow WITH or RETURN"),
    ("WHERE true", "WHERE must follow"),
    ("FROBNICATE", "unsupported clause"),
]


@pytest.mark.parametrize(("query", "fragment"), REFUSED)
def test_refusals(query: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        rewrite(query, NS)
    assert caught.value.field == "query"
    assert fragment in caught.value.detail


# -- properties -----------------------------------------------------------------------------------

_NAMESPACED = re.compile(r"[DLR]_([0-9a-f]{32})")


def assert_scoped(rewritten: RewrittenQuery) -> None:
    """Nothing in the text Neo4j gets can name another namespace; every label or type it uses is the
    dataset's; no backslash or non-ASCII character reaches Neo4j's lexer."""
    text = rewritten.text
    assert text.isascii()
    assert "\\" not in text
    tokens = [t for t in tokenize(text) if t.kind not in (Kind.SPACE, Kind.COMMENT)]
    brackets: list[str] = []
    expecting = after_label = False  # at a label/type name; just after one
    for k, t in enumerate(tokens):
        is_symbol = t.kind is Kind.SYMBOL
        name = quoted_value(t.text) if t.kind is Kind.QUOTED else t.text if t.kind is Kind.NAME else None
        if name is not None:
            match = _NAMESPACED.match(name)
            assert match is None or match.group(1) == NS.hex, name
            if expecting:
                assert name in (NS.node_label, NS.rel_type) or name.startswith(NS.label_prefix), name
            expecting, after_label = False, expecting
        elif is_symbol and t.text == ":":
            previous = tokens[k - 1] if k else None
            in_map = bool(brackets) and brackets[-1] == "{"
            expecting = not in_map and previous is not None and previous.kind in (Kind.NAME, Kind.QUOTED, Kind.SYMBOL)
            after_label = False
        elif is_symbol and t.text in "&|!" and (after_label or expecting) and not _projection_bar(tokens, k):
            expecting, after_label = True, False
        elif is_symbol and t.text == "(" and expecting:
            brackets.append("L(")
        elif is_symbol and t.text == "%" and expecting:
            expecting, after_label = False, True
        elif is_symbol and t.text in "([{":
            brackets.append(t.text)
            expecting = after_label = False
        elif is_symbol and t.text in ")]}":
            after_label = brackets.pop() == "L("
            expecting = False
        else:
            expecting = after_label = False


def _projection_bar(tokens: list[Token], k: int) -> bool:
    """A list comprehension's `| expr`, as the rewriter (and Neo4j) tell it from a label disjunction."""
    nxt = tokens[k + 1 : k + 3]
    return (
        tokens[k].text == "|"
        and len(nxt) == 2
        and nxt[0].kind in (Kind.NAME, Kind.QUOTED)
        and nxt[1].kind is Kind.SYMBOL
        and nxt[1].text in ".(["
    )


FRAGMENTS = [
    "MATCH", "OPTIONAL MATCH", "CREATE", "MERGE", "WITH", "RETURN", "WHERE", "SET", "REMOVE", "DELETE", "DETACH",
    "UNWIND", "AS", "CALL", "FOREACH", "UNION", "EXISTS", "COUNT", "IN", "IS", "NOT", "AND", "ON", "ORDER BY",
    "(", ")", "[", "]", "{", "}", ":", ",", ".", "-", "->", "<-", "--", "|", "&", "!", "%", "*", "+", "=", "+=",
    "..", "1", "2", "n", "m", "r", "p", "x", "id", "Person", "KNOWS", "`we ird`", "`a``b`", "'s'", "\"t\\\"\"",
    "$p", "$q", "labels", "type", "keys", "properties", "shortestPath", "id(n)", "n.id", "{id: 'a'}",
    f"D_{OTHER}", f"`D_{OTHER}`", f"L_{OTHER}__Person", f"R_{OTHER}", f"D_{NS.hex}", f"`L_{NS.hex}__x`",
    "`#id`", "// c\n", "/* c */", "\n", " ", ";", "WHERE n:Person", "(a)-[:T]->(b)", "-[:A|B]->",
]  # fmt: skip

queries = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=25).map(" ".join)


@settings(max_examples=examples(1500), suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_no_client_text_reaches_outside_the_namespace(query: str) -> None:
    try:
        rewritten = rewrite(query, NS)
    except InvalidRequest:
        return
    assert_scoped(rewritten)
    try:  # rewriting the rewritten text again is refused or just as scoped
        again = rewrite(rewritten.text, NS)
    except InvalidRequest:
        return
    assert_scoped(again)


@settings(max_examples=examples(300))
@given(st.text(max_size=80))
def test_arbitrary_text_is_rewritten_or_refused_never_crashes(text: str) -> None:
    with contextlib.suppress(InvalidRequest):
        assert_scoped(rewrite(text, NS))


@settings(max_examples=examples(300))
@given(st.sampled_from(REWRITES).map(lambda case: case[0]))
def test_every_pinned_rewrite_is_scoped(query: str) -> None:
    assert_scoped(rewrite(query, NS))


def cypher_string(value: str, quote_char: str) -> str:
    return quote_char + value.replace("\\", "\\\\").replace(quote_char, "\\" + quote_char) + quote_char


@settings(max_examples=examples(500))
@given(
    st.text(),
    st.sampled_from(["'", '"']),
    st.text().filter(lambda c: not re.search("[\n\r\x0b\x0c\x85\u2028\u2029]", c)),
    st.text().filter(lambda c: "*/" not in c),
)
def test_names_in_strings_and_comments_are_never_rewritten(value: str, quote_char: str, line: str, block: str) -> None:
    query = f"MATCH (n:Person) WHERE n.name = {cypher_string(value, quote_char)} /*{block}*/ RETURN n //{line}"
    rewritten = rewrite(query, NS)
    assert rewritten.text.replace(NS.hex, "X") == "MATCH (n:`D_X`&`L_X__Person`) WHERE n.name = $_ds_s0   RETURN n"
    assert rewritten.parameters == {"_ds_s0": value}


# a grammar of plausible queries, so most examples get through and their output is checked
names = st.sampled_from(["Person", "KNOWS", "x", "`we ird`", "id", "`a``b`", "Admin", "MATCH", "D_abc", "L_x__Y"])
variables = st.sampled_from(["", "n", "m", "r", "`v w`", "a1"])
values = st.sampled_from(["'a'", '"b\\"c"', "$p", "1", "2.5", "null", "[1, 2]", "n.id", "labels(n)", "'D_x'"])


@st.composite
def label_exprs(draw: st.DrawFn) -> str:
    parts = draw(st.lists(names, min_size=1, max_size=3))
    op = draw(st.sampled_from([":", "|", "&"]))
    head = draw(st.sampled_from(["", "!"]))
    return head + op.join(parts) if op != ":" else ":".join(parts)


@st.composite
def node_patterns(draw: st.DrawFn) -> str:
    labels = draw(st.one_of(st.just(""), label_exprs().map(lambda e: ":" + e)))
    props = draw(st.one_of(st.just(""), st.builds(lambda k, v: f" {{{k}: {v}}}", names, values)))
    return f"({draw(variables)}{labels}{props})"


@st.composite
def rel_patterns(draw: st.DrawFn) -> str:
    types = draw(st.one_of(st.just(""), label_exprs().map(lambda e: ":" + e)))
    length = draw(st.sampled_from(["", "*", "*1..3", "*..2"]))
    body = draw(st.sampled_from(["", f"[{draw(variables)}{types}{length}]"]))
    left, right = draw(st.sampled_from([("-", "->"), ("<-", "-"), ("-", "-")]))
    return f"{left}{body}{right}"


@st.composite
def path_patterns(draw: st.DrawFn) -> str:
    path = draw(node_patterns())
    for _ in range(draw(st.integers(0, 2))):
        path += draw(rel_patterns()) + draw(node_patterns())
    return path


@st.composite
def predicates(draw: st.DrawFn) -> str:
    var = draw(st.sampled_from(["n", "m", "r"]))
    return draw(
        st.sampled_from(
            [
                f"{var}:{draw(label_exprs())}",
                f"{var}.{draw(names)} = {draw(values)}",
                f"EXISTS {{ {draw(path_patterns())} }}",
                f"{draw(path_patterns())}",
                f"type({var}) = {draw(values)}",
                f"{var}.id IN $ids",
                f"NOT {var} IS {draw(names)}",
            ]
        )
    )


@st.composite
def clause_lists(draw: st.DrawFn) -> str:
    clauses = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["MATCH", "OPTIONAL MATCH", "CREATE", "MERGE", "SET", "WITH", "UNWIND"]))
        if kind in ("MATCH", "OPTIONAL MATCH"):
            where = draw(st.one_of(st.just(""), predicates().map(lambda p: " WHERE " + p)))
            clauses.append(f"{kind} {draw(path_patterns())}{where}")
        elif kind in ("CREATE", "MERGE"):
            clauses.append(f"{kind} {draw(path_patterns())}")
        elif kind == "SET":
            clauses.append(f"SET n.{draw(names)} = {draw(values)}")
        elif kind == "WITH":
            clauses.append(draw(st.sampled_from(["WITH *", "WITH n", "WITH n AS m", "WITH n.id AS k"])))
        else:
            clauses.append("UNWIND $rows AS row")
    ret = draw(st.sampled_from(["RETURN *", "RETURN n", "RETURN n.id, labels(n)", "RETURN count(*) AS c", ""]))
    noise = draw(st.sampled_from([" ", "\n", " /* :Evil */ ", " // (x:Evil)\n"]))
    return noise.join([*clauses, ret]).strip()


@settings(max_examples=examples(1500), suppress_health_check=[HealthCheck.too_slow])
@given(clause_lists())
def test_generated_queries_stay_in_the_namespace(query: str) -> None:
    try:
        rewritten = rewrite(query, NS)
    except InvalidRequest:
        return
    assert_scoped(rewritten)


def test_every_entry_point_the_rule_families_share_is_defined_by_one_of_them() -> None:
    """`rewrite.rules.Rules` only declares what the rule families call of each other."""
    declared = [name for name, value in vars(Rules).items() if callable(value)]
    assert declared
    for name in declared:
        assert getattr(Rewriter, name) is not getattr(Rules, name), name


def test_labels_set_and_removed_are_the_datasets_and_its_label_list_follows() -> None:
    """Issue 11 item 4: SET n:A, SET n IS A, REMOVE n:A (also in ON CREATE SET) change the namespaced label
    and `#labels` (what the graph routes read), nothing else."""
    ns = Namespace("ab" * 16)

    def text(query: str) -> str:
        return rewrite(query, ns).text.replace(ns.hex, "X")

    added = "n.`#labels` = coalesce(n.`#labels`, []) + [`#l` IN ['A', 'B'] WHERE NOT `#l` IN coalesce(n.`#labels`, [])]"
    assert text("MATCH (n) SET n:A:B") == f"MATCH (n:`D_X`) SET n:`L_X__A`:`L_X__B`, {added}"
    assert text("MATCH (n) SET n:A, n.p = 1, n:B").endswith(f"n.`#o:p` = null, n:`L_X__B`, {added}")
    assert text("MATCH (n) SET n IS A").startswith("MATCH (n:`D_X`) SET n:`L_X__A`, n.`#labels` = ")
    assert text("MATCH (n) REMOVE n:A, n.p, n:B") == (
        "MATCH (n:`D_X`) REMOVE n:`L_X__A`, n.`p`, n.`#o:p`, n:`L_X__B` "
        "SET n.`#labels` = [`#l` IN n.`#labels` WHERE NOT `#l` IN ['A', 'B']]"
    )
    assert text("MATCH (n) SET (n).p = 1") == "MATCH (n:`D_X`) SET n.`p` = 1, n.`#o:p` = null"
    merged = text("MERGE (n:P) ON CREATE SET n:A")
    assert "ON CREATE SET n:`L_X__A`, n.`#labels` = coalesce(n.`#labels`, [])" in merged
