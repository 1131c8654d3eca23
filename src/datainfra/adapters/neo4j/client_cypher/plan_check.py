"""The second line of a dataset query's isolation: its EXPLAIN plan must stay inside the dataset.

Relationships only ever join nodes of one dataset, so everything a plan reaches by expanding from a
dataset node stays in the dataset; what matters is where the plan *starts*. So every leaf (scan,
seek, count store) must be anchored on the dataset: a label scan or node index on `D_<hex>` or
`L_<hex>__*`, a relationship scan or index on `R_<hex>`. Internal-id seeks, all-nodes and
all-relationships scans, procedures and LOAD CSV are refused, and so is any operator not listed
here (fail closed: the refusal names it). Writes may only create nodes carrying the dataset label
(and only its labels) and relationships of the dataset type, and only ever set or remove the dataset's
client labels (`L_<hex>__*`). Any name of
another namespace anywhere in the plan is refused too. `check_plan` takes the driver's
`summary.plan` (operator names carry an `@neo4j` suffix in 5.x).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

from datainfra.adapters.neo4j.client_cypher.tokens import Kind, Token, quoted_value, tokenize
from datainfra.adapters.neo4j.namespacing import Namespace
from datainfra.domain.errors import InvalidRequest

SAFE_OPERATORS = frozenset(
    {
        "ProduceResults", "Projection", "Filter", "Expand(All)", "Expand(Into)", "OptionalExpand(All)",
        "OptionalExpand(Into)", "VarLengthExpand(All)", "VarLengthExpand(Into)", "VarLengthExpand(Pruning)",
        "VarLengthExpand(Pruning,BFS)", "BFSPruningVarExpand", "PruningVarExpand", "Apply", "SemiApply",
        "VarLengthExpand(Pruning,BFS,All)", "VarLengthExpand(Pruning,BFS,Into)",
        "AntiSemiApply", "LetSemiApply", "LetAntiSemiApply", "SelectOrSemiApply", "SelectOrAntiSemiApply",
        "LetSelectOrSemiApply", "LetSelectOrAntiSemiApply", "RollUpApply", "ConditionalApply", "AntiConditionalApply",
        "CartesianProduct", "NodeHashJoin", "ValueHashJoin", "NodeLeftOuterHashJoin", "NodeRightOuterHashJoin",
        "Union", "OrderedUnion", "Distinct", "OrderedDistinct", "Aggregation", "EagerAggregation",
        "OrderedAggregation", "Sort", "PartialSort", "Top", "Top1WithTies", "PartialTop", "Limit", "ExhaustiveLimit",
        "Skip", "Eager", "EmptyResult", "Optional", "CacheProperties", "Argument", "ArgumentTracker", "Anti",
        "AssertSameNode", "AssertSameRelationship", "TriadicSelection", "TriadicBuild", "TriadicFilter",
        "ProjectEndpoints", "Unwind", "EmptyRow", "ShortestPath", "StatefulShortestPath(All)",
        "StatefulShortestPath(Into)", "Repeat(Trail)", "Trail", "NullifyMetadata", "SubqueryForeach", "DropResult",
        # writes to entities a plan already holds (so anchored by its leaves)
        "SetProperty", "SetProperties", "SetNodeProperty", "SetRelationshipProperty", "SetPropertiesFromMap",
        "SetNodePropertiesFromMap", "SetRelationshipPropertiesFromMap", "Delete", "DetachDelete", "DeleteNode",
        "DetachDeleteNode", "DeleteRelationship", "DeletePath", "DetachDeletePath", "DeleteExpression",
        "DetachDeleteExpression", "LockNodes",
    }
)  # fmt: skip
"""Operators that neither start from nor create anything: safe wherever their inputs are anchored."""

ANCHORED_LEAVES = frozenset(
    {
        "NodeByLabelScan", "IntersectionNodeByLabelsScan", "UnionNodeByLabelsScan", "SubtractionNodeByLabelsScan",
        "NodeIndexSeek", "NodeUniqueIndexSeek", "NodeIndexSeekByRange", "NodeUniqueIndexSeekByRange",
        "NodeIndexScan", "NodeIndexContainsScan", "NodeIndexEndsWithScan", "MultiNodeIndexSeek",
        "AssertingMultiNodeIndexSeek", "NodeCountFromCountStore", "RelationshipCountFromCountStore",
        "DirectedRelationshipTypeScan", "UndirectedRelationshipTypeScan", "DirectedUnionRelationshipTypesScan",
        "UndirectedUnionRelationshipTypesScan", "DirectedRelationshipIndexSeek", "UndirectedRelationshipIndexSeek",
        "DirectedRelationshipIndexScan", "UndirectedRelationshipIndexScan", "DirectedRelationshipIndexContainsScan",
        "UndirectedRelationshipIndexContainsScan", "DirectedRelationshipIndexEndsWithScan",
        "UndirectedRelationshipIndexEndsWithScan", "DirectedRelationshipIndexSeekByRange",
        "UndirectedRelationshipIndexSeekByRange", "DirectedRelationshipUniqueIndexSeek",
        "UndirectedRelationshipUniqueIndexSeek", "DirectedRelationshipUniqueIndexSeekByRange",
        "UndirectedRelationshipUniqueIndexSeekByRange",
    }
)  # fmt: skip
"""Leaves allowed when every label or type they name is the dataset's (and they name one)."""

