"""Names of the database objects the store makes. Ours are opaque hashes, and the ones that live
beside user-named tables hold a `$`, which user names (domain.names) cannot contain, so they
never clash with a table a user names; user names are validated again here before quoting."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from psycopg import sql

from datainfra.domain.model import Dataset
from datainfra.domain.names import validate_name


def _digest(*parts: str, length: int = 32) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()[:length]


def session_schema_name(session_id: str) -> str:
    """The PostgreSQL schema of a session: opaque, derived from its id only."""
    return "s_" + _digest("session", session_id)


def user_role_name(user_id: str) -> str:
    """The database role of a user: opaque, derived from the id only."""
    return "u_" + _digest("user", user_id)


def primary_key_name(table: str) -> str:
    return "pk$" + _digest("pk", table, length=24)


def sequence_name(table: str) -> str:
    return "sq$" + _digest("seq", table, length=24)


def index_name(table: str, columns: Sequence[str], unique: bool) -> str:
    """Deterministic from table, columns and uniqueness, so a plan's index is found by name."""
    return ("ux$" if unique else "ix$") + _digest("index", table, *columns, str(unique), length=24)


def checked(name: str, what: str) -> sql.Identifier:
    """A user-chosen name, validated again (defence in depth) and quoted."""
    validate_name(name, what=what)
    return sql.Identifier(name)


def table_identifier(dataset: Dataset) -> sql.Composed:
    """`"<session schema>"."<dataset name>"`."""
    return sql.Composed(
        [sql.Identifier(session_schema_name(dataset.session_id)), sql.SQL("."), checked(dataset.name, "dataset name")]
    )
