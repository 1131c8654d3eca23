"""API keys: their shape, how they are kept (hashes only) and how new ones are made."""

from __future__ import annotations

import hashlib
import re
import secrets

API_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")


def is_well_formed_key(key: str | None) -> bool:
    return key is not None and API_KEY_PATTERN.fullmatch(key) is not None


def hash_api_key(key: str) -> str:
    """SHA-256, hex. Keys we issue carry 256 bits of randomness, so a slow password hash buys
    nothing; what matters is that the catalog never holds a usable key."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return "dik_" + secrets.token_urlsafe(32)