CREATING = frozenset({"Create", "Merge", "LockingMerge", "MergeInto", "MergeUniqueNode", "Foreach"})
"""Operators whose details list what they create (and, for Foreach, its inline updates)."""

_REFUSED = {
    "AllNodesScan": "it would scan every node of the database (a node pattern without the dataset label)",
    "PartitionedAllNodesScan": "it would scan every node of the database",
    "DirectedAllRelationshipsScan": "it would scan every relationship of the database",
    "UndirectedAllRelationshipsScan": "it would scan every relationship of the database",
    "PartitionedDirectedAllRelationshipsScan": "it would scan every relationship of the database",
    "PartitionedUndirectedAllRelationshipsScan": "it would scan every relationship of the database",
    "NodeByIdSeek": "it looks nodes up by internal id",
    "NodeByElementIdSeek": "it looks nodes up by internal id",
    "DirectedRelationshipByIdSeek": "it looks relationships up by internal id",
    "UndirectedRelationshipByIdSeek": "it looks relationships up by internal id",
    "DirectedRelationshipByElementIdSeek": "it looks relationships up by internal id",
    "UndirectedRelationshipByElementIdSeek": "it looks relationships up by internal id",
    "ProcedureCall": "it calls a procedure",
    "LoadCSV": "it reads a file or URL",
    "SetDynamicProperty": "it sets a property whose name is computed",
    "TransactionApply": "it commits in several transactions",
    "TransactionForeach": "it commits in several transactions",
}


def _refuse(detail: str) -> NoReturn:
    raise InvalidRequest(detail, field="query")


