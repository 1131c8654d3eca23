"""The typed JSON/NDJSON decoders (adapters/http/typed_records.py) against the generic path: for any
body, either both give the same typed records, or the typed decoder declines (and the generic path
decides, with its own errors)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datainfra.adapters.http.bodies import typed_ndjson_rows
from datainfra.adapters.http.encoding import decode_json
from datainfra.adapters.http.typed_records import Declined, typed_json
from datainfra.domain.errors import DomainError, InvalidRequest
from datainfra.domain.records import Record, RecordRows
from datainfra.domain.tabular_schema import TabularSchema, parse_tabular_schema
from tests.support.hypothesis_budget import examples

SCHEMA = parse_tabular_schema(
    {
        "columns": [
            {"name": "t", "type": "text", "nullable": False},
            {"name": "i", "type": "integer"},
            {"name": "f", "type": "float"},
            {"name": "n", "type": "numeric"},
            {"name": "b", "type": "boolean", "default": True},
            {"name": "d", "type": "date"},
            {"name": "ts", "type": "timestamp"},
            {"name": "u", "type": "uuid"},
            {"name": "j", "type": "json", "default": {"k": [1]}},
        ]
    }
)
KEYED = parse_tabular_schema(
    {"columns": [{"name": "k", "type": "integer"}, {"name": "v", "type": "numeric", "nullable": False}]}
)

# Values of every JSON kind, including the spellings where the two readers could differ.
TEXTS = st.sampled_from(
    [
        "2024-01-02",
        " 2024-01-02",
        "2024-1-2",
        "0000-01-01",
        "1.5",
        "1_000",
        "NaN",
        "Infinity",
        " 7 ",
        "١٢",
        "2024-01-02T03:04:05Z",
        "2024-01-02 03:04:05+05:30",
        "9999-12-31T23:00:00-05:00",
        "12345678-1234-5678-1234-567812345678",
        "{12345678-1234-5678-1234-567812345678}",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
        "a\x00b",
        "",
        "true",
    ]
) | st.text(max_size=5)
NUMBERS = st.sampled_from(
    [
        *("0", "-0", "1", "1.0", "1.50", "1e3", "1E-2", "-12.5e+2", "9223372036854775807", "9223372036854775808"),
        *("1e400", "1e-400", "123456789012345678901234567890", "0.1", "1e131072"),
    ]
)
RAW_VALUES = st.one_of(
    st.just("null"),
    st.just("true"),
    st.just("false"),
    NUMBERS,
    TEXTS.map(lambda t: msgspec.json.encode(t).decode()),
    st.just('{"x": [0.1, 2, null]}'),
    st.just("[]"),
)


def record_text(fields: dict[str, str]) -> str:
    return "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"


RECORDS = st.lists(
    st.dictionaries(st.sampled_from(["t", "i", "f", "n", "b", "d", "ts", "u", "j", "zz"]), RAW_VALUES, max_size=9)
    .map(record_text)
    .map(lambda r: r if '"t"' in r else r.replace("{", '{"t": "x", ', 1).replace(", }", "}")),
    max_size=4,
)


_generic = msgspec.json.Decoder(float_hook=Decimal)


def typed_records(schema: TabularSchema, body: bytes) -> tuple[list[Record], str | None] | None:
    """typed_json's rows as the records they stand for."""
    typed = typed_json(schema, body)
    if typed is None:
        return None
    try:
        return [record for rows in typed[0] for record in rows.records()], typed[1]
    except Declined:  # met while the rows are taken: the generic path decides
        return None


async def ndjson_records(schema: TabularSchema, chunks: AsyncIterator[bytes]) -> list[Record]:
    """typed_ndjson_rows' records and rows, as records in order."""
    records: list[Record] = []
    async for item in typed_ndjson_rows(schema, chunks):
        records.extend(item.records() if isinstance(item, RecordRows) else [item])
    return records


def generic(schema: TabularSchema, body: bytes) -> list[dict[str, Any]] | None:
    try:
        records = _generic.decode(body)
        if isinstance(records, dict):
            records = records["records"]
        return [schema.coerce_record(r, i, fill_defaults=True) for i, r in enumerate(records)]
    except DomainError:
        return None


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (1 == 1.0 == True would hide a difference)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal):
        return str(a) == str(b)
    return bool(a == b)


@given(RECORDS)
@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_typed_json_body_is_what_the_generic_path_makes_of_it(records: list[str]) -> None:
    body = ("[" + ", ".join(records) + "]").encode()

    typed = typed_records(SCHEMA, body)
    expected = generic(SCHEMA, body)

    if typed is not None:
        assert expected is not None, body
        assert same(typed[0], expected), body


@given(RECORDS, st.integers(1, 80), st.booleans())
@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_typed_ndjson_lines_are_what_the_generic_path_makes_of_them(records: list[str], size: int, crlf: bool) -> None:
    body = ("\r\n" if crlf else "\n").join(records).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start : start + size]

    async def read() -> list[dict[str, Any]]:
        return await ndjson_records(SCHEMA, chunks())

    expected = generic(SCHEMA, ("[" + ", ".join(records) + "]").encode())
    try:
        typed = asyncio.run(read())
    except DomainError:
        assert expected is None, body
        return
    assert expected is not None and same(typed, expected), body


