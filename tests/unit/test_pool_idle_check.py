"""The pool's connection check pings only connections that sat idle long enough to have died."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from datainfra.adapters.postgres import pool as pool_module
from datainfra.adapters.postgres.pool import _IdleCheck


class FakeConnection:
    pass


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


async def test_a_connection_returned_moments_ago_is_not_pinged(pings: list[Any]) -> None:
    check, conn = _IdleCheck(after=5), FakeConnection()
    await check.reset(conn)  # type: ignore[arg-type]
    await check.check(conn)  # type: ignore[arg-type]
    assert pings == []


async def test_a_connection_idle_past_the_limit_is_pinged(pings: list[Any]) -> None:
    check, conn = _IdleCheck(after=0.05), FakeConnection()
    await check.reset(conn)  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    await check.check(conn)  # type: ignore[arg-type]
    assert pings == [conn]
