"""TabularStore.insert_csv: a CSV body written exactly as insert_records writes the typed records it
stands for, on every adapter (PostgreSQL streams it into COPY; these tests hold it to the domain's
grammar, errors and all-or-nothing)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from datainfra.domain.errors import Conflict, InvalidInput, InvalidRequest
from datainfra.domain.model import Dataset
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.domain.types import BadValue, FieldType, parse_text
from tests.contract.test_tabular_store_contract import make, rows_of

LINEITEM: dict[str, Any] = {
    "columns": [
        {"name": "orderkey", "type": "integer", "nullable": False},
        {"name": "linenumber", "type": "integer", "nullable": False},
        {"name": "quantity", "type": "numeric"},
        {"name": "price", "type": "numeric"},
        {"name": "discount", "type": "float"},
        {"name": "flag", "type": "text"},
        {"name": "shipdate", "type": "date"},
        {"name": "comment", "type": "text"},
    ],
    "primary_key": ["orderkey", "linenumber"],
}
HEADER = b"orderkey,linenumber,quantity,price,discount,flag,shipdate,comment\n"
TYPES = {
    "columns": [
        {"name": "k", "type": "integer", "nullable": False},
        {"name": "i", "type": "integer"},
        {"name": "f", "type": "float"},
        {"name": "n", "type": "numeric"},
        {"name": "b", "type": "boolean"},
        {"name": "d", "type": "date"},
        {"name": "ts", "type": "timestamp"},
        {"name": "u", "type": "uuid"},
        {"name": "j", "type": "json"},
        {"name": "t", "type": "text"},
    ],
    "primary_key": ["k"],
}


async def pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def load(
    store: Any, dataset: Dataset, body: bytes, policy: OnConflict = OnConflict.ERROR, size: int = 1 << 16
) -> WriteResult:
    result: WriteResult = await store.insert_csv(dataset, pieces(body, size), policy)
    return result


def lineitem_body(count: int, start: int = 1) -> bytes:
    lines = [
        f"{i},{i % 7 + 1},{i % 50}.00,{i * 13 % 100000}.{i % 100:02d},0.0{i % 10},{'RAN'[i % 3]},"
        f"199{i % 8}-0{i % 9 + 1}-1{i % 10},carefully final deposits {i}"
        for i in range(start, start + count)
    ]
    return HEADER + ("\n".join(lines) + "\n").encode()


async def test_a_canonical_body_loads_as_typed_values(tabular_store: Any) -> None:
    dataset = await make(tabular_store, LINEITEM)

    result = await load(tabular_store, dataset, lineitem_body(3000), size=4093)

    assert result == WriteResult(inserted=3000)
    got = await rows_of(tabular_store, dataset)
    assert len(got) == 1000  # one page
    first = got[0]
    assert first == {
        "orderkey": 1,
        "linenumber": 2,
        "quantity": Decimal("1.00"),
        "price": Decimal("13.01"),
        "discount": 0.01,
        "flag": "A",
        "shipdate": dt.date(1991, 2, 11),
        "comment": "carefully final deposits 1",
    }


# Cells in every spelling the domain's grammar takes: stored exactly as parse_text reads them.
SPELLINGS: dict[str, list[str]] = {
    "i": ["0", "-7", "+7", "007", " 42 ", "9223372036854775807", "-9223372036854775808"],
    "f": ["1.5", "-0", "1e-5", ".5", "1.", "2E3", " 3.25 ", "1e-300", "123456789012345678901234567890123456789012"],
    "n": ["1.50", "-0.001", "1e3", "1.5E-7", ".25", " 7 ", "+3.0"],
    "b": ["t", "f", "true", "false", "TRUE", "No", "yes", "y", "n", "on", "off", "1", "0", " t "],
    "d": ["2024-01-02", "0001-01-01", "9999-12-31", " 2024-02-29 "],
    "ts": [
        "2024-01-02T03:04:05Z",
        "2024-01-02 03:04:05.5",
        "2024-01-02T03:04:05+02:00",
        "2024-01-02T03:04",
        "2024-01-02",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "2024-01-02T03:04:05.123456-05:30",
    ],
    "u": [
        "12345678-1234-5678-1234-567812345678",
        "12345678-1234-5678-1234-56781234567A",
        "{12345678-1234-5678-1234-567812345678}",
        "12345678123456781234567812345678",
    ],
    "j": ['"{""a"": [1, 2.50, null]}"', "3", '"""x"""', "true"],
    "t": ["plain", '"quoted, comma"', '"line\nbreak"', '"say ""hi"""', "  padded  ", '""', "ünïcode ✓", "\\.", "\\N"],
}


