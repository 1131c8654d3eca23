"""The ports: what the domain and services need from the outside world, as typing.Protocols.

Each port's docstring is its whole contract; one contract test suite per port (tests/contract) runs
against every adapter, so the in-memory adapters and the real stores cannot drift apart.
"""

from datainfra.domain.ports.catalog import Catalog
from datainfra.domain.ports.clock import Clock, IdGenerator
from datainfra.domain.ports.graph_store import GraphStore
from datainfra.domain.ports.key_policy import KeyDecision, KeyPolicy
from datainfra.domain.ports.query_runners import CypherQueryRunner, SqlQueryRunner
from datainfra.domain.ports.tabular_store import NativeTextExport, TabularStore
from datainfra.domain.ports.user_roles import UserRoles

__all__ = [
    "Catalog",
    "Clock",
    "CypherQueryRunner",
    "GraphStore",
    "IdGenerator",
    "KeyDecision",
    "KeyPolicy",
    "NativeTextExport",
    "SqlQueryRunner",
    "TabularStore",
    "UserRoles",
]
