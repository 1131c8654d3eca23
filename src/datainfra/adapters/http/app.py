"""The Litestar application factory. The container is the only thing it is given; it never reads
the environment itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import structlog
from litestar import Litestar

from datainfra.adapters.http.conventions import HttpConventions, compression_config, cors_config
from datainfra.adapters.http.dependencies import DEPENDENCIES
from datainfra.adapters.http.docs import assets_router, openapi_config
from datainfra.adapters.http.encoding import BoundedRequest
from datainfra.adapters.http.fast_pages import FastRecordPages
from datainfra.adapters.http.idempotency import IdempotencyMiddleware
from datainfra.adapters.http.observability import Metrics, ObservabilityMiddleware, counting_store_errors
from datainfra.adapters.http.openapi import finish_document
from datainfra.adapters.http.problems import EXCEPTION_HANDLERS
from datainfra.adapters.http.routes.console import console_router
from datainfra.adapters.http.routes.datasets import DatasetRoutes
from datainfra.adapters.http.routes.exports import ExportRoutes
from datainfra.adapters.http.routes.graph import GraphRoutes
from datainfra.adapters.http.routes.health import health, ready
from datainfra.adapters.http.routes.metrics import metrics
from datainfra.adapters.http.routes.query import QueryRoutes
from datainfra.adapters.http.routes.record_items import RecordItemRoutes
from datainfra.adapters.http.routes.records import RecordRoutes
from datainfra.adapters.http.routes.sessions import SessionRoutes
from datainfra.adapters.http.routes.users import ROUTES as USER_ROUTES
from datainfra.domain.errors import DomainError
from datainfra.logs import configure_logging

if TYPE_CHECKING:  # type only: the container is built by its caller (supervisor, tests) and given here
    from datainfra.containers import Container

log = structlog.get_logger("datainfra.app")


def _version() -> str:
    try:
        return version("datainfra")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def create_app(container: Container) -> Litestar:
    settings = container.settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        container: Container = app.state.container
        started = container.init_resources()
        if started is not None:
            await started
        try:
            yield
        finally:
            # The server has stopped accepting and let in-flight requests finish (within
            # DATAINFRA_SHUTDOWN_TIMEOUT_S); now the pools and drivers close.
            log.info("shutdown_closing_stores")
            stopped = container.shutdown_resources()
            if stopped is not None:
                await stopped
            log.info("shutdown_complete")

    app = Litestar(
        route_handlers=[
            *USER_ROUTES,
            SessionRoutes,
            DatasetRoutes,
            RecordRoutes,
            RecordItemRoutes,
            GraphRoutes,
            ExportRoutes,
            QueryRoutes,
            health,
            ready,
            metrics,
            assets_router(),
            console_router(),
        ],
        dependencies=DEPENDENCIES,
        exception_handlers={
            **EXCEPTION_HANDLERS,
            DomainError: counting_store_errors(EXCEPTION_HANDLERS[DomainError], lambda: app.state.metrics),
        },
        openapi_config=openapi_config(_version()),
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        request_class=BoundedRequest,
        middleware=[IdempotencyMiddleware],
        compression_config=compression_config(),
        cors_config=cors_config(settings.cors_origins),
        debug=False,
    )
    bind_container(app, container)
    # The hot GET of records, answered before the router when it is the plain case (fast_pages.py).
    app.asgi_handler = FastRecordPages(app.asgi_handler, lambda: app.state.container.record_pages())
    # HEAD as GET without a body, q-value negotiation, Vary and Allow: for every route, errors included.
    app.asgi_handler = HttpConventions(app.asgi_handler, app)
    # Outermost, around the router and its error handling: every request is timed, counted and
    # logged with the status the client got, unmatched paths included.
    app.asgi_handler = ObservabilityMiddleware(
        app.asgi_handler, lambda: app.state.metrics, log_requests=settings.access_log, log_level=settings.log_level
    )
    finish_document(app)
    return app


def bind_container(app: Litestar, container: Container) -> None:
    """Give `app` its container and fresh metrics, and set up logging from the container's settings.

    Everything an app changes while it serves lives on `app.state` and is read from there at the
    moment of use (lifespan, dependencies, middleware, error counting), so binding a new container
    gives the app fresh state. `create_app` binds once; the in-memory HTTP tests bind again to reuse
    one app (its routes and OpenAPI document are the slow part to build) with a fresh container per
    test. The container's settings must be the ones the app was built with: the body limit and the
    access-log switch are fixed when the app is built."""
    settings = container.settings()
    configure_logging(json_lines=settings.log_format == "json", level=settings.log_level)
    app.state.container = container
    app.state.metrics = Metrics(multiprocess_dir=settings.metrics_dir)
