"""Records of tabular datasets as JSON: writes, conflicts, filters, sorting, paging, updates, deletes."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.unit.http.api import graph, problem, tabular, walk, write

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

KEYED_SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "sku", "type": "text"},
        {"name": "qty", "type": "integer", "nullable": False, "default": 0},
        {"name": "note", "type": "text"},
    ],
    "primary_key": ["sku"],
}

ALL_TYPES_SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "t", "type": "text"},
        {"name": "i", "type": "integer"},
        {"name": "f", "type": "float"},
        {"name": "n", "type": "numeric"},
        {"name": "b", "type": "boolean"},
        {"name": "d", "type": "date"},
        {"name": "ts", "type": "timestamp"},
        {"name": "j", "type": "json"},
        {"name": "u", "type": "uuid"},
    ]
}


def records(client: TestClient, auth: dict[str, str], url: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{url}/records", params=params, headers=auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def names(client: TestClient, auth: dict[str, str], url: str, params: Any = None) -> list[str]:
    response = client.get(f"{url}/records", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["items"]]


def count(client: TestClient, auth: dict[str, str], url: str) -> int:
    return int(client.get(url, headers=auth).json()["record_count"])


@pytest.fixture
def people(client: TestClient, auth: dict[str, str]) -> str:
    url = tabular(client, auth)
    write(
        client,
        auth,
        url,
        {
            "records": [
                {"name": "Ada", "age": 36, "city": "London"},
                {"name": "Alan", "age": 41, "city": "Wilmslow"},
                {"name": "Grace", "age": 85, "city": "Arlington"},
                {"name": "Edsger", "age": None, "city": "Austin"},
                {"name": "Barbara", "age": 30, "city": None},
                {"name": "ada", "age": 36, "city": "london"},
            ]
        },
    )
    return url


@pytest.fixture
def stock(client: TestClient, auth: dict[str, str]) -> str:
    url = tabular(client, auth, KEYED_SCHEMA)
    write(client, auth, url, {"records": [{"sku": "a1", "qty": 1}, {"sku": "b2", "qty": 2}]})
    return url


# -- writing -------------------------------------------------------------------------------------------


def test_writing_records_answers_201_with_counts(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)

    response = client.post(f"{url}/records", json={"records": [{"name": "a"}, {"name": "b"}]}, headers=auth)

    assert response.status_code == 201
    assert response.json() == {"inserted": 2, "updated": 0, "ignored": 0}
    assert count(client, auth, url) == 2


def test_a_bare_json_array_is_accepted_as_records(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)

    response = client.post(f"{url}/records", json=[{"name": "a", "age": 1}], headers=auth)

    assert response.status_code == 201
    assert response.json()["inserted"] == 1
    assert [(r["name"], r["age"]) for r in records(client, auth, url)] == [("a", 1)]


def test_an_empty_batch_writes_nothing(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)
    assert write(client, auth, url, {"records": []}) == {"inserted": 0, "updated": 0, "ignored": 0}


def test_absent_columns_take_their_default_or_null(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth, KEYED_SCHEMA)
    write(client, auth, url, {"records": [{"sku": "x"}]})
    assert records(client, auth, url) == [{"sku": "x", "qty": 0, "note": None}]


def test_a_key_that_exists_is_a_409_naming_the_key(client: TestClient, auth: dict[str, str], stock: str) -> None:
    response = client.post(f"{stock}/records", json={"records": [{"sku": "c3"}, {"sku": "a1"}]}, headers=auth)

    body = problem(response, 409)
    assert body["key"] in ("a1", ["a1"], {"sku": "a1"})
    assert "a1" in body["detail"]
    assert count(client, auth, stock) == 2


def test_a_key_repeated_within_one_batch_is_a_409(client: TestClient, auth: dict[str, str], stock: str) -> None:
    response = client.post(f"{stock}/records", json={"records": [{"sku": "z"}, {"sku": "z"}]}, headers=auth)
    body = problem(response, 409)
    assert body["key"] in ("z", ["z"], {"sku": "z"})
    assert count(client, auth, stock) == 2


def test_a_conflict_names_the_existing_key_and_writes_nothing(
    client: TestClient, auth: dict[str, str], stock: str
) -> None:
    response = client.post(f"{stock}/records", json={"records": [{"sku": "c3"}, {"sku": "b2"}]}, headers=auth)

    body = problem(response, 409)
    assert "b2" in body["detail"] or "b2" in str(body.get("key"))
    assert sorted(r["sku"] for r in records(client, auth, stock)) == ["a1", "b2"]


def test_on_conflict_update_overwrites_existing_rows(client: TestClient, auth: dict[str, str], stock: str) -> None:
    body = {"records": [{"sku": "a1", "qty": 10}, {"sku": "c3", "qty": 3}], "on_conflict": "update"}

    result = write(client, auth, stock, body)

    assert result == {"inserted": 1, "updated": 1, "ignored": 0}
    assert {r["sku"]: r["qty"] for r in records(client, auth, stock)} == {"a1": 10, "b2": 2, "c3": 3}


def test_on_conflict_ignore_keeps_existing_rows(client: TestClient, auth: dict[str, str], stock: str) -> None:
    body = {"records": [{"sku": "a1", "qty": 10}, {"sku": "c3", "qty": 3}], "on_conflict": "ignore"}

    result = write(client, auth, stock, body)

    assert result == {"inserted": 1, "updated": 0, "ignored": 1}
    assert {r["sku"]: r["qty"] for r in records(client, auth, stock)} == {"a1": 1, "b2": 2, "c3": 3}


def test_an_unknown_on_conflict_mode_is_refused(client: TestClient, auth: dict[str, str], stock: str) -> None:
    response = client.post(f"{stock}/records", json={"records": [], "on_conflict": "merge"}, headers=auth)
    assert problem(response, 400).get("field") == "on_conflict"


def test_one_bad_record_rejects_the_whole_request_naming_index_and_field(
    client: TestClient, auth: dict[str, str]
) -> None:
    url = tabular(client, auth)
    batch = [{"name": "ok", "age": 1}, {"name": "ok2", "age": 2}, {"name": "bad", "age": "forty"}, {"name": "ok3"}]

    body = problem(client.post(f"{url}/records", json={"records": batch}, headers=auth), 422)

    assert body["index"] == 2
    assert body["field"] == "age"
    assert count(client, auth, url) == 0


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"name": "x", "shoe_size": 44}, "shoe_size"),
        ({"age": 3}, "name"),
        ({"name": None}, "name"),
        ({"name": 7}, "name"),
        ({"name": "x", "age": 1.5}, "age"),
        ({"name": "x", "age": True}, "age"),
        ({"name": "x", "age": INT64_MAX + 1}, "age"),
        ({"name": "x", "age": INT64_MIN - 1}, "age"),
        ({"name": "x", "age": "12"}, "age"),
        ({"name": "nul\x00inside"}, "name"),
    ],
)
def test_a_record_that_does_not_fit_the_schema_is_422_naming_the_field(
    client: TestClient, auth: dict[str, str], record: dict[str, Any], field: str
) -> None:
    url = tabular(client, auth)
    body = problem(client.post(f"{url}/records", json={"records": [{"name": "first"}, record]}, headers=auth), 422)
    assert body["index"] == 1
    assert body["field"] == field
    assert count(client, auth, url) == 0


def test_a_record_that_is_not_an_object_is_refused_with_its_index(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)
    response = client.post(f"{url}/records", json=[{"name": "a"}, ["name", "b"]], headers=auth)
    assert problem(response, 422)["index"] == 1


def test_the_64_bit_integer_range_is_accepted_exactly(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)
    write(client, auth, url, {"records": [{"name": "max", "age": INT64_MAX}, {"name": "min", "age": INT64_MIN}]})

    rows = {r["name"]: r["age"] for r in records(client, auth, url)}
    assert rows == {"max": INT64_MAX, "min": INT64_MIN}
    assert names(client, auth, url, {"age": f"eq:{INT64_MAX}"}) == ["max"]


def test_every_type_round_trips(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth, ALL_TYPES_SCHEMA)
    the_uuid = str(uuid.uuid4())
    record = {
        "t": "héllo, wörld ✓",
        "i": 42,
        "f": 2.5,
        "n": 12345678901234567890.123456789,
        "b": True,
        "d": "2024-02-29",
        "ts": "2024-03-01T12:30:00+02:00",
        "j": {"nested": [1, "two", None, {"x": True}]},
        "u": the_uuid.upper(),
    }
    # an exact numeric needs an exact JSON number: send the document by hand
    body = (
        '{"records": [{"t": "h\\u00e9llo, w\\u00f6rld \\u2713", "i": 42, "f": 2.5, '
        '"n": 12345678901234567890.123456789, "b": true, "d": "2024-02-29", '
        '"ts": "2024-03-01T12:30:00+02:00", "j": {"nested": [1, "two", null, {"x": true}]}, '
        f'"u": "{record["u"]}"}}]}}'
    )

    response = client.post(
        f"{url}/records", content=body.encode(), headers={**auth, "content-type": "application/json"}
    )

    assert response.status_code == 201, response.text
    raw = client.get(f"{url}/records", headers=auth).text
    assert "12345678901234567890.123456789" in raw
    (row,) = records(client, auth, url)
    assert row["t"] == record["t"]
    assert row["i"] == 42
    assert row["f"] == 2.5
    assert row["b"] is True
    assert row["d"] == "2024-02-29"
    assert row["ts"] == "2024-03-01T10:30:00Z"  # the one timestamp form (issue 13)
    assert row["j"] == record["j"]
    assert row["u"] == the_uuid


def test_numeric_values_stay_exact(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth, {"columns": [{"name": "n", "type": "numeric"}]})
    client.post(
        f"{url}/records",
        content=b'{"records": [{"n": 0.1}, {"n": 0.2}]}',
        headers={**auth, "content-type": "application/json"},
    )

    response = client.get(f"{url}/records", params={"n": "in:0.1,0.2", "sort": "n"}, headers=auth)

    assert [Decimal(str(r["n"])) for r in response.json()["items"]] == [Decimal("0.1"), Decimal("0.2")]
    assert '"n":0.1' in response.text.replace(" ", "")


def test_timestamps_without_a_zone_are_taken_as_utc(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth, {"columns": [{"name": "ts", "type": "timestamp"}]})
    write(client, auth, url, {"records": [{"ts": "2024-01-01T00:00:00"}]})
    assert records(client, auth, url)[0]["ts"] == "2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("d", "2023-02-29"),
        ("d", "yesterday"),
        ("ts", "noon"),
        ("u", "not-a-uuid"),
        ("b", "true"),
        ("f", "1.5"),
        ("n", "NaN"),
        ("n", "abc"),
        ("j", {"bad": "nul\x00"}),
    ],
)
def test_a_value_of_the_wrong_type_is_422_naming_the_column(
    client: TestClient, auth: dict[str, str], column: str, value: Any
) -> None:
    url = tabular(client, auth, ALL_TYPES_SCHEMA)
    body = problem(client.post(f"{url}/records", json=[{column: value}], headers=auth), 422)
    assert body["field"] == column
    assert body["index"] == 0


# -- reading: filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"age": "eq:36"}, ["Ada", "ada"]),
        ({"age": "ne:36"}, ["Alan", "Grace", "Barbara"]),
        ({"age": "gt:36"}, ["Alan", "Grace"]),
        ({"age": "gte:41"}, ["Alan", "Grace"]),
        ({"age": "lt:36"}, ["Barbara"]),
        ({"age": "lte:36"}, ["Ada", "Barbara", "ada"]),
        ({"age": "in:30,85"}, ["Grace", "Barbara"]),
        ({"age": "nin:30,85"}, ["Ada", "Alan", "ada"]),
        ({"name": "like:A%"}, ["Ada", "Alan"]),
        ({"name": "like:_da"}, ["Ada", "ada"]),
        ({"name": "ilike:a%"}, ["Ada", "Alan", "ada"]),
        ({"city": "is:null"}, ["Barbara"]),
        ({"age": "is:notnull"}, ["Ada", "Alan", "Grace", "Barbara", "ada"]),
        ({"city": "eq:London"}, ["Ada"]),
        ({"city": "gt:a"}, ["ada"]),
        ({"city": "lt:B"}, ["Grace", "Edsger"]),
    ],
)
def test_each_filter_operator_selects_what_sql_would(
    client: TestClient, auth: dict[str, str], people: str, params: dict[str, str], expected: list[str]
) -> None:
    assert names(client, auth, people, {**params, "sort": "id"}) == expected


def test_is_true_and_is_false_test_booleans(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth, {"columns": [{"name": "name", "type": "text"}, {"name": "ok", "type": "boolean"}]})
    write(client, auth, url, [{"name": "yes", "ok": True}, {"name": "no", "ok": False}, {"name": "null"}])

    assert names(client, auth, url, {"ok": "is:true"}) == ["yes"]
    assert names(client, auth, url, {"ok": "is:false"}) == ["no"]
    assert names(client, auth, url, {"ok": "is:null"}) == ["null"]
    assert names(client, auth, url, {"ok": "eq:true"}) == ["yes"]


def test_conditions_on_one_field_and_together(client: TestClient, auth: dict[str, str], people: str) -> None:
    params = [("age", "gt:30"), ("age", "lt:50"), ("sort", "id")]
    assert names(client, auth, people, params) == ["Ada", "Alan", "ada"]


def test_conditions_on_several_fields_and_together(client: TestClient, auth: dict[str, str], people: str) -> None:
    assert names(client, auth, people, {"age": "eq:36", "city": "eq:london"}) == ["ada"]


def test_the_value_is_everything_after_the_first_colon(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)
    write(client, auth, url, [{"name": "a:b:c"}, {"name": "a"}])

    assert names(client, auth, url, {"name": "eq:a:b:c"}) == ["a:b:c"]


def test_an_in_list_element_may_be_quoted_to_hold_a_comma(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)
    write(client, auth, url, [{"name": "Smith, J"}, {"name": "Smith"}, {"name": "J"}, {"name": 'say "hi"'}])

    assert names(client, auth, url, {"name": 'in:"Smith, J","say \\"hi\\""', "sort": "id"}) == [
        "Smith, J",
        'say "hi"',
    ]


def test_ne_and_nin_never_match_null(client: TestClient, auth: dict[str, str], people: str) -> None:
    assert "Barbara" not in names(client, auth, people, {"city": "ne:London"})
    assert "Barbara" not in names(client, auth, people, {"city": "nin:London"})
    assert "Edsger" not in names(client, auth, people, {"age": "ne:1"})


def test_like_escapes_wildcards_with_a_backslash(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)
    write(client, auth, url, [{"name": "100%"}, {"name": "1000"}, {"name": "a_b"}, {"name": "axb"}])

    assert names(client, auth, url, {"name": "like:100\\%"}) == ["100%"]
    assert names(client, auth, url, {"name": "like:a\\_b"}) == ["a_b"]


def test_filter_values_are_data_not_code(client: TestClient, auth: dict[str, str], people: str) -> None:
    hostile = "x' OR '1'='1"
    assert names(client, auth, people, {"name": f"eq:{hostile}"}) == []
    assert names(client, auth, people, {"name": f"in:{hostile},Ada"}) == ["Ada"]
    assert len(names(client, auth, people)) == 6


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"age": "gt:old"}, "age"),
        ({"age": "eq:1.5"}, "age"),
        ({"age": f"eq:{INT64_MAX + 1}"}, "age"),
        ({"shoe_size": "eq:44"}, "shoe_size"),
        ({"age": "between:1,2"}, "age"),
        ({"age": "36"}, "age"),
        ({"age": "is:maybe"}, "age"),
        ({"age": "is:true"}, "age"),
        ({"age": "like:3%"}, "age"),
        ({"name": "eq:nul\x00"}, "name"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-5"}, "offset"),
        ({"sort": "shoe_size"}, "sort"),
        ({"sort": "age:sideways"}, "sort"),
        ({"select": "name,shoe_size"}, "select"),
        ({"count": "roughly"}, "count"),
        ({"cursor": "garbage!"}, "cursor"),
    ],
)
def test_a_bad_query_parameter_is_400_naming_it(
    client: TestClient, auth: dict[str, str], people: str, params: dict[str, str], parameter: str
) -> None:
    body = problem(client.get(f"{people}/records", params=params, headers=auth), 400)
    assert body["parameter"] == parameter


# -- reading: select, sort, counts ---------------------------------------------------------------------


def test_select_returns_only_the_named_fields(client: TestClient, auth: dict[str, str], people: str) -> None:
    items = records(client, auth, people, select="name,age", sort="age:desc", limit=2)
    assert items == [{"name": "Edsger", "age": None}, {"name": "Grace", "age": 85}]


def test_sort_descending_puts_nulls_first_and_ascending_puts_them_last(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    assert names(client, auth, people, {"sort": "age:desc,name"}) == [
        "Edsger",
        "Grace",
        "Alan",
        "Ada",
        "ada",
        "Barbara",
    ]
    assert names(client, auth, people, {"sort": "age,name:desc"}) == [
        "Barbara",
        "ada",
        "Ada",
        "Alan",
        "Grace",
        "Edsger",
    ]


def test_text_sorts_by_code_point(client: TestClient, auth: dict[str, str], people: str) -> None:
    assert names(client, auth, people, {"sort": "name"}) == ["Ada", "Alan", "Barbara", "Edsger", "Grace", "ada"]


def test_count_exact_reports_the_total_of_all_matches(client: TestClient, auth: dict[str, str], people: str) -> None:
    body = client.get(f"{people}/records", params={"age": "gte:36", "count": "exact", "limit": 1}, headers=auth).json()
    assert body["total"] == 4
    assert len(body["items"]) == 1


def test_without_count_no_total_is_given(client: TestClient, auth: dict[str, str], people: str) -> None:
    assert "total" not in client.get(f"{people}/records", headers=auth).json()


# -- reading: paging ----------------------------------------------------------------------------------


@pytest.fixture
def many(client: TestClient, auth: dict[str, str]) -> str:
    schema = {
        "columns": [
            {"name": "n", "type": "integer", "nullable": False},
            {"name": "tag", "type": "text"},
        ]
    }
    url = tabular(client, auth, schema)
    rows = [{"n": i, "tag": None if i % 7 == 0 else f"t{i % 5}"} for i in range(123)]
    write(client, auth, url, {"records": rows})
    return url


def test_limit_defaults_to_50(client: TestClient, auth: dict[str, str], many: str) -> None:
    body = client.get(f"{many}/records", headers=auth).json()
    assert body["limit"] == 50
    assert body["offset"] == 0
    assert len(body["items"]) == 50
    assert body["next"]


def test_limit_1000_is_allowed_and_1001_is_refused_not_cut(client: TestClient, auth: dict[str, str], many: str) -> None:
    body = client.get(f"{many}/records", params={"limit": 1000}, headers=auth).json()
    assert len(body["items"]) == 123
    assert "next" not in body or body["next"] is None
    problem(client.get(f"{many}/records", params={"limit": 1001}, headers=auth), 400)


def test_paging_by_keyset_visits_every_record_once(client: TestClient, auth: dict[str, str], many: str) -> None:
    pages = walk(client, auth, f"{many}/records", {"sort": "n:desc", "limit": 20, "n": "gte:3"})

    seen = [r["n"] for page in pages for r in page["items"]]
    assert seen == list(range(122, 2, -1))
    assert [len(p["items"]) for p in pages] == [20] * 6
    assert "cursor=" in pages[0]["next"]
    assert "offset=" not in pages[0]["next"]


def test_paging_by_the_default_order_uses_the_key(client: TestClient, auth: dict[str, str], many: str) -> None:
    pages = walk(client, auth, f"{many}/records", {"limit": 50})

    ids = [r["id"] for page in pages for r in page["items"]]
    assert len(ids) == 123
    assert ids == sorted(ids)
    assert len(set(ids)) == 123
    assert len(pages) == 3


def test_paging_on_a_nullable_sort_falls_back_to_offsets(client: TestClient, auth: dict[str, str], many: str) -> None:
    pages = walk(client, auth, f"{many}/records", {"sort": "tag:desc,n", "limit": 25})

    rows = [(r["tag"], r["n"]) for page in pages for r in page["items"]]
    assert "offset=25" in pages[0]["next"]
    assert len(rows) == 123
    nulls = [n for tag, n in rows if tag is None]
    assert rows[: len(nulls)] == [(None, n) for n in sorted(nulls)]
    rest = rows[len(nulls) :]
    assert rest == sorted(rest, key=lambda row: (-int(row[0][1:]), row[1]))


def test_next_keeps_filters_select_and_count(client: TestClient, auth: dict[str, str], many: str) -> None:
    pages = walk(client, auth, f"{many}/records", {"tag": "eq:t1", "select": "n", "limit": 5, "count": "exact"})

    items = [r for page in pages for r in page["items"]]
    assert all(set(r) == {"n"} for r in items)
    assert [r["n"] for r in items] == [i for i in range(123) if i % 7 and i % 5 == 1]
    assert all(page["total"] == len(items) for page in pages)


def test_explicit_offset_paging_works(client: TestClient, auth: dict[str, str], many: str) -> None:
    body = client.get(f"{many}/records", params={"sort": "n", "offset": 120, "limit": 10}, headers=auth).json()
    assert [r["n"] for r in body["items"]] == [120, 121, 122]
    assert body["offset"] == 120
    assert "next" not in body or body["next"] is None


def test_a_cursor_from_another_sort_order_is_refused(client: TestClient, auth: dict[str, str], many: str) -> None:
    first = client.get(f"{many}/records", params={"sort": "n:desc", "limit": 5}, headers=auth).json()
    cursor = first["next"].split("cursor=")[1]

    body = problem(client.get(f"{many}/records", params={"sort": "n", "cursor": cursor}, headers=auth), 400)
    assert body["parameter"] == "cursor"


def test_an_exact_final_page_has_no_next(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)
    write(client, auth, url, [{"name": str(i)} for i in range(4)])

    pages = walk(client, auth, f"{url}/records", {"limit": 2})

    assert [len(p["items"]) for p in pages] == [2, 2]


# -- updating ----------------------------------------------------------------------------------------


def test_put_records_updates_by_primary_key(client: TestClient, auth: dict[str, str], stock: str) -> None:
    response = client.put(
        f"{stock}/records",
        json={"records": [{"sku": "a1", "note": "restocked"}, {"sku": "b2", "qty": 9}]},
        headers=auth,
    )

    assert response.status_code == 200
    assert response.json() == {"updated": 2}
    assert {r["sku"]: (r["qty"], r["note"]) for r in records(client, auth, stock)} == {
        "a1": (1, "restocked"),
        "b2": (9, None),
    }


def test_an_update_for_a_key_that_matches_no_record_changes_nothing(
    client: TestClient, auth: dict[str, str], stock: str
) -> None:
    response = client.put(
        f"{stock}/records", json={"records": [{"sku": "a1", "qty": 50}, {"sku": "zz", "qty": 9}]}, headers=auth
    )

    body = problem(response, 422)
    assert body["index"] == 1
    assert {r["sku"]: r["qty"] for r in records(client, auth, stock)} == {"a1": 1, "b2": 2}


def test_an_update_by_key_without_the_key_is_refused(client: TestClient, auth: dict[str, str], stock: str) -> None:
    body = problem(client.put(f"{stock}/records", json={"records": [{"qty": 5}]}, headers=auth), 422)
    assert body["index"] == 0
    assert body["field"] == "sku"


def test_an_update_by_key_with_a_bad_value_changes_nothing(
    client: TestClient, auth: dict[str, str], stock: str
) -> None:
    response = client.put(
        f"{stock}/records",
        json={"records": [{"sku": "a1", "qty": 100}, {"sku": "b2", "qty": "many"}]},
        headers=auth,
    )
    body = problem(response, 422)
    assert (body["index"], body["field"]) == (1, "qty")
    assert {r["sku"]: r["qty"] for r in records(client, auth, stock)} == {"a1": 1, "b2": 2}


def test_put_with_filters_and_set_updates_every_match(client: TestClient, auth: dict[str, str], people: str) -> None:
    response = client.put(f"{people}/records", params={"age": "eq:36"}, json={"set": {"city": "Paris"}}, headers=auth)

    assert response.status_code == 200
    assert response.json() == {"updated": 2}
    assert names(client, auth, people, {"city": "eq:Paris", "sort": "id"}) == ["Ada", "ada"]


def test_put_set_without_filters_is_refused_unless_all_is_true(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    body = problem(client.put(f"{people}/records", json={"set": {"city": "Oslo"}}, headers=auth), 400)
    assert body["parameter"] == "all"
    assert names(client, auth, people, {"city": "eq:Oslo"}) == []

    response = client.put(f"{people}/records", params={"all": "true"}, json={"set": {"city": "Oslo"}}, headers=auth)
    assert response.json() == {"updated": 6}


def test_put_set_with_a_bad_value_is_422(client: TestClient, auth: dict[str, str], people: str) -> None:
    response = client.put(f"{people}/records", params={"all": "true"}, json={"set": {"age": "old"}}, headers=auth)
    assert problem(response, 422)["field"] == "age"


def test_put_set_cannot_null_a_required_column(client: TestClient, auth: dict[str, str], people: str) -> None:
    response = client.put(f"{people}/records", params={"all": "true"}, json={"set": {"name": None}}, headers=auth)
    assert problem(response, 422)["field"] == "name"


def test_put_set_onto_a_unique_key_that_collides_is_409(client: TestClient, auth: dict[str, str]) -> None:
    schema = {**KEYED_SCHEMA, "indexes": [{"columns": ["note"], "unique": True}]}
    url = tabular(client, auth, schema)
    write(client, auth, url, [{"sku": "a", "note": "x"}, {"sku": "b", "note": "y"}])

    response = client.put(f"{url}/records", params={"all": "true"}, json={"set": {"note": "same"}}, headers=auth)

    problem(response, 409)
    assert sorted(r["note"] for r in records(client, auth, url)) == ["x", "y"]


def test_put_needs_either_records_or_set(client: TestClient, auth: dict[str, str], stock: str) -> None:
    problem(client.put(f"{stock}/records", json={}, headers=auth), 400)
    problem(client.put(f"{stock}/records", json={"records": [], "set": {"qty": 1}}, headers=auth), 400)


# -- deleting -----------------------------------------------------------------------------------------


def test_delete_with_filters_removes_the_matches(client: TestClient, auth: dict[str, str], people: str) -> None:
    response = client.delete(f"{people}/records", params={"age": "gte:41"}, headers=auth)

    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert names(client, auth, people, {"sort": "id"}) == ["Ada", "Edsger", "Barbara", "ada"]


def test_delete_without_filters_is_refused_unless_all_is_true(
    client: TestClient, auth: dict[str, str], people: str
) -> None:
    body = problem(client.delete(f"{people}/records", headers=auth), 400)
    assert body["parameter"] == "all"
    assert count(client, auth, people) == 6
    problem(client.delete(f"{people}/records", params={"all": "false"}, headers=auth), 400)
    problem(client.delete(f"{people}/records", params={"all": "yes"}, headers=auth), 400)

    assert client.delete(f"{people}/records", params={"all": "true"}, headers=auth).json() == {"deleted": 6}
    assert count(client, auth, people) == 0


def test_delete_with_a_bad_filter_deletes_nothing(client: TestClient, auth: dict[str, str], people: str) -> None:
    body = problem(client.delete(f"{people}/records", params={"age": "gt:old"}, headers=auth), 400)
    assert body["parameter"] == "age"
    assert count(client, auth, people) == 6


def test_deleting_nothing_answers_zero(client: TestClient, auth: dict[str, str], people: str) -> None:
    assert client.delete(f"{people}/records", params={"age": "gt:1000"}, headers=auth).json() == {"deleted": 0}


# -- graph datasets through /records --------------------------------------------------------------------


def test_for_a_graph_dataset_records_are_nodes(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    write(client, auth, url, {"nodes": [{"id": "a", "labels": ["Person"], "properties": {"age": 3}}]})

    body = client.get(f"{url}/records", headers=auth).json()

    assert body["items"] == [{"id": "a", "labels": ["Person"], "properties": {"age": 3}}]


def test_a_tabular_records_body_sent_to_a_graph_dataset_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    url = graph(client, auth)
    problem(client.post(f"{url}/records", json={"records": [{"name": "x"}]}, headers=auth), 400)
