"""Cypher's temporal values as text, and that text read back into the driver's values (issue 11).

One text per temporal type, the same on every read path (Cypher results, graph routes, exports) and
accepted back as a typed query parameter (`client_cypher.typed_values`):
- date: `2020-01-02`;
- local time / time: `12:00:00`, `12:00:00.5`, `12:00:00+01:00` (fraction without trailing zeros);
- local date-time: `2020-01-02T03:04:05.123456789` (fraction without trailing zeros);
- date-time: the API's timestamp form (issue 13: no fraction when zero, else 6 digits) extended
  for what only Cypher stores: 9 digits when there are nanoseconds, the offset when it is not UTC
  (`Z` when it is), then the zone id when there is one:
  `2015-07-21T21:40:32.142000+01:00`, `2015-07-21T21:40:32.142000001+02:00[Europe/Stockholm]`;
- duration: ISO 8601 as Neo4j prints it (`P1Y2M3DT4H5M6.000000007S`).
Seconds are always written (`12:00:00`, where Neo4j's toString() writes `12:00`). Every text is one
Neo4j's own `date()`, `time()`, `datetime()`, `duration()` ... also read.

The reader takes what the writer writes (and Neo4j's shorter forms: seconds left out, any fraction
up to 9 digits, a zone id without an offset), for years 1-9999 (the driver's and Python's range;
further dates go as text through Cypher's own functions, e.g. `date($text)`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytz
from neo4j.time import Date as NeoDate
from neo4j.time import DateTime as NeoDateTime
from neo4j.time import Duration as NeoDuration
from neo4j.time import Time as NeoTime

from datainfra.adapters.neo4j.far_temporals import offset_text, time_text

# -- writing --------------------------------------------------------------------------------------


def _second_of_day(value: NeoDateTime | NeoTime) -> int:
    return value.hour * 3600 + value.minute * 60 + int(value.second)


def _date_text(value: NeoDate | NeoDateTime) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def local_datetime_text(value: NeoDateTime) -> str:
    """`2020-01-02T03:04:05.123456789`: no zone, nanoseconds kept, as Neo4j's toString writes it."""
    return f"{_date_text(value)}T{time_text(_second_of_day(value), value.nanosecond)}"


def time_of_day_text(value: NeoTime) -> str:
    """`12:00:00` for a local time, `12:00:00+01:00` (or `Z`) for a time with an offset."""
    text = time_text(_second_of_day(value), value.nanosecond)
    offset = value.utc_offset()
    return text if offset is None else text + offset_text(int(offset.total_seconds()))


def zone_id(value: NeoDateTime) -> str | None:
    """The zone id of a zoned date-time (`Europe/Stockholm`), None for a plain offset. The driver
    builds an offset of 0 and the id `UTC` alike (pytz's one UTC), so `UTC` reads as the offset `Z`."""
    name = getattr(value.tzinfo, "zone", None) or getattr(value.tzinfo, "key", None)
    return name if isinstance(name, str) and name != "UTC" else None


def datetime_fraction(nanosecond: int) -> str:
    """None when zero, 6 digits for whole microseconds (the API's timestamps), else 9."""
    if not nanosecond:
        return ""
    return f".{nanosecond // 1000:06d}" if nanosecond % 1000 == 0 else f".{nanosecond:09d}"


def zoned_datetime_text(value: NeoDateTime) -> str:
    """`2015-07-21T21:40:32.142000+01:00`, `...Z`, `...+02:00[Europe/Stockholm]` (module docstring)."""
    clock = f"{value.hour:02d}:{value.minute:02d}:{int(value.second):02d}{datetime_fraction(value.nanosecond)}"
    offset = value.utcoffset()
    text = f"{_date_text(value)}T{clock}{offset_text(int(offset.total_seconds()) if offset is not None else 0)}"
    zone = zone_id(value)
    return text + (f"[{zone}]" if zone else "")


def duration_text(value: NeoDuration) -> str:
    return str(value.iso_format())


# -- reading --------------------------------------------------------------------------------------

_DATE = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
_CLOCK = r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
_OFFSET = r"(?P<offset>Z|[+-]\d{2}:\d{2}(?::\d{2})?)"
_ZONE = r"\[(?P<zone>[A-Za-z][A-Za-z0-9_+\-/]{0,63})\]"
_FORMS = {
    "date": re.compile(_DATE),
    "localtime": re.compile(_CLOCK),
    "time": re.compile(_CLOCK + _OFFSET),
    "localdatetime": re.compile(_DATE + "T" + _CLOCK),
    "datetime": re.compile(_DATE + "T" + _CLOCK + f"{_OFFSET}?(?:{_ZONE})?"),
}
_NUMBER = r"(-?\d{1,18})"
_DURATION = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:(-?)(\d{{1,18}})(?:\.(\d{{1,9}}))?S)?)?"
)
TEMPORAL_TYPES = (*_FORMS, "duration")
"""The type names (as result columns name them) whose text `parse_temporal` reads."""


