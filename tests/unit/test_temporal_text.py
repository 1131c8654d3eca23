"""Issue 11: each Cypher temporal value has one text (adapters/neo4j/temporal_text.py) that reads back
as the same value, nanoseconds, offset and zone id kept; any other text is a ValueError, never
another exception."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st
from neo4j.time import Date, DateTime, Duration, Time

from datainfra.adapters.neo4j.temporal_text import (
    TEMPORAL_TYPES,
    duration_text,
    local_datetime_text,
    parse_temporal,
    time_of_day_text,
    zone_id,
    zoned_datetime_text,
)
from tests.support.hypothesis_budget import examples

_ZONES = ["Europe/Stockholm", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]
_NANOS = st.one_of(st.just(0), st.integers(0, 999_999).map(lambda us: us * 1000), st.integers(0, 999_999_999))
_OFFSETS = st.integers(-18 * 60, 18 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))  # whole minutes


@st.composite
def local_datetimes(draw: st.DrawFn) -> DateTime:
    day = draw(st.dates(min_value=dt.date(1, 1, 2), max_value=dt.date(9999, 12, 30)))
    clock = draw(st.times())
    return DateTime(day.year, day.month, day.day, clock.hour, clock.minute, clock.second, draw(_NANOS))


@st.composite
def zoned_datetimes(draw: st.DrawFn) -> DateTime:
    local = draw(local_datetimes())
    if draw(st.booleans()):
        return DateTime(*local.year_month_day, local.hour, local.minute, int(local.second), local.nanosecond,
                        tzinfo=draw(_OFFSETS))  # fmt: skip
    zone = pytz.timezone(draw(st.sampled_from(_ZONES)))
    return local.replace(tzinfo=pytz.UTC).as_timezone(zone)  # as the driver hydrates a zoned value


@st.composite
def times(draw: st.DrawFn) -> Time:
    clock = draw(st.times())
    tz = draw(st.none() | _OFFSETS)
    return Time(clock.hour, clock.minute, clock.second, draw(_NANOS), tzinfo=tz)


_DURATIONS = st.builds(
    Duration,
    months=st.integers(-(10**6), 10**6),
    days=st.integers(-(10**6), 10**6),
    seconds=st.integers(-(10**11), 10**11),
    nanoseconds=st.integers(-999_999_999, 999_999_999),
)


@settings(max_examples=examples(400), deadline=None)
@given(zoned_datetimes())
def test_a_zoned_datetime_reads_back_with_its_offset_zone_and_nanoseconds(value: DateTime) -> None:
    text = zoned_datetime_text(value)
    back = parse_temporal("datetime", text)
    assert back == value and back.nanosecond == value.nanosecond
    assert back.utcoffset() == value.utcoffset() and zone_id(back) == zone_id(value)
    assert zoned_datetime_text(back) == text


@settings(max_examples=examples(300), deadline=None)
@given(local_datetimes())
def test_a_local_datetime_reads_back(value: DateTime) -> None:
    back = parse_temporal("localdatetime", local_datetime_text(value))
    assert back == value and back.tzinfo is None and back.nanosecond == value.nanosecond


@settings(max_examples=examples(300), deadline=None)
@given(times())
def test_a_time_reads_back(value: Time) -> None:
    kind = "localtime" if value.tzinfo is None else "time"
    back = parse_temporal(kind, time_of_day_text(value))
    assert back == value and back.utc_offset() == value.utc_offset() and back.nanosecond == value.nanosecond


@settings(max_examples=examples(200), deadline=None)
@given(st.dates())
def test_a_date_reads_back(value: dt.date) -> None:
    assert parse_temporal("date", value.isoformat()) == Date(value.year, value.month, value.day)


@settings(max_examples=examples(300), deadline=None)
@given(_DURATIONS)
def test_a_duration_reads_back(value: Duration) -> None:
    back = parse_temporal("duration", duration_text(value))
    assert tuple(back) == tuple(value)


@settings(max_examples=examples(500), deadline=None)
@given(st.sampled_from(TEMPORAL_TYPES), st.text(alphabet="0123456789-+:.TZPYMWDHS[]/ Europ_eStckhlm", max_size=40))
def test_any_other_text_is_a_value_error(kind: str, text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_temporal(kind, text)


def test_the_datetime_text_is_the_api_timestamp_in_utc_and_keeps_what_cypher_stores() -> None:
    utc = dt.UTC
    assert zoned_datetime_text(DateTime(2024, 1, 2, 3, 4, 5, 500_000_000, tzinfo=utc)) == "2024-01-02T03:04:05.500000Z"
    assert zoned_datetime_text(DateTime(2024, 1, 2, 3, 4, 5, tzinfo=utc)) == "2024-01-02T03:04:05Z"
    plus_one = dt.timezone(dt.timedelta(hours=1))
    text = zoned_datetime_text(DateTime(2015, 7, 21, 21, 40, 32, 142_000_001, tzinfo=plus_one))
    assert text == "2015-07-21T21:40:32.142000001+01:00"
    stockholm = parse_temporal("datetime", "2015-07-21T21:40:32.142+02:00[Europe/Stockholm]")
    assert zoned_datetime_text(stockholm) == "2015-07-21T21:40:32.142000+02:00[Europe/Stockholm]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-07-21T21:40[Europe/Stockholm]", "2015-07-21T21:40:00+02:00[Europe/Stockholm]"),
        ("2015-01-21T21:40:32[Europe/Stockholm]", "2015-01-21T21:40:32+01:00[Europe/Stockholm]"),
        ("1984-10-11T12:31:14.123456789-05:30", "1984-10-11T12:31:14.123456789-05:30"),
    ],
)
def test_neo4j_s_shorter_forms_are_read(text: str, expected: str) -> None:
    assert zoned_datetime_text(parse_temporal("datetime", text)) == expected


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("date", "2020-02-30"),
        ("date", "+20000-01-01"),
        ("localtime", "24:00:00"),
        ("time", "12:00:00+19:00"),
        ("datetime", "2020-01-01T00:00:00"),
        ("datetime", "2020-01-01T00:00:00Z[Mars/Olympus]"),
        ("localdatetime", "2020-01-01T00:00:00Z"),
        ("duration", "P"),
        ("duration", "PT"),
        ("duration", "P1DT"),
        ("duration", "1D"),
    ],
)
def test_wrong_texts_say_what_is_wrong(kind: str, text: str) -> None:
    with pytest.raises(ValueError):
        parse_temporal(kind, text)


@pytest.mark.parametrize(
    ("kind", "text"), [("time", "12:34:56+02:05:59"), ("datetime", "2015-07-21T21:40:32-02:05:07")]
)
def test_an_offset_with_seconds_is_refused_not_cut(kind: str, text: str) -> None:
    """The driver sends offsets in whole minutes: a value it would cut (or fail to send) is refused."""
    with pytest.raises(ValueError, match="whole minutes"):
        parse_temporal(kind, text)
