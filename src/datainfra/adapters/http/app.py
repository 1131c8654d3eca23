"""The Litestar application factory. The container is the only thing it is given; it never reads
the environment itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar

from datainfra.adapters.http.dependencies import DEPENDENCIES
from datainfra.adapters.http.docs import apply_documented_bodies, assets_router, openapi_config
from datainfra.adapters.http.problems import EXCEPTION_HANDLERS
from datainfra.adapters.http.routes.datasets import DatasetRoutes
from datainfra.adapters.http.routes.graph import GraphRoutes
from datainfra.adapters.http.routes.health import health, ready
from datainfra.adapters.http.routes.records import RecordRoutes
from datainfra.adapters.http.routes.sessions import SessionRoutes
from datainfra.adapters.http.routes.users import ROUTES as USER_ROUTES
from datainfra.logs import configure_logging


def _version() -> str:
    try:
        return version("datainfra")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def create_app(container: Any) -> Litestar:
    settings = container.settings()
    configure_logging(json_lines=settings.log_format == "json", level=settings.log_level)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        started = container.init_resources()
        if started is not None:
            await started
        try:
            yield
        finally:
            stopped = container.shutdown_resources()
            if stopped is not None:
                await stopped

    app = Litestar(
        route_handlers=[
            *USER_ROUTES,
            SessionRoutes,
            DatasetRoutes,
            RecordRoutes,
            GraphRoutes,
            health,
            ready,
            assets_router(),
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(_version()),
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
    app.state.container = container
    apply_documented_bodies(app)
    return app