@pytest.mark.parametrize("name", sorted(SPELLINGS))
async def test_every_spelling_of_the_grammar_is_read_as_the_domain_reads_it(tabular_store: Any, name: str) -> None:
    dataset = await make(tabular_store, TYPES)
    field_type = dataset.tabular_schema.field_types[name]
    cells = SPELLINGS[name]
    body = f"k,{name}\n" + "".join(f"{k},{cell}\n" for k, cell in enumerate(cells))

    assert (await load(tabular_store, dataset, body.encode(), size=7)).inserted == len(cells)

    got = [row[name] for row in await rows_of(tabular_store, dataset)]
    expected = []
    for cell in cells:
        text = cell[1:-1].replace('""', '"') if cell.startswith('"') else cell
        expected.append(parse_text(text, field_type))
    assert got == expected


# What PostgreSQL's own input functions take but the API's grammar refuses.
REFUSED: list[tuple[str, str]] = [
    ("i", "0x1F"),
    ("i", "1_000"),
    ("i", "0o17"),
    ("i", "9223372036854775808"),
    ("f", "NaN"),
    ("f", "Infinity"),
    ("f", "-inf"),
    ("f", "0x10"),
    ("f", "1e400"),
    ("n", "NaN"),
    ("n", "Infinity"),
    ("n", "1_000"),
    ("n", "1e131072"),
    ("b", "tr"),
    ("b", "ye"),
    ("b", "of"),
    ("d", "infinity"),
    ("d", "epoch"),
    ("d", "today"),
    ("d", "Jan 2 2024"),
    ("d", "20240102"),
    ("d", "01/02/2024"),
    ("d", "2024-01-02 BC"),
    ("d", "10000-01-01"),
    ("d", "2024-13-01"),
    ("d", "2024-02-30"),
    ("d", "0000-01-01"),
    ("ts", "epoch"),
    ("ts", "infinity"),
    ("ts", "now"),
    ("ts", "2024-01-02 03:04:05 PST"),
    ("ts", "9999-12-31T23:00:00-05:00"),
    ("ts", "2024-01-02T25:00:00"),
    ("u", "not-a-uuid"),
    ("j", '"{""a"": NaN}"'),
    ("j", "[" * 70 + "]" * 70),
    ("t", '"a\x00b"'),
]


@pytest.mark.parametrize(("name", "cell"), REFUSED)
async def test_what_only_postgresql_reads_is_refused_naming_index_and_field(
    tabular_store: Any, name: str, cell: str
) -> None:
    dataset = await make(tabular_store, TYPES, [{"k": 100, "t": "kept"}])
    body = f"k,{name}\n1,\n2,\n3,{cell}\n4,\n"

    with pytest.raises(InvalidInput) as caught:
        await load(tabular_store, dataset, body.encode())

    assert (caught.value.index, caught.value.field) == (2, name)
    text = cell[1:-1].replace('""', '"') if cell.startswith('"') else cell
    with pytest.raises(BadValue) as reason:
        parse_text(text, dataset.tabular_schema.field_types[name])
    assert str(reason.value) in caught.value.detail
    assert [row["k"] for row in await rows_of(tabular_store, dataset)] == [100]


