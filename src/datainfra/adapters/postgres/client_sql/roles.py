"""Each user's own database role, which is how client SQL runs: made here, then logged in as.

Each user has a LOGIN role, made by `ensure_role` (the UserRoles port, and the only place roles are
made) when the user is created and again before one of the user's session schemas is granted to it.
The tabular store grants it only its own session schemas and tables. Its password is never stored:
it is HMAC-SHA-256(deployment secret, role name), the secret being 256 random bits made by catalog
migration 2 in a table only the service role can read. So any API process can log in as any user's
role without a password table, and the server only ever sees a SCRAM verifier (computed here by
libpq), never the password in SQL text.

The first time a process runs a user's SQL it (re)sets that role's verifier and limits, once:
roles made before this existed, or by another deployment, are brought in line that way.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from datainfra.adapters.postgres.identifiers import user_role_name
from datainfra.adapters.postgres.migrations import DEFAULT_CATALOG_SCHEMA
from datainfra.adapters.postgres.pool import connection
from datainfra.domain.ports import UserRoles

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RoleLimits:
    """What one user's SQL may use of the server, set on the role itself (ALTER ROLE), so they hold
    whatever the statement does. `temp_file_limit` needs a superuser to set; without one it is
    skipped with a warning in the log."""

    connection_limit: int = 4
    statement_timeout_ms: int = 60_000
    """A ceiling behind the per-request timeout the connection sets."""
    work_mem: str = "16MB"
    temp_file_limit: str = "256MB"
    idle_in_transaction_ms: int = 10_000
    lock_timeout_ms: int = 5_000

    def settings(self) -> list[tuple[str, str]]:
        """Set on the role (ALTER ROLE ... SET): defaults for any connection as the role."""
        return [*self.connection_settings(), ("temp_file_limit", self.temp_file_limit)]

    def connection_settings(self) -> list[tuple[str, str]]:
        """Also sent with every connection (startup options outrank the role's own defaults), so a
        role that rewrote its defaults (ALTER ROLE CURRENT_USER SET ...) gets them back. temp_file_limit
        is superuser-only: a role can neither send it at login nor change it on itself."""
        return [
            ("statement_timeout", str(self.statement_timeout_ms)),
            ("work_mem", self.work_mem),
            ("idle_in_transaction_session_timeout", str(self.idle_in_transaction_ms)),
            ("lock_timeout", str(self.lock_timeout_ms)),
        ]


def role_password(secret: str, role: str) -> str:
    return hmac.new(secret.encode(), role.encode(), hashlib.sha256).hexdigest()


class PostgresUserRoles(UserRoles):
    """Users' LOGIN roles: made by `ensure_role`; `credentials` for logging in as one, the role
    prepared for that once per process."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        limits: RoleLimits | None = None,
        catalog_schema: str = DEFAULT_CATALOG_SCHEMA,
    ) -> None:
        self._pool = pool
        self._limits = limits or RoleLimits()
        self._catalog = catalog_schema
        self._secret: str | None = None
        self._prepared: set[str] = set()
        self._lock = asyncio.Lock()

    async def ensure_role(self, user_id: str) -> None:
        """The user's own role: LOGIN with a random password nobody keeps yet (`credentials` sets the
        derived one), NOINHERIT, no CREATEDB/CREATEROLE. An advisory lock on the role's name makes
        concurrent calls for one user wait for each other instead of both trying CREATE ROLE."""
        role = user_role_name(user_id)
        async with connection(self._pool) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (role,))
            cur = await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if await cur.fetchone() is None:
                await conn.execute(
                    sql.SQL(
                        "CREATE ROLE {} WITH LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                        "NOBYPASSRLS PASSWORD {}"
                    ).format(sql.Identifier(role), sql.Literal(secrets.token_urlsafe(32)))
                )

    async def credentials(self, user_id: str) -> tuple[str, str]:
        """(role, password) for `user_id`, the role ready to log in with it."""
        role = user_role_name(user_id)
        if role not in self._prepared:
            async with self._lock:
                if role not in self._prepared:
                    await self._prepare(role)
                    self._prepared.add(role)
        assert self._secret is not None
        return role, role_password(self._secret, role)

    @property
    def limits(self) -> RoleLimits:
        return self._limits

    def forget(self, user_id: str) -> None:
        """Prepare the role again next time (after a login it refused)."""
        self._prepared.discard(user_role_name(user_id))

    async def _prepare(self, role: str) -> None:
        async with connection(self._pool) as conn:
            if self._secret is None:
                self._secret = await self._load_secret(conn)
            password = role_password(self._secret, role)
            verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
            ident = sql.Identifier(role)
            async with conn.transaction():
                await conn.execute(
                    sql.SQL("ALTER ROLE {} WITH LOGIN NOINHERIT CONNECTION LIMIT {} PASSWORD {}").format(
                        ident, sql.Literal(self._limits.connection_limit), sql.Literal(verifier)
                    )
                )
                for name, value in self._limits.settings():
                    await self._set(conn, ident, name, value)

    async def _set(self, conn: psycopg.AsyncConnection[Any], role: sql.Identifier, name: str, value: str) -> None:
        statement = sql.SQL("ALTER ROLE {} SET {} = {}").format(role, sql.Identifier(name), sql.Literal(value))
        try:
            async with conn.transaction():  # a savepoint: a refused setting leaves the others
                await conn.execute(statement)
        except pg_errors.InsufficientPrivilege:
            log.warning("role_setting_skipped", setting=name, reason="needs a superuser")

    async def _load_secret(self, conn: psycopg.AsyncConnection[Any]) -> str:
        cur = await conn.execute(
            sql.SQL("SELECT value FROM {}.secrets WHERE name = 'role_password_key'").format(
                sql.Identifier(self._catalog)
            )
        )
        row = await cur.fetchone()
        if row is None:
            raise RuntimeError("the catalog has no role_password_key: catalog migrations did not run")
        return str(row[0])
