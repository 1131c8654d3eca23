"""Every tabular export opened with the libraries its users would use, values checked (issue 14).

One dataset of every column type and the values that break readers (tabular_dataset.py) is written
through the real app on PostgreSQL and exported as CSV, JSON, NDJSON, Parquet and Arrow; each
export is read by pandas, polars and DuckDB (and pyarrow for Arrow) with their default options, and
every value compared with what was written: equal, or equal by one of the documented RULES below
(what a library's defaults do to a value the export wrote exactly). A rule is checked, not skipped:
if a library stops doing what the rule says, the test fails and the rule must be revisited.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from tests.compat import tally
from tests.compat.tabular_dataset import RECORDS, SCHEMA, TYPE_NAMES, TYPES, expected
from tests.support.real_app import real_app_client
from tests.unit.http.api import create_dataset, create_session, dataset_url, write

pytestmark = [pytest.mark.postgres]

FORMATS = ("csv", "json", "ndjson", "parquet", "arrow")

RULES: dict[tuple[str, str, str], str] = {
    # pandas.read_csv defaults: "" and the string "NULL" are both in its default na_values, and an
    # integer column holding a null becomes float64; numbers are float64 (numeric loses digits).
    ("csv", "pandas", "t"): "na_text",
    ("csv", "pandas", "i"): "float64",
    ("csv", "pandas", "n"): "float64",
    # DuckDB's read_csv_auto reads an empty quoted field as NULL, and a numeric column as DOUBLE.
    ("csv", "duckdb", "t"): "empty_is_null",
    ("csv", "duckdb", "n"): "float64",
    # JSON numbers: pandas (ujson) and polars read numerics and nullable integers as float64 ...
    ("json", "pandas", "i"): "float64",
    ("ndjson", "pandas", "i"): "float64",
    ("json", "polars", "n"): "float64",
    ("ndjson", "polars", "n"): "float64",
    ("json", "duckdb", "n"): "float64",
    ("ndjson", "duckdb", "n"): "float64",
    # pandas' JSON parser defaults to precise_float=False: a float may come back a few ulps off
    # (1.7976931348623157e308 → 1.7976931348623151e308); precise_float=True reads it exactly.
    ("json", "pandas", "f"): "ulps",
    ("ndjson", "pandas", "f"): "ulps",
    # pandas turns an int64 column holding a null into float64 (Parquet and Arrow included, by
    # to_pandas' default; dtype_backend="pyarrow" keeps int64).
    ("parquet", "pandas", "i"): "float64",
    ("arrow", "pandas", "i"): "float64",
}
"""(format, library, column) → the documented rule by which that library's defaults give the value."""

REFUSED: dict[tuple[str, str], tuple[str, type[BaseException], str]] = {
    # ... and pandas' JSON parser (ujson) cannot read an integer beyond 64 bits at all: a numeric
    # column holding -99999999999999999999 is exported (exactly) as that JSON number.
    ("json", "pandas"): ("n", ValueError, "Value is too small"),
    ("ndjson", "pandas"): ("n", ValueError, "Value is too small"),
    # polars infers one type per JSON key: a json column mixing objects, arrays, strings, numbers
    # and booleans cannot be read by read_json / read_ndjson (the Parquet and Arrow exports carry
    # json as its text, which polars reads).
    ("json", "polars"): ("j", pl.exceptions.PolarsError, ""),
    ("ndjson", "polars"): ("j", pl.exceptions.PolarsError, ""),
}
"""(format, library) → a column whose export that library's default reader refuses (the reader is
then checked on the export without it, selected with `select`), the error and part of its text."""