async def test_a_failure_deep_in_a_long_body_keeps_nothing(tabular_store: Any) -> None:
    dataset = await make(tabular_store, LINEITEM)
    body = lineitem_body(20_000) + b"99999,1,1,1,1,x,2024-02-30,late\n"

    with pytest.raises(InvalidInput) as caught:
        await load(tabular_store, dataset, body, size=8191)

    assert (caught.value.index, caught.value.field) == (20_000, "shipdate")
    assert "2024-02-30" in caught.value.detail
    assert await tabular_store.count(dataset) == 0


async def test_indexes_count_records_not_lines_after_quoted_line_breaks_and_blank_lines(tabular_store: Any) -> None:
    dataset = await make(tabular_store, LINEITEM)
    body = HEADER + b'1,1,1,1,1,A,2024-01-01,"two\nlines"\n\n2,1,1,1,1,A,2024-01-01,x\r\n3,1,1,1,1,A,2024-01-32,y\n'

    with pytest.raises(InvalidInput) as caught:
        await load(tabular_store, dataset, body, size=5)

    assert (caught.value.index, caught.value.field) == (2, "shipdate")


async def test_the_first_wrong_record_is_named_whoever_finds_it(tabular_store: Any) -> None:
    """Record 1 is wrong in a way only PostgreSQL checks (a month 13, canonical in form), record 3 in
    one the grammar check finds before sending it: record 1 is named, as in the body."""
    dataset = await make(tabular_store, LINEITEM)
    body = HEADER + b"1,1,,,,,2024-01-01,\n2,1,,,,,2024-13-01,\n3,1,,,,,,\n4,1,,,,,epoch,\n"

    with pytest.raises(InvalidInput) as caught:
        await load(tabular_store, dataset, body)

    assert (caught.value.index, caught.value.field) == (1, "shipdate")
    assert await tabular_store.count(dataset) == 0


async def test_a_null_in_a_required_column_names_index_and_field(tabular_store: Any) -> None:
    dataset = await make(tabular_store, LINEITEM)

    with pytest.raises(InvalidInput) as caught:
        await load(tabular_store, dataset, HEADER + b"1,1,,,,,,\n2,,,,,,,\n")

    assert (caught.value.index, caught.value.field) == (1, "linenumber")
    assert await tabular_store.count(dataset) == 0


async def test_a_key_clash_is_a_conflict_naming_the_record(tabular_store: Any) -> None:
    dataset = await make(tabular_store, LINEITEM, [{"orderkey": 5, "linenumber": 1}])

    with pytest.raises(Conflict) as caught:
        await load(tabular_store, dataset, HEADER + b"4,1,,,,,,\n5,1,,,,,,\n")

    assert caught.value.index == 1
    assert {k: str(v) for k, v in (caught.value.key or {}).items()} == {"orderkey": "5", "linenumber": "1"}
    assert await tabular_store.count(dataset) == 1


@pytest.mark.parametrize("policy", list(OnConflict))
async def test_a_required_field_with_a_default_may_be_left_out_of_the_header(
    tabular_store: Any, policy: OnConflict
) -> None:
    schema = {
        "columns": [
            {"name": "k", "type": "integer", "nullable": False},
            {"name": "v", "type": "text", "nullable": False, "default": "x"},
        ],
        "primary_key": ["k"],
    }
    dataset = await make(tabular_store, schema)

    assert await load(tabular_store, dataset, b"k\n1\n2\n", policy) == WriteResult(inserted=2)

    assert await rows_of(tabular_store, dataset) == [{"k": 1, "v": "x"}, {"k": 2, "v": "x"}]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"orderkey,linenumber,shoe_size\n1,1,44\n", InvalidInput, "shoe_size"),
        (b"orderkey,comment\n1,x\n", InvalidInput, "linenumber"),
        (b"orderkey,orderkey\n1,1\n", InvalidRequest, None),
        (b"", InvalidRequest, None),
        (b"orderkey,linenumber\n1,1\n2\n", InvalidRequest, None),
        (b'orderkey,linenumber\n1,1\n2,"2\n', InvalidRequest, None),
        (b"orderkey,linenumber\n1,1\n2,\xe9\n", InvalidRequest, None),
    ],
)
async def test_header_and_shape_problems_are_refused(
    tabular_store: Any, body: bytes, status: type[Exception], field: str | None
) -> None:
    dataset = await make(tabular_store, LINEITEM)

    with pytest.raises(status) as caught:
        await load(tabular_store, dataset, body)

    if field is not None:
        assert getattr(caught.value, "field", None) == field
    assert await tabular_store.count(dataset) == 0


