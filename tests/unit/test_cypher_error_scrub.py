"""Neo4j's error messages reach a client in its own terms (issue 11 item 9): no id of the shared store,
no parameter, label or type name of ours."""

from __future__ import annotations

from datainfra.adapters.neo4j.client_cypher.rewrite import rewrite
from datainfra.adapters.neo4j.client_cypher.runner import scrub
from datainfra.adapters.neo4j.namespacing import Namespace

NS = Namespace("ab" * 16)


def test_a_literal_string_is_named_by_its_text_not_our_parameter() -> None:
    query = rewrite("MATCH (n:Person) WHERE n.name = 'x' RETURN n.age + 'ab'", NS)
    literal = next(iter(query.literals))
    message = f"Type mismatch for parameter '{literal}': expected Integer but was String"
    assert scrub(message, query) == "Type mismatch for value 'x': expected Integer but was String"


def test_store_ids_and_other_parameters_of_ours_are_left_out() -> None:
    query = rewrite("MATCH (n) DELETE n RETURN n", NS)
    said = scrub("Node with id 1545 has been deleted in this transaction", query)
    assert said == "Node has been deleted in this transaction"
    said = scrub(f"Expected parameter $_ds_o_p and `_ds_x1` near `{NS.node_label}`:`{NS.label_prefix}A`", query)
    assert "_ds_" not in said and NS.hex not in said and "1545" not in said
