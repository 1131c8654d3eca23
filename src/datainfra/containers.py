"""The dependency-injector container: which adapter serves which port. The only module (with the HTTP
app factory) that knows the container exists."""

from __future__ import annotations

from dependency_injector import containers, providers

from datainfra import resources
from datainfra.adapters.key_policies import key_policy_for
from datainfra.adapters.memory.catalog import InMemoryCatalog
from datainfra.adapters.memory.graph_store import InMemoryGraphStore
from datainfra.adapters.memory.idempotency import InMemoryIdempotencyStore
from datainfra.adapters.memory.page_json import InMemoryJsonPages
from datainfra.adapters.memory.tabular_store import InMemoryTabularStore
from datainfra.adapters.memory.user_roles import InMemoryUserRoles
from datainfra.adapters.memory.work_slots import InProcessWorkSlots
from datainfra.adapters.postgres.catalog import PostgresCatalog
from datainfra.adapters.postgres.graph_bookmarks import PostgresGraphBookmarks
from datainfra.adapters.postgres.idempotency import PostgresIdempotencyStore
from datainfra.adapters.postgres.page_json import PostgresJsonPages
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.adapters.postgres.work_slots import PostgresWorkSlots
from datainfra.adapters.system_clock import SystemClock, UuidGenerator
from datainfra.adapters.unavailable import UnavailableCypherRunner, UnavailableSqlRunner
from datainfra.config import Settings
from datainfra.domain.ports import (
    Catalog,
    Clock,
    GraphBookmarks,
    IdempotencyStore,
    IdGenerator,
    JsonPages,
    TabularStore,
    UserRoles,
    WorkSlots,
)
from datainfra.services.accounts import AccountService
from datainfra.services.datasets import DatasetService
from datainfra.services.exports import ExportService
from datainfra.services.graphs import GraphService
from datainfra.services.guarded_reads import GuardedReads
from datainfra.services.imports import ImportService
from datainfra.services.queries import QueryService
from datainfra.services.record_pages import RecordPages
from datainfra.services.records import RecordService
from datainfra.services.sessions import SessionService

MEMORY_HAS_NO_SQL = "raw SQL needs PostgreSQL: this API runs on in-memory stores (tests only)"
MEMORY_HAS_NO_CYPHER = "raw Cypher needs Neo4j: this API runs on in-memory stores (tests only)"


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock: providers.Singleton[Clock] = providers.Singleton(SystemClock)
    ids: providers.Singleton[IdGenerator] = providers.Singleton(UuidGenerator)
    key_policy = providers.Singleton(key_policy_for, settings.provided.allowed_keys)

    # stores: PostgreSQL for the catalog and tabular data, Neo4j for graphs (opened by the lifespan)
    postgres_url = providers.Resource(resources.postgres_url, settings)
    postgres_pool = providers.Resource(resources.postgres_pool, postgres_url, settings)
    catalog: providers.Singleton[Catalog] = providers.Singleton(PostgresCatalog, postgres_pool)
    idempotency: providers.Singleton[IdempotencyStore] = providers.Singleton(PostgresIdempotencyStore, postgres_pool)
    work_slots: providers.Singleton[WorkSlots] = providers.Singleton(PostgresWorkSlots, postgres_pool)
    user_roles: providers.Singleton[UserRoles] = providers.Singleton(resources.user_roles, postgres_pool, settings)
    tabular_store: providers.Singleton[TabularStore] = providers.Singleton(
        PostgresTabularStore, postgres_pool, user_roles
    )
    json_pages: providers.Singleton[JsonPages] = providers.Singleton(PostgresJsonPages, postgres_pool)
    graph_bookmarks: providers.Singleton[GraphBookmarks] = providers.Singleton(PostgresGraphBookmarks, postgres_pool)
    graph_store = providers.Resource(resources.graph_store, settings, graph_bookmarks)
    sql_runner = providers.Resource(resources.sql_runner, postgres_pool, user_roles)
    cypher_runner = providers.Singleton(resources.cypher_runner, graph_store, work_slots, settings)

    accounts = providers.Factory(AccountService, catalog, key_policy, user_roles, clock, ids)
    sessions = providers.Factory(SessionService, catalog, tabular_store, graph_store, clock, ids)
    datasets = providers.Factory(DatasetService, catalog, tabular_store, graph_store, clock, ids)
    records = providers.Factory(RecordService, tabular_store)
    graphs = providers.Factory(GraphService, graph_store, ids)
    exports = providers.Factory(ExportService, catalog, tabular_store, graph_store, clock)
    imports = providers.Factory(ImportService, catalog, datasets, records, graphs)
    queries = providers.Factory(QueryService, datasets, sql_runner, cypher_runner, tabular_store)
    # One per process: it holds the caches of the hot GET path (services/record_pages.py).
    record_pages = providers.Singleton(RecordPages, catalog, key_policy, json_pages)
    # One per process: the cached catalog facts of the graph reads (services/guarded_reads.py).
    guarded_reads = providers.Singleton(GuardedReads, catalog, key_policy, accounts, datasets)


def build_container(settings: Settings) -> Container:
    return Container(settings=providers.Object(settings))


def build_memory_container(settings: Settings) -> Container:
    """The same wiring with every store in memory: what unit and HTTP tests run on. The real stores'
    resources are overridden too, so nothing is started. (Tests that override a store further must
    undo only their own override: `with provider.override(...):`, never `reset_override()`.)"""
    container = build_container(settings)
    container.postgres_url.override(providers.Object(None))
    container.postgres_pool.override(providers.Object(None))
    container.catalog.override(providers.Singleton(InMemoryCatalog))
    container.idempotency.override(providers.Singleton(InMemoryIdempotencyStore))
    container.work_slots.override(providers.Singleton(InProcessWorkSlots))
    container.user_roles.override(providers.Singleton(InMemoryUserRoles))
    container.tabular_store.override(providers.Singleton(InMemoryTabularStore))
    container.json_pages.override(providers.Singleton(InMemoryJsonPages, container.catalog, container.tabular_store))
    container.graph_store.override(providers.Singleton(InMemoryGraphStore))
    container.sql_runner.override(providers.Singleton(UnavailableSqlRunner, MEMORY_HAS_NO_SQL))
    container.cypher_runner.override(providers.Singleton(UnavailableCypherRunner, MEMORY_HAS_NO_CYPHER))
    return container
