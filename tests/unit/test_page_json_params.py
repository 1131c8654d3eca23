"""The JSON page statement's parameters, bound without composing the statement
(adapters/postgres/page_json.bound_params), are the composed statement's: otherwise its text is
never cached and every GET pays for composing it again. And its text depends on the query's shape
only: queries of one shape share one cached text."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import sql

from datainfra.adapters.postgres.page_json import bound_params, json_page_statement, query_shape
from datainfra.domain.filters import filter_term, parse_filters
from datainfra.domain.query import RecordQuery, SortKey
from datainfra.domain.where import parse_where
from tests.contract.conftest import new_session, tabular_dataset

SCHEMA = {
    "columns": [
        {"name": "t", "type": "text", "nullable": False},
        {"name": "i", "type": "integer", "nullable": False},
        {"name": "f", "type": "float"},
        {"name": "b", "type": "boolean"},
        {"name": "j", "type": "json"},
    ]
}
DATASET = tabular_dataset(new_session(), SCHEMA)
TYPES = DATASET.tabular_schema.field_types

FILTERS: list[list[tuple[str, str]]] = [
    [],
    [("i", "eq:5")],
    [("i", "gte:1"), ("i", "lt:9"), ("t", "like:a%"), ("t", "ilike:%B")],
    [("i", "in:1,2,3"), ("t", "nin:x,y"), ("b", "is:true"), ("j", "is:null"), ("f", "ne:1.5")],
]
WHERES: list[Any] = [
    None,
    {"or": [{"i": {"gt": 3}}, {"not": {"t": {"like": "q%"}}}, {"b": {"is": "false"}}]},
    {"not": {"or": [{"i": {"in": [1, 2]}}, {"not": {"b": {"is": "true"}}}, {"t": {"ilike": "%z"}}]}},
]
SORTS = [
    ((SortKey("i"), SortKey("id")), (7, 3)),
    ((SortKey("t", descending=True), SortKey("i"), SortKey("id")), ("m", 2, 9)),
]


def queries() -> list[RecordQuery]:
    out = []
    for pairs in FILTERS:
        for where in WHERES:
            spec = parse_filters([filter_term(*p) for p in pairs], TYPES)
            tree = parse_where(where, TYPES)
            if tree is not None:
                spec = type(spec)(conditions=spec.conditions, where=tree)
            for sort, after in SORTS:
                for keyset in (False, True):
                    out.append(
                        RecordQuery(
                            filter=spec, sort=sort, limit=20, offset=0 if keyset else 4, after=after if keyset else None
                        )
                    )
    return out


@pytest.mark.parametrize("query", queries())
def test_bound_parameters_are_the_composed_statements(query: RecordQuery) -> None:
    _, params = json_page_statement(DATASET, query, "datainfra", unicode_ilike=False)
    assert bound_params(query) == params


def test_one_shape_one_text_and_another_shape_another() -> None:
    def text(query: RecordQuery) -> str:
        statement, _ = json_page_statement(DATASET, query, "datainfra", unicode_ilike=False)
        return repr(statement)

    def q(*pairs: tuple[str, str], select: tuple[str, ...] | None = None) -> RecordQuery:
        return RecordQuery(
            filter=parse_filters([filter_term(*p) for p in pairs], TYPES), sort=(SortKey("id"),), select=select
        )

    same = [q(("i", "eq:1")), q(("i", "eq:2")), q(("i", "eq:300"))]
    assert len({query_shape(x) for x in same}) == 1 and len({text(x) for x in same}) == 1
    lists = [q(("i", "in:1")), q(("i", "in:1,2,3"))]
    assert len({query_shape(x) for x in lists}) == 1 and len({text(x) for x in lists}) == 1
    different = [q(("i", "eq:1")), q(("i", "gt:1")), q(("b", "is:true")), q(("b", "is:false")), q(select=("t",))]
    assert len({query_shape(x) for x in different}) == len(different)
    assert len({text(x) for x in different}) == len(different)
    assert isinstance(json_page_statement(DATASET, same[0], "datainfra", unicode_ilike=False)[0], sql.Composed)
