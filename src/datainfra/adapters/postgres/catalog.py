"""PostgresCatalog: users, key hashes, sessions and datasets in the catalog schema (see migrations)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.catalog_guard import CatalogGuard, guard_exists, schema_document
from datainfra.adapters.postgres.migrations import DEFAULT_CATALOG_SCHEMA
from datainfra.adapters.postgres.pool import connection
from datainfra.domain.errors import Conflict, NotFound
from datainfra.domain.graph_schema import GraphSchema, parse_graph_schema
from datainfra.domain.model import Dataset, DatasetKind, Session, User
from datainfra.domain.ports.catalog import Catalog
from datainfra.domain.tabular_schema import TabularSchema, parse_tabular_schema

_SESSION_COLUMNS = sql.SQL("id, owner_id, name, description, created_at, updated_at")
_DATASET_COLUMNS = sql.SQL("id, session_id, owner_id, name, kind, definition, created_at, updated_at")


class PostgresCatalog(Catalog):
    """The Catalog port over a psycopg pool; `schema` is the PostgreSQL schema migrate_catalog made."""

    def __init__(self, pool: AsyncConnectionPool, *, schema: str = DEFAULT_CATALOG_SCHEMA) -> None:
        self._pool = pool
        self._schema = sql.Identifier(schema)
        self._guard = CatalogGuard()

    def _t(self, table: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(self._schema, sql.Identifier(table))

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with connection(self._pool) as conn:
            yield conn

    # -- users and keys ---------------------------------------------------------------------------

    async def user_for_key(self, key_hash: str) -> User | None:
        statement = sql.SQL(
            "SELECT u.id, u.created_at FROM {} k JOIN {} u ON u.id = k.user_id "
            "WHERE k.key_hash = %s AND k.revoked_at IS NULL"
        ).format(self._t("api_keys"), self._t("users"))
        async with self._conn() as conn:
            cur = await conn.execute(statement, (key_hash,))
            row = await cur.fetchone()
        return User(id=row[0], created_at=_utc(row[1])) if row else None

    async def is_revoked(self, key_hash: str) -> bool:
        statement = sql.SQL("SELECT revoked_at IS NOT NULL FROM {} WHERE key_hash = %s").format(self._t("api_keys"))
        async with self._conn() as conn:
            cur = await conn.execute(statement, (key_hash,))
            row = await cur.fetchone()
        return bool(row and row[0])

    async def create_user(self, user: User, key_hash: str) -> User:
        async with self._conn() as conn:
            try:
                async with conn.transaction():
                    await conn.execute(
                        sql.SQL("INSERT INTO {} (id, created_at) VALUES (%s, %s)").format(self._t("users")),
                        (user.id, user.created_at),
                    )
                    await conn.execute(
                        sql.SQL("INSERT INTO {} (key_hash, user_id, created_at) VALUES (%s, %s, %s)").format(
                            self._t("api_keys")
                        ),
                        (key_hash, user.id, user.created_at),
                    )
            except pg_errors.UniqueViolation as exc:
                if exc.diag.table_name == "users":
                    raise Conflict("this user already exists", key=user.id) from None
                raise Conflict("this key is already registered", key="key") from None
        return user

    async def rotate_key(self, user_id: str, old_hash: str, new_hash: str) -> None:
        async with self._conn() as conn:
            try:
                async with conn.transaction():
                    cur = await conn.execute(
                        sql.SQL(
                            "UPDATE {} SET revoked_at = now() "
                            "WHERE key_hash = %s AND user_id = %s AND revoked_at IS NULL"
                        ).format(self._t("api_keys")),
                        (old_hash, user_id),
                    )
                    if cur.rowcount != 1:
                        raise NotFound("no such active key for this user")
                    await conn.execute(
                        sql.SQL("INSERT INTO {} (key_hash, user_id) VALUES (%s, %s)").format(self._t("api_keys")),
                        (new_hash, user_id),
                    )
            except pg_errors.UniqueViolation:
                raise Conflict("the new key is already registered", key="key") from None

    # -- sessions ---------------------------------------------------------------------------------

    async def add_session(self, session: Session) -> None:
        statement = sql.SQL("INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s)").format(
            self._t("sessions"), _SESSION_COLUMNS
        )
        async with self._conn() as conn:
            try:
                await conn.execute(
                    statement,
                    (
                        session.id,
                        session.owner_id,
                        session.name,
                        session.description,
                        session.created_at,
                        session.updated_at,
                    ),
                )
            except pg_errors.UniqueViolation:
                raise Conflict("this session already exists", key=session.id) from None

    async def get_session(self, owner_id: str, session_id: str) -> Session | None:
        statement = sql.SQL("SELECT {} FROM {} WHERE owner_id = %s AND id = %s").format(
            _SESSION_COLUMNS, self._t("sessions")
        )
        async with self._conn() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(statement, (owner_id, session_id))
            row = await cur.fetchone()
        return _session(row) if row else None

    async def list_sessions(self, owner_id: str) -> list[Session]:
        statement = sql.SQL("SELECT {} FROM {} WHERE owner_id = %s ORDER BY created_at, id").format(
            _SESSION_COLUMNS, self._t("sessions")
        )
        async with self._conn() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(statement, (owner_id,))
            rows = await cur.fetchall()
        return [_session(row) for row in rows]

    async def update_session(self, session: Session) -> None:
        statement = sql.SQL(
            "UPDATE {} SET name = %s, description = %s, updated_at = %s WHERE owner_id = %s AND id = %s"
        ).format(self._t("sessions"))
        async with self._conn() as conn:
            await conn.execute(
                statement, (session.name, session.description, session.updated_at, session.owner_id, session.id)
            )

    async def remove_session(self, owner_id: str, session_id: str) -> None:
        async with self._conn() as conn, conn.transaction():
            cur = await conn.execute(
                sql.SQL("DELETE FROM {} WHERE owner_id = %s AND id = %s").format(self._t("sessions")),
                (owner_id, session_id),
            )
            if cur.rowcount:
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE owner_id = %s AND session_id = %s").format(self._t("datasets")),
                    (owner_id, session_id),
                )

    # -- datasets ---------------------------------------------------------------------------------

    async def add_dataset(self, dataset: Dataset) -> None:
        statement = sql.SQL(
            "INSERT INTO {} ({}) SELECT %s, %s, %s, %s, %s, %s, %s, %s "
            "WHERE EXISTS (SELECT 1 FROM {} WHERE id = %s AND owner_id = %s)"
        ).format(self._t("datasets"), _DATASET_COLUMNS, self._t("sessions"))
        params = (
            dataset.id,
            dataset.session_id,
            dataset.owner_id,
            dataset.name,
            dataset.kind.value,
            Jsonb(schema_document(dataset)),
            dataset.created_at,
            dataset.updated_at,
            dataset.session_id,
            dataset.owner_id,
        )
        async with self._conn() as conn:
            try:
                cur = await conn.execute(statement, params)
            except pg_errors.UniqueViolation as exc:
                if exc.diag.constraint_name == "datasets_name_unique":
                    raise Conflict(
                        f"a dataset named {dataset.name!r} already exists in this session", key=dataset.name
                    ) from None
                raise Conflict("this dataset already exists", key=dataset.id) from None
            if cur.rowcount != 1:
                raise NotFound("no such session")

    async def get_dataset(self, owner_id: str, session_id: str, dataset_id: str) -> Dataset | None:
        return await self._one_dataset(sql.SQL("id = %s"), owner_id, session_id, dataset_id)

    async def find_dataset(self, owner_id: str, session_id: str, name: str) -> Dataset | None:
        return await self._one_dataset(sql.SQL("name = %s"), owner_id, session_id, name)

    async def _one_dataset(self, condition: sql.SQL, owner_id: str, session_id: str, value: str) -> Dataset | None:
        statement = sql.SQL("SELECT {} FROM {} WHERE owner_id = %s AND session_id = %s AND {}").format(
            _DATASET_COLUMNS, self._t("datasets"), condition
        )
        async with self._conn() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(statement, (owner_id, session_id, value))
            row = await cur.fetchone()
        return _dataset(row) if row else None

    async def list_datasets(self, owner_id: str, session_id: str) -> list[Dataset]:
        statement = sql.SQL("SELECT {} FROM {} WHERE owner_id = %s AND session_id = %s ORDER BY created_at, id").format(
            _DATASET_COLUMNS, self._t("datasets")
        )
        async with self._conn() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(statement, (owner_id, session_id))
            rows = await cur.fetchall()
        return [_dataset(row) for row in rows]

    async def update_dataset(
        self, dataset: Dataset, *, expected_schema: TabularSchema | GraphSchema | None = None
    ) -> bool:
        # The row is locked (FOR UPDATE) and its schema compared as parsed, so a second update
        # expecting the same schema waits for the first to commit and then sees the new one.
        where = sql.SQL("owner_id = %s AND session_id = %s AND id = %s")
        key = (dataset.owner_id, dataset.session_id, dataset.id)
        async with self._conn() as conn, conn.transaction():
            if expected_schema is not None:
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(
                    sql.SQL("SELECT {} FROM {} WHERE {} FOR UPDATE").format(
                        _DATASET_COLUMNS, self._t("datasets"), where
                    ),
                    key,
                )
                row = await cur.fetchone()
                if row is None or _dataset(row).schema != expected_schema:
                    return False
            updated = await conn.execute(
                sql.SQL("UPDATE {} SET definition = %s, updated_at = %s WHERE {}").format(self._t("datasets"), where),
                (Jsonb(schema_document(dataset)), dataset.updated_at, *key),
            )
            return updated.rowcount == 1

    async def remove_dataset(self, owner_id: str, session_id: str, dataset_id: str) -> None:
        statement = sql.SQL("DELETE FROM {} WHERE owner_id = %s AND session_id = %s AND id = %s").format(
            self._t("datasets")
        )
        async with self._conn() as conn:
            await conn.execute(statement, (owner_id, session_id, dataset_id))

    async def facts_hold(self, key_hash: str, dataset: Dataset) -> bool:
        statement = sql.SQL("SELECT ") + guard_exists(self._schema)
        async with self._conn() as conn:
            cur = await conn.execute(statement, self._guard.params(key_hash, dataset))
            row = await cur.fetchone()
        return bool(row and row[0])

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.execute("SELECT 1")


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)


def _session(row: dict[str, Any]) -> Session:
    return Session(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        description=row["description"],
        created_at=_utc(row["created_at"]),
        updated_at=_utc(row["updated_at"]),
    )


def _dataset(row: dict[str, Any]) -> Dataset:
    kind = DatasetKind(row["kind"])
    document = row["definition"]
    schema = parse_tabular_schema(document) if kind is DatasetKind.TABULAR else parse_graph_schema(document)
    return Dataset(
        id=row["id"],
        session_id=row["session_id"],
        owner_id=row["owner_id"],
        name=row["name"],
        kind=kind,
        schema=schema,
        created_at=_utc(row["created_at"]),
        updated_at=_utc(row["updated_at"]),
    )
