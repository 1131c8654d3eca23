"""Neo4j dates and times past the years Python builds are written as Neo4j's toString() writes them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from datainfra.adapters.neo4j.far_temporals import civil_date, date_text, datetime_text, time_text, zone_offset
from tests.support.hypothesis_budget import examples

_EPOCH = dt.date(1970, 1, 1)
_PYTHON_DAYS = st.integers(min_value=(dt.date.min - _EPOCH).days, max_value=(dt.date.max - _EPOCH).days)
_ZONES = st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"])


@settings(max_examples=examples(500), deadline=None)
@given(_PYTHON_DAYS)
def test_the_calendar_agrees_with_python_where_python_has_one(days: int) -> None:
    expected = _EPOCH + dt.timedelta(days=days)
    assert civil_date(days) == (expected.year, expected.month, expected.day)
    assert date_text(days) == expected.isoformat()


@settings(max_examples=examples(300), deadline=None)
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_every_day_has_a_well_formed_date(days: int) -> None:
    year, month, day = civil_date(days)
    assert 1 <= month <= 12 and 1 <= day <= 31
    assert civil_date(days + 1) != (year, month, day)


def test_far_dates_are_signed_like_neo4j() -> None:
    assert date_text((dt.date(2000, 1, 1) - _EPOCH).days + 146_097 * 45) == "+20000-01-01"
    assert date_text(-719_528 - 365) == "-0001-01-01"  # the day 0000-01-01 is 719,528 days before 1970
    assert date_text(-719_528) == "0000-01-01"
    assert time_text(3_600 * 10 + 60 * 30, 0) == "10:30:00"
    assert time_text(0, 123_400_000) == "00:00:00.1234"


@settings(max_examples=examples(300), deadline=None)
@given(
    st.integers(min_value=-62_000_000_000, max_value=253_000_000_000),
    st.sampled_from([0, 500_000_000, 1]),
    _ZONES,
)
def test_zoned_text_agrees_with_python_where_python_has_one(seconds: int, nanos: int, zone: str) -> None:
    instant = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    local = instant.astimezone(ZoneInfo(zone))
    offset = local.utcoffset()
    assert offset is not None
    assert zone_offset(seconds, zone) == int(offset.total_seconds())
    text = datetime_text(seconds, nanos, zone)
    assert text.startswith(local.replace(tzinfo=None).isoformat(timespec="seconds"))
    assert text.endswith(f"[{zone}]")
