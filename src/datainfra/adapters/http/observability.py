"""Request ids, one log line per request, and the Prometheus metrics behind `/metrics`.

The middleware wraps the whole Litestar handler (router and app-level error handling included), so
unmatched paths and 405s are seen too, and the status it records is the one the client got. It logs
the route *template* (never the concrete path with ids or the query string), and nothing from the
headers but the request id: the API key and record contents never reach a log line.

A client that closes the connection before its request body is complete (a bulk upload abandoned
half-way) is recorded with nginx's 499 "client closed request": the answer never reaches anyone, and
it is the client's doing, so it is neither a 5xx in the metrics nor an error in the logs."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from datainfra.domain.errors import StoreTimeout, StoreUnavailable

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_HEADER_BYTES = REQUEST_ID_HEADER.lower().encode("latin-1")
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
"""A client's own request id is echoed only when it is short and plain (it goes into logs)."""

UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

access_log = structlog.get_logger("datainfra.access")

ASGIApp = Callable[[Any, Any, Any], Any]

CLIENT_CLOSED_REQUEST = 499
"""nginx's status for a client that left before its request was answered; a 4xx, so it counts as
the client's doing, and a number log tooling already knows."""
_CLIENT_LEFT_MID_BODY = "datainfra.client_left_mid_body"


