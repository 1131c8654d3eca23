"""Neo4j dates and times outside years 1-9999, read back as the text Neo4j itself writes for them.

Neo4j stores dates from year -999,999,999 to 999,999,999; the Python driver (like Python) builds only
years 1 to 9999. For anything else it leaves a placeholder that breaks the record, so a node that a
client once gave `date('+20000-01-01')` made every read of its dataset (pages, exports, Cypher)
fail. The driver has no public hook for this, so `install()` wraps its temporal hydrators once: a
value they cannot build becomes plain text, Neo4j's own `toString()` form (`+20000-01-01`,
`-0044-03-15T12:00:00Z`), which every encoder and export already carries. Values in range are built
exactly as before.

The wrapped functions are private to the driver (pinned in pyproject.toml); tests/integration/
neo4j/test_far_temporals.py stores such values and reads them back through every read path, so a
driver upgrade that moves them fails loudly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

_UNIX_EPOCH_DAYS_FROM_0000_03_01 = 719_468
_DAYS_PER_400_YEARS = 146_097
_SECONDS_PER_DAY = 86_400

_installed = False


def civil_date(days: int) -> tuple[int, int, int]:
    """(year, month, day) of the proleptic Gregorian calendar, *days* after 1970-01-01; any integer.

    Howard Hinnant's days_from_civil inverse: exact for every integer, no table, no recursion."""
    z = days + _UNIX_EPOCH_DAYS_FROM_0000_03_01
    era = z // _DAYS_PER_400_YEARS
    doe = z - era * _DAYS_PER_400_YEARS
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def date_text(days: int) -> str:
    """ISO-8601 as Neo4j (java.time) writes it: four-digit years as is, others signed."""
    year, month, day = civil_date(days)
    if 0 <= year <= 9999:
        shown = f"{year:04d}"
    elif year > 9999:
        shown = f"+{year}"
    else:
        shown = f"-{-year:04d}"
    return f"{shown}-{month:02d}-{day:02d}"


def time_text(seconds_of_day: int, nanoseconds: int) -> str:
    """hh:mm:ss, and a fraction without trailing zeros where there is one (Neo4j's toString)."""
    hours, rest = divmod(seconds_of_day, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if nanoseconds:
        text += "." + f"{nanoseconds:09d}".rstrip("0")
    return text


def offset_text(offset_seconds: int) -> str:
    if offset_seconds == 0:
        return "Z"
    sign = "+" if offset_seconds > 0 else "-"
    hours, rest = divmod(abs(offset_seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def zone_offset(seconds: int, zone: str) -> int:
    """The offset of a named zone at an instant of any year. Calendars and time-zone rules repeat every 400
    years past the last transition (before the first one, local mean time holds), so the instant is moved
    by whole 400-year cycles into the years Python can build."""
    year = civil_date(seconds // _SECONDS_PER_DAY)[0]
    cycles = 0  # into years 400-800 or 9200-9600: far from both ends, whatever the offset
    if year > 9600:
        cycles = -((year - 9200) // 400)
    elif year < 400:
        cycles = (800 - year) // 400
    moved = seconds + cycles * _DAYS_PER_400_YEARS * _SECONDS_PER_DAY
    instant = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=moved)
    offset = instant.astimezone(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def datetime_text(seconds: int, nanoseconds: int, tz: int | str | None = None) -> str:
    """A date-time from seconds since the epoch (UTC for zoned values, local for the rest), as Neo4j
    writes it: local, with its offset, or with its offset and zone name."""
    offset = zone_offset(seconds, tz) if isinstance(tz, str) else tz or 0
    days, second_of_day = divmod(seconds + offset, _SECONDS_PER_DAY)
    text = f"{date_text(days)}T{time_text(second_of_day, nanoseconds)}"
    if tz is None:
        return text
    return text + offset_text(offset) + (f"[{tz}]" if isinstance(tz, str) else "")


def _far_or(hydrate: Callable[..., Any], text: Callable[..., str]) -> Callable[..., Any]:
    def hydrated(*fields: Any) -> Any:
        try:
            return hydrate(*fields)
        except (ValueError, OverflowError):
            return text(*fields)

    hydrated.__wrapped__ = hydrate  # type: ignore[attr-defined]
    return hydrated


def install() -> None:
    """Wrap the driver's date and date-time hydrators (once per process; before any connection)."""
    global _installed
    if _installed:
        return
    from neo4j._codec.hydration.bolt.v1 import temporal as temporal_v1
    from neo4j._codec.hydration.bolt.v2 import temporal as temporal_v2

    # Bolt 5 (Neo4j 5) sends date-times as UTC seconds (tags I, i, d: temporal_v2); the v1 date-time
    # hydrator serves only Bolt 4's local-seconds form and is left alone.
    temporal_v1.hydrate_date = _far_or(temporal_v1.hydrate_date, date_text)
    temporal_v2.hydrate_datetime = _far_or(temporal_v2.hydrate_datetime, datetime_text)
    _installed = True
