"""Litestar dependencies: services come from the DI container kept on app.state; the caller's user
comes from the X-API-Key header (hashed at once, never logged)."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import structlog
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter

from datainfra.domain.model import User
from datainfra.services.accounts import AccountService
from datainfra.services.datasets import DatasetService
from datainfra.services.exports import ExportService
from datainfra.services.graphs import GraphService
from datainfra.services.imports import ImportService
from datainfra.services.queries import QueryService
from datainfra.services.records import RecordService
from datainfra.services.sessions import SessionService

API_KEY_HEADER = "X-API-Key"

Accounts = NamedDependency[AccountService]
Sessions = NamedDependency[SessionService]
Datasets = NamedDependency[DatasetService]
Records = NamedDependency[RecordService]
Graphs = NamedDependency[GraphService]
Exports = NamedDependency[ExportService]
Imports = NamedDependency[ImportService]
Queries = NamedDependency[QueryService]
CurrentUser = NamedDependency[User]


def query_pairs(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    """The query string as (name, value) pairs, repeats kept in order: what the services parse."""
    return list(request.query_params.multi_items())


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def provide_accounts(state: State) -> AccountService:
    return await _resolve(state.container.accounts())  # type: ignore[no-any-return]


async def provide_sessions(state: State) -> SessionService:
    return await _resolve(state.container.sessions())  # type: ignore[no-any-return]


async def provide_datasets(state: State) -> DatasetService:
    return await _resolve(state.container.datasets())  # type: ignore[no-any-return]


async def provide_records(state: State) -> RecordService:
    return await _resolve(state.container.records())  # type: ignore[no-any-return]


async def provide_graphs(state: State) -> GraphService:
    return await _resolve(state.container.graphs())  # type: ignore[no-any-return]


async def provide_exports(state: State) -> ExportService:
    return await _resolve(state.container.exports())  # type: ignore[no-any-return]


async def provide_imports(state: State) -> ImportService:
    return await _resolve(state.container.imports())  # type: ignore[no-any-return]


async def provide_queries(state: State) -> QueryService:
    return await _resolve(state.container.queries())  # type: ignore[no-any-return]


async def provide_user(
    request: Request[Any, Any, Any],
    accounts: NamedDependency[AccountService],
    api_key: Annotated[
        str | None,
        HeaderParameter(name=API_KEY_HEADER, required=False, description="Your API key"),
    ] = None,
) -> User:
    user = await accounts.authenticate(api_key)
    structlog.contextvars.bind_contextvars(user_id=user.id)
    request.state.user_id = user.id
    return user


DEPENDENCIES = {
    "accounts": Provide(provide_accounts),
    "sessions": Provide(provide_sessions),
    "datasets": Provide(provide_datasets),
    "records": Provide(provide_records),
    "graphs": Provide(provide_graphs),
    "exports": Provide(provide_exports),
    "imports": Provide(provide_imports),
    "queries": Provide(provide_queries),
    "user": Provide(provide_user),
}
