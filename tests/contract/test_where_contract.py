"""`where` trees in every store: the in-memory stores, PostgreSQL and Neo4j keep exactly the rows
(nodes) for which a direct three-valued evaluation of the JSON is TRUE, NULLs and NOT included.

Random trees come from a fixed seed, so a failure names a reproducible tree."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from datainfra.domain.filters import FilterSpec
from datainfra.domain.graph import Node
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.domain.records import OnConflict
from datainfra.domain.types import FieldType
from datainfra.domain.where import parse_where
from tests.contract.conftest import graph_dataset, new_session, tabular_dataset
from tests.unit.test_where_json import INTS, KINDS, KINDS_WITH_MIXED, TEXTS, TYPES, oracle, random_where

TREES = 150
ROWS = 40

TABLE = {
    "columns": [
        {"name": "k", "type": "integer", "nullable": False},
        {"name": "a", "type": "integer"},
        {"name": "b", "type": "integer"},
        {"name": "t", "type": "text"},
        {"name": "f", "type": "boolean"},
    ],
    "primary_key": ["k"],
}


def _rows(seed: int, mixed: bool) -> list[dict[str, Any]]:
    rng = random.Random(seed)

    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.25 else value

    rows = []
    for k in range(ROWS):
        row = {
            "k": k,
            "a": maybe(rng.choice(INTS)),
            "b": maybe(rng.choice(INTS)),
            "t": maybe(rng.choice([*TEXTS, "aXc", "b", "%", "A\\b"])),
            "f": maybe(rng.choice([True, False])),
        }
        if mixed:
            row["m"] = maybe(rng.choice([*INTS, *TEXTS, True]))
        rows.append(row)
    return rows


async def _stream(rows: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for row in rows:
        yield dict(row)


def _mismatches(found: list[Any], rows: list[dict[str, Any]], key: str, where: dict[str, Any]) -> str | None:
    expected = [row[key] for row in rows if oracle(row, where) is True]
    return None if found == expected else f"where={where!r}: expected {expected}, got {found}"


async def test_tabular_where_trees_match_the_oracle(tabular_store: Any) -> None:
    session = new_session()
    await tabular_store.create_session_space(session)
    dataset = tabular_dataset(session, TABLE, name="w")
    await tabular_store.create_table(dataset)
    rows = _rows(5, mixed=False)
    await tabular_store.insert_records(dataset, _stream(rows), OnConflict.ERROR)
    rng = random.Random(17)
    types = {**TYPES, "k": FieldType.INTEGER}
    failures = []
    for _ in range(TREES):
        where = random_where(rng, KINDS)
        spec = FilterSpec(where=parse_where(where, types))
        page = await tabular_store.query(dataset, RecordQuery(filter=spec, sort=(SortKey("k"),), limit=1000))
        problem = _mismatches([item["k"] for item in page.items], rows, "k", where)
        if problem:
            failures.append(problem)
    assert not failures, "\n".join(failures[:5])


async def test_tabular_where_trees_in_updates_and_deletes(tabular_store: Any) -> None:
    session = new_session()
    await tabular_store.create_session_space(session)
    dataset = tabular_dataset(session, TABLE, name="w")
    await tabular_store.create_table(dataset)
    rows = _rows(9, mixed=False)
    await tabular_store.insert_records(dataset, _stream(rows), OnConflict.ERROR)
    where = {"not": {"or": [{"a": {"gt": 0}}, {"t": {"like": "a%"}}]}}
    spec = FilterSpec(where=parse_where(where, TYPES))
    expected = [row["k"] for row in rows if oracle(row, where) is True]
    assert await tabular_store.update_where(dataset, spec, {"b": 100}) == len(expected)
    assert await tabular_store.delete_where(dataset, spec) == len(expected)
    page = await tabular_store.query(dataset, RecordQuery(sort=(SortKey("k"),), limit=1000))
    assert [item["k"] for item in page.items] == [row["k"] for row in rows if row["k"] not in expected]


async def test_graph_node_where_trees_match_the_oracle(graph_store: Any) -> None:
    dataset = graph_dataset(new_session())
    await graph_store.create_graph(dataset)
    rows = _rows(7, mixed=True)
    nodes = [
        Node(f"n{row['k']:02d}", ("Thing",), {k: v for k, v in row.items() if k != "k" and v is not None})
        for row in rows
    ]
    await graph_store.write(dataset, nodes, [], OnConflict.ERROR)
    records = [{**row, "id": f"n{row['k']:02d}"} for row in rows]
    rng = random.Random(23)
    failures = []
    for _ in range(TREES):
        where = random_where(rng, KINDS_WITH_MIXED)
        spec = FilterSpec(where=parse_where(where, {"id": FieldType.TEXT}, open_fields=True))
        page = await graph_store.find_nodes(dataset, (), RecordQuery(filter=spec, sort=(SortKey("id"),), limit=1000))
        problem = _mismatches([node.id for node in page.items], records, "id", where)
        if problem:
            failures.append(problem)
    assert not failures, "\n".join(failures[:5])


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ({"not": {"score": {"gt": 1}}}, ["a"]),  # b is text, c has no score: UNKNOWN either way
        ({"not": {"score": {"eq": "x"}}}, ["b2"]),
        ({"not": {"score": {"in": [1, 2]}}}, []),
        ({"not": {"score": {"nin": []}}}, []),
        ({"not": {"score": {"in": []}}}, ["a", "b", "b2"]),
        ({"not": {"score": {"like": "x%"}}}, ["b2"]),
        ({"not": {"score": {"is": True}}}, ["a", "b", "b2", "c"]),
        ({"not": {"score": {"is": "notnull"}}}, ["c"]),
        ({"or": [{"not": {"score": {"gt": 1}}}, {"id": "c"}]}, ["a", "c"]),
        ({"id": {"in": ["a", "c"]}, "not": {"score": None}}, ["a"]),
    ],
)
async def test_graph_not_over_absent_and_other_kinds(graph_store: Any, where: dict[str, Any], ids: list[str]) -> None:
    dataset = graph_dataset(new_session())
    await graph_store.create_graph(dataset)
    nodes = [
        Node("a", (), {"score": 1}),
        Node("b", (), {"score": "x"}),
        Node("b2", (), {"score": "y"}),
        Node("c", (), {}),
    ]
    await graph_store.write(dataset, nodes, [], OnConflict.ERROR)
    spec = FilterSpec(where=parse_where(where, {"id": FieldType.TEXT}, open_fields=True))
    page = await graph_store.find_nodes(dataset, (), RecordQuery(filter=spec, sort=(SortKey("id"),)))
    assert [node.id for node in page.items] == ids
    assert await graph_store.delete_nodes_where(dataset, (), spec) == len(ids)


async def test_graph_where_on_declared_numeric_and_labels(graph_store: Any) -> None:
    schema = {"node_labels": [{"name": "P", "properties": [{"name": "price", "type": "numeric"}]}]}
    dataset = graph_dataset(new_session(), schema)
    await graph_store.create_graph(dataset)
    from decimal import Decimal

    nodes = [
        Node("a", ("P",), {"price": Decimal("1.50")}),
        Node("b", ("P",), {"price": Decimal("10")}),
        Node("c", ("P",), {}),
    ]
    await graph_store.write(dataset, nodes, [], OnConflict.ERROR)
    types = {**dataset.graph_schema.node_property_types(("P",)), "id": FieldType.TEXT}
    for where, ids in [
        ({"not": {"price": {"lt": "2"}}}, ["b"]),
        ({"price": {"in": ["1.5", 3]}}, ["a"]),
        ({"not": {"price": {"in": ["1.5"]}}}, ["b"]),
        ({"or": [{"price": {"gte": "10.0"}}, {"price": None}]}, ["b", "c"]),
    ]:
        spec = FilterSpec(where=parse_where(where, types))
        page = await graph_store.find_nodes(dataset, ("P",), RecordQuery(filter=spec, sort=(SortKey("id"),)))
        assert [node.id for node in page.items] == ids, where
