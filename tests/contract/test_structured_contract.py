"""TabularStore.run_structured: the in-memory store and PostgreSQL answer every structured query
alike (rows, order, value types, result column types, truncation, errors)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any

import pytest

from datainfra.domain.errors import InvalidInput, NotFound, StoreTimeout
from datainfra.domain.model import Dataset
from datainfra.domain.queries import QueryLimits, QueryResult
from datainfra.domain.records import OnConflict
from datainfra.domain.structured_plan import resolve_structured
from datainfra.domain.structured_query import parse_structured_query
from tests.contract.conftest import new_session, tabular_dataset

UUID1 = uuid.UUID("00000000-0000-0000-0000-000000000001")
UUID2 = uuid.UUID("ffffffff-0000-0000-0000-000000000002")


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


CUSTOMERS = {
    "columns": [
        {"name": "id", "type": "integer", "nullable": False},
        {"name": "name", "type": "text", "nullable": False},
        {"name": "country", "type": "text"},
        {"name": "vip", "type": "boolean"},
        {"name": "joined", "type": "date"},
    ],
    "primary_key": ["id"],
}
CUSTOMER_ROWS = [
    {"id": 1, "name": "Ann", "country": "FR", "vip": True, "joined": dt.date(2024, 1, 5)},
    {"id": 2, "name": "bob", "country": None, "vip": False, "joined": dt.date(2024, 3, 1)},
    {"id": 3, "name": "Cy", "country": "FR", "vip": None, "joined": None},
    {"id": 4, "name": "dee", "country": "DE", "vip": True, "joined": dt.date(2023, 12, 31)},
    {"id": 5, "name": "Éva", "country": "DE", "vip": False, "joined": dt.date(2024, 2, 29)},
]
ORDERS = {
    "columns": [
        {"name": "id", "type": "integer", "nullable": False},
        {"name": "customer_id", "type": "integer"},
        {"name": "total", "type": "numeric"},
        {"name": "qty", "type": "integer"},
        {"name": "weight", "type": "float"},
        {"name": "status", "type": "text"},
        {"name": "placed", "type": "timestamp"},
        {"name": "tag", "type": "uuid"},
        {"name": "meta", "type": "json"},
    ],
    "primary_key": ["id"],
}
ORDER_ROWS: list[dict[str, Any]] = [
    {
        "id": 10,
        "customer_id": 1,
        "total": Decimal("1.50"),
        "qty": 2,
        "weight": 0.5,
        "status": "paid",
        "placed": ts("2024-01-06T10:00:00"),
        "tag": UUID1,
        "meta": {"a": 1},
    },
    {
        "id": 11,
        "customer_id": 1,
        "total": Decimal("2.25"),
        "qty": 1,
        "weight": 1.25,
        "status": "open",
        "placed": ts("2024-01-07T10:00:00"),
        "tag": None,
        "meta": None,
    },
    {
        "id": 12,
        "customer_id": 2,
        "total": None,
        "qty": 5,
        "weight": None,
        "status": "paid",
        "placed": None,
        "tag": UUID2,
        "meta": [1, "x"],
    },
    {
        "id": 13,
        "customer_id": 4,
        "total": Decimal("10"),
        "qty": None,
        "weight": 2.0,
        "status": None,
        "placed": ts("2024-02-01T00:00:00"),
        "tag": None,
        "meta": None,
    },
    {
        "id": 14,
        "customer_id": 4,
        "total": Decimal("0.0001"),
        "qty": 3,
        "weight": 0.25,
        "status": "paid",
        "placed": ts("2024-02-02T00:00:00"),
        "tag": UUID1,
        "meta": None,
    },
    {
        "id": 15,
        "customer_id": 99,
        "total": Decimal("5.5"),
        "qty": 1,
        "weight": 1.0,
        "status": "open",
        "placed": ts("2024-03-01T12:00:00"),
        "tag": None,
        "meta": None,
    },
]


async def _stream(rows: Iterable[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for row in rows:
        yield dict(row)


async def _make(store: Any, tables: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]) -> dict[str, Dataset]:
    session = new_session()
    await store.create_session_space(session)
    made: dict[str, Dataset] = {}
    for name, (schema, rows) in tables.items():
        dataset = tabular_dataset(session, schema, name=name)
        await store.create_table(dataset)
        if rows:
            await store.insert_records(dataset, _stream(rows), OnConflict.ERROR)
        made[name] = dataset
    return made


@pytest.fixture
async def shop(tabular_store: Any) -> dict[str, Dataset]:
    return await _make(tabular_store, {"customers": (CUSTOMERS, CUSTOMER_ROWS), "orders": (ORDERS, ORDER_ROWS)})


async def run(store: Any, datasets: dict[str, Dataset], body: dict[str, Any], **limits: Any) -> QueryResult:
    plan = resolve_structured(parse_structured_query(body), datasets)
    result: QueryResult = await store.run_structured(plan, QueryLimits(**limits))
    return result


def columns(result: QueryResult) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in result.columns]


# -- select, where, order -------------------------------------------------------------------------


async def test_select_where_tree_and_order(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    body = {
        "from": "customers",
        "select": ["id", "name"],
        "where": {"or": [{"country": "FR"}, {"not": {"vip": True}}]},
        "order_by": ["id"],
    }
    result = await run(tabular_store, shop, body)
    assert columns(result) == [("id", "integer"), ("name", "text")]
    assert result.rows == [[1, "Ann"], [2, "bob"], [3, "Cy"], [5, "Éva"]]
    assert result.row_count == 4
    assert not result.truncated


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ({"not": {"country": "FR"}}, [4, 5]),  # NULL country: NOT UNKNOWN is UNKNOWN
        ({"not": {"vip": {"is": True}}}, [2, 3, 5]),  # is: is never UNKNOWN
        ({"not": {"not": {"country": {"ne": "DE"}}}}, [1, 3]),
        ({"not": {"or": [{"country": "FR"}, {"vip": False}]}}, [4]),
        ({"not": {"and": [{"country": "FR"}, {"vip": True}]}}, [2, 4, 5]),  # Cy: FALSE OR UNKNOWN
        ({"not": {"name": {"like": "%e%"}}}, [1, 2, 3, 5]),
        ({"not": {"name": {"ilike": "a%"}}}, [2, 3, 4, 5]),
        ({"not": {"joined": {"lt": "2024-02-01"}}}, [2, 5]),
        ({"not": {"country": {"in": ["FR"]}}}, [4, 5]),
        ({"not": {"country": {"nin": []}}}, []),
        ({"not": {"country": {"in": []}}}, [1, 3, 4, 5]),
        ({"or": []}, []),
        ({"not": {"or": []}}, [1, 2, 3, 4, 5]),
        ({"country": None, "vip": {"is": "notnull"}}, [2]),
        ({"field": "name", "gte": "a", "lt": "e"}, [2, 4]),
    ],
)
async def test_where_trees_with_nulls(
    tabular_store: Any, shop: dict[str, Dataset], where: dict[str, Any], ids: list[int]
) -> None:
    result = await run(tabular_store, shop, {"from": "customers", "select": ["id"], "where": where})
    assert [row[0] for row in result.rows] == ids


async def test_text_orders_by_code_point_and_nulls_by_direction(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    names = await run(tabular_store, shop, {"from": "customers", "select": ["name"], "order_by": ["name"]})
    assert [r[0] for r in names.rows] == ["Ann", "Cy", "bob", "dee", "Éva"]
    up = await run(tabular_store, shop, {"from": "customers", "select": ["country", "name"], "order_by": ["country"]})
    assert up.rows == [["DE", "dee"], ["DE", "Éva"], ["FR", "Ann"], ["FR", "Cy"], [None, "bob"]]
    down = await run(
        tabular_store,
        shop,
        {"from": "customers", "select": ["country", "name"], "order_by": [{"field": "country", "desc": True}]},
    )
    assert down.rows == [[None, "bob"], ["FR", "Ann"], ["FR", "Cy"], ["DE", "dee"], ["DE", "Éva"]]


async def test_order_by_a_field_not_selected(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    result = await run(tabular_store, shop, {"from": "customers", "select": ["name"], "order_by": ["-joined"]})
    assert [r[0] for r in result.rows] == ["Cy", "bob", "Éva", "Ann", "dee"]


async def test_values_of_every_type_come_back_typed(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    result = await run(
        tabular_store,
        shop,
        {"from": "orders", "where": {"id": {"in": [10, 12]}}, "order_by": ["id"]},
    )
    assert columns(result) == [
        ("id", "integer"),
        ("customer_id", "integer"),
        ("total", "numeric"),
        ("qty", "integer"),
        ("weight", "float"),
        ("status", "text"),
        ("placed", "timestamp"),
        ("tag", "uuid"),
        ("meta", "json"),
    ]
    assert result.rows == [
        [10, 1, Decimal("1.50"), 2, 0.5, "paid", ts("2024-01-06T10:00:00"), UUID1, {"a": 1}],
        [12, 2, None, 5, None, "paid", None, UUID2, [1, "x"]],
    ]
    assert str(result.rows[0][2]) == "1.50"
    assert result.rows[0][6].tzinfo is dt.UTC


async def test_where_values_are_coerced_to_the_field_types(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    body = {
        "from": "orders",
        "select": ["id"],
        "where": {"total": {"gt": "2"}, "placed": {"lt": "2024-03-01T00:00:00+00:00"}, "tag": {"is": "null"}},
        "order_by": ["id"],
    }
    assert (await run(tabular_store, shop, body)).rows == [[11], [13]]
    by_uuid = {"from": "orders", "select": ["id"], "where": {"tag": str(UUID1)}, "order_by": ["id"]}
    assert (await run(tabular_store, shop, by_uuid)).rows == [[10], [14]]


# -- joins ----------------------------------------------------------------------------------------


async def test_inner_join(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    body = {
        "from": "orders",
        "join": [{"dataset": "customers", "on": {"customer_id": "id"}}],
        "select": ["orders.id", "name"],
        "order_by": ["orders.id"],
    }
    result = await run(tabular_store, shop, body)
    assert columns(result) == [("id", "integer"), ("name", "text")]
    assert result.rows == [[10, "Ann"], [11, "Ann"], [12, "bob"], [13, "dee"], [14, "dee"]]


async def test_left_join_fills_nulls(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    body = {
        "from": "customers",
        "join": [{"dataset": "orders", "type": "left", "on": {"id": "customer_id"}}],
        "select": [{"field": "customers.id", "as": "cid"}, {"field": "orders.id", "as": "oid"}, "total"],
        "order_by": ["cid", "oid"],
    }
    result = await run(tabular_store, shop, body)
    assert columns(result) == [("cid", "integer"), ("oid", "integer"), ("total", "numeric")]
    assert result.rows == [
        [1, 10, Decimal("1.50")],
        [1, 11, Decimal("2.25")],
        [2, 12, None],
        [3, None, None],
        [4, 13, Decimal("10")],
        [4, 14, Decimal("0.0001")],
        [5, None, None],
    ]
    lonely = await run(
        tabular_store,
        shop,
        {**body, "where": {"orders.id": None}, "select": ["name"], "order_by": ["name"]},
    )
    assert lonely.rows == [["Cy"], ["Éva"]]


async def test_where_on_joined_fields(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    body = {
        "from": "orders",
        "join": [{"dataset": "customers", "on": {"orders.customer_id": "customers.id"}}],
        "select": ["orders.id"],
        "where": {"customers.country": {"in": ["FR"]}, "placed": {"gte": "2024-01-07"}},
    }
    assert (await run(tabular_store, shop, body)).rows == [[11]]


async def test_default_select_qualifies_shared_names(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    body = {
        "from": "customers",
        "join": [{"dataset": "orders", "on": {"id": "customer_id"}}],
        "where": {"orders.id": 10},
    }
    result = await run(tabular_store, shop, body)
    assert [c.name for c in result.columns] == [
        "customers.id",
        "name",
        "country",
        "vip",
        "joined",
        "orders.id",
        "customer_id",
        "total",
        "qty",
        "weight",
        "status",
        "placed",
        "tag",
        "meta",
    ]
    assert result.rows[0][:6] == [1, "Ann", "FR", True, dt.date(2024, 1, 5), 10]


async def test_join_keys_of_integer_and_numeric_meet(tabular_store: Any) -> None:
    made = await _make(
        tabular_store,
        {
            "a": (
                {"columns": [{"name": "k", "type": "integer"}, {"name": "x", "type": "text"}]},
                [
                    {"k": 1, "x": "one"},
                    {"k": 2, "x": "two"},
                    {"k": None, "x": "none"},
                ],
            ),
            "b": (
                {"columns": [{"name": "n", "type": "numeric"}, {"name": "y", "type": "text"}]},
                [
                    {"n": Decimal("1.0"), "y": "uno"},
                    {"n": Decimal("2.5"), "y": "dos"},
                    {"n": None, "y": "nada"},
                ],
            ),
        },
    )
    body = {
        "from": "a",
        "join": [{"dataset": "b", "type": "left", "on": {"k": "n"}}],
        "select": ["x", "y"],
        "order_by": ["x"],
    }
    assert (await run(tabular_store, made, body)).rows == [["none", None], ["one", "uno"], ["two", None]]


# -- grouping and aggregates ----------------------------------------------------------------------

EVERY_AGGREGATE = [
    {"fn": "count", "as": "n"},
    {"fn": "count", "field": "qty", "as": "nq"},
    {"fn": "count_distinct", "field": "customer_id", "as": "nc"},
    {"fn": "sum", "field": "qty", "as": "sq"},
    {"fn": "sum", "field": "weight", "as": "sw"},
    {"fn": "sum", "field": "total", "as": "st"},
    {"fn": "avg", "field": "qty", "as": "aq"},
    {"fn": "avg", "field": "total", "as": "at"},
    {"fn": "avg", "field": "weight", "as": "aw"},
    {"fn": "min", "field": "total", "as": "mint"},
    {"fn": "max", "field": "placed", "as": "maxp"},
    {"fn": "min", "field": "status", "as": "mins"},
]


async def test_group_by_with_every_aggregate(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    body = {"from": "orders", "group_by": ["status"], "aggregates": EVERY_AGGREGATE, "order_by": ["status"]}
    result = await run(tabular_store, shop, body)
    assert columns(result) == [
        ("status", "text"),
        ("n", "integer"),
        ("nq", "integer"),
        ("nc", "integer"),
        ("sq", "numeric"),
        ("sw", "float"),
        ("st", "numeric"),
        ("aq", "float"),
        ("at", "numeric"),
        ("aw", "float"),
        ("mint", "numeric"),
        ("maxp", "timestamp"),
        ("mins", "text"),
    ]
    expected = [
        ["open", 2, 2, 2, "2", 2.25, "7.75", 1.0, "3.875000", 1.125, "2.25"],
        ["paid", 3, 3, 3, "10", 0.75, "1.5001", 3.3333333333333335, "0.750050", 0.375, "0.0001"],
        [None, 1, 0, 1, None, 2.0, "10", None, "10.000000", 2.0, "10"],
    ]
    shown = [
        [
            row[0],
            row[1],
            row[2],
            row[3],
            None if row[4] is None else str(row[4]),
            row[5],
            str(row[6]),
            row[7],
            str(row[8]),
            row[9],
            str(row[10]),
        ]
        for row in result.rows
    ]
    assert shown == expected
    assert [row[11] for row in result.rows] == [ts("2024-03-01T12:00:00"), ts("2024-02-02T00:00:00"), ts("2024-02-01")]
    assert [row[12] for row in result.rows] == ["open", "paid", None]
    for row in result.rows:
        assert all(type(v) is int for v in row[1:4])
        assert all(v is None or type(v) is Decimal for v in (row[4], row[6], row[8], row[10]))
        assert all(type(v) is float for v in (row[5], row[9]))
        assert row[7] is None or type(row[7]) is float


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "2"], "1.500000"),
        (["10", "20", "40"], "23.333333"),
        (["123456789", "987654321"], "555555555.000000"),
        (["0.0001", "0.0002"], "0.000150"),
        (["-1", "-2"], "-1.500000"),
        (["-0.5", "0.5"], "0.000000"),
        (["99999999999999999999.5", "1"], "50000000000000000000.250000"),  # PostgreSQL's avg: ...0.3
        (["2", "2", "2"], "2.000000"),
        (["1.50", "2.25", "3.00"], "2.250000"),
        (["1e-20", "3e-20"], "0.00000000000000000002"),  # the values' own scale when larger
        (["1.1234567", "2"], "1.5617284"),  # 1.56172835, half away from zero
        (["-0.0000001", "0"], "-0.0000001"),  # -0.00000005, half away from zero
        (["-0.0000001", *["0"] * 10], "0.0000000"),  # never a negative zero
        (["1e-2500", "3e-2500"], "0." + "0" * 2500),  # numeric division stops at 1000 digits
        (["1.5e-999", "2e-999"], "0." + "0" * 998 + "18"),  # 1.75e-999 at scale 1000
    ],
)
async def test_avg_of_numeric_is_rounded_to_six_places_or_the_values_scale(
    tabular_store: Any, values: list[str], expected: str
) -> None:
    """Issue 13, chosen on purpose (was PostgreSQL's 16 significant digits, 23.3333333333333333):
    avg of numeric = numeric rounded half away from zero to max(6, largest scale among the values)."""
    schema = {"columns": [{"name": "v", "type": "numeric"}]}
    made = await _make(tabular_store, {"nums": (schema, [{"v": Decimal(v)} for v in values])})
    body = {
        "from": "nums",
        "aggregates": [{"fn": "avg", "field": "v", "as": "a"}, {"fn": "sum", "field": "v", "as": "s"}],
    }
    result = await run(tabular_store, made, body)
    assert format(result.rows[0][0], "f") == expected
    assert result.rows[0][1] == sum(Decimal(v) for v in values)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2, 2], 1.6666666666666667),
        ([10, 20, 40], 23.333333333333332),
        ([-3, 4], 0.5),
        ([2**62, 2**62 + 1], 4.611686018427388e18),  # the exact average, then rounded once
        ([2**63 - 1, 2**63 - 1], 9.223372036854776e18),  # no overflow
    ],
)
async def test_avg_of_integers_is_a_float(tabular_store: Any, values: list[int], expected: float) -> None:
    """Issue 13: avg of an integer column is a float (double precision), not a 16-digit numeric."""
    schema = {"columns": [{"name": "v", "type": "integer"}]}
    made = await _make(tabular_store, {"ints": (schema, [{"v": v} for v in values])})
    result = await run(tabular_store, made, {"from": "ints", "aggregates": [{"fn": "avg", "field": "v", "as": "a"}]})
    assert columns(result) == [("a", "float")]
    assert type(result.rows[0][0]) is float
    assert result.rows[0][0] == expected


async def test_aggregates_without_group_by_give_one_row_even_over_nothing(
    tabular_store: Any, shop: dict[str, Dataset]
) -> None:
    body = {
        "from": "orders",
        "where": {"qty": {"gt": 100}},
        "aggregates": [
            {"fn": "count", "as": "n"},
            {"fn": "sum", "field": "qty", "as": "s"},
            {"fn": "avg", "field": "total", "as": "a"},
            {"fn": "min", "field": "placed", "as": "m"},
            {"fn": "count_distinct", "field": "tag", "as": "d"},
        ],
    }
    result = await run(tabular_store, shop, body)
    assert result.rows == [[0, None, None, None, 0]]
    grouped = await run(tabular_store, shop, {**body, "group_by": ["status"]})
    assert grouped.rows == []


async def test_group_by_alone_gives_distinct_groups_with_null(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    result = await run(tabular_store, shop, {"from": "orders", "group_by": ["status"]})
    assert result.rows == [["open"], ["paid"], [None]]
    customers = await run(
        tabular_store, shop, {"from": "orders", "group_by": ["customer_id"], "order_by": ["-customer_id"]}
    )
    assert customers.rows == [[99], [4], [2], [1]]


async def test_min_max_of_text_and_dates_and_count_distinct(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    body = {
        "from": "customers",
        "aggregates": [
            {"fn": "min", "field": "name", "as": "first"},
            {"fn": "max", "field": "name", "as": "last"},
            {"fn": "min", "field": "joined", "as": "earliest"},
            {"fn": "max", "field": "joined", "as": "latest"},
            {"fn": "count_distinct", "field": "country", "as": "countries"},
            {"fn": "count_distinct", "field": "vip", "as": "flags"},
        ],
    }
    result = await run(tabular_store, shop, body)
    assert result.rows == [["Ann", "Éva", dt.date(2023, 12, 31), dt.date(2024, 3, 1), 2, 2]]
    assert columns(result)[2:4] == [("earliest", "date"), ("latest", "date")]


async def test_grouped_join_ordered_by_aggregate_with_limit_and_offset(
    tabular_store: Any, shop: dict[str, Dataset]
) -> None:
    body = {
        "from": "orders",
        "join": [{"dataset": "customers", "type": "left", "on": {"customer_id": "id"}}],
        "group_by": ["customers.country"],
        "aggregates": [{"fn": "count", "as": "orders"}, {"fn": "sum", "field": "total", "as": "revenue"}],
        "order_by": ["-orders", "country"],
    }
    full = await run(tabular_store, shop, body)
    assert full.rows == [
        ["DE", 2, Decimal("10.0001")],
        ["FR", 2, Decimal("3.75")],
        [None, 2, Decimal("5.5")],  # bob's country and customer 99, who does not exist
    ]
    page = await run(tabular_store, shop, {**body, "limit": 1, "offset": 1})
    assert page.rows == [["FR", 2, Decimal("3.75")]]
    past = await run(tabular_store, shop, {**body, "offset": 10})
    assert past.rows == []


# -- limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "offset", "max_rows", "ids", "truncated"),
    [
        (None, 0, 3, [10, 11, 12], True),
        (3, 0, 3, [10, 11, 12], False),
        (4, 0, 3, [10, 11, 12], True),
        (None, 3, 3, [13, 14, 15], False),
        (None, 4, 1, [14], True),
        (0, 0, 1, [], False),
        (None, 0, 6, [10, 11, 12, 13, 14, 15], False),
    ],
)
async def test_max_rows_truncates(
    tabular_store: Any,
    shop: dict[str, Dataset],
    limit: int | None,
    offset: int,
    max_rows: int,
    ids: list[int],
    truncated: bool,
) -> None:
    body: dict[str, Any] = {"from": "orders", "select": ["id"], "order_by": ["id"], "offset": offset}
    if limit is not None:
        body["limit"] = limit
    result = await run(tabular_store, shop, body, max_rows=max_rows)
    assert [r[0] for r in result.rows] == ids
    assert result.truncated is truncated


# -- errors ---------------------------------------------------------------------------------------


async def test_float_sum_overflow_is_invalid_input(tabular_store: Any) -> None:
    schema = {"columns": [{"name": "f", "type": "float"}]}
    made = await _make(tabular_store, {"big": (schema, [{"f": 1e308}, {"f": 1e308}])})
    for fn in ("sum", "avg"):
        with pytest.raises(InvalidInput):
            await run(tabular_store, made, {"from": "big", "aggregates": [{"fn": fn, "field": "f", "as": "s"}]})


async def test_a_dropped_table_is_not_found(tabular_store: Any, shop: dict[str, Dataset]) -> None:
    plan = resolve_structured(parse_structured_query({"from": "orders"}), shop)
    await tabular_store.drop_table(shop["orders"])
    with pytest.raises(NotFound):
        await tabular_store.run_structured(plan, QueryLimits())


async def test_a_slow_query_times_out(tabular_store: Any, request: pytest.FixtureRequest) -> None:
    if "memory" in request.node.callspec.id:
        pytest.skip("the in-memory store has no time limit")
    schema = {"columns": [{"name": "k", "type": "integer"}, {"name": "v", "type": "integer"}]}
    rows = [{"k": 1, "v": i} for i in range(3000)]
    made = await _make(tabular_store, {"wide": (schema, rows), "other": (schema, rows)})
    body = {
        "from": "wide",
        "join": [{"dataset": "other", "on": {"k": "k"}}],
        "aggregates": [
            {"fn": "count_distinct", "field": "other.v", "as": "n"},
            {"fn": "sum", "field": "wide.v", "as": "s"},
        ],
    }
    with pytest.raises(StoreTimeout):
        await run(tabular_store, made, body, timeout_ms=1)
