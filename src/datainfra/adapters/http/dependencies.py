"""Litestar dependencies: services come from the DI container kept on app.state; the caller's user
comes from the X-API-Key header or, the same key, `Authorization: Bearer <key>` (hashed at once,
never logged); the session and the dataset a path names are resolved through their owner, once,
here (`session: PathSession`, `dataset: PathDataset`): another user's ids are 404, and the user is
authenticated first."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import structlog
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, SkipValidation

from datainfra.domain.errors import InvalidRequest, Unauthenticated
from datainfra.domain.model import Dataset, Session, User
from datainfra.services.accounts import AccountService
from datainfra.services.datasets import DatasetService
from datainfra.services.exports import ExportService
from datainfra.services.graphs import GraphService
from datainfra.services.guarded_reads import DatasetRead, GuardedReads, ReadTarget
from datainfra.services.imports import ImportService
from datainfra.services.queries import QueryService
from datainfra.services.records import RecordService
from datainfra.services.sessions import SessionService

API_KEY_HEADER = "X-API-Key"
AUTHORIZATION_HEADER = "Authorization"

Accounts = NamedDependency[AccountService]
Sessions = NamedDependency[SessionService]
Datasets = NamedDependency[DatasetService]
Records = NamedDependency[RecordService]
Graphs = NamedDependency[GraphService]
Exports = NamedDependency[ExportService]
Imports = NamedDependency[ImportService]
Queries = NamedDependency[QueryService]
CurrentUser = NamedDependency[User]
PathSession = NamedDependency[SkipValidation[Session]]
"""The session of the path's `session_id`, the caller's own (a domain value: not re-validated)."""
PathDataset = NamedDependency[SkipValidation[Dataset]]
"""The dataset of the path's `session_id` and `dataset_id`, the caller's own (not re-validated)."""
PathDatasetRead = NamedDependency[SkipValidation[DatasetRead]]
"""A read of the path's dataset from cached catalog facts checked alongside it (services/guarded_reads.py),
the caller authenticated as for `dataset`: for read-only routes."""


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


def presented_key(request: Request[Any, Any, Any]) -> str | None:
    """The API key the request carries (see `key_from_headers`)."""
    return key_from_headers(request.headers.get(API_KEY_HEADER), request.headers.get(AUTHORIZATION_HEADER))


def key_from_headers(api_key: str | None, authorization: str | None) -> str | None:
    """The API key from the X-API-Key and Authorization header values: X-API-Key, or
    `Authorization: Bearer <key>`, or both when they agree. Both and different → 400; an
    Authorization that is not `Bearer <one token>` → 401. The one rule the routes and the
    idempotency middleware read a key by."""
    if authorization is None:
        return api_key
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthenticated("the Authorization header must be 'Bearer <your API key>'")
    if api_key is not None and api_key != token:
        raise InvalidRequest(
            "X-API-Key and Authorization carry different keys; send one of them", parameter=AUTHORIZATION_HEADER
        )
    return token


ApiKeyHeader = Annotated[str | None, HeaderParameter(name=API_KEY_HEADER, required=False, description="Your API key")]
AuthorizationHeader = Annotated[
    str | None,
    HeaderParameter(
        name=AUTHORIZATION_HEADER, required=False, description="`Bearer <your API key>`, instead of X-API-Key"
    ),
]
"""The two ways to present a key, declared by every dependency that reads one (so the OpenAPI document
lists both headers on each operation); the value is read from the request and checked together."""


async def provide_user(
    request: Request[Any, Any, Any],
    accounts: NamedDependency[AccountService],
    api_key: ApiKeyHeader = None,
    authorization: AuthorizationHeader = None,
) -> User:
    del api_key, authorization  # declared for the OpenAPI document; read (and checked together) below
    user = await accounts.authenticate(presented_key(request))
    structlog.contextvars.bind_contextvars(user_id=user.id)
    request.state.user_id = user.id
    return user


async def provide_session(session_id: FromPath[str], sessions: Sessions, user: CurrentUser) -> Session:
    return await sessions.get(user, session_id)


async def provide_dataset(
    session_id: FromPath[str], dataset_id: FromPath[str], datasets: Datasets, user: CurrentUser
) -> Dataset:
    return await datasets.get(user, session_id, dataset_id)


async def provide_dataset_read(
    request: Request[Any, Any, Any],
    state: State,
    session_id: FromPath[str],
    dataset_id: FromPath[str],
    api_key: ApiKeyHeader = None,
    authorization: AuthorizationHeader = None,
) -> DatasetRead:
    del api_key, authorization  # declared as `user` declares them; read (and checked together) below
    reads = await _resolve(state.container.guarded_reads())
    read: DatasetRead = await reads.open(ReadTarget(presented_key(request), session_id, dataset_id))
    structlog.contextvars.bind_contextvars(user_id=read.user.id)
    request.state.user_id = read.user.id
    return read


class QueryCaller:
    """The query endpoint's caller before its body is read: the user from the guarded reads' cache
    (unchecked until a read opened with it checks it, or `confirmed` authenticates) or authenticated
    now. The endpoint's read-only Cypher opens a guarded read (`reads.open`); everything else runs
    as `confirmed()`."""

    def __init__(
        self, key: str | None, user: User, cached: bool, reads: GuardedReads, accounts: AccountService
    ) -> None:
        self.key = key
        self.user = user
        self._cached = cached
        self.reads = reads
        self._accounts = accounts

    async def confirmed(self) -> User:
        """The user as the catalog has the key now (401/403 as `user` reports them)."""
        if self._cached:
            self.user, self._cached = await self._accounts.authenticate(self.key), False
        return self.user


QueryCallerDep = NamedDependency[SkipValidation[QueryCaller]]
"""The query endpoint's caller (`QueryCaller`): authenticated, or known from the cache and checked later."""


async def provide_query_caller(
    request: Request[Any, Any, Any],
    state: State,
    accounts: NamedDependency[AccountService],
    api_key: ApiKeyHeader = None,
    authorization: AuthorizationHeader = None,
) -> QueryCaller:
    del api_key, authorization  # declared as `user` declares them; read (and checked together) below
    key = presented_key(request)
    reads: GuardedReads = await _resolve(state.container.guarded_reads())
    user = reads.known_user(key)
    cached = user is not None
    if user is None:
        user = await accounts.authenticate(key)
    structlog.contextvars.bind_contextvars(user_id=user.id)
    request.state.user_id = user.id
    return QueryCaller(key, user, cached, reads, accounts)


AUTHENTICATED = frozenset({"user", "session", "dataset", "dataset_read", "query_caller"})
"""The dependencies that need the caller's key: a handler taking any of them is authenticated."""

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
    "session": Provide(provide_session),
    "dataset": Provide(provide_dataset),
    "dataset_read": Provide(provide_dataset_read),
    "query_caller": Provide(provide_query_caller),
}
