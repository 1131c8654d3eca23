"""Property tests for the text formats clients write: CSV records (RFC 4180 with PostgreSQL's NULL
rule) and the `field=op:value` filter syntax with its quoted lists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from datainfra.adapters.http.bodies import csv_rows, parse_csv_record
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import Condition, IsValue, Operator, filter_term, quote_list, split_list
from datainfra.domain.filters import parse_condition as parse_term
from datainfra.domain.types import INT64_MAX, INT64_MIN, FieldType

# -- a reference CSV writer ------------------------------------------------------------------------


def write_cell(value: str | None, *, always_quote: bool = False) -> str:
    """RFC 4180 quoting; None is an unquoted empty cell, "" a quoted one."""
    if value is None:
        return ""
    if always_quote or value == "" or any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_record(cells: Sequence[str | None], *, always_quote: bool = False) -> str:
    return ",".join(write_cell(cell, always_quote=always_quote) for cell in cells)


def write_csv(header: Sequence[str], rows: Sequence[Sequence[str | None]], newline: str = "\n") -> str:
    lines = [write_record(header)] + [write_record(row) for row in rows]
    return newline.join(lines) + newline


# Text without NUL; surrogates cannot be encoded as UTF-8 on the wire.
cell_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
no_cr_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=20)
cells = st.lists(st.none() | cell_text, min_size=1, max_size=8)


@given(cells, st.booleans())
@example([None], False)
@example([""], False)
@example([None, None], False)
@example(['"'], False)
@example(["a,b", 'say "hi"', "multi\nline", "cr\r\nlf"], False)
def test_parsing_a_written_record_gives_back_its_cells(row: list[str | None], always_quote: bool) -> None:
    assert parse_csv_record(write_record(row, always_quote=always_quote), 0) == row


@given(st.lists(no_cr_text.filter(lambda s: s != "" and not any(ch in s for ch in ',"\n')), min_size=1))
def test_unquoted_cells_are_taken_verbatim(row: list[str]) -> None:
    assert parse_csv_record(",".join(row), 0) == row


@pytest.mark.parametrize(
    "text",
    ['"unterminated', '"a"b', 'a"b', '"a""', 'x,"y"z', '""x'],
)
def test_a_malformed_record_is_refused_with_its_index(text: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_csv_record(text, 7)
    assert raised.value.index == 7


# -- whole bodies, streamed in arbitrary chunks -------------------------------------------------------


async def _chunks(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}):
        yield data[start:cut]
        start = cut
    yield data[start:]


def _parse_body(data: bytes, cuts: list[int]) -> list[dict[str, str | None]]:
    async def collect() -> list[dict[str, str | None]]:
        return [row async for row in csv_rows(_chunks(data, cuts))]

    return asyncio.run(collect())


header_names = st.lists(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), min_size=2, max_size=5, unique=True
)


@st.composite
def tables(draw: st.DrawFn, text: st.SearchStrategy[str]) -> tuple[list[str], list[list[str | None]]]:
    header = draw(header_names)
    rows = draw(st.lists(st.lists(st.none() | text, min_size=len(header), max_size=len(header)), max_size=6))
    return header, rows


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(tables(no_cr_text), st.sampled_from(["\n", "\r\n"]), st.booleans(), st.lists(st.integers(0, 10_000)))
def test_a_written_body_reads_back_row_by_row_however_it_is_chunked(
    table: tuple[list[str], list[list[str | None]]], newline: str, bom: bool, cuts: list[int]
) -> None:
    header, rows = table
    data = (("\ufeff" if bom else "") + write_csv(header, rows, newline)).encode()

    parsed = _parse_body(data, cuts)

    assert parsed == [dict(zip(header, row, strict=True)) for row in rows]


def test_a_crlf_inside_a_quoted_field_survives_a_whole_body() -> None:
    data = write_csv(["a", "b"], [["line one\r\nline two", "x"]], "\r\n").encode()
    assert _parse_body(data, []) == [{"a": "line one\r\nline two", "b": "x"}]


def test_a_body_without_a_final_line_break_keeps_its_last_row() -> None:
    assert _parse_body(b"a,b\n1,2", []) == [{"a": "1", "b": "2"}]


def test_a_multibyte_character_split_across_chunks_is_decoded() -> None:
    data = "a,b\nü,€\n".encode()
    for cut in range(len(data)):
        assert _parse_body(data, [cut]) == [{"a": "ü", "b": "€"}]


def test_a_row_with_the_wrong_number_of_cells_is_refused_with_its_index() -> None:
    with pytest.raises(InvalidRequest) as raised:
        _parse_body(b"a,b\n1,2\n3\n", [])
    assert raised.value.index == 1


# -- filter lists ----------------------------------------------------------------------------------

list_items = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=10), max_size=8)


@given(list_items)
@example([])
@example([""])
@example(["", ""])
@example(['"quoted"', "back\\slash", "a,b"])
def test_split_list_reverses_quote_list(items: list[str]) -> None:
    assert split_list(quote_list(items), "p") == items


@given(st.lists(st.from_regex(r"[A-Za-z0-9 _.:-]+", fullmatch=True), min_size=1, max_size=8))
def test_plain_items_need_no_quoting(items: list[str]) -> None:
    assert quote_list(items) == ",".join(items)
    assert split_list(",".join(items), "p") == items


@pytest.mark.parametrize("text", ['"open', '"a"b', '"a",b,"c'])
def test_a_malformed_list_names_its_parameter(text: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        split_list(text, "tags")
    assert raised.value.parameter == "tags"


# -- parse_condition ---------------------------------------------------------------------------------


def parse_condition(key: str, raw: str, types: Any, *, open_fields: bool = False) -> Condition:
    """A query parameter `key=raw` read as the edge reads it, then typed as the service types it."""
    return parse_term(filter_term(key, raw), types, open_fields=open_fields)


TYPES = {"age": FieldType.INTEGER, "name": FieldType.TEXT, "ok": FieldType.BOOLEAN, "doc": FieldType.JSON}
comparisons = st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"])
text_values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)


@given(comparisons, st.integers(INT64_MIN, INT64_MAX))
def test_an_integer_condition_parses_to_its_value(op: str, value: int) -> None:
    assert parse_condition("age", f"{op}:{value}", TYPES) == Condition("age", Operator(op), value, FieldType.INTEGER)


@given(comparisons, st.integers(min_value=INT64_MAX + 1) | st.integers(max_value=INT64_MIN - 1))
def test_an_integer_beyond_64_bits_is_refused_naming_the_parameter(op: str, value: int) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_condition("age", f"{op}:{value}", TYPES)
    assert raised.value.parameter == "age"


@given(comparisons, text_values)
def test_a_text_value_is_everything_after_the_first_colon(op: str, value: str) -> None:
    condition = parse_condition("name", f"{op}:{value}", TYPES)
    assert (condition.op, condition.value) == (Operator(op), value)


@given(st.sampled_from(["in", "nin"]), st.lists(text_values, max_size=6))
def test_an_in_list_of_text_round_trips_through_quote_list(op: str, items: list[str]) -> None:
    condition = parse_condition("name", f"{op}:{quote_list(items)}", TYPES)
    assert condition.value == tuple(items)


@given(st.lists(st.integers(INT64_MIN, INT64_MAX), min_size=1, max_size=6))
def test_an_in_list_of_integers_is_typed(items: list[int]) -> None:
    assert parse_condition("age", "in:" + ",".join(map(str, items)), TYPES).value == tuple(items)


@given(st.text(max_size=10).filter(lambda s: s not in {o.value for o in Operator}), text_values)
def test_an_unknown_operator_is_refused_naming_the_parameter(op: str, value: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_condition("name", f"{op.replace(':', '')}:{value}", TYPES)
    assert raised.value.parameter == "name"


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).filter(lambda f: f not in TYPES))
def test_an_unknown_field_is_refused_unless_fields_are_open(field: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_condition(field, "eq:1", TYPES)
    assert raised.value.parameter == field
    assert parse_condition(field, "eq:1", TYPES, open_fields=True).value == 1


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("is:null", IsValue.NULL),
        ("is:notnull", IsValue.NOTNULL),
        ("is:true", IsValue.TRUE),
        ("is:false", IsValue.FALSE),
    ],
)
def test_is_takes_null_notnull_true_and_false(raw: str, value: IsValue) -> None:
    assert parse_condition("ok", raw, TYPES).value is value


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("age", "is:true"),
        ("ok", "is:maybe"),
        ("age", "gt"),
        ("age", "gt:"),
        ("age", "like:1%"),
        ("doc", "eq:{}"),
        ("name", "eq:nul\x00"),
        ("name", "like:nul\x00"),
        ("age", 'in:"1'),
    ],
)
def test_a_malformed_condition_is_refused_naming_the_parameter(key: str, raw: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_condition(key, raw, TYPES)
    assert raised.value.parameter == key


def test_a_where_prefix_names_the_field_and_keeps_the_parameter() -> None:
    assert parse_condition("where.age", "gt:3", TYPES).field == "age"
    with pytest.raises(InvalidRequest) as raised:
        parse_condition("where.age", "gt:x", TYPES)
    assert raised.value.parameter == "where.age"
