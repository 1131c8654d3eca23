"""A TPC-H `lineitem`-shaped table (16 columns: bigint keys, numeric amounts, dates, short and long
text), generated here with TPC-H's value domains (no dbgen needed): its uploads are the lineitem
figures, and the SQL phase runs TPC-H Q1 over it.

Sizes: BENCH_LINEITEM_ROWS (default 600,000 x BENCH_SCALE, about TPC-H scale factor 0.1)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from bench.config import BenchConfig
from bench.report import Report, say
from bench.uploads import Loaded, TableShape, fill_through_copy, run_uploads

COLUMNS = (
    "l_orderkey", "l_partkey", "l_suppkey", "l_linenumber", "l_quantity", "l_extendedprice", "l_discount",
    "l_tax", "l_returnflag", "l_linestatus", "l_shipdate", "l_commitdate", "l_receiptdate", "l_shipinstruct",
    "l_shipmode", "l_comment",
)  # fmt: skip
TYPES = (
    ("integer", "bigint", "int8"),
    ("integer", "bigint", "int8"),
    ("integer", "bigint", "int8"),
    ("integer", "bigint", "int8"),
    ("numeric", "numeric", "numeric"),
    ("numeric", "numeric", "numeric"),
    ("numeric", "numeric", "numeric"),
    ("numeric", "numeric", "numeric"),
    ("text", 'text COLLATE "C"', "text"),
    ("text", 'text COLLATE "C"', "text"),
    ("date", "date", "date"),
    ("date", "date", "date"),
    ("date", "date", "date"),
    ("text", 'text COLLATE "C"', "text"),
    ("text", 'text COLLATE "C"', "text"),
    ("text", 'text COLLATE "C"', "text"),
)
"""(API field type, raw column type, binary COPY type) per column."""

INSTRUCTIONS = ("DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN")
MODES = ("REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB")
WORDS = (
    "furiously", "carefully", "quickly", "blithely", "slyly", "regular", "final", "express", "pending", "ironic",
    "deposits", "requests", "accounts", "packages", "theodolites", "foxes", "pinto beans", "instructions", "sleep",
    "wake", "haggle", "nag", "cajole", "above the", "among the", "according to", "even", "bold", "special,",
)  # fmt: skip
START = dt.date(1992, 1, 1)
Q1 = (
    "SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price, "
    "sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price, "
    "sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge, avg(l_quantity) AS avg_qty, "
    "avg(l_extendedprice) AS avg_price, avg(l_discount) AS avg_disc, count(*) AS count_order "
    "FROM {table} WHERE l_shipdate <= date '1998-12-01' - interval '90 days' "
    "GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus"
)
"""TPC-H Q1 ({table}: the dataset's name through the API, the schema-qualified table raw)."""


def _csv_text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if ("," in value or '"' in value) else value


def _csv_line(row: Sequence[Any]) -> str:
    return ",".join(
        _csv_text(v) if isinstance(v, str) else v.isoformat() if isinstance(v, dt.date) else str(v) for v in row
    )


SHAPE = TableShape(
    label="lineitem",
    columns=COLUMNS,
    api_schema={
        "columns": [{"name": n, "type": t[0], "nullable": False} for n, t in zip(COLUMNS, TYPES, strict=True)],
        "primary_key": ["l_orderkey", "l_linenumber"],
        "indexes": [{"columns": ["l_shipdate"]}],
    },
    raw_ddl="CREATE TABLE {} ("
    + ", ".join(f"{n} {t[1]} NOT NULL" for n, t in zip(COLUMNS, TYPES, strict=True))
    + ", PRIMARY KEY (l_orderkey, l_linenumber))",
    raw_indexes=(("l_shipdate",),),
    copy_types=tuple(t[2] for t in TYPES),
    csv_line=_csv_line,
)


def make_rows(count: int, seed: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    rows: list[tuple[Any, ...]] = []
    for i in range(count):
        quantity = rng.randint(1, 50)
        price = Decimal(quantity * rng.randint(90_000, 200_000)) / 100
        ship = START + dt.timedelta(days=rng.randrange(2520))
        commit = ship + dt.timedelta(days=rng.randint(-60, 60))
        receipt = ship + dt.timedelta(days=rng.randint(1, 30))
        returned = receipt <= dt.date(1995, 6, 17)
        comment = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7)))
        rows.append(
            (
                1 + i // 4,
                rng.randint(1, 200_000),
                rng.randint(1, 10_000),
                1 + i % 4,
                Decimal(quantity),
                price,
                Decimal(rng.randint(0, 10)) / 100,
                Decimal(rng.randint(0, 8)) / 100,
                rng.choice("RA") if returned else "N",
                "F" if ship <= dt.date(1995, 6, 17) else "O",
                ship,
                commit,
                receipt,
                rng.choice(INSTRUCTIONS),
                rng.choice(MODES),
                comment[:44],
            )
        )
    return rows


async def run_uploads_lineitem(config: BenchConfig, client: httpx.AsyncClient, pg_url: str, report: Report) -> Loaded:
    say(f"uploads lineitem: generating {config.lineitem_rows:,} rows")
    rows = make_rows(config.lineitem_rows, config.seed + 3)
    return await run_uploads(SHAPE, rows, config.json_chunk, client, pg_url, report)


async def filled_lineitem(config: BenchConfig, client: httpx.AsyncClient, pg_url: str) -> Loaded:
    """The SQL phase's table when the lineitem uploads did not make one."""
    say(f"sql: filling a lineitem table of {config.lineitem_rows:,} rows by raw COPY")
    rows = make_rows(config.lineitem_rows, config.seed + 3)
    return await fill_through_copy(client, pg_url, SHAPE, rows, "lineitem")
