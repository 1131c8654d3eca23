"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.schemas import HealthOut, ReadyOut
from datainfra.domain.errors import DomainError

READY_TIMEOUT_S = 0.8
"""Each store is probed at once, and /ready answers within this (plus its own small work) whatever
the stores do: a probe still running then is reported and left to end on its own deadlines."""
NOT_CONFIGURED = "not configured"
_abandoned: set[asyncio.Task[str]] = set()


@get("/health", tags=["health"], summary="200 while the process runs")
async def health() -> Response[HealthOut]:
    return json_response({"status": "ok"})


@get(
    "/ready",
    tags=["health"],
    summary="200 when every configured store answers, else 503",
    responses={503: ResponseSpec(ReadyOut, description="A configured store does not answer; `stores` says which.")},
)
async def ready(state: State) -> Response[ReadyOut]:
    container = state.container
    stores: dict[str, Any] = {
        "catalog": container.catalog,
        "tabular": container.tabular_store,
        "graph": container.graph_store,
    }
    report = await _probe_all(stores)
    ok = all(result == "ok" or result.startswith(NOT_CONFIGURED) for result in report.values())
    return json_response({"status": "ready" if ok else "unavailable", "stores": report}, 200 if ok else 503)


async def _probe_all(stores: dict[str, Any]) -> dict[str, str]:
    """Every store's probe at once. Probes not finished within READY_TIMEOUT_S are cancelled but not
    awaited: a cancelled store call may itself wait (psycopg tries to cancel the statement on the
    server), and readiness must answer now."""
    tasks = {name: asyncio.ensure_future(_check(store)) for name, store in stores.items()}
    await asyncio.wait(tasks.values(), timeout=READY_TIMEOUT_S)
    report: dict[str, str] = {}
    for name, task in tasks.items():
        if task.done():
            report[name] = task.result()
        else:
            report[name] = f"no answer within {READY_TIMEOUT_S:g}s"
            task.cancel()
            _abandoned.add(task)
            task.add_done_callback(_abandoned.discard)
    return report


async def _check(store: Any) -> str:
    try:
        resolved = store() if callable(store) else store
        if asyncio.iscoroutine(resolved) or isinstance(resolved, asyncio.Future):
            resolved = await resolved
        if getattr(resolved, "configured", True) is False:
            return f"{NOT_CONFIGURED}: {resolved.reason}"
        await resolved.ping()
    except DomainError as exc:
        return exc.detail
    except Exception as exc:  # readiness must report, never fail
        return f"unavailable: {type(exc).__name__}"
    return "ok"
