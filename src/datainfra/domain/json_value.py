"""JSON values as the domain receives them from a decoded body: numbers are `int` or `Decimal`
(bodies decode floats exactly), or `float` from other sources."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeAlias

JsonValue: TypeAlias = "bool | int | float | Decimal | str | list[JsonValue] | dict[str, JsonValue] | None"
"""Any JSON value."""

JsonObject: TypeAlias = "dict[str, JsonValue]"
"""A JSON object: member name → value."""