async def test_header_only_bom_crlf_and_a_missing_final_line_break(tabular_store: Any) -> None:
    dataset = await make(tabular_store, LINEITEM)
    assert (await load(tabular_store, dataset, b"orderkey,linenumber\r\n")).inserted == 0

    body = b"\xef\xbb\xbf\n" + HEADER.replace(b"\n", b"\r\n") + b"1,1,,,,,,x\r\n2,1,,,,,,y"
    assert (await load(tabular_store, dataset, body, size=2)).inserted == 2

    assert [row["comment"] for row in await rows_of(tabular_store, dataset)] == ["x", "y"]


async def test_on_conflict_update_and_ignore(tabular_store: Any) -> None:
    dataset = await make(tabular_store, LINEITEM, [{"orderkey": 1, "linenumber": 1, "comment": "old"}])
    body = HEADER + b"1,1,,,,,,new\n2,1,,,,,,two\n2,1,,,,,,last wins\n"

    assert await load(tabular_store, dataset, body, OnConflict.UPDATE) == WriteResult(inserted=1, updated=2)
    assert [r["comment"] for r in await rows_of(tabular_store, dataset)] == ["new", "last wins"]

    body = HEADER + b"1,1,,,,,,ignored\n3,1,,,,,,three\n"
    assert await load(tabular_store, dataset, body, OnConflict.IGNORE) == WriteResult(inserted=1, ignored=1)
    assert [r["comment"] for r in await rows_of(tabular_store, dataset)] == ["new", "last wins", "three"]


async def test_an_upsert_that_fails_keeps_nothing(tabular_store: Any) -> None:
    dataset = await make(tabular_store, LINEITEM, [{"orderkey": 1, "linenumber": 1, "comment": "old"}])
    body = HEADER + b"1,1,,,,,,new\n2,,,,,,,\n"

    with pytest.raises(InvalidInput) as caught:
        await load(tabular_store, dataset, body, OnConflict.UPDATE)

    assert (caught.value.index, caught.value.field) == (1, "linenumber")
    assert [r["comment"] for r in await rows_of(tabular_store, dataset)] == ["old"]


async def test_the_generated_key_may_be_given_and_moves_the_counter(tabular_store: Any) -> None:
    dataset = await make(tabular_store, {"columns": [{"name": "t", "type": "text"}]})

    assert (await load(tabular_store, dataset, b"id,t\n10,a\n,b\n")).inserted == 2
    assert (await load(tabular_store, dataset, b"t\nc\n")).inserted == 1

    ids = {row["t"]: row["id"] for row in await rows_of(tabular_store, dataset)}
    assert ids["a"] == 10
    assert ids["c"] > 10


async def test_a_single_text_column_keeps_blank_lines_out_and_end_markers_in(tabular_store: Any) -> None:
    dataset = await make(tabular_store, {"columns": [{"name": "t", "type": "text"}]})

    assert (await load(tabular_store, dataset, b"t\na\n\n\\.\nb\n")).inserted == 3

    assert [r["t"] for r in await rows_of(tabular_store, dataset)] == ["a", "\\.", "b"]


def test_the_refused_cells_are_refused_by_the_domain() -> None:
    """The table above is about the domain's grammar: each cell is one parse_text refuses."""
    for name, cell in REFUSED:
        field_type = FieldType(next(c["type"] for c in TYPES["columns"] if c["name"] == name))
        text = cell[1:-1].replace('""', '"') if cell.startswith('"') else cell
        with pytest.raises(BadValue):
            parse_text(text, field_type)
    assert parse_text("12345678-1234-5678-1234-567812345678", FieldType.UUID) == uuid.UUID(
        "12345678-1234-5678-1234-567812345678"
    )
