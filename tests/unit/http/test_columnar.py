"""Parquet and Arrow IPC stream through the API (in-memory stores): exports read back by pyarrow with
their types, filters/select/sort applied; uploads round trip, match columns by name, name the
column and row at fault, honour on_conflict, and refuse broken files with a 4xx."""

from __future__ import annotations

import datetime as dt
import io
import random
import uuid
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from litestar.testing import TestClient

from datainfra.adapters.http.formats.columnar import csv_blocks, record_end
from tests.unit.http.api import create_dataset, create_session, dataset_url, problem, write
from tests.unit.http.test_exports import ROWS, TYPES_SCHEMA, typed_row

PARQUET = "application/vnd.apache.parquet"
ARROW = "application/vnd.apache.arrow.stream"


def read_table(content: bytes, fmt: str) -> pa.Table:
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(content))
    return ipc.open_stream(content).read_all()


def parquet_bytes(table: pa.Table, **options: Any) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **options)
    return out.getvalue()


def arrow_bytes(table: pa.Table) -> bytes:
    out = pa.BufferOutputStream()
    with ipc.new_stream(out, table.schema) as writer:
        writer.write_table(table)
    return bytes(out.getvalue().to_pybytes())


@pytest.fixture
def tabular_url(client: TestClient, auth: dict[str, str]) -> str:
    session_id = create_session(client, auth)
    url = dataset_url(session_id, create_dataset(client, auth, session_id, "things", TYPES_SCHEMA))
    write(client, auth, url, {"records": ROWS})
    return url


def new_dataset(client: TestClient, auth: dict[str, str], url: str, schema: dict[str, Any], name: str) -> str:
    session_id = url.split("/")[2]
    return dataset_url(session_id, create_dataset(client, auth, session_id, name, schema))