def _offset_seconds(text: str) -> int:
    if text == "Z":
        return 0
    parts = [int(part) for part in text[1:].split(":")]
    seconds = parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)
    if parts[1] > 59 or (len(parts) > 2 and parts[2] > 59) or seconds > 18 * 3600:
        raise ValueError(f"the offset {text} is out of range (at most ±18:00)")
    if seconds % 60:  # the driver sends whole minutes only: refused here rather than cut or failed at run
        raise ValueError(f"the offset {text} has seconds; an offset is whole minutes (as results write it)")
    return seconds if text[0] == "+" else -seconds


class _TimeOffset(dt.tzinfo):
    """A time's fixed offset. The driver asks a time's tzinfo for `utcoffset(time)`, which the
    standard library's timezone refuses (it wants a datetime)."""

    def __init__(self, seconds: int) -> None:
        self._offset = dt.timedelta(seconds=seconds)

    def utcoffset(self, _: object) -> dt.timedelta:
        return self._offset

    def dst(self, _: object) -> dt.timedelta:
        return dt.timedelta(0)

    def tzname(self, _: object) -> str:
        return offset_text(int(self._offset.total_seconds()))


def _zone(name: str) -> Any:
    try:
        return pytz.timezone(name)
    except pytz.UnknownTimeZoneError:
        raise ValueError(f"unknown time zone {name!r}") from None


def _nanos(fraction: str | None) -> int:
    return int((fraction or "").ljust(9, "0"))


def _clock(match: re.Match[str]) -> tuple[int, int, int, int]:
    return int(match["hour"]), int(match["minute"]), int(match["second"] or 0), _nanos(match["fraction"])


def _datetime(match: re.Match[str]) -> NeoDateTime:
    date = (int(match["year"]), int(match["month"]), int(match["day"]))
    if match["zone"] is None:
        offset_zone = dt.timezone(dt.timedelta(seconds=_offset_seconds(match["offset"])))
        return NeoDateTime(*date, *_clock(match), tzinfo=offset_zone)
    local = NeoDateTime(*date, *_clock(match))
    zone = _zone(match["zone"])
    if match["offset"] is not None:
        offset = _offset_seconds(match["offset"])
    else:  # the zone's offset at that wall-clock time (the earlier one in a repeated hour, as Neo4j)
        delta = zone.utcoffset(dt.datetime(*date, local.hour, local.minute, int(local.second)), is_dst=True)
        offset = int(delta.total_seconds())
    return (local - dt.timedelta(seconds=offset)).replace(tzinfo=pytz.UTC).as_timezone(zone)


def parse_temporal(kind: str, text: str) -> Any:
    """The driver value of `text` read as a `kind` (one of TEMPORAL_TYPES); ValueError naming what is
    wrong otherwise (a form that does not match, a day or hour out of range, an unknown zone)."""
    if kind == "duration":
        return _duration(text)
    form = _FORMS.get(kind)
    match = form.fullmatch(text) if form is not None else None
    if match is None or (kind == "datetime" and match["offset"] is None and match["zone"] is None):
        raise ValueError(f"{text!r} is not a {kind} as results write it")
    if kind == "date":
        return NeoDate(int(match["year"]), int(match["month"]), int(match["day"]))
    if kind == "localtime":
        return NeoTime(*_clock(match))
    if kind == "time":
        return NeoTime(*_clock(match), tzinfo=_TimeOffset(_offset_seconds(match["offset"])))
    if kind == "localdatetime":
        return NeoDateTime(int(match["year"]), int(match["month"]), int(match["day"]), *_clock(match))
    return _datetime(match)


def _duration(text: str) -> NeoDuration:
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration as results write it (e.g. P1DT2H30M)")
    years, months, weeks, days, hours, minutes, minus, seconds, fraction = match.groups()
    nanoseconds = _nanos(fraction) if fraction else 0
    sign = -1 if minus else 1
    return NeoDuration(
        years=int(years or 0),
        months=int(months or 0),
        weeks=int(weeks or 0),
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=sign * int(seconds or 0),
        nanoseconds=sign * nanoseconds,
    )
