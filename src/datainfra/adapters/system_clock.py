"""The production Clock and IdGenerator: the system's UTC time and random UUIDs. An adapter of its
own (not under memory/) because production wires it, and production imports no in-memory adapter."""

from __future__ import annotations

import datetime as dt
import uuid

from datainfra.domain.ports.clock import Clock, IdGenerator


class SystemClock(Clock):
    def now(self) -> dt.datetime:
        """UTC now at microsecond precision, what PostgreSQL's timestamptz keeps."""
        return dt.datetime.now(dt.UTC)


class UuidGenerator(IdGenerator):
    def new_id(self) -> str:
        return str(uuid.uuid4())