@pytest.mark.parametrize(("fmt", "media_type"), [("parquet", PARQUET), ("arrow", ARROW)])
def test_columnar_exports_are_typed_and_read_back_exactly(
    client: TestClient, auth: dict[str, str], tabular_url: str, fmt: str, media_type: str
) -> None:
    response = client.get(f"{tabular_url}/export", params={"format": fmt}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert f'filename="things.{fmt}"' in response.headers["content-disposition"]
    table = read_table(response.content, fmt)
    types = {field.name: field.type for field in table.schema}
    assert types["id"] == pa.int64() and types["i"] == pa.int64() and types["f"] == pa.float64()
    assert types["n"] == pa.decimal128(38, 10)  # the widest scale exported: 1234...1234567890 has 10
    assert types["b"] == pa.bool_() and types["d"] == pa.date32()
    assert types["ts"] == pa.timestamp("us", tz="UTC")
    assert types["t"] == types["j"] == types["u"] == pa.string()
    rows = table.to_pylist()
    for got, source in zip(rows, ROWS, strict=True):
        want = typed_row(source)
        assert {k: got[k] for k in ("t", "i", "f", "n", "b", "d")} == {
            k: want[k] for k in ("t", "i", "f", "n", "b", "d")
        }
        assert got["ts"] == want["ts"]
        assert got["u"] == (None if want["u"] is None else str(want["u"]))
    assert rows[1]["t"] == "" and rows[2]["t"] is None  # empty string and null stay apart
    assert rows[0]["j"] == '{"a": [1, 2.5, "x", null, true], "ü": "\\"q\\""}'  # the JSON text, as CSV has it


def test_columnar_exports_apply_filters_select_and_sort(
    client: TestClient, auth: dict[str, str], tabular_url: str
) -> None:
    params = {"i": "gte:-5", "select": "i,t", "sort": "i:desc", "format": "parquet"}
    table = read_table(client.get(f"{tabular_url}/export", params=params, headers=auth).content, "parquet")
    assert table.column_names == ["i", "t"]
    assert table.to_pylist() == [{"i": 9223372036854775807, "t": ROWS[0]["t"]}, {"i": -5, "t": ""}]


def test_an_empty_columnar_export_has_the_schema(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    for fmt in ("parquet", "arrow"):
        response = client.get(f"{tabular_url}/export", params={"format": fmt, "i": "eq:42"}, headers=auth)
        table = read_table(response.content, fmt)
        assert table.num_rows == 0 and table.schema.field("ts").type == pa.timestamp("us", tz="UTC")


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_columnar_upload_round_trips(client: TestClient, auth: dict[str, str], tabular_url: str, fmt: str) -> None:
    exported = client.get(f"{tabular_url}/export", params={"format": fmt}, headers=auth).content
    copy = new_dataset(client, auth, tabular_url, TYPES_SCHEMA, "copy")
    media_type = PARQUET if fmt == "parquet" else ARROW
    response = client.post(f"{copy}/records", content=exported, headers={**auth, "content-type": media_type})
    assert response.status_code == 201, response.text
    assert response.json() == {"inserted": 3, "updated": 0, "ignored": 0}
    back = client.get(f"{copy}/records", params={"sort": "id"}, headers=auth).json()["items"]
    source = client.get(f"{tabular_url}/records", params={"sort": "id"}, headers=auth).json()["items"]
    for got, want in zip(back, source, strict=True):
        assert {**got, "n": None} == {**want, "n": None}
        assert (got["n"] is None) == (want["n"] is None) or Decimal(str(got["n"])) == Decimal(str(want["n"]))
    again = client.post(f"{copy}/records", content=exported, headers={**auth, "content-type": media_type})
    assert problem(again, 409)
    params = {"on_conflict": "ignore"}
    ignored = client.post(
        f"{copy}/records", content=exported, params=params, headers={**auth, "content-type": media_type}
    )
    assert ignored.json() == {"inserted": 0, "updated": 0, "ignored": 3}


SMALL = {
    "columns": [
        {"name": "k", "type": "integer", "nullable": False},
        {"name": "when", "type": "timestamp"},
        {"name": "note", "type": "text", "default": "none"},
    ],
    "primary_key": ["k"],
}


def upload(client: TestClient, auth: dict[str, str], url: str, table: pa.Table, fmt: str = "parquet") -> Any:
    body = parquet_bytes(table) if fmt == "parquet" else arrow_bytes(table)
    return client.post(
        f"{url}/records", content=body, headers={**auth, "content-type": PARQUET if fmt == "parquet" else ARROW}
    )


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_upload_converts_by_the_documented_rules(
    client: TestClient, auth: dict[str, str], tabular_url: str, fmt: str
) -> None:
    url = new_dataset(client, auth, tabular_url, SMALL, "small")
    table = pa.table(
        {
            "k": pa.array([1, 2], pa.int32()),
            "when": pa.array([dt.datetime(2024, 1, 1, 12), None], pa.timestamp("ns")),  # naive: UTC
        }
    )
    response = upload(client, auth, url, table, fmt)
    assert response.status_code == 201, response.text
    items = client.get(f"{url}/records", params={"sort": "k"}, headers=auth).json()["items"]
    assert items == [
        {"k": 1, "when": "2024-01-01T12:00:00Z", "note": "none"},
        {"k": 2, "when": None, "note": "none"},
    ]


@pytest.mark.parametrize(
    ("table", "status", "field", "index"),
    [
        (pa.table({"k": [1], "zzz": [1]}), 422, "zzz", None),  # unknown column
        (pa.table({"when": [None]}).cast(pa.schema([("when", pa.timestamp("us"))])), 422, "k", None),  # required
        (pa.table({"k": pa.array([1], pa.int64()), "when": pa.array([1], pa.time64("us"))}), 422, "when", None),
        (pa.table({"k": pa.array([1, None], pa.int64())}), 422, "k", 1),  # null where not nullable
        (pa.table({"k": pa.array([1, 2**64 - 1], pa.uint64())}), 422, "k", 1),  # beyond int64
        (pa.table({"k": ["1", "2", "x"]}), 422, "k", 2),  # text read as a CSV cell is
        (pa.table({"k": [1, 2], "note": ["a", "b\x00"]}), 422, "note", 1),  # NUL
        (pa.table({"k": [1], "when": pa.array([1], pa.timestamp("ns"))}), 422, "when", 0),  # nanoseconds
    ],
)
def test_upload_problems_name_the_column_and_row(
    client: TestClient,
    auth: dict[str, str],
    tabular_url: str,
    table: pa.Table,
    status: int,
    field: str,
    index: int | None,
) -> None:
    url = new_dataset(client, auth, tabular_url, SMALL, "small")
    for fmt in ("parquet", "arrow"):
        body = problem(upload(client, auth, url, table, fmt), status)
        assert body["field"] == field, body
        assert body.get("index") == index, body
    assert client.get(f"{url}/records", headers=auth).json()["items"] == []  # all-or-nothing


def test_a_bad_row_in_a_later_batch_keeps_nothing(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    url = new_dataset(client, auth, tabular_url, SMALL, "small")
    keys: list[int | None] = [*range(25_000), None]
    body = problem(upload(client, auth, url, pa.table({"k": pa.array(keys, pa.int64())})), 422)
    assert body["index"] == 25_000 and body["field"] == "k"
    assert client.get(f"{url}/records", headers=auth).json()["items"] == []


def _hostile(table_bytes: bytes, stream_bytes: bytes) -> list[tuple[str, bytes]]:
    huge_metadata = b"\xff\xff\xff\xff" + (2**31 - 1).to_bytes(4, "little") + b"x" * 64
    huge_footer = b"PAR1" + b"x" * 64 + (2**31 - 1).to_bytes(4, "little") + b"PAR1"
    return [
        (PARQUET, b""),
        (PARQUET, b"garbage bytes, not a file"),
        (PARQUET, table_bytes[:-9]),  # truncated footer
        (PARQUET, table_bytes[: len(table_bytes) // 2]),
        (PARQUET, huge_footer),  # a footer claiming 2 GiB
        (PARQUET, stream_bytes),  # an Arrow stream sent as Parquet
        (ARROW, b""),
        (ARROW, b"garbage bytes, not a stream"),
        (ARROW, stream_bytes[:-20]),  # truncated in a message
        (ARROW, stream_bytes[:6]),
        (ARROW, huge_metadata),  # a message claiming 2 GiB of metadata
        (ARROW, table_bytes),  # a Parquet file sent as Arrow
        (ARROW, stream_bytes + b"trailing"),
    ]


def test_broken_files_are_4xx_never_500(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    url = new_dataset(client, auth, tabular_url, SMALL, "small")
    table = pa.table({"k": pa.array(range(100), pa.int64()), "note": ["x" * 10] * 100})
    for media_type, body in _hostile(parquet_bytes(table), arrow_bytes(table)):
        response = client.post(f"{url}/records", content=body, headers={**auth, "content-type": media_type})
        assert 400 <= response.status_code < 500, (media_type, body[:20], response.text)
        problem(response, response.status_code)
    assert client.get(f"{url}/records", headers=auth).json()["items"] == []


def test_record_boundaries_respect_quoted_line_breaks() -> None:
    data = bytearray(b'1,"a\nb"\n2,"c""\n"\n3,x')
    assert record_end(data, first=True) == len(b'1,"a\nb"\n')
    assert record_end(data) == len(b'1,"a\nb"\n2,"c""\n"\n')
    assert record_end(bytearray(b'1,"open\n')) == 0


async def test_csv_blocks_cut_only_between_records() -> None:
    text = b"h1,h2\n" + b"".join(b'%d,"line\nbreak ""%d"""\n' % (i, i) for i in range(500))

    async def chunks() -> Any:
        for start in range(0, len(text), 7):
            yield text[start : start + 7]

    blocks = [block async for block in csv_blocks(chunks(), 100)]
    assert len(blocks) > 10
    assert b"".join(blocks) == text[len(b"h1,h2\n") :]
    assert all(block.endswith(b'"""\n') for block in blocks)


def test_text_that_is_not_utf8_is_refused(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    url = new_dataset(client, auth, tabular_url, SMALL, "small")
    table = pa.table({"k": [1], "note": pa.array([b"ok \xff\xfe"], pa.binary()).view(pa.string())})
    body = problem(upload(client, auth, url, table), 422)
    assert body["field"] == "note"


def test_head_of_a_columnar_export_has_its_headers_and_no_body(
    client: TestClient, auth: dict[str, str], tabular_url: str
) -> None:
    response = client.head(f"{tabular_url}/export", params={"format": "arrow"}, headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == ARROW and response.content == b""


def test_damaged_files_are_4xx_never_500(client: TestClient, auth: dict[str, str], tabular_url: str) -> None:
    """Bytes overwritten anywhere in a valid file (pages, footer, message headers, buffers): the
    answer is a success or a 4xx problem, never a server error."""
    url = new_dataset(client, auth, tabular_url, SMALL, "small")
    table = pa.table(
        {
            "k": pa.array(range(300), pa.int64()),
            "when": pa.array([dt.datetime(2024, 1, 1)] * 300, pa.timestamp("us")),
            "note": [f"note {i}" for i in range(300)],
        }
    )
    rng = random.Random(14)
    for media_type, good in ((PARQUET, parquet_bytes(table, row_group_size=100)), (ARROW, arrow_bytes(table))):
        for _ in range(60):
            damaged = bytearray(good)
            at = rng.randrange(len(damaged))
            damaged[at : at + 4] = rng.randbytes(4)
            on_conflict = {"on_conflict": "ignore"}
            headers = {**auth, "content-type": media_type}
            response = client.post(f"{url}/records", content=bytes(damaged), params=on_conflict, headers=headers)
            assert response.status_code < 500, (media_type, at, response.text)


@pytest.mark.parametrize("uuid_type", [pa.uuid(), pa.binary(16), pa.string()])
def test_uuids_upload_as_text_or_sixteen_bytes(
    client: TestClient, auth: dict[str, str], tabular_url: str, uuid_type: pa.DataType
) -> None:
    schema = {"columns": [{"name": "k", "type": "integer"}, {"name": "u", "type": "uuid"}]}
    url = new_dataset(client, auth, tabular_url, schema, "ids")
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    given = str(value) if uuid_type == pa.string() else value.bytes
    table = pa.table({"k": [1, 2], "u": pa.array([given, None], uuid_type)})
    for fmt in ("parquet", "arrow"):
        response = upload(client, auth, url, table, fmt)
        assert response.status_code == 201, response.text
        items = client.get(f"{url}/records", params={"k": "eq:1"}, headers=auth).json()["items"]
        assert items[0]["u"] == str(value)
        client.delete(f"{url}/records", params={"all": "true"}, headers=auth)


def test_unusual_column_types_are_judged_never_a_500(
    client: TestClient, auth: dict[str, str], tabular_url: str
) -> None:
    schema = {"columns": [{"name": "k", "type": "integer"}] + [{"name": n, "type": n} for n in TYPE_NAMES]}
    url = new_dataset(client, auth, tabular_url, schema, "odd")
    columns = {
        "struct with bytes": pa.array([{"a": b"\x00\xff", "b": 1}]),
        "list of timestamps": pa.array([[dt.datetime(2024, 1, 1)]]),
        "map": pa.array([[("x", 1)]], pa.map_(pa.string(), pa.int64())),
        "dictionary": pa.array(["a"]).dictionary_encode(),
        "large string": pa.array(["1"], pa.large_string()),
        "decimal256": pa.array([Decimal("1.5")], pa.decimal256(40, 2)),
        "time": pa.array([1], pa.time32("s")),
        "duration": pa.array([1], pa.duration("s")),
        "binary": pa.array([b"\x00"]),
        "float16": pa.array([1.0], pa.float32()),
        "date64": pa.array([dt.date(2024, 1, 1)], pa.date64()),
        "huge date": pa.array([2**31 - 1], pa.int32()).view(pa.date32()),
        "huge timestamp": pa.array([2**62], pa.int64()).view(pa.timestamp("us")),
        "null": pa.array([None], pa.null()),
    }
    for name, array in columns.items():
        for target in TYPE_NAMES:
            table = pa.table({"k": [1], target: array})
            for fmt in ("parquet", "arrow"):
                response = upload(client, auth, url, table, fmt)
                assert response.status_code < 500, (name, target, fmt, response.text)
            client.delete(f"{url}/records", params={"all": "true"}, headers=auth)


TYPE_NAMES = ("text", "integer", "float", "numeric", "boolean", "date", "timestamp", "json", "uuid")
