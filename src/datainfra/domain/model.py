"""The catalog's entities: users, their sessions, and the datasets a session holds."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.tabular_schema import TabularSchema


@dataclass(frozen=True, slots=True)
class User:
    id: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    owner_id: str
    name: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime


class DatasetKind(enum.StrEnum):
    TABULAR = "tabular"
    GRAPH = "graph"


@dataclass(frozen=True, slots=True)
class Dataset:
    id: str
    session_id: str
    owner_id: str
    name: str
    kind: DatasetKind
    schema: TabularSchema | GraphSchema
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def tabular_schema(self) -> TabularSchema:
        assert isinstance(self.schema, TabularSchema), "not a tabular dataset"
        return self.schema

    @property
    def graph_schema(self) -> GraphSchema:
        assert isinstance(self.schema, GraphSchema), "not a graph dataset"
        return self.schema