@pytest.fixture(scope="module")
def exports(postgres_runtime: Any) -> Iterator[dict[tuple[str, str | None], bytes]]:
    """The dataset's exports: (format, column left out or None) → the body."""
    with real_app_client(postgres_runtime, None) as client:
        auth = {"X-API-Key": client.post("/users").json()["api_key"]}
        session_id = create_session(client, auth)
        url = dataset_url(session_id, create_dataset(client, auth, session_id, "compat", SCHEMA))
        write(client, auth, url, {"records": RECORDS})
        bodies: dict[tuple[str, str | None], bytes] = {}
        for fmt in FORMATS:
            bodies[(fmt, None)] = _get(client, auth, url, {"format": fmt})
        for (fmt, _), (column, _, _) in REFUSED.items():
            select = ",".join(["k", *(c for c in TYPES if c != column)])
            bodies[(fmt, column)] = _get(client, auth, url, {"format": fmt, "select": select})
        yield bodies


def _get(client: Any, auth: dict[str, str], url: str, params: dict[str, str]) -> bytes:
    response = client.get(f"{url}/export", params={**params, "sort": "k"}, headers=auth)
    assert response.status_code == 200, response.text
    content: bytes = response.content
    return content


# -- readers: an export's body → {column: values in key order} ------------------------------------


def _frame(df: pd.DataFrame) -> dict[str, list[Any]]:
    return {name: [_py(v) for v in df[name].tolist()] for name in df.columns}


def _polars(df: pl.DataFrame) -> dict[str, list[Any]]:
    return {name: df[name].to_list() for name in df.columns}


_DUCKDB_READS = {
    name: f"SELECT * FROM {name}(?)"  # noqa: S608 - the reader's name is one of these constants
    for name in ("read_csv_auto", "read_json_auto", "read_parquet")
}


def _duckdb(body: bytes, tmp: Path, function: str, suffix: str) -> dict[str, list[Any]]:
    path = tmp / f"export.{suffix}"
    path.write_bytes(body)
    with duckdb.connect() as con:
        relation = con.sql(_DUCKDB_READS[function], params=[str(path)])
        names = relation.columns
        rows = relation.fetchall()
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _arrow_table(body: bytes) -> pa.Table:
    return ipc.open_stream(body).read_all()


Reader = Callable[[bytes, Path], dict[str, list[Any]]]
READERS: dict[tuple[str, str], Reader] = {
    ("csv", "pandas"): lambda b, _: _frame(pd.read_csv(io.BytesIO(b))),
    ("csv", "polars"): lambda b, _: _polars(pl.read_csv(io.BytesIO(b))),
    ("csv", "duckdb"): lambda b, tmp: _duckdb(b, tmp, "read_csv_auto", "csv"),
    ("json", "pandas"): lambda b, _: _frame(pd.read_json(io.BytesIO(b))),
    ("json", "polars"): lambda b, _: _polars(pl.read_json(io.BytesIO(b))),
    ("json", "duckdb"): lambda b, tmp: _duckdb(b, tmp, "read_json_auto", "json"),
    ("ndjson", "pandas"): lambda b, _: _frame(pd.read_json(io.BytesIO(b), lines=True)),
    ("ndjson", "polars"): lambda b, _: _polars(pl.read_ndjson(io.BytesIO(b))),
    ("ndjson", "duckdb"): lambda b, tmp: _duckdb(b, tmp, "read_json_auto", "ndjson"),
    ("parquet", "pandas"): lambda b, _: _frame(pd.read_parquet(io.BytesIO(b))),
    ("parquet", "polars"): lambda b, _: _polars(pl.read_parquet(io.BytesIO(b))),
    ("parquet", "duckdb"): lambda b, tmp: _duckdb(b, tmp, "read_parquet", "parquet"),
    ("arrow", "pyarrow"): lambda b, _: _arrow_table(b).to_pydict(),
    ("arrow", "pandas"): lambda b, _: _frame(_arrow_table(b).to_pandas()),
    ("arrow", "polars"): lambda b, _: _polars(pl.read_ipc_stream(io.BytesIO(b))),
}


