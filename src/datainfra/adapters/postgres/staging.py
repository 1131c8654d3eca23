"""The transaction's staging table: a temporary table on the server we talk to (the coordinator, on
Citus) that bulk writes COPY into before one INSERT ... SELECT moves the rows into the dataset's table.

Upserts stage every row (the ON CONFLICT is one statement). On Citus plain inserts are staged too
(`insert_staged`): a worker's refusal of a row reaches the coordinator without the row's line (Citus
relays the worker's message and detail only, and finds the refusal when the COPY ends), so the row at
fault is found afterwards in the staging table: under a savepoint, rolled back to, the first staged
row that clashes with an earlier one or with a stored row (or holds the NULL refused). There the rows
carry no order column (numbering and sorting them cost about a fifth of the staged load): a temporary
table that COPY only appends to holds them in their order, which `ctid` gives back, as does a
sequential scan (temporary tables are scanned neither in parallel nor synchronised with other scans).
On a single PostgreSQL server plain inserts COPY straight into the table, whose errors carry the line.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from datainfra.adapters.postgres.errors import (
    column_of,
    conflict_from,
    constraint_columns,
    constraint_of,
    is_limit,
    limit_exceeded,
    relayed,
)
from datainfra.adapters.postgres.identifiers import table_identifier
from datainfra.adapters.postgres.sql_filters import column
from datainfra.adapters.postgres.sql_types import column_type
from datainfra.domain.errors import InvalidInput
from datainfra.domain.model import Dataset
from datainfra.domain.tabular_schema import TabularSchema

STAGING: Final = sql.Identifier("pg_temp", "datainfra$staging")
ORDINAL: Final = "$i"
"""Staging column holding each record's order in the request (user names cannot contain `$`)."""
_SAVEPOINT: Final = sql.Identifier("datainfra$staged")


async def create_staging(
    conn: psycopg.AsyncConnection[Any],
    schema: TabularSchema,
    *,
    numbered: bool = False,
    not_null: Collection[str] = (),
    ordered: bool = True,
) -> None:
    """The transaction's staging table: every column of `schema` (those of `not_null` that the schema
    makes NOT NULL, so too: the columns a COPY gives, whose NULLs it then refuses at their line) and,
    when `ordered`, the records' order, given by the writer or (`numbered`) counted by the server."""
    definitions = [
        column(c.name)
        + sql.SQL(" ")
        + column_type(c.type)
        + (sql.SQL(" NOT NULL") if c.name in not_null and not c.nullable and not c.generated else sql.SQL(""))
        for c in schema.columns
    ]
    if ordered:
        order = "bigint GENERATED ALWAYS AS IDENTITY" if numbered else "bigint NOT NULL"
        definitions.append(sql.SQL("{} " + order).format(sql.Identifier(ORDINAL)))
    await conn.execute(
        sql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier("datainfra$staging"), sql.SQL(", ").join(definitions)
        )
    )


async def insert_staged(
    conn: psycopg.AsyncConnection[Any], dataset: Dataset, columns: Sequence[str], first: int
) -> None:
    """Move the rows of a staging table made without `ordered` (`columns` given) into the dataset's
    table in their order (the caller empties it before staging more). The n-th staged row is the
    request's record `first + n - 1`: a refused row is named by that index, found in the staging table."""
    cols = sql.SQL(", ").join(column(n) for n in columns)
    statement = sql.SQL("SAVEPOINT {}; INSERT INTO {} ({}) SELECT {} FROM {}").format(
        _SAVEPOINT, table_identifier(dataset), cols, cols, STAGING
    )
    try:
        await conn.execute(statement)  # no parameters: one round trip for both statements
    except psycopg.Error as exc:
        failure = await _refused(conn, dataset, columns, first, relayed(exc))
        if failure is None:
            raise
        raise failure from None


async def _refused(
    conn: psycopg.AsyncConnection[Any], dataset: Dataset, columns: Sequence[str], first: int, exc: psycopg.Error
) -> Exception | None:
    """The domain's error for the refused INSERT, naming the staged row at fault; None: not the input's fault."""
    schema = dataset.tabular_schema
    if isinstance(exc, pg_errors.UniqueViolation):
        await _roll_back(conn)
        key = constraint_columns(schema, dataset.name, constraint_of(exc))
        at = await _first_clash(conn, dataset, columns, key)
        return conflict_from(exc, schema, dataset.name, index=_index(first, at))
    if isinstance(exc, pg_errors.NotNullViolation):
        field = column_of(exc)
        await _roll_back(conn)
        at = await _first_null(conn, columns, field)
        return InvalidInput(f"field {field!r} must not be null", index=_index(first, at), field=field)
    if isinstance(exc, pg_errors.IntegrityError | pg_errors.DataError):
        return InvalidInput(str(exc.diag.message_primary or exc), field=column_of(exc))
    if isinstance(exc, psycopg.OperationalError) and is_limit(exc):
        return limit_exceeded(exc, schema, dataset.name)
    return None


async def _roll_back(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(_SAVEPOINT))


def _index(first: int, at: int | None) -> int | None:
    return None if at is None else first + at - 1


_POSITION: Final = sql.SQL("row_number() OVER (ORDER BY ctid) AS p")
"""A staged row's position (from 1): the order COPY appended the rows in."""


async def _first_clash(
    conn: psycopg.AsyncConnection[Any], dataset: Dataset, columns: Sequence[str], key: Sequence[str]
) -> int | None:
    """The first staged row (its position) whose `key` an earlier staged row or a stored row holds,
    as the INSERT met them; None if the staged rows do not give every column of `key`."""
    if not all(n in columns for n in key):
        return None
    key_cols = sql.SQL(", ").join(column(n) for n in key)
    present = sql.SQL(" AND ").join(column(n) + sql.SQL(" IS NOT NULL") for n in key)
    positioned = sql.SQL("SELECT {}, {} FROM {}").format(_POSITION, key_cols, STAGING)
    # Within the request: a key's second row (the staging table is local: no Citus planning).
    repeated = sql.SQL(
        "SELECT min(p) FROM (SELECT p, row_number() OVER (PARTITION BY {} ORDER BY p) AS n FROM ({}) AS s WHERE {}) "
        "AS s WHERE n > 1"
    ).format(key_cols, positioned, present)
    # Against stored rows: a join (Citus ships the staged keys to the table's worker for it).
    matches = sql.SQL(" AND ").join(sql.SQL("t.{} = s.{}").format(column(n), column(n)) for n in key)
    stored = sql.SQL("SELECT min(s.p) FROM ({}) AS s JOIN {} AS t ON {}").format(
        positioned, table_identifier(dataset), matches
    )
    found = [await _one(conn, repeated), await _one(conn, stored)]
    return min((f for f in found if f is not None), default=None)


async def _first_null(conn: psycopg.AsyncConnection[Any], columns: Sequence[str], field: str | None) -> int | None:
    """The first staged row (its position) with no value for `field`."""
    if field is None or field not in columns:
        return None
    statement = sql.SQL("SELECT min(p) FROM (SELECT {}, {} AS v FROM {}) AS s WHERE v IS NULL").format(
        _POSITION, column(field), STAGING
    )
    return await _one(conn, statement)


async def _one(conn: psycopg.AsyncConnection[Any], statement: sql.Composed) -> int | None:
    cur = await conn.execute(statement)
    row = await cur.fetchone()
    return None if row is None or row[0] is None else int(row[0])
