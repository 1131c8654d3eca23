"""Structured queries: the shape checks of parse_structured_query and the checks against the
session's datasets of resolve_structured, every error naming its JSON path."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datainfra.domain.errors import DomainError, InvalidRequest
from datainfra.domain.filters import Condition, FilterSpec, Not, Operator, Or
from datainfra.domain.model import Dataset
from datainfra.domain.structured_plan import ColumnRef, PlanAggregate, PlanOrder, aggregate_type, resolve_structured
from datainfra.domain.structured_query import MAX_JOINS, AggregateFn, JoinType, StructuredQuery, parse_structured_query
from datainfra.domain.types import FieldType
from tests.contract.conftest import graph_dataset, new_session, tabular_dataset
from tests.support.hypothesis_budget import examples

SESSION = new_session()
CUSTOMERS = tabular_dataset(
    SESSION,
    {
        "columns": [
            {"name": "id", "type": "integer"},
            {"name": "name", "type": "text"},
            {"name": "vip", "type": "boolean"},
            {"name": "joined", "type": "date"},
            {"name": "ref", "type": "uuid"},
        ],
        "primary_key": ["id"],
    },
    name="customers",
)
ORDERS = tabular_dataset(
    SESSION,
    {
        "columns": [
            {"name": "id", "type": "integer"},
            {"name": "customer_id", "type": "integer"},
            {"name": "total", "type": "numeric"},
            {"name": "weight", "type": "float"},
            {"name": "note", "type": "text"},
            {"name": "meta", "type": "json"},
            {"name": "placed", "type": "timestamp"},
        ],
        "primary_key": ["id"],
    },
    name="orders",
)
ITEMS = tabular_dataset(
    SESSION,
    {"columns": [{"name": "order_id", "type": "numeric"}, {"name": "note", "type": "text"}]},
    name="items",
)
GRAPH = graph_dataset(SESSION, name="social")
DATASETS: dict[str, Dataset] = {d.name: d for d in (CUSTOMERS, ORDERS, ITEMS, GRAPH)}


def plan(body: dict[str, Any]) -> Any:
    return resolve_structured(parse_structured_query(body), DATASETS)


def refused(body: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        resolve_structured(parse_structured_query(body), DATASETS)
    return caught.value


# -- shape ----------------------------------------------------------------------------------------


def test_a_minimal_query_and_the_envelope_members() -> None:
    body = {
        "from": "orders",
        "language": "structured",
        "read_only": True,
        "timeout_ms": 5,
        "max_rows": 1,
        "parameters": [],
    }
    assert parse_structured_query(body) == StructuredQuery(source="orders")


def test_every_member_is_parsed() -> None:
    query = parse_structured_query(
        {
            "from": "orders",
            "select": ["id", {"field": "customers.name", "as": "who"}],
            "where": {"total": {"gt": 1}},
            "group_by": ["id", "customers.name"],
            "aggregates": [{"fn": "count", "as": "n"}, {"fn": "sum", "field": "total", "as": "s"}],
            "join": [{"dataset": "customers", "type": "left", "on": {"customer_id": "id"}}],
            "order_by": ["-n", {"field": "id"}, {"field": "who", "desc": True}],
            "limit": 10,
            "offset": 20,
        }
    )
    assert query.source == "orders"
    assert [(s.field.ref, s.alias, s.path) for s in query.select or ()] == [
        ("id", None, "select[0]"),
        ("customers.name", "who", "select[1]"),
    ]
    assert [(a.fn, a.field and a.field.ref, a.alias) for a in query.aggregates] == [
        (AggregateFn.COUNT, None, "n"),
        (AggregateFn.SUM, "total", "s"),
    ]
    assert query.joins[0].type is JoinType.LEFT
    assert [(left.ref, right.ref) for left, right in query.joins[0].on] == [("customer_id", "id")]
    assert [(o.ref, o.descending) for o in query.order_by] == [("n", True), ("id", False), ("who", True)]
    assert (query.limit, query.offset) == (10, 20)
    assert query.where == {"total": {"gt": 1}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "orders", "having": {}}, "having"),
        ({"from": "orders", "joins": []}, "joins"),
        ({}, "from"),
        ({"from": 3}, "from"),
        ({"from": "a.b"}, "from"),
        ({"from": "orders", "where": [1]}, "where"),
        ({"from": "orders", "select": "id"}, "select"),
        ({"from": "orders", "select": ["id", "a.b.c"]}, "select[1]"),
        ({"from": "orders", "select": ["id", 3]}, "select[1]"),
        ({"from": "orders", "select": [{"field": "id", "alias": "x"}]}, "select[0].alias"),
        ({"from": "orders", "select": [{"as": "x"}]}, "select[0].field"),
        ({"from": "orders", "select": [{"field": "id", "as": "has space"}]}, "select[0].as"),
        ({"from": "orders", "group_by": "id"}, "group_by"),
        ({"from": "orders", "group_by": ["1d"]}, "group_by[0]"),
        ({"from": "orders", "aggregates": [{"fn": "median", "field": "total", "as": "m"}]}, "aggregates[0].fn"),
        (
            {"from": "orders", "aggregates": [{"fn": "count", "as": "n"}, {"fn": "sum", "as": "s"}]},
            "aggregates[1].field",
        ),
        ({"from": "orders", "aggregates": [{"fn": "count"}]}, "aggregates[0].as"),
        ({"from": "orders", "aggregates": [{"fn": "count", "as": "n", "distinct": True}]}, "aggregates[0].distinct"),
        ({"from": "orders", "aggregates": ["count"]}, "aggregates[0]"),
        ({"from": "orders", "join": [{"dataset": "customers", "type": "outer", "on": {"a": "b"}}]}, "join[0].type"),
        ({"from": "orders", "join": [{"dataset": "customers", "on": {}}]}, "join[0].on"),
        ({"from": "orders", "join": [{"dataset": "customers", "on": ["a", "b"]}]}, "join[0].on"),
        ({"from": "orders", "join": [{"dataset": "customers", "on": {"a": 1}}]}, "join[0].on.a"),
        ({"from": "orders", "join": [{"on": {"a": "b"}}]}, "join[0].dataset"),
        ({"from": "orders", "join": {"dataset": "customers"}}, "join"),
        ({"from": "orders", "join": [{"dataset": "c", "on": {"a": "b"}}] * (MAX_JOINS + 1)}, "join"),
        ({"from": "orders", "order_by": "id"}, "order_by"),
        ({"from": "orders", "order_by": ["id", "--id"]}, "order_by[1]"),
        ({"from": "orders", "order_by": [{"field": "id", "desc": "yes"}]}, "order_by[0].desc"),
        ({"from": "orders", "order_by": [{"field": "id", "direction": "desc"}]}, "order_by[0].direction"),
        ({"from": "orders", "limit": True}, "limit"),
        ({"from": "orders", "limit": -1}, "limit"),
        ({"from": "orders", "limit": 10_001}, "limit"),
        ({"from": "orders", "limit": Decimal("1.5")}, "limit"),
        ({"from": "orders", "offset": "1"}, "offset"),
    ],
)
def test_shape_errors_name_the_json_path(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_structured_query(body)
    assert caught.value.field == field, caught.value.detail


def test_a_body_must_be_an_object() -> None:
    with pytest.raises(InvalidRequest):
        parse_structured_query([])  # type: ignore[arg-type]


# -- resolution -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"from": "nothing"}, "from", "no tabular dataset"),
        ({"from": "social"}, "from", "tabular"),
        ({"from": "orders", "join": [{"dataset": "social", "on": {"id": "id"}}]}, "join[0].dataset", "tabular"),
        ({"from": "orders", "join": [{"dataset": "nope", "on": {"id": "id"}}]}, "join[0].dataset", "nope"),
        ({"from": "orders", "join": [{"dataset": "orders", "on": {"id": "id"}}]}, "join[0].dataset", "once"),
        ({"from": "orders", "select": ["nope"]}, "select[0]", "nope"),
        ({"from": "orders", "select": ["customers.name"]}, "select[0]", "customers"),
        ({"from": "orders", "select": ["orders.nope"]}, "select[0]", "nope"),
        (
            {
                "from": "customers",
                "join": [
                    {"dataset": "orders", "on": {"id": "customer_id"}},
                    {"dataset": "items", "on": {"orders.id": "order_id"}},
                ],
                "select": ["note"],
            },
            "select[0]",
            "orders.note or items.note",
        ),
        (
            {"from": "orders", "join": [{"dataset": "customers", "on": {"customers.id": "id"}}]},
            "join[0].on",
            "customers",
        ),
        (
            {"from": "orders", "join": [{"dataset": "customers", "on": {"customer_id": "orders.id"}}]},
            "join[0].on.customer_id",
            "orders",
        ),
        ({"from": "orders", "join": [{"dataset": "customers", "on": {"note": "id"}}]}, "join[0].on.note", "same type"),
        ({"from": "orders", "join": [{"dataset": "customers", "on": {"meta": "name"}}]}, "join[0].on.meta", "json"),
        ({"from": "orders", "where": {"nope": 1}}, "where.nope", "nope"),
        ({"from": "orders", "where": {"or": [{"total": {"gt": "x"}}]}}, "where.or[0].total.gt", "numeric"),
        ({"from": "orders", "where": {"customers.name": "a"}}, "where.customers.name", "unknown"),
        ({"from": "orders", "where": {"meta": {"eq": 1}}}, "where.meta.eq", "json"),
        ({"from": "orders", "aggregates": [{"fn": "sum", "field": "note", "as": "s"}]}, "aggregates[0].field", "text"),
        ({"from": "orders", "aggregates": [{"fn": "avg", "field": "placed", "as": "s"}]}, "aggregates[0].field", "avg"),
        ({"from": "customers", "aggregates": [{"fn": "min", "field": "vip", "as": "s"}]}, "aggregates[0].field", "min"),
        ({"from": "customers", "aggregates": [{"fn": "max", "field": "ref", "as": "s"}]}, "aggregates[0].field", "max"),
        (
            {"from": "orders", "aggregates": [{"fn": "count_distinct", "field": "meta", "as": "s"}]},
            "aggregates[0].field",
            "json",
        ),
        (
            {"from": "orders", "aggregates": [{"fn": "count", "field": "nope", "as": "s"}]},
            "aggregates[0].field",
            "nope",
        ),
        ({"from": "orders", "group_by": ["note"], "select": ["id"]}, "select[0]", "group_by"),
        (
            {"from": "orders", "aggregates": [{"fn": "count", "as": "n"}], "select": ["note"]},
            "select[0]",
            "group_by",
        ),
        ({"from": "orders", "group_by": ["note"], "order_by": ["id"]}, "order_by[0]", "grouped"),
        ({"from": "orders", "order_by": ["meta"]}, "order_by[0]", "json"),
        ({"from": "orders", "order_by": ["nope"]}, "order_by[0]", "nope"),
        ({"from": "orders", "group_by": ["meta"]}, "group_by[0]", "json"),
        ({"from": "orders", "group_by": ["note", "orders.note"]}, "group_by[1]", "twice"),
        ({"from": "orders", "select": ["id", {"field": "note", "as": "id"}]}, "select[1]", "'id'"),
        (
            {"from": "orders", "select": ["id"], "aggregates": [{"fn": "count", "as": "id"}], "group_by": ["id"]},
            "aggregates[0].as",
            "'id'",
        ),
        ({"from": "orders", "select": []}, "select", "no column"),
    ],
)
def test_resolution_errors_name_the_json_path(body: dict[str, Any], field: str, words: str) -> None:
    error = refused(body)
    assert error.field == field, error.detail
    assert words in error.detail


def test_a_bare_name_prefers_the_from_dataset() -> None:
    resolved = plan(
        {
            "from": "orders",
            "join": [{"dataset": "customers", "on": {"customer_id": "id"}}],
            "select": ["id", "name", {"field": "customers.id", "as": "cid"}],
        }
    )
    assert [c.name for c in resolved.columns] == ["id", "name", "cid"]
    values = [c.value for c in resolved.columns]
    assert values == [
        ColumnRef(0, "id", FieldType.INTEGER, "orders.id"),
        ColumnRef(1, "name", FieldType.TEXT, "customers.name"),
        ColumnRef(1, "id", FieldType.INTEGER, "customers.id"),
    ]


def test_duplicate_names_from_two_datasets_need_an_alias() -> None:
    body = {
        "from": "orders",
        "join": [{"dataset": "customers", "on": {"customer_id": "id"}}],
        "select": ["id", "customers.id"],
    }
    assert refused(body).field == "select[1]"
    body["select"] = ["id", {"field": "customers.id", "as": "customer"}]
    assert [c.name for c in plan(body).columns] == ["id", "customer"]


def test_join_pairs_resolve_left_among_earlier_datasets_and_right_in_the_joined_one() -> None:
    resolved = plan(
        {
            "from": "customers",
            "join": [
                {"dataset": "orders", "type": "left", "on": {"id": "customer_id"}},
                {"dataset": "items", "on": {"orders.id": "order_id", "note": "note"}},
            ],
        }
    )
    assert resolved.joins[0].type is JoinType.LEFT
    assert resolved.joins[1].type is JoinType.INNER
    assert resolved.joins[1].on == (
        (
            ColumnRef(1, "id", FieldType.INTEGER, "orders.id"),
            ColumnRef(2, "order_id", FieldType.NUMERIC, "items.order_id"),
        ),
        (ColumnRef(1, "note", FieldType.TEXT, "orders.note"), ColumnRef(2, "note", FieldType.TEXT, "items.note")),
    )
    # Default select: every column; a name several datasets share is qualified.
    names = [c.name for c in resolved.columns]
    assert names[:5] == ["customers.id", "name", "vip", "joined", "ref"]
    assert "orders.note" in names and "items.note" in names and "order_id" in names


def test_where_is_typed_and_keyed_by_dataset_and_column() -> None:
    resolved = plan(
        {
            "from": "orders",
            "join": [{"dataset": "customers", "on": {"customer_id": "id"}}],
            "where": {"or": [{"total": {"gte": "1.50"}}, {"not": {"customers.joined": "2024-01-02"}}], "id": 3},
        }
    )
    spec: FilterSpec = resolved.filter
    assert spec.conditions == ()
    assert spec.fields() == {"orders.total", "customers.joined", "orders.id"}
    assert set(resolved.fields) == {"orders.total", "customers.joined", "orders.id"}
    assert resolved.field_types["customers.joined"] is FieldType.DATE
    tree = spec.where
    assert tree is not None and not isinstance(tree, Condition | Not)
    first = tree.children[0]
    assert isinstance(first, Or)
    assert first.children[0] == Condition("orders.total", Operator.GTE, Decimal("1.50"), FieldType.NUMERIC)


def test_grouping_plan_and_result_types() -> None:
    resolved = plan(
        {
            "from": "orders",
            "group_by": ["note"],
            "aggregates": [
                {"fn": "count", "as": "n"},
                {"fn": "count", "field": "meta", "as": "nm"},
                {"fn": "sum", "field": "customer_id", "as": "s"},
                {"fn": "avg", "field": "weight", "as": "a"},
                {"fn": "max", "field": "placed", "as": "last"},
            ],
            "order_by": ["-n"],
        }
    )
    assert resolved.grouped
    assert [(c.name, c.type) for c in resolved.result_columns] == [
        ("note", "text"),
        ("n", "integer"),
        ("nm", "integer"),
        ("s", "numeric"),
        ("a", "float"),
        ("last", "timestamp"),
    ]
    assert resolved.columns[1].value == PlanAggregate(AggregateFn.COUNT, None)
    # The order is completed with every other output column.
    assert resolved.order == (
        PlanOrder(1, True),
        PlanOrder(0),
        PlanOrder(2),
        PlanOrder(3),
        PlanOrder(4),
        PlanOrder(5),
    )


def test_aggregates_alone_group_everything_and_default_select_is_group_by() -> None:
    alone = plan({"from": "orders", "aggregates": [{"fn": "count", "as": "n"}]})
    assert alone.grouped and alone.group_by == () and [c.name for c in alone.columns] == ["n"]
    distinct = plan({"from": "orders", "group_by": ["note", "customer_id"]})
    assert [c.name for c in distinct.columns] == ["note", "customer_id"]


def test_order_by_a_column_outside_the_output_and_json_columns_left_out() -> None:
    resolved = plan({"from": "orders", "select": ["meta", "note"], "order_by": ["-placed"]})
    assert resolved.order == (
        PlanOrder(ColumnRef(0, "placed", FieldType.TIMESTAMP, "orders.placed"), True),
        PlanOrder(1),
    )
    same = plan({"from": "orders", "select": ["note"], "order_by": ["orders.note"]})
    assert same.order == (PlanOrder(0),)


def test_a_result_name_wins_over_a_field_name_in_order_by() -> None:
    resolved = plan({"from": "orders", "select": [{"field": "note", "as": "total"}, "id"], "order_by": ["total"]})
    assert resolved.order[0] == PlanOrder(0)


def test_a_graph_dataset_in_the_mapping_is_explained() -> None:
    error = refused({"from": "social"})
    assert "graph" in error.detail and "tabular" in error.detail


@pytest.mark.parametrize(
    ("fn", "field_type", "result"),
    [
        (AggregateFn.COUNT, None, FieldType.INTEGER),
        (AggregateFn.COUNT, FieldType.JSON, FieldType.INTEGER),
        (AggregateFn.COUNT_DISTINCT, FieldType.TEXT, FieldType.INTEGER),
        (AggregateFn.SUM, FieldType.INTEGER, FieldType.NUMERIC),
        (AggregateFn.SUM, FieldType.NUMERIC, FieldType.NUMERIC),
        (AggregateFn.SUM, FieldType.FLOAT, FieldType.FLOAT),
        (AggregateFn.AVG, FieldType.INTEGER, FieldType.FLOAT),
        (AggregateFn.AVG, FieldType.NUMERIC, FieldType.NUMERIC),
        (AggregateFn.AVG, FieldType.FLOAT, FieldType.FLOAT),
        (AggregateFn.MIN, FieldType.DATE, FieldType.DATE),
        (AggregateFn.MAX, FieldType.TEXT, FieldType.TEXT),
    ],
)
def test_aggregate_result_types(fn: AggregateFn, field_type: FieldType | None, result: FieldType) -> None:
    assert aggregate_type(fn, field_type) is result


# -- fuzzing --------------------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.sampled_from(["id", "note", "orders.id", "customers.name", "-id", "a.b.c", "", "count", "sum", "left"]),
        st.text(max_size=5),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["field", "as", "fn", "on", "dataset", "id", "or", "not", "gt"]), inner, max_size=3
        ),
    ),
    max_leaves=12,
)
members = st.sampled_from(["select", "where", "group_by", "aggregates", "join", "order_by", "limit", "offset", "from"])


@settings(max_examples=examples(300))
@given(st.dictionaries(members, json_values, max_size=4), st.sampled_from(["orders", "customers", "social", "x"]))
def test_any_json_is_either_a_plan_or_an_invalid_request(body: dict[str, Any], source: str) -> None:
    body = {"from": source, **{k: v for k, v in body.items() if k != "from"}}
    try:
        resolved = plan(body)
    except InvalidRequest as exc:
        assert exc.field is not None or exc.detail
        return
    except DomainError as exc:  # pragma: no cover - any other class is a bug
        raise AssertionError(f"unexpected {type(exc).__name__}: {exc}") from exc
    assert resolved.columns
    assert len({c.name for c in resolved.columns}) == len(resolved.columns)


@settings(max_examples=examples(100))
@given(
    st.text(min_size=1, max_size=12).filter(
        lambda k: (
            k
            not in {
                "from",
                "select",
                "where",
                "group_by",
                "aggregates",
                "join",
                "order_by",
                "limit",
                "offset",
                "language",
                "read_only",
                "timeout_ms",
                "max_rows",
                "parameters",
            }
        )
    )
)
def test_unknown_members_are_named(key: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_structured_query({"from": "orders", key: 1})
    assert caught.value.field == key


def test_the_sql_of_a_plan_binds_every_value_and_quotes_every_name() -> None:
    from datainfra.adapters.postgres.structured_sql import compile_structured

    resolved = plan(
        {
            "from": "orders",
            "join": [{"dataset": "customers", "type": "left", "on": {"customer_id": "id"}}],
            "where": {"or": [{"note": {"like": "evil'; DROP%"}}, {"not": {"customers.name": 'x"y'}}]},
            "group_by": ["customers.name"],
            "aggregates": [{"fn": "count_distinct", "field": "note", "as": "notes"}],
            "order_by": ["-notes"],
            "limit": 7,
            "offset": 3,
        }
    )
    statement, params = compile_structured(resolved, 100)
    text = statement.as_string(None)
    assert "evil" not in text and 'x"y' not in text and "notes" not in text
    assert text.count("%s") == len(params)
    assert params == ["evil'; DROP%", 'x"y', 7, 3]
    assert '"t$1"."name" <> %s::text' in text
    assert text.endswith(' GROUP BY "t$1"."name" ORDER BY 2 DESC NULLS FIRST, 1 ASC NULLS LAST LIMIT %s OFFSET %s')
    assert compile_structured(resolved, 5)[1][-2:] == [6, 3]  # more than max_rows asked: one more, to see the cut