def client_left_mid_body(scope: Mapping[str, Any]) -> bool:
    """Whether the client disconnected before sending all of its request body."""
    state = scope.get("state")
    return isinstance(state, Mapping) and bool(state.get(_CLIENT_LEFT_MID_BODY))


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A connection pool at one instant (what psycopg_pool's `get_stats()` reports)."""

    size: int
    available: int
    waiting: int
    max_size: int

    @property
    def in_use(self) -> int:
        return max(0, self.size - self.available)

    @classmethod
    def of(cls, pool: Any) -> PoolStats:
        stats: Mapping[str, int] = pool.get_stats()
        return cls(
            size=int(stats.get("pool_size", 0)),
            available=int(stats.get("pool_available", 0)),
            waiting=int(stats.get("requests_waiting", 0)),
            max_size=int(getattr(pool, "max_size", stats.get("pool_max", 0))),
        )


class _PoolCollector(Collector):
    """Pool gauges read at scrape time: `/metrics` stores the latest stats here just before rendering."""

    def __init__(self) -> None:
        self.latest: PoolStats | None = None

    def collect(self) -> Iterator[Metric]:
        stats = self.latest
        if stats is None:
            return
        gauges = (
            ("datainfra_pg_pool_connections", "PostgreSQL connections open in the pool", stats.size),
            ("datainfra_pg_pool_in_use", "PostgreSQL connections lent to requests", stats.in_use),
            ("datainfra_pg_pool_waiting", "Requests waiting for a PostgreSQL connection", stats.waiting),
            ("datainfra_pg_pool_max", "Largest size the PostgreSQL pool may grow to", stats.max_size),
        )
        for name, documentation, value in gauges:
            yield GaugeMetricFamily(name, documentation, value=value)

    def describe(self) -> Iterable[Metric]:
        return ()


@dataclass(slots=True)
class Metrics:
    """One registry per app (tests build many apps in one process; the global registry would clash).

    With `multiprocess_dir` (the supervisor's PROMETHEUS_MULTIPROC_DIR, set in the environment before
    the worker started, so prometheus_client keeps every value in a file there) the exposition is
    the sum over all the run's workers, whichever worker answers the scrape; the pool gauges are the
    answering worker's own."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))
    multiprocess_dir: Path | None = None
    requests: Counter = field(init=False)
    latency: Histogram = field(init=False)
    store_errors: Counter = field(init=False)
    pool: _PoolCollector = field(init=False)
    _series: dict[tuple[str, str, int], tuple[Any, Any]] = field(init=False, default_factory=dict)
    """Each label set's counter and histogram children, as `labels()` answers them (the same
    objects: looked up once instead of under the metric's lock on every request). The label sets
    are bounded: methods, route templates and statuses."""

    def __post_init__(self) -> None:
        # `*_created` series double the output and no dashboard reads them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.requests = Counter(
            "datainfra_http_requests",
            "HTTP requests answered, by method, route template and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "datainfra_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by method, route template and status",
            ("method", "route", "status"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.store_errors = Counter(
            "datainfra_store_errors",
            "Requests that failed because a store was unavailable or timed out, by kind and route template",
            ("kind", "route"),
            registry=self.registry,
        )
        self.pool = _PoolCollector()
        self.registry.register(self.pool)

    def exposition(self) -> bytes:
        """The text exposition format: this process's registry, or every worker's values summed."""
        if self.multiprocess_dir is None:
            return bytes(generate_latest(self.registry))
        from prometheus_client import multiprocess

        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        combined.register(self.pool)
        return bytes(generate_latest(combined))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            labels = (method, route, str(status))
            series = (self.requests.labels(*labels), self.latency.labels(*labels))
            self._series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(seconds)


def route_template(scope: Mapping[str, Any]) -> str:
    """The matched route's path template (`/sessions/{session_id:uuid}`); a fixed label otherwise."""
    template = scope.get("path_template")
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


def _request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == _REQUEST_ID_HEADER_BYTES:
            candidate = value.decode("latin-1")
            if _CLIENT_REQUEST_ID.match(candidate):
                return candidate
            break
    return os.urandom(16).hex()  # uuid4's randomness and width, without building a UUID


def _user_id(scope: Mapping[str, Any]) -> str | None:
    """Who made the request, as the `user` dependency recorded it (after authentication only)."""
    bound = structlog.contextvars.get_contextvars().get("user_id")
    if bound is None:
        state = scope.get("state")
        bound = state.get("user_id") if isinstance(state, Mapping) else None
    return None if bound is None else str(bound)


class ObservabilityMiddleware:
    """Pure ASGI: assigns the request id (echoed as X-Request-ID), times the request, counts it and
    writes its one access-log line."""

    def __init__(
        self, app: ASGIApp, metrics: Callable[[], Metrics], *, log_requests: bool = True, log_level: str = "INFO"
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests
        # The line of an answered request is at INFO, of a 5xx at ERROR; a level that drops INFO
        # (DATAINFRA_LOG_LEVEL, which configures the loggers the same way) skips building the line.
        self.log_answered = log_requests and logging.getLevelName(log_level.upper()) <= logging.INFO

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = _request_id(scope.get("headers", ()))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        header = (_REQUEST_ID_HEADER_BYTES, request_id.encode("latin-1"))

        body_complete = False

        async def watching_receive() -> Any:
            nonlocal body_complete
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_complete = True
            elif message["type"] == "http.disconnect" and not body_complete:
                scope.setdefault("state", {})[_CLIENT_LEFT_MID_BODY] = True
            return message

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, watching_receive, send_with_id)
        finally:
            seconds = time.perf_counter() - began
            method = scope.get("method", "")
            method = method if method in _METHODS else "OTHER"
            route = route_template(scope)
            self.metrics().observe(method, route, status, seconds)
            if self.log_answered or (self.log_requests and status >= 500):
                emit = access_log.error if status >= 500 else access_log.info
                emit(
                    "request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 3),
                    request_id=request_id,
                    user_id=_user_id(scope),
                )
            structlog.contextvars.clear_contextvars()


def counting_store_errors(
    handler: Callable[[Any, Any], Any], metrics: Callable[[], Metrics]
) -> Callable[[Any, Any], Any]:
    """Wrap the domain-error handler so store failures are counted before they become problems.
    `metrics` answers the app's metrics at the moment of counting (they live on app.state)."""

    def handle(request: Any, exc: Any) -> Any:
        kind = (
            "unavailable" if isinstance(exc, StoreUnavailable) else "timeout" if isinstance(exc, StoreTimeout) else None
        )
        if kind is not None:
            metrics().store_errors.labels(kind, route_template(request.scope)).inc()
        return handler(request, exc)

    return handle
