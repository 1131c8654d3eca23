"""The ports: what the domain and services need from the outside world, as typing.Protocols.

Each port's docstring is its whole contract; one contract test suite per port (tests/contract) runs
against every adapter, so the in-memory adapters and the real stores cannot drift apart.
"""

from datainfra.domain.ports.archive_source import ArchiveSource
from datainfra.domain.ports.catalog import Catalog
from datainfra.domain.ports.clock import Clock, IdGenerator
from datainfra.domain.ports.graph_bookmarks import GraphBookmarks
from datainfra.domain.ports.graph_store import EdgePage, GraphStore, NodePage, NodeUpdate
from datainfra.domain.ports.idempotency import Claim, Claimed, Completed, IdempotencyStore, InFlight, StoredAnswer
from datainfra.domain.ports.json_pages import JsonPage, JsonPages, PageGuard
from datainfra.domain.ports.key_policy import KeyDecision, KeyPolicy
from datainfra.domain.ports.query_runners import CypherQueryRunner, SqlQueryRunner
from datainfra.domain.ports.tabular_store import ColumnExtent, NativeColumnarText, NativeTextExport, TabularStore
from datainfra.domain.ports.user_roles import UserRoles
from datainfra.domain.ports.work_slots import HeldSlot, WorkSlots

__all__ = [
    "ArchiveSource",
    "Catalog",
    "Claim",
    "Claimed",
    "Clock",
    "ColumnExtent",
    "Completed",
    "CypherQueryRunner",
    "EdgePage",
    "GraphBookmarks",
    "GraphStore",
    "HeldSlot",
    "IdGenerator",
    "IdempotencyStore",
    "InFlight",
    "JsonPage",
    "JsonPages",
    "KeyDecision",
    "KeyPolicy",
    "NativeColumnarText",
    "NativeTextExport",
    "NodePage",
    "NodeUpdate",
    "PageGuard",
    "SqlQueryRunner",
    "StoredAnswer",
    "TabularStore",
    "UserRoles",
    "WorkSlots",
]
