"""Settings, read from the environment once at start-up (never at import) and validated there, so a
wrong value stops the process with a message naming the variable."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from datainfra.domain.auth import is_well_formed_key

MAX_WORKERS = 64


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count), at most
    MAX_WORKERS: the default number of workers."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the environment variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_keys: frozenset[str] = field(default_factory=frozenset)
    data_dir: Path = Path(".data")
    max_body_bytes: int = 1024 * 1024 * 1024
    database_url: str | None = None
    """None: start an embedded PostgreSQL keeping its data under data_dir/postgres."""
    pg_pool_min: int = 1
    pg_pool_max: int = 10
    pg_pool_timeout_s: float = 5.0
    pg_statement_timeout_ms: int = 30_000
    query_connections_per_user: int = 4
    """Raw SQL: connections one user's role may hold at once (more → 429)."""
    query_work_mem_kb: int = 16 * 1024
    query_temp_file_limit_kb: int = 256 * 1024
    """Raw SQL: temporary file space one statement may use (needs a superuser service role to set)."""
    neo4j_uri: str | None = None
    """None: start a local Neo4j (needs Java 17) keeping its data under data_dir/neo4j."""
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = None
    neo4j_database: str = "neo4j"
    """The Neo4j database every graph dataset lives in (a cluster routes by it: `neo4j://` URIs)."""
    neo4j_transaction_timeout_s: float = 60.0
    log_format: str = "console"
    log_level: str = "INFO"
    access_log: bool = True
    """One log line per request (method, route template, status, duration, request id, user id)."""
    local_stores: bool = True
    """False (the container image): never start a store here; both URLs are then required."""
    workers: int = field(default_factory=available_cores)
    """Server worker processes, run by the supervisor (which also runs the local stores they share);
    by default one per core this process may run on."""
    metrics_dir: Path | None = None
    """PROMETHEUS_MULTIPROC_DIR: where the workers' metric values live, so `/metrics` answers the sum
    over every worker whichever one serves the scrape. The supervisor sets it for its workers (a fresh
    directory per run, or this one wiped at start when the operator names it); None: one process's own."""
    shutdown_timeout_s: float = 30.0
    """On SIGTERM/SIGINT: how long in-flight requests may run on before they are cut off."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the API (CORS); empty: CORS off. `*` alone: any origin."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            host=_host(env.get("DATAINFRA_HOST", "127.0.0.1")),
            port=_int(env, "DATAINFRA_PORT", 8000, 1, 65535),
            allowed_keys=_keys(env.get("ALLOWED_KEYS", "")),
            data_dir=Path(env.get("DATAINFRA_DATA_DIR") or ".data"),
            max_body_bytes=_int(env, "DATAINFRA_MAX_BODY_BYTES", 1024 * 1024 * 1024, 1024, 2**40),
            database_url=_url(env, "DATAINFRA_DATABASE_URL", ("postgresql://", "postgres://")),
            pg_pool_min=_int(env, "DATAINFRA_PG_POOL_MIN", 1, 0, 1000),
            pg_pool_max=_int(env, "DATAINFRA_PG_POOL_MAX", 10, 1, 1000),
            pg_pool_timeout_s=float(_int(env, "DATAINFRA_PG_POOL_TIMEOUT_S", 5, 1, 3600)),
            pg_statement_timeout_ms=_int(env, "DATAINFRA_PG_STATEMENT_TIMEOUT_MS", 30_000, 0, 86_400_000),
            query_connections_per_user=_int(env, "DATAINFRA_QUERY_CONNECTIONS_PER_USER", 4, 1, 1000),
            query_work_mem_kb=_int(env, "DATAINFRA_QUERY_WORK_MEM_KB", 16 * 1024, 64, 2**31 - 1),
            query_temp_file_limit_kb=_int(env, "DATAINFRA_QUERY_TEMP_FILE_LIMIT_KB", 256 * 1024, 0, 2**31 - 1),
            neo4j_uri=_url(env, "DATAINFRA_NEO4J_URI", ("bolt://", "neo4j://", "bolt+s://", "neo4j+s://")),
            neo4j_user=env.get("DATAINFRA_NEO4J_USER") or "neo4j",
            neo4j_password=env.get("DATAINFRA_NEO4J_PASSWORD") or None,
            neo4j_database=_database_name(env.get("DATAINFRA_NEO4J_DATABASE") or "neo4j"),
            neo4j_transaction_timeout_s=float(_int(env, "DATAINFRA_NEO4J_TX_TIMEOUT_S", 60, 1, 86_400)),
            log_format=_choice(env, "DATAINFRA_LOG_FORMAT", ("console", "json"), "console"),
            log_level=_choice(env, "DATAINFRA_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
            access_log=_bool(env, "DATAINFRA_ACCESS_LOG", True),
            local_stores=_bool(env, "DATAINFRA_LOCAL_STORES", True),
            workers=_int(env, "DATAINFRA_WORKERS", available_cores(), 1, MAX_WORKERS),
            metrics_dir=Path(env["PROMETHEUS_MULTIPROC_DIR"]) if env.get("PROMETHEUS_MULTIPROC_DIR") else None,
            shutdown_timeout_s=float(_int(env, "DATAINFRA_SHUTDOWN_TIMEOUT_S", 30, 1, 3600)),
            cors_origins=_origins(env.get("DATAINFRA_CORS_ORIGINS", "")),
        )._checked()

    def _checked(self) -> Settings:
        if self.pg_pool_min > self.pg_pool_max:
            raise SettingsError("DATAINFRA_PG_POOL_MIN must not exceed DATAINFRA_PG_POOL_MAX")
        if self.neo4j_uri and not self.neo4j_password:
            raise SettingsError("DATAINFRA_NEO4J_PASSWORD is required with DATAINFRA_NEO4J_URI")
        if not self.local_stores:
            for name, value in (("DATAINFRA_DATABASE_URL", self.database_url), ("DATAINFRA_NEO4J_URI", self.neo4j_uri)):
                if not value:
                    raise SettingsError(f"{name} is required: DATAINFRA_LOCAL_STORES=false starts no store here")
        return self


def _host(value: str) -> str:
    value = value.strip()
    if not value:
        raise SettingsError("DATAINFRA_HOST must not be empty")
    if value != "localhost":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not all(part.isalnum() or "-" in part for part in value.split(".")):
                raise SettingsError(f"DATAINFRA_HOST={value!r} is neither an IP address nor a host name") from None
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} must be between {low} and {high}")
    return value


_DATABASE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9.\-]{2,62}")
"""Neo4j's rule for a standard database name: 3 to 63 characters, letters, digits, dots, dashes."""