def test_the_common_body_takes_the_typed_path_with_its_on_conflict() -> None:
    body = b'{"records": [{"t": "a", "n": 1.50, "ts": "2024-01-02T03:04:05+01:00", "j": {"x": 0.1}}], '
    body += b'"on_conflict": "update"}'

    typed = typed_records(SCHEMA, body)

    assert typed is not None
    records, on_conflict = typed
    assert on_conflict == "update"
    assert str(records[0]["n"]) == "1.50"
    assert records[0]["j"] == {"x": Decimal("0.1")}
    assert records[0]["b"] is True and records[0]["i"] is None


@pytest.mark.parametrize(
    "body",
    [
        b'[{"t": "a\\u0000"}]',
        b'[{"t": "a", "zz": 1}]',
        b'[{"i": 1}]',
        b'[{"t": null}]',
        b'[{"t": "a", "i": 1e3}]',
        b'[{"t": "a", "n": "1_000"}]',
        b'[{"t": "a", "n": "NaN"}]',
        b'[{"t": "a", "n": 1e131072}]',
        b'[{"t": "a", "n": 1e-16384}]',
        b'[{"t": "a", "n": 0.' + b"0" * 16384 + b"1}]",
        b'[{"t": "a", "d": " 2024-01-02"}]',
        b'{"records": [], "on_conflict": "merge"}',
        b"[1]",
    ],
)
def test_what_the_typed_decoder_cannot_vouch_for_goes_the_generic_way(body: bytes) -> None:
    assert typed_records(SCHEMA, body) is None


def test_the_generated_key_stays_absent_unless_given() -> None:
    schema = parse_tabular_schema({"columns": [{"name": "t", "type": "text"}]})

    absent = typed_records(schema, b'[{"t": "a"}, {"t": "b"}]')
    given = typed_records(schema, b'[{"id": 6, "t": "a"}, {"id": 7, "t": "b"}]')

    assert absent == ([{"t": "a"}, {"t": "b"}], None)
    assert given == ([{"id": 6, "t": "a"}, {"id": 7, "t": "b"}], None)
    assert typed_json(schema, b'[{"t": "a"}, {"id": 7, "t": "b"}]') is None  # mixed: the generic path


def test_a_required_numeric_null_goes_the_generic_way() -> None:
    assert typed_records(KEYED, b'[{"k": 1, "v": null}]') is None
    assert typed_records(KEYED, b'[{"k": 1, "v": 2}]') == ([{"k": 1, "v": Decimal(2)}], None)


def test_numbers_typed_in_c_are_the_domain_s_numbers() -> None:
    typed = typed_records(KEYED, b'[{"k": 1, "v": -0}, {"k": 2, "v": -0.0}, {"k": 3, "v": 1.50}, {"k": 4, "v": 1e3}]')

    assert typed is not None
    assert [str(r["v"]) for r in typed[0]] == ["0", "-0.0", "1.50", "1E+3"]
    assert [str(r["v"]) for r in generic(KEYED, b'[{"v": -0}, {"v": -0.0}, {"v": 1.50}, {"v": 1e3}]') or []] == [
        "0",
        "-0.0",
        "1.50",
        "1E+3",
    ]


@pytest.mark.parametrize("size", [1, 5, 64, 10_000])
def test_an_ndjson_error_names_its_line_whatever_the_chunks(size: int) -> None:
    lines = [b'{"t": "a", "i": %d}' % i for i in range(50)]
    lines[37] = b'{"t": "a", "i": "x"}'
    body = b"\n".join(lines) + b"\n"

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start : start + size]

    async def read() -> list[dict[str, Any]]:
        return await ndjson_records(SCHEMA, chunks())

    with pytest.raises(DomainError) as caught:
        asyncio.run(read())
    assert (caught.value.index, caught.value.field) == (37, "i")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"records": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'[{"k": 1, "v": ' + b"[" * 200 + b"]" * 200 + b"}]",
        b'[{"k": 1, "v": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]",
    ],
)
def test_a_too_deep_body_without_json_columns_goes_the_generic_way(body: bytes) -> None:
    """Without a json column the body's depth is not measured first: msgspec refuses a nested record
    or raw value (a type error or its RecursionError), and the generic path measures and names it."""
    assert typed_records(KEYED, body) is None
    with pytest.raises(InvalidRequest, match="levels deep"):
        decode_json(body)  # what the route does next


def test_a_too_deep_json_value_is_still_refused_by_name() -> None:
    with pytest.raises(InvalidRequest, match="levels deep"):
        typed_json(SCHEMA, b'[{"t": "a", "j": ' + b"[" * 200 + b"]" * 200 + b"}]")


def test_a_null_where_a_default_stands_in_goes_the_generic_way() -> None:
    """A NOT NULL column with a default may be left out, not given null: the generic path names it."""
    schema = parse_tabular_schema(
        {
            "columns": [
                {"name": "k", "type": "integer"},
                {"name": "c", "type": "text", "nullable": False, "default": "x"},
            ]
        }
    )

    assert typed_records(schema, b'[{"k": 1}]') == ([{"k": 1, "c": "x"}], None)
    assert typed_json(schema, b'[{"k": 1}, {"k": 2, "c": null}]') is None
