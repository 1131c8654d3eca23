"""Settings, read from the environment once at start-up (never at import) and validated there, so a
wrong value stops the process with a message naming the variable."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from datainfra.domain.auth import is_well_formed_key


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the environment variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_keys: frozenset[str] = field(default_factory=frozenset)
    data_dir: Path = Path(".data")
    max_body_bytes: int = 1024 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            host=_host(env.get("DATAINFRA_HOST", "127.0.0.1")),
            port=_int(env, "DATAINFRA_PORT", 8000, 1, 65535),
            allowed_keys=_keys(env.get("ALLOWED_KEYS", "")),
            data_dir=Path(env.get("DATAINFRA_DATA_DIR") or ".data"),
            max_body_bytes=_int(env, "DATAINFRA_MAX_BODY_BYTES", 1024 * 1024 * 1024, 1024, 2**40),
        )


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


def _keys(raw: str) -> frozenset[str]:
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for position, key in enumerate(keys, start=1):
        if not is_well_formed_key(key):
            raise SettingsError(f"ALLOWED_KEYS: key #{position} is malformed (each must match ^[A-Za-z0-9_-]{{8,64}}$)")
    return frozenset(keys)
