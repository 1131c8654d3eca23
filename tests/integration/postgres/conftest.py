"""Helpers shared by the PostgreSQL-specific tests."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.domain.model import Dataset, DatasetKind, Session
from datainfra.domain.records import Record
from datainfra.domain.tabular_schema import TabularSchema, parse_tabular_schema

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

pytestmark = pytest.mark.postgres


def new_session(owner_id: str | None = None) -> Session:
    return Session(str(uuid.uuid4()), owner_id or str(uuid.uuid4()), "pg", "", NOW, NOW)


def dataset_for(session: Session, schema: dict[str, Any] | TabularSchema, name: str = "items") -> Dataset:
    parsed = schema if isinstance(schema, TabularSchema) else parse_tabular_schema(schema)
    return Dataset(str(uuid.uuid4()), session.id, session.owner_id, name, DatasetKind.TABULAR, parsed, NOW, NOW)


async def stream(records: Iterable[Record]) -> AsyncIterator[Record]:
    for record in records:
        yield record


@pytest.fixture
async def store(postgres_pool: Any) -> PostgresTabularStore:
    return PostgresTabularStore(postgres_pool, PostgresUserRoles(postgres_pool))


@pytest.fixture
async def session(store: PostgresTabularStore) -> AsyncIterator[Session]:
    created = new_session()
    await store.create_session_space(created)
    yield created
    await store.drop_session_space(created)