def _py(value: Any) -> Any:
    """A pandas/numpy cell as a plain Python value (missing → None)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (Decimal, str, bytes)):
        return value.item()
    return value


# -- comparison -----------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """A json cell (its text, or a value a reader decoded) as plain JSON data."""
    if isinstance(value, str):
        value = json.loads(value)
    return json.loads(json.dumps(value))


def _as_typed(column: str, value: Any, decoded_json: bool) -> Any:
    """A read value as the dataset's typed value, however the reader held it (text is parsed by the
    API's one text form: what each export writes)."""
    if value is None:
        return None
    if column == "n":
        return Decimal(str(value))
    if column == "d":
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        return value.date() if isinstance(value, dt.datetime) else value
    if column == "ts":
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if column == "j":
        return json.loads(json.dumps(value)) if decoded_json else _json_value(value)
    if column == "u":
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return value


def _by_rule(rule: str | None, column: str, value: Any) -> Any:
    """What the export's exact value becomes under `rule`."""
    if rule is None or value is None:
        return json.loads(json.dumps(value)) if column == "j" else value
    if rule in ("float64", "ulps"):
        return float(value)
    if rule == "na_text":
        return None if value in ("", "NULL") else value
    if rule == "empty_is_null":
        return None if value == "" else value
    raise AssertionError(f"unknown rule {rule!r}")


def _check(fmt: str, library: str, columns: dict[str, list[Any]], left_out: str | None) -> None:
    assert [int(k) for k in columns["k"]] == [r["k"] for r in RECORDS]
    for column in TYPES:
        if column == left_out:
            assert column not in columns
            continue
        rule = RULES.get((fmt, library, column))
        want = [_by_rule(rule, column, v) for v in expected(column)]
        got = columns[column]
        if rule == "float64":
            got = [None if v is None else float(v) for v in got]
        elif rule == "ulps":
            got = [
                g if g is None or w is None or not math.isclose(g, w, rel_tol=1e-15) else w
                for g, w in zip(got, want, strict=True)
            ]
        else:
            decoded = fmt in ("json", "ndjson") and library != "duckdb"  # json cells as values, not text
            got = [_as_typed(column, v, decoded) for v in got]
        assert got == want, f"{fmt} read by {library}: column {column} ({TYPE_NAMES[column]})"
        tally.record(fmt, library, TYPE_NAMES[column] + (f" ({rule})" if rule else ""))


@pytest.mark.parametrize(("fmt", "library"), list(READERS))
def test_each_export_reads_back_with_its_users_library(
    exports: dict[tuple[str, str | None], bytes], tmp_path: Path, fmt: str, library: str
) -> None:
    read = READERS[(fmt, library)]
    refused = REFUSED.get((fmt, library))
    if refused is not None:
        column, error, text = refused
        with pytest.raises(error, match=text or None):
            read(exports[(fmt, None)], tmp_path)
        _check(fmt, library, read(exports[(fmt, column)], tmp_path), column)
        return
    _check(fmt, library, read(exports[(fmt, None)], tmp_path), None)


def test_one_timestamp_form_in_every_text_export(exports: dict[tuple[str, str | None], bytes]) -> None:
    """The README's rule, checked on the exports: timestamps are RFC 3339 UTC with `Z`, no fraction
    when it is zero, else 6 digits; pandas parses such a column (which mixes both) with
    format="ISO8601" (without it, to_datetime infers one format from the first value and fails)."""
    forms = [r["ts"] for r in RECORDS]
    csv_column = pd.read_csv(io.BytesIO(exports[("csv", None)]))["ts"]
    assert [None if isinstance(v, float) else v for v in csv_column.tolist()] == forms
    ndjson = [json.loads(line)["ts"] for line in exports[("ndjson", None)].splitlines()]
    assert ndjson == forms
    parsed = pd.to_datetime(csv_column, format="ISO8601", utc=True)
    assert [None if v is pd.NaT else v.to_pydatetime() for v in parsed] == expected("ts")
    tally.record("csv", "pandas", "timestamp (to_datetime ISO8601)")