def operators(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every operator of a plan tree, root first."""
    stack = [plan]
    while stack:
        op = stack.pop()
        yield op
        stack.extend(reversed(list(op.get("children") or ())))


def operator_name(op: Mapping[str, Any]) -> str:
    return str(op.get("operatorType") or "").split("@", 1)[0]


def details(op: Mapping[str, Any]) -> str:
    args = op.get("args") or {}
    return str(args.get("Details") or "")


def check_plan(plan: Mapping[str, Any], ns: Namespace) -> None:
    """Raise InvalidRequest (field "query") unless every operator of `plan` stays inside `ns`."""
    for op in operators(plan):
        name = operator_name(op)
        text = details(op)
        tokens = [t for t in tokenize(text) if t.kind not in (Kind.SPACE, Kind.COMMENT)]
        _check_namespaces(tokens, ns)
        _check_nested_subqueries(name, tokens, ns)
        if name in SAFE_OPERATORS:
            continue
        if name in _REFUSED:
            _refuse(f"this query cannot run on a dataset: {_REFUSED[name]} (plan operator {name})")
        if name in ("SetLabels", "RemoveLabels"):
            _check_label_changes(name, tokens, ns)
        elif name.removesuffix("(Locking)") in ANCHORED_LEAVES:  # a write's seek that locks what it finds
            _check_anchored(name, tokens, ns)
        elif name in CREATING:
            _check_creations(name, tokens, ns)
        else:
            _refuse(f"this query cannot run on a dataset: its plan uses the operator {name}, which is not allowed")


_NAMESPACED = re.compile(r"(?:[DR]_([0-9a-f]{32})$|L_([0-9a-f]{32})__)")


def _name(token: Token) -> str | None:
    if token.kind is Kind.NAME:
        return token.text
    if token.kind is Kind.QUOTED:
        return quoted_value(token.text)
    return None


def _check_namespaces(tokens: list[Token], ns: Namespace) -> None:
    for token in tokens:
        name = _name(token)
        match = _NAMESPACED.match(name) if name else None
        if match and (match.group(1) or match.group(2)) != ns.hex:
            _refuse("this query refers to a label or type outside its dataset")


def _ours(name: str, ns: Namespace) -> bool:
    return name in (ns.node_label, ns.rel_type) or name.startswith(ns.label_prefix)


def _labels_after_colon(tokens: list[Token]) -> list[str]:
    """The names of label expressions: after ':', and after '&', '|', '!' that continue one."""
    names: list[str] = []
    state = ""  # "expect": a label name may come; "after": one just came
    for token in tokens:
        if token.kind is Kind.SYMBOL and token.text == ":":
            state = "expect"
            continue
        if state and token.kind is Kind.SYMBOL and token.text in ("&", "|", "!"):
            state = "expect"
            continue
        name = _name(token) if state == "expect" else None
        if name is not None:
            names.append(name)
            state = "after"
        else:
            state = ""
    return names


def _check_anchored(operator: str, tokens: list[Token], ns: Namespace) -> None:
    names = _labels_after_colon(tokens)
    if not names or not all(_ours(name, ns) for name in names):
        _refuse(
            f"this query cannot run on a dataset: its plan starts from data outside the dataset (plan operator "
            f"{operator}); give every node pattern a label or relationship pattern a type of this dataset"
        )


_SUBQUERY_WORDS = frozenset({"EXISTS", "COUNT", "COLLECT"})
_NOT_FUNCTIONS = frozenset(
    {"MATCH", "WHERE", "AND", "OR", "XOR", "NOT", "RETURN", "WITH", "IN", "WHEN", "THEN", "ELSE"}
)


def _check_nested_subqueries(operator: str, tokens: list[Token], ns: Namespace) -> None:
    """A subquery expression the planner could not unnest (under CASE, in a comprehension...) runs
    as a nested plan that EXPLAIN shows only as text in its operator's details. Its start cannot be
    seen, so every node it matches must carry a dataset label there (the rewrite gives every node
    pattern one; Neo4j prints it as `x:D_<hex>`)."""
    for k, token in enumerate(tokens[:-1]):
        if not (token.kind is Kind.NAME and token.text.upper() in _SUBQUERY_WORDS and tokens[k + 1].text == "{"):
            continue
        inner = tokens[k + 2 : _group_end(tokens, k + 1)]
        nodes: set[str] = set()
        labelled: set[str] = set()
        for j, t in enumerate(inner):
            name = _name(t)
            after = inner[j + 1].text if j + 1 < len(inner) else ""
            if name is not None and after == ":" and j + 2 < len(inner):
                label = _name(inner[j + 2])
                if label is not None and _ours(label, ns):
                    labelled.add(name)
            if t.kind is Kind.SYMBOL and t.text == "(":
                before = inner[j - 1] if j else None
                call = before is not None and before.kind is Kind.NAME and before.text.upper() not in _NOT_FUNCTIONS
                if call:
                    continue
                var = _name(inner[j + 1]) if j + 1 < len(inner) else None
                close = inner[j + 2].text if j + 2 < len(inner) else ""
                if var is None and after == ")":
                    nodes.add("()")
                elif var is not None and close in (")", ":", "{"):
                    nodes.add(var)
        if nodes - labelled:
            _refuse(
                f"this query cannot run on a dataset: a subquery inside an expression (plan operator {operator}) "
                "matches nodes without the dataset's label; move the subquery into a WITH (WITH n, COUNT { ... } "
                "AS c) or give its node patterns labels"
            )


def _entries(tokens: list[Token]) -> list[list[Token]]:
    """Details split at the commas of their top level."""
    entries: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind is Kind.SYMBOL and token.text in "([{":
            depth += 1
        elif token.kind is Kind.SYMBOL and token.text in ")]}":
            depth -= 1
        elif depth == 0 and token.kind is Kind.SYMBOL and token.text == ",":
            entries.append([])
            continue
        entries[-1].append(token)
    return [entry for entry in entries if entry]


def _group_end(tokens: list[Token], start: int) -> int:
    """The index of the bracket closing the one at `start`."""
    depth = 0
    for k in range(start, len(tokens)):
        token = tokens[k]
        if token.kind is Kind.SYMBOL and token.text in "([{":
            depth += 1
        elif token.kind is Kind.SYMBOL and token.text in ")]}":
            depth -= 1
            if depth == 0:
                return k
    return len(tokens) - 1


def _check_creations(operator: str, tokens: list[Token], ns: Namespace) -> None:
    """Each created node carries the dataset label (and only dataset labels); each created
    relationship has the dataset type; nothing sets or removes a label."""
    for entry in _entries(tokens):
        if entry[0].kind is Kind.NAME and entry[0].text.upper() in ("CREATE", "MERGE"):
            entry = entry[1:]
        if not entry:
            continue
        if entry[0].kind is Kind.SYMBOL and entry[0].text == "(":
            end = _group_end(entry, 0)
            if end == len(entry) - 1:
                _check_created_node(operator, entry[1:end], ns)
            else:
                _check_created_relationships(operator, entry, ns)
            continue
        _check_label_changes(operator, entry, ns)


def _check_label_changes(operator: str, tokens: list[Token], ns: Namespace) -> None:
    """Labels a plan sets or removes (`n:L_<hex>__A`) must be the dataset's client labels: never its
    dataset label, never another namespace's or a bare one."""
    in_map = 0  # a ':' inside a map literal ({name: 'x'}) is a key's, not a label's
    for k, token in enumerate(tokens):
        if token.kind is Kind.SYMBOL and token.text in "{}":
            in_map += 1 if token.text == "{" else -1
        if k == 0 or in_map > 0:
            continue
        if not (token.kind is Kind.SYMBOL and token.text == ":" and _name(tokens[k - 1]) is not None):
            continue
        label = _name(tokens[k + 1]) if k + 1 < len(tokens) else None
        if label is None or not label.startswith(ns.label_prefix):
            _refuse(f"this query would change a label outside its dataset (plan operator {operator})")


def _before_properties(tokens: list[Token]) -> list[Token]:
    for k, token in enumerate(tokens):
        if token.kind is Kind.SYMBOL and token.text == "{":
            return tokens[:k]
    return tokens


def _check_created_node(operator: str, inside: list[Token], ns: Namespace) -> None:
    labels = _labels_after_colon(_before_properties(inside))
    if ns.node_label not in labels or not all(_ours(label, ns) for label in labels):
        _refuse(f"this query would create a node outside its dataset (plan operator {operator})")


def _check_created_relationships(operator: str, entry: list[Token], ns: Namespace) -> None:
    for k, token in enumerate(entry):
        after_dash = k > 0 and entry[k - 1].kind is Kind.SYMBOL and entry[k - 1].text == "-"
        if token.kind is Kind.SYMBOL and token.text == "[" and after_dash:  # not a list in a property map
            types = _labels_after_colon(_before_properties(entry[k + 1 : _group_end(entry, k)]))
            if types != [ns.rel_type]:
                _refuse(f"this query would create a relationship outside its dataset (plan operator {operator})")
