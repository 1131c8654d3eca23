"""Bulk loads: text/csv (RFC 4180, header row, PostgreSQL's NULL rule) and application/x-ndjson bodies."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.unit.http.api import graph, problem, tabular

CSV = "text/csv"
NDJSON = "application/x-ndjson"

NOTES_SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "title", "type": "text", "nullable": False},
        {"name": "body", "type": "text"},
        {"name": "n", "type": "integer"},
        {"name": "ok", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "amount", "type": "numeric"},
    ]
}


@pytest.fixture
def notes(client: TestClient, auth: dict[str, str]) -> str:
    return tabular(client, auth, NOTES_SCHEMA)


def post(client: TestClient, auth: dict[str, str], url: str, body: bytes, media_type: str, **params: Any) -> Any:
    return client.post(f"{url}/records", content=body, params=params, headers={**auth, "content-type": media_type})


def rows(client: TestClient, auth: dict[str, str], url: str, sort: str = "id") -> list[dict[str, Any]]:
    response = client.get(f"{url}/records", params={"sort": sort, "limit": 1000}, headers=auth)
    assert response.status_code == 200, response.text
    return [{k: v for k, v in r.items() if k != "id"} for r in response.json()["items"]]


def count(client: TestClient, auth: dict[str, str], url: str) -> int:
    return int(client.get(url, headers=auth).json()["record_count"])


# -- CSV --------------------------------------------------------------------------------------------


def test_a_csv_body_is_loaded_and_typed_by_column(client: TestClient, auth: dict[str, str], notes: str) -> None:
    body = b"title,n,ok,day,amount\nfirst,1,true,2024-01-02,1.50\nsecond,-2,f,2024-12-31,0.001\n"

    response = post(client, auth, notes, body, CSV)

    assert response.status_code == 201, response.text
    assert response.json() == {"inserted": 2, "updated": 0, "ignored": 0}
    loaded = rows(client, auth, notes)
    assert [(r["title"], r["n"], r["ok"], r["day"]) for r in loaded] == [
        ("first", 1, True, "2024-01-02"),
        ("second", -2, False, "2024-12-31"),
    ]
    assert [str(r["amount"]) for r in loaded] == ["1.5", "0.001"] or [str(r["amount"]) for r in loaded] == [
        "1.50",
        "0.001",
    ]


def test_csv_columns_may_come_in_any_order_and_absent_ones_are_null(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    post(client, auth, notes, b"n,title\n5,x\n", CSV)
    assert rows(client, auth, notes) == [{"title": "x", "body": None, "n": 5, "ok": None, "day": None, "amount": None}]


def test_a_quoted_csv_field_may_hold_commas_quotes_and_newlines(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    body = b'title,body\n"a, b","He said ""hi"""\n"multi\nline","x\n\ny"\n'

    assert post(client, auth, notes, body, CSV).status_code == 201

    assert [(r["title"], r["body"]) for r in rows(client, auth, notes)] == [
        ("a, b", 'He said "hi"'),
        ("multi\nline", "x\n\ny"),
    ]


