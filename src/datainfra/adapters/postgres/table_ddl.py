"""DDL of a tabular dataset's table: column definitions, indexes, and the ALTERs of a migration.

User-chosen names are validated and quoted (sql.Identifier). The only literals composed into SQL
text are column defaults (DDL takes no parameters), rendered by psycopg's own quoting (sql.Literal)
and cast to the column type.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from datainfra.adapters.postgres.errors import is_limit, limit_exceeded
from datainfra.adapters.postgres.identifiers import (
    checked,
    index_name,
    sequence_name,
    session_schema_name,
    table_identifier,
)
from datainfra.adapters.postgres.row_writes import adapt
from datainfra.adapters.postgres.sql_filters import column
from datainfra.adapters.postgres.sql_types import cast_type, column_type
from datainfra.domain.errors import InvalidInput
from datainfra.domain.model import Dataset
from datainfra.domain.tabular_schema import Column, Index, MigrationPlan
from datainfra.domain.types import FieldType

# Casts PostgreSQL does directly with the semantics the domain expects (rounding, time zone);
# every other type change goes through the text form, as `value::text::target`.
_DIRECT_CASTS = {
    (FieldType.FLOAT, FieldType.INTEGER),
    (FieldType.NUMERIC, FieldType.INTEGER),
    (FieldType.INTEGER, FieldType.FLOAT),
    (FieldType.NUMERIC, FieldType.FLOAT),
    (FieldType.INTEGER, FieldType.NUMERIC),
    (FieldType.FLOAT, FieldType.NUMERIC),
    (FieldType.TIMESTAMP, FieldType.DATE),
    (FieldType.DATE, FieldType.TIMESTAMP),
}


async def migrate_table(conn: psycopg.AsyncConnection[Any], dataset: Dataset, plan: MigrationPlan) -> None:
    """Apply `plan` on `conn`, inside the caller's transaction. Renames go first (through
    temporary names, so swaps work), then drops, adds, type/default/NULL changes and indexes."""
    table = table_identifier(dataset)
    name = dataset.name
    schema_ident = sql.Identifier(session_schema_name(dataset.session_id))

    async def run(statement: sql.Composed, field: str | None) -> None:
        try:
            await conn.execute(statement)
        except (
            pg_errors.DataError,
            pg_errors.IntegrityError,
            pg_errors.CannotCoerce,
            pg_errors.DatatypeMismatch,
        ) as exc:
            raise InvalidInput(
                f"column {field!r}: {exc.diag.message_primary or exc}" if field else str(exc), field=field
            ) from None
        except psycopg.OperationalError as exc:
            if is_limit(exc):
                raise limit_exceeded(exc, plan.after, name) from None
            raise

    alter = sql.SQL("ALTER TABLE {} ").format(table)
    # Renames go through temporary names so that swaps (a→b, b→a) work.
    for i, (old, _new) in enumerate(plan.renames):
        await run(alter + sql.SQL("RENAME COLUMN {} TO {}").format(column(old), sql.Identifier(f"$r{i}")), old)
    for i, (_old, new) in enumerate(plan.renames):
        await run(alter + sql.SQL("RENAME COLUMN {} TO {}").format(sql.Identifier(f"$r{i}"), column(new)), new)
    for dropped in plan.dropped:
        await run(alter + sql.SQL("DROP COLUMN {}").format(column(dropped.name)), dropped.name)
    for added in plan.added:
        definition = column_definition(dataset, added)
        await run(alter + sql.SQL("ADD COLUMN ") + definition, added.name)
    for change in plan.changed:
        before, after = change.before, change.after
        col = column(after.name)
        if change.type_changed:
            if before.default is not None:
                await run(alter + sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(col), after.name)
            await run(
                alter
                + sql.SQL("ALTER COLUMN {} TYPE {} USING {}").format(
                    col, column_type(after.type), cast_expression(col, before.type, after.type)
                ),
                after.name,
            )
        if change.type_changed or before.default != after.default:
            if after.default is None:
                await run(alter + sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(col), after.name)
            else:
                await run(
                    alter + sql.SQL("ALTER COLUMN {} SET DEFAULT ").format(col) + literal(after.default, after.type),
                    after.name,
                )
        if before.nullable != after.nullable:
            word = "DROP" if after.nullable else "SET"
            await run(alter + sql.SQL(f"ALTER COLUMN {{}} {word} NOT NULL").format(col), after.name)
    renames = dict(plan.renames)
    for ix in plan.dropped_indexes:
        ident = sql.Identifier(session_schema_name(dataset.session_id), index_name(name, ix.columns, ix.unique))
        await run(sql.SQL("DROP INDEX IF EXISTS {}").format(ident), None)
    for ix in plan.before.indexes:
        if ix in plan.dropped_indexes:
            continue
        renamed = tuple(renames.get(c, c) for c in ix.columns)
        old_name = index_name(name, ix.columns, ix.unique)
        new_name = index_name(name, renamed, ix.unique)
        if old_name != new_name:
            await run(
                sql.SQL("ALTER INDEX IF EXISTS {}.{} RENAME TO {}").format(
                    schema_ident, sql.Identifier(old_name), sql.Identifier(new_name)
                ),
                None,
            )
    for ix in plan.added_indexes:
        try:
            await conn.execute(create_index(dataset, ix))
        except pg_errors.UniqueViolation:
            raise InvalidInput(
                f"existing rows repeat values of the unique column(s) {', '.join(ix.columns)}",
                field=ix.columns[0],
            ) from None
        except psycopg.OperationalError as exc:
            if is_limit(exc):
                raise limit_exceeded(exc, plan.after, name) from None
            raise


def literal(value: Any, field_type: FieldType) -> sql.Composable:
    """A default in DDL (no parameters there): psycopg's quoting, cast to the column type."""
    return sql.SQL("(") + sql.Literal(adapt(value, field_type)) + sql.SQL(")::") + cast_type(field_type)


def column_definition(dataset: Dataset, col: Column) -> sql.Composable:
    parts: list[sql.Composable] = [checked(col.name, "column name"), column_type(col.type)]
    if col.generated:
        seq = sql.Identifier(session_schema_name(dataset.session_id), sequence_name(dataset.name))
        parts.append(sql.SQL("GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME {})").format(seq))
    if col.default is not None:
        parts.append(sql.SQL("DEFAULT ") + literal(col.default, col.type))
    if not col.nullable:
        parts.append(sql.SQL("NOT NULL"))
    return sql.SQL(" ").join(parts)


def create_index(dataset: Dataset, ix: Index) -> sql.Composed:
    return sql.SQL("CREATE {}INDEX {} ON {} ({})").format(
        sql.SQL("UNIQUE " if ix.unique else ""),
        sql.Identifier(index_name(dataset.name, ix.columns, ix.unique)),
        table_identifier(dataset),
        sql.SQL(", ").join(column(n) for n in ix.columns),
    )


def cast_expression(col: sql.Composable, source: FieldType, target: FieldType) -> sql.Composable:
    if (source, target) in _DIRECT_CASTS:
        return col + sql.SQL("::") + cast_type(target)
    if target is FieldType.TEXT:
        return col + sql.SQL("::text")
    return col + sql.SQL("::text::") + cast_type(target)
