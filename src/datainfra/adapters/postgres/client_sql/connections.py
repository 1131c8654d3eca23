"""The query endpoint's own connections: a few logged-in connections per user role, kept between
requests and reset before reuse, so a trivial statement does not pay a login (6-17 ms of connect
and SCRAM) every time.

Why this is as sound as a fresh connection per request:
- a connection is only ever reused for the *same* role it logged in as (the key of the idle lists);
  no connection changes hands between users, and none is a privileged login doing `SET ROLE`
  (which `RESET ROLE` or `set_config('role', ...)` would undo);
- between two requests it is reset with `DISCARD ALL` (settings back to the values the connection
  started with, prepared statements deallocated, cursors including WITH HOLD closed, UNLISTEN *,
  session advisory locks released, temporary objects dropped, sequence state and cached plans
  forgotten, `SET SESSION AUTHORIZATION DEFAULT`, `RESET ROLE`), then reseeded (`setseed`, which
  DISCARD leaves alone), then checked: idle, outside any transaction, `session_user` and
  `current_user` both the role. A connection failing any step is closed, never reused;
- the role cannot change who it is: it is NOSUPERUSER NOINHERIT and a member of no role, so `SET
  ROLE` / `SET SESSION AUTHORIZATION` to anything else is refused by the server, and the check above
  would catch it anyway;
- what the role writes into its own defaults (`ALTER ROLE CURRENT_USER SET ...`) never reaches a
  connection: the limits are startup options, which outrank role defaults and are what DISCARD ALL
  returns to.

The reset runs after the request answered, in a task of its own; a request of the same role that
arrives meanwhile waits for it (a reset is well under a millisecond) rather than logging in again.
Idle connections are closed after `idle_seconds`, at most `idle_per_role` are kept per role and
`max_idle` in all: idle connections count against the role's CONNECTION LIMIT (shared by every API
process), so few are kept, briefly.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import structlog
from psycopg.pq import TransactionStatus

log = structlog.get_logger(__name__)

Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]

RESET = "DISCARD ALL"
RESET_WAIT_S = 0.5
"""How long a request waits for a connection of its role being reset before it logs in anew."""
RESEED_AND_CHECK = "SELECT setseed($1), session_user = current_user AND current_user = $2"


class RoleConnections:
    """Idle logged-in connections by role, reset between requests (see the module's docstring)."""

    def __init__(self, *, idle_per_role: int = 2, idle_seconds: float = 5.0, max_idle: int = 32) -> None:
        self._idle_per_role = idle_per_role
        self._idle_seconds = idle_seconds
        self._max_idle = max_idle
        self._idle: dict[str, list[tuple[psycopg.AsyncConnection[Any], float]]] = {}
        self._resetting: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def idle_count(self) -> int:
        return sum(len(kept) for kept in self._idle.values())

    async def take(self, role: str) -> psycopg.AsyncConnection[Any] | None:
        """An idle, reset connection of `role` (waiting up to RESET_WAIT_S for one being reset), or
        None: log in anew."""
        deadline = time.monotonic() + RESET_WAIT_S
        async with self._changed:
            while True:
                kept = self._idle.get(role)
                if kept:
                    conn, _ = kept.pop()
                    if not kept:
                        del self._idle[role]
                    return conn
                left = deadline - time.monotonic()
                if not self._resetting.get(role) or left <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    def give_back(self, role: str, conn: psycopg.AsyncConnection[Any], *, reusable: bool) -> None:
        """The request is over: reset `conn` in the background and keep it, or close it."""
        if not reusable or self._closed or conn.closed:
            self._spawn(_close(conn))
            return
        self._resetting[role] = self._resetting.get(role, 0) + 1
        self._spawn(self._reset_and_keep(role, conn))

    async def close(self) -> None:
        """Close every idle connection and wait for the resets under way."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        async with self._changed:
            idle = [conn for kept in self._idle.values() for conn, _ in kept]
            self._idle.clear()
        for conn in idle:
            await _close(conn)

    async def _reset_and_keep(self, role: str, conn: psycopg.AsyncConnection[Any]) -> None:
        keep = False
        try:
            keep = await _reset(conn, role)
        finally:
            async with self._changed:
                self._resetting[role] -= 1
                if not self._resetting[role]:
                    del self._resetting[role]
                kept = self._idle.setdefault(role, [])
                if keep and not self._closed and len(kept) < self._idle_per_role and self.idle_count < self._max_idle:
                    kept.append((conn, time.monotonic()))
                    keep = True
                else:
                    keep = False
                if not kept:
                    del self._idle[role]
                self._changed.notify_all()
            if keep:
                self._ensure_reaper()
            else:
                await _close(conn)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def _reap(self) -> None:
        """Close connections idle longer than `idle_seconds`; ends once none is idle."""
        while self._idle:
            await asyncio.sleep(min(1.0, self._idle_seconds))
            cutoff = time.monotonic() - self._idle_seconds
            expired: list[psycopg.AsyncConnection[Any]] = []
            async with self._changed:
                for role in list(self._idle):
                    kept = self._idle[role]
                    expired += [conn for conn, since in kept if since < cutoff]
                    kept[:] = [(conn, since) for conn, since in kept if since >= cutoff]
                    if not kept:
                        del self._idle[role]
            for conn in expired:
                await _close(conn)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _reset(conn: psycopg.AsyncConnection[Any], role: str) -> bool:
    """True when `conn` is back to how it logged in, as `role`, and can serve the role's next request."""
    try:
        if conn.info.transaction_status is not TransactionStatus.IDLE:
            await conn.rollback()
        await conn.execute(RESET)
        cursor = await conn.execute(RESEED_AND_CHECK, (secrets.randbelow(2**31) / 2**31, role))
        row = await cursor.fetchone()
        same_role = row is not None and row[1] is True
        if not same_role:
            log.error("query_connection_changed_role", role=role)
        return same_role and conn.info.transaction_status is TransactionStatus.IDLE
    except Exception as exc:  # any failure: the connection is not trusted again
        log.info("query_connection_dropped", reason=type(exc).__name__)
        return False


async def _close(conn: psycopg.AsyncConnection[Any]) -> None:
    with contextlib.suppress(Exception):
        await conn.close()
