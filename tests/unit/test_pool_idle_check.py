"""The pool's connection check pings only connections that sat idle long enough to have died."""

from __future__ import annotations

import time
from typing import Any

import pytest

from datainfra.adapters.postgres import pool as pool_module
from datainfra.adapters.postgres.pool import _IdleCheck


class FakeConnection:
    """As AnsweringConnection stamps it: when its server last answered (None: never)."""

    answered_at: float | None = None


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []

    async def ping(conn: Any) -> None:
        seen.append(conn)

    monkeypatch.setattr(pool_module.AsyncConnectionPool, "check_connection", staticmethod(ping))
    return seen


async def test_a_connection_of_unknown_age_is_pinged(pings: list[Any]) -> None:
    conn = FakeConnection()
    await _IdleCheck(after=5).check(conn)  # type: ignore[arg-type]
    assert pings == [conn]


async def test_a_connection_whose_server_answered_moments_ago_is_not_pinged(pings: list[Any]) -> None:
    check, conn = _IdleCheck(after=5), FakeConnection()
    conn.answered_at = time.monotonic()
    await check.check(conn)  # type: ignore[arg-type]
    assert pings == []


async def test_a_connection_idle_past_the_limit_is_pinged(pings: list[Any]) -> None:
    check, conn = _IdleCheck(after=5), FakeConnection()
    conn.answered_at = time.monotonic() - 6
    await check.check(conn)  # type: ignore[arg-type]
    assert pings == [conn]