def test_an_unquoted_empty_cell_is_null_and_a_quoted_one_is_the_empty_string(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    body = b'title,body,n\nnull body,,\nempty body,"",\n'

    assert post(client, auth, notes, body, CSV).status_code == 201

    assert [(r["title"], r["body"], r["n"]) for r in rows(client, auth, notes)] == [
        ("null body", None, None),
        ("empty body", "", None),
    ]


def test_an_unquoted_empty_cell_in_a_required_column_is_refused(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    body = problem(post(client, auth, notes, b"title,n\nok,1\n,2\n", CSV), 422)
    assert (body["index"], body["field"]) == (1, "title")
    assert count(client, auth, notes) == 0


def test_a_quoted_empty_cell_in_a_required_text_column_is_the_empty_string(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    assert post(client, auth, notes, b'title\n""\n', CSV).status_code == 201
    assert rows(client, auth, notes)[0]["title"] == ""


def test_an_empty_cell_in_a_typed_column_is_null_not_an_error(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    assert post(client, auth, notes, b"title,n,ok,day,amount\nx,,,,\n", CSV).status_code == 201
    assert rows(client, auth, notes)[0] == {
        "title": "x",
        "body": None,
        "n": None,
        "ok": None,
        "day": None,
        "amount": None,
    }


def test_a_leading_byte_order_mark_is_ignored(client: TestClient, auth: dict[str, str], notes: str) -> None:
    body = "\ufefftitle,n\nbom,1\n".encode()

    assert post(client, auth, notes, body, CSV).status_code == 201, "the BOM must not become part of 'title'"
    assert rows(client, auth, notes)[0]["title"] == "bom"


def test_crlf_line_endings_are_accepted(client: TestClient, auth: dict[str, str], notes: str) -> None:
    body = b'title,n\r\nfirst,1\r\n"sec,ond",2\r\n'

    assert post(client, auth, notes, body, CSV).status_code == 201
    assert [(r["title"], r["n"]) for r in rows(client, auth, notes)] == [("first", 1), ("sec,ond", 2)]


def test_a_crlf_inside_a_quoted_field_is_kept_verbatim(client: TestClient, auth: dict[str, str], notes: str) -> None:
    body = b'title,body\r\nx,"line one\r\nline two"\r\n'

    assert post(client, auth, notes, body, CSV).status_code == 201
    assert rows(client, auth, notes)[0]["body"] == "line one\r\nline two"


def test_a_body_without_a_final_line_break_loads_its_last_row(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    assert post(client, auth, notes, b"title\nlast", CSV).json()["inserted"] == 1
    assert rows(client, auth, notes)[0]["title"] == "last"


def test_a_header_only_csv_inserts_nothing(client: TestClient, auth: dict[str, str], notes: str) -> None:
    response = post(client, auth, notes, b"title,n\n", CSV)
    assert response.status_code == 201
    assert response.json()["inserted"] == 0


def test_a_bad_csv_value_rejects_the_whole_load_naming_row_index_and_field(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    body = b"title,n\na,1\nb,2\nc,three\nd,4\n"

    problem_body = problem(post(client, auth, notes, body, CSV), 422)

    assert (problem_body["index"], problem_body["field"]) == (2, "n")
    assert count(client, auth, notes) == 0


@pytest.mark.parametrize(
    ("body", "index"),
    [
        (b"title,n\na,1\nb,2,extra\n", 1),
        (b"title,n\na\n", 0),
        (b'title,n\na,1\n"unterminated,2\n', None),
        pytest.param(
            b'title,n\na"b,1\n',
            0,
        ),
        (b'title,n\n"a"b,1\n', 0),
    ],
)
def test_a_malformed_csv_row_is_refused_and_nothing_is_loaded(
    client: TestClient, auth: dict[str, str], notes: str, body: bytes, index: int | None
) -> None:
    response = post(client, auth, notes, body, CSV)

    problem_body = problem(response, 400)
    if index is not None:
        assert problem_body["index"] == index
    assert count(client, auth, notes) == 0


@pytest.mark.parametrize(
    ("header", "status"),
    # A header that cannot name the columns is a malformed body (400); one naming a column the
    # schema lacks is a well-formed body the schema refuses (422, naming the field).
    [(b"title,title\n", 400), (b"title,,n\n", 400), (b"title,shoe_size\n", 422)],
)
def test_a_bad_csv_header_is_refused(
    client: TestClient, auth: dict[str, str], notes: str, header: bytes, status: int
) -> None:
    response = post(client, auth, notes, header + b"x,1\n", CSV)
    body = problem(response, status)
    if status == 422:
        assert body["field"] == "shoe_size"
    assert count(client, auth, notes) == 0


def test_an_unknown_csv_column_is_named(client: TestClient, auth: dict[str, str], notes: str) -> None:
    body = problem(post(client, auth, notes, b"title,shoe_size\nx,44\n", CSV), 422)
    assert body["field"] == "shoe_size"


def test_an_empty_csv_body_is_refused(client: TestClient, auth: dict[str, str], notes: str) -> None:
    problem(post(client, auth, notes, b"", CSV), 400)


def test_a_csv_body_that_is_not_utf8_is_refused(client: TestClient, auth: dict[str, str], notes: str) -> None:
    problem(post(client, auth, notes, "title\ncafé\n".encode("latin-1"), CSV), 400)
    assert count(client, auth, notes) == 0


def test_a_nul_character_in_a_csv_cell_is_refused(client: TestClient, auth: dict[str, str], notes: str) -> None:
    body = problem(post(client, auth, notes, b"title\nok\nbad\x00cell\n", CSV), 422)
    assert (body["index"], body["field"]) == (1, "title")


def test_csv_on_conflict_comes_from_the_query_string(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(
        client,
        auth,
        {"columns": [{"name": "k", "type": "text"}, {"name": "v", "type": "integer"}], "primary_key": ["k"]},
    )
    post(client, auth, url, b"k,v\na,1\nb,2\n", CSV)

    problem(post(client, auth, url, b"k,v\na,9\n", CSV), 409)
    assert post(client, auth, url, b"k,v\na,9\nc,3\n", CSV, on_conflict="ignore").json() == {
        "inserted": 1,
        "updated": 0,
        "ignored": 1,
    }
    assert post(client, auth, url, b"k,v\na,10\n", CSV, on_conflict="update").json()["updated"] == 1
    assert {r["k"]: r["v"] for r in rows(client, auth, url, sort="k")} == {"a": 10, "b": 2, "c": 3}


def test_a_large_csv_load_arrives_whole(client: TestClient, auth: dict[str, str], notes: str) -> None:
    lines = ["title,n,body"] + [f'row {i},{i},"text, with comma {i}"' for i in range(5000)]

    response = post(client, auth, notes, ("\n".join(lines) + "\n").encode(), CSV)

    assert response.json()["inserted"] == 5000
    assert count(client, auth, notes) == 5000
    last = client.get(f"{notes}/records", params={"n": "eq:4999"}, headers=auth).json()["items"][0]
    assert last["body"] == "text, with comma 4999"


def test_a_content_type_with_parameters_is_understood(client: TestClient, auth: dict[str, str], notes: str) -> None:
    assert post(client, auth, notes, b"title\nx\n", "text/csv; charset=utf-8; header=present").status_code == 201


# -- NDJSON -----------------------------------------------------------------------------------------


def test_an_ndjson_body_is_loaded_line_by_line(client: TestClient, auth: dict[str, str], notes: str) -> None:
    body = b'{"title": "a", "n": 1}\n\n{"title": "b", "body": null, "amount": 0.1}\r\n{"title": "c"}'

    response = post(client, auth, notes, body, NDJSON)

    assert response.status_code == 201, response.text
    assert response.json()["inserted"] == 3
    loaded = rows(client, auth, notes)
    assert [(r["title"], r["n"]) for r in loaded] == [("a", 1), ("b", None), ("c", None)]
    assert str(loaded[1]["amount"]) == "0.1"


def test_a_bad_ndjson_value_rejects_the_load_naming_index_and_field(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    body = b'{"title": "a"}\n{"title": "b"}\n{"title": "c", "n": "x"}\n'

    problem_body = problem(post(client, auth, notes, body, NDJSON), 422)

    assert (problem_body["index"], problem_body["field"]) == (2, "n")
    assert count(client, auth, notes) == 0


@pytest.mark.parametrize(
    ("body", "index"),
    [
        (b'{"title": "a"}\n{"title": \n', 1),
        (b'{"title": "a"}\n[1, 2]\n', 1),
        (b'"just a string"\n', 0),
        (b'{"title": "a"} {"title": "b"}\n', 0),
    ],
)
def test_a_malformed_ndjson_line_is_400_with_its_index(
    client: TestClient, auth: dict[str, str], notes: str, body: bytes, index: int
) -> None:
    problem_body = problem(post(client, auth, notes, body, NDJSON), 400)
    assert problem_body["index"] == index
    assert count(client, auth, notes) == 0


def test_ndjson_on_conflict_comes_from_the_query_string(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth, {"columns": [{"name": "k", "type": "text"}], "primary_key": ["k"]})
    post(client, auth, url, b'{"k": "a"}\n', NDJSON)
    assert post(client, auth, url, b'{"k": "a"}\n{"k": "b"}\n', NDJSON, on_conflict="ignore").json()["ignored"] == 1


# -- media types ------------------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", ["text/plain", "application/xml", "multipart/form-data", "application/csv"])
def test_an_unsupported_content_type_is_415(
    client: TestClient, auth: dict[str, str], notes: str, media_type: str
) -> None:
    problem(post(client, auth, notes, b"title\nx\n", media_type), 415)
    assert count(client, auth, notes) == 0


def test_a_graph_dataset_takes_no_csv_and_only_graph_ndjson(client: TestClient, auth: dict[str, str]) -> None:
    """Graph NDJSON (issue 14) is the lines the graph export writes: a tabular record line is no node."""
    url = graph(client, auth)
    problem(post(client, auth, url, b"id\na\n", CSV), 415)
    assert problem(post(client, auth, url, b'{"id": "a"}\n', NDJSON), 422)["field"] == "line 1.kind"


def test_a_csv_export_loads_back_as_it_was_and_older_boolean_spellings_still_load(
    client: TestClient, auth: dict[str, str]
) -> None:
    """Issue 13: CSV exports write true/false and RFC 3339 `Z` timestamps; a CSV load takes them
    back unchanged, and still takes t/f, yes/no, on/off, y/n and 1/0 (any case)."""
    schema = {"columns": [{"name": "ok", "type": "boolean"}, {"name": "at", "type": "timestamp"}]}
    source = tabular(client, auth, schema)
    stamps = ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.500000Z"]
    written = client.post(
        f"{source}/records",
        json={"records": [{"ok": True, "at": stamps[0]}, {"ok": False, "at": stamps[1]}, {"ok": None, "at": None}]},
        headers=auth,
    )
    assert written.status_code == 201, written.text
    exported = client.get(f"{source}/export", params={"select": "ok,at", "sort": "id"}, headers=auth).text
    assert exported == f"ok,at\ntrue,{stamps[0]}\nfalse,{stamps[1]}\n,\n"

    copy = tabular(client, auth, schema)
    assert post(client, auth, copy, exported.encode(), CSV).status_code == 201
    assert rows(client, auth, copy) == rows(client, auth, source)

    spellings = ["t", "f", "TRUE", "False", "yes", "no", "on", "off", "y", "n", "1", "0"]
    body = ("ok\n" + "\n".join(spellings) + "\n").encode()
    assert post(client, auth, copy, body, CSV).status_code == 201
    assert [r["ok"] for r in rows(client, auth, copy)][3:] == [True, False] * 6


# -- JSON: a value met after the first rows were taken ----------------------------------------------


def test_a_late_numeric_text_the_domain_refuses_names_its_index_and_keeps_nothing(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    records: list[dict[str, Any]] = [{"title": f"t{i}", "amount": i / 4} for i in range(12_000)]
    records[11_000]["amount"] = "1_000"  # read as numeric text by the domain: refused

    body = problem(client.post(f"{notes}/records", json={"records": records}, headers=auth), 422)

    assert (body["index"], body["field"]) == (11_000, "amount")
    assert count(client, auth, notes) == 0


def test_a_late_numeric_text_the_domain_takes_is_stored_with_the_rest(
    client: TestClient, auth: dict[str, str], notes: str
) -> None:
    records: list[dict[str, Any]] = [{"title": f"t{i}", "amount": 1.5} for i in range(12_000)]
    records[11_000]["amount"] = "2.50"

    response = client.post(f"{notes}/records", json=records, headers=auth)

    assert response.status_code == 201, response.text
    assert response.json()["inserted"] == 12_000
    page = client.get(f"{notes}/records", params={"amount": "eq:2.50", "limit": 10}, headers=auth).json()
    assert [r["title"] for r in page["items"]] == ["t11000"]