def _database_name(value: str) -> str:
    value = value.strip()
    if not _DATABASE_NAME.fullmatch(value):
        raise SettingsError(
            f"DATAINFRA_NEO4J_DATABASE={value!r} is not a Neo4j database name (3 to 63 letters, digits, '.' or '-', "
            "starting with a letter)"
        )
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} must be true or false")


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    for option in allowed:
        if raw.lower() == option.lower():
            return option
    raise SettingsError(f"{name}={raw!r} must be one of {', '.join(allowed)}")


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not raw.startswith(schemes):
        raise SettingsError(f"{name} must start with one of {', '.join(schemes)}")
    return raw


def _keys(raw: str) -> frozenset[str]:
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for position, key in enumerate(keys, start=1):
        if not is_well_formed_key(key):
            raise SettingsError(f"ALLOWED_KEYS: key #{position} is malformed (each must match ^[A-Za-z0-9_-]{{8,64}}$)")
    return frozenset(keys)


_ORIGIN = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")


def _origins(raw: str) -> tuple[str, ...]:
    """DATAINFRA_CORS_ORIGINS: comma-separated `scheme://host[:port]` origins (no path, no trailing
    slash: browsers send the origin exactly so), or `*` alone for any origin."""
    origins = [o.strip() for o in raw.split(",") if o.strip()]
    if "*" in origins:
        if len(origins) > 1:
            raise SettingsError("DATAINFRA_CORS_ORIGINS: '*' allows every origin and cannot be listed with others")
        return ("*",)
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise SettingsError(
                f"DATAINFRA_CORS_ORIGINS: {origin!r} is not an origin (scheme://host[:port], e.g. https://app.example.com)"
            )
    return tuple(dict.fromkeys(origins))
