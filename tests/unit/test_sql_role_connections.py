"""The kept client-SQL connections, without a server: which connection is kept after a request, for
whom, for how long, and that anything doubtful is closed instead (the server-side reset itself is
tested in tests/integration/query/test_sql_connection_reuse.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from psycopg.pq import TransactionStatus

from datainfra.adapters.postgres.client_sql.connections import RESET, RoleConnections


@dataclass
class _Info:
    transaction_status: TransactionStatus = TransactionStatus.IDLE


class _Cursor:
    def __init__(self, row: tuple[Any, ...]) -> None:
        self._row = row

    async def fetchone(self) -> tuple[Any, ...]:
        return self._row


@dataclass
class FakeConnection:
    """Records what the reset sends; `same_role` is what the identity check answers."""

    same_role: bool = True
    fails: bool = False
    closed: bool = False
    info: _Info = field(default_factory=_Info)
    sent: list[str] = field(default_factory=list)

    async def execute(self, statement: str, params: Any = None) -> _Cursor:
        if self.fails:
            raise OSError("server gone")
        self.sent.append(statement)
        return _Cursor((None, self.same_role))

    async def rollback(self) -> None:
        self.sent.append("ROLLBACK")
        self.info.transaction_status = TransactionStatus.IDLE

    async def close(self) -> None:
        self.closed = True


async def settle(pool: RoleConnections) -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_connection_comes_back_reset_to_its_own_role_only() -> None:
    pool = RoleConnections()
    conn = FakeConnection(info=_Info(TransactionStatus.INTRANS))
    pool.give_back("u_a", conn, reusable=True)  # type: ignore[arg-type]
    assert await pool.take("u_a") is conn  # waits for the reset under way
    assert conn.sent[:2] == ["ROLLBACK", RESET] and not conn.closed
    assert await pool.take("u_b") is None
    await pool.close()


async def test_doubtful_connections_are_closed_never_kept() -> None:
    pool = RoleConnections()
    other_role, broken, refused = FakeConnection(same_role=False), FakeConnection(fails=True), FakeConnection()
    pool.give_back("u_a", other_role, reusable=True)  # type: ignore[arg-type]
    pool.give_back("u_a", broken, reusable=True)  # type: ignore[arg-type]
    pool.give_back("u_a", refused, reusable=False)  # type: ignore[arg-type]
    await settle(pool)
    assert await pool.take("u_a") is None
    assert other_role.closed and broken.closed and refused.closed
    await pool.close()


async def test_few_are_kept_and_not_for_long() -> None:
    pool = RoleConnections(idle_per_role=2, idle_seconds=0.05, max_idle=3)
    conns = [FakeConnection() for _ in range(5)]
    for conn in conns[:3]:
        pool.give_back("u_a", conn, reusable=True)  # type: ignore[arg-type]
    for conn in conns[3:]:
        pool.give_back("u_b", conn, reusable=True)  # type: ignore[arg-type]
    await settle(pool)
    assert pool.idle_count == 3  # two of u_a (a third is one too many), one of u_b (the cap in all)
    assert sum(conn.closed for conn in conns) == 2
    await asyncio.sleep(1.2)
    assert pool.idle_count == 0 and all(conn.closed for conn in conns)
    await pool.close()


async def test_closing_closes_what_is_kept() -> None:
    pool = RoleConnections()
    conn = FakeConnection()
    pool.give_back("u_a", conn, reusable=True)  # type: ignore[arg-type]
    await pool.close()
    assert conn.closed and pool.idle_count == 0
    late = FakeConnection()
    pool.give_back("u_a", late, reusable=True)  # type: ignore[arg-type]
    await settle(pool)
    assert late.closed
