"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.datastructures import State

from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.schemas import HealthOut, ReadyOut
from datainfra.domain.errors import DomainError

READY_TIMEOUT_S = 3.0
NOT_CONFIGURED = "not configured"


@get("/health", tags=["health"], summary="200 while the process runs")
async def health() -> Response[HealthOut]:
    return json_response({"status": "ok"})


@get("/ready", tags=["health"], summary="200 when every configured store answers, else 503")
async def ready(state: State) -> Response[ReadyOut]:
    container = state.container
    stores: dict[str, Any] = {
        "catalog": container.catalog,
        "tabular": container.tabular_store,
        "graph": container.graph_store,
    }
    results = await asyncio.gather(*(_check(store) for store in stores.values()))
    report = dict(zip(stores, results, strict=True))
    ok = all(result == "ok" or result.startswith(NOT_CONFIGURED) for result in report.values())
    return json_response({"status": "ready" if ok else "unavailable", "stores": report}, 200 if ok else 503)


async def _check(store: Any) -> str:
    try:
        resolved = store() if callable(store) else store
        if asyncio.iscoroutine(resolved) or isinstance(resolved, asyncio.Future):
            resolved = await resolved
        if getattr(resolved, "configured", True) is False:
            return f"{NOT_CONFIGURED}: {resolved.reason}"
        await asyncio.wait_for(resolved.ping(), READY_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {READY_TIMEOUT_S:g}s"
    except DomainError as exc:
        return exc.detail
    except Exception as exc:  # readiness must report, never fail
        return f"unavailable: {type(exc).__name__}"
    return "ok"
