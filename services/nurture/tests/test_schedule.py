"""Due-time arithmetic: delays, windows, weekends, holidays, DST and far-off zones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.schedule import (
    Delay,
    DelayUnit,
    SendWindow,
    add_delay,
    due_time,
    in_window,
    next_in_window,
)
from services.nurture.timezones import resolve_timezone, zone_for_place

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = SendWindow(time(9), time(17))
UNITS: tuple[DelayUnit, ...] = ("business_days", "business_hours", "days", "hours", "minutes", "seconds")
ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "UTC",
]


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def wall_time_exists(day: date, wall: time, tz: ZoneInfo) -> bool:
    """False for a local time skipped by a DST change on that day."""
    moment = datetime.combine(day, wall, tzinfo=tz)
    return moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == moment.replace(tzinfo=None)


def test_delay_parses_every_unit() -> None:
    """Delays read naturally in YAML and reject anything else."""
    assert Delay.parse("2 business days") == Delay(2, "business_days")
    assert Delay.parse("1 business hour") == Delay(1, "business_hours")
    assert Delay.parse("3 days") == Delay(3, "days")
    assert Delay.parse("30 minutes") == Delay(30, "minutes")
    assert Delay.parse("5 seconds") == Delay(5, "seconds")
    with pytest.raises(ValueError):
        Delay.parse("two days")


def test_seconds_are_elapsed_time() -> None:
    """A delay in seconds adds exactly that many seconds, before the window applies."""
    start = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)
    assert add_delay(start, Delay(7, "seconds"), WINDOW, BERLIN) == start + timedelta(seconds=7)


def test_inside_window_is_unchanged() -> None:
    """A due time already inside the window stays where it is."""
    moment = local(NEW_YORK, 2025, 6, 4, 10, 30)
    assert next_in_window(moment, WINDOW, NEW_YORK) == moment


def test_after_hours_waits_for_next_morning() -> None:
    """A due time after the window closes moves to the next day's opening."""
    moment = local(NEW_YORK, 2025, 6, 4, 17, 0)
    assert next_in_window(moment, WINDOW, NEW_YORK) == local(NEW_YORK, 2025, 6, 5, 9)


def test_friday_evening_waits_for_monday() -> None:
    """Weekends are skipped."""
    moment = local(BERLIN, 2025, 6, 6, 18, 0)
    assert next_in_window(moment, WINDOW, BERLIN) == local(BERLIN, 2025, 6, 9, 9)


def test_holidays_are_skipped() -> None:
    """A configured holiday is treated like a weekend day."""
    window = SendWindow(time(9), time(17), holidays=frozenset({date(2025, 12, 25), date(2025, 12, 26)}))
    moment = local(BERLIN, 2025, 12, 24, 18, 0)
    assert next_in_window(moment, window, BERLIN) == local(BERLIN, 2025, 12, 29, 9)


def test_business_days_skip_weekend_and_keep_wall_time() -> None:
    """Two business days from Friday afternoon is Tuesday afternoon."""
    friday = local(NEW_YORK, 2025, 6, 6, 15, 0)
    assert due_time(friday, Delay(2, "business_days"), WINDOW, NEW_YORK) == local(NEW_YORK, 2025, 6, 10, 15)


def test_business_hours_carry_over_to_next_window() -> None:
    """Three business hours from 16:00 Friday end at 11:00 Monday."""
    friday = local(BERLIN, 2025, 6, 6, 16, 0)
    assert due_time(friday, Delay(3, "business_hours"), WINDOW, BERLIN) == local(BERLIN, 2025, 6, 9, 11)


def test_calendar_day_across_spring_forward_keeps_wall_time() -> None:
    """One calendar day over the March DST change is 23 elapsed hours in New York."""
    saturday = local(NEW_YORK, 2025, 3, 8, 10, 0)
    due = add_delay(saturday, Delay(1, "days"), WINDOW, NEW_YORK)
    assert due.astimezone(NEW_YORK).hour == 10
    assert due - saturday == timedelta(hours=23)


def test_business_day_across_fall_back_keeps_wall_time() -> None:
    """A business day over the November DST change still lands at 10:00 local, 25 h later."""
    friday = local(NEW_YORK, 2025, 10, 31, 10, 0)
    due = due_time(friday, Delay(1, "business_days"), WINDOW, NEW_YORK)
    assert due == local(NEW_YORK, 2025, 11, 3, 10, 0)
    assert due - friday == timedelta(days=3, hours=1)


def test_berlin_window_opens_at_local_nine_either_side_of_dst() -> None:
    """Berlin's 09:00 is 08:00 UTC in winter and 07:00 UTC in summer."""
    before = next_in_window(datetime(2025, 3, 28, 20, tzinfo=UTC), WINDOW, BERLIN)
    after = next_in_window(datetime(2025, 3, 29, 20, tzinfo=UTC), WINDOW, BERLIN)
    assert before == datetime(2025, 3, 31, 7, tzinfo=UTC)
    assert after == datetime(2025, 3, 31, 7, tzinfo=UTC)
    assert next_in_window(datetime(2025, 3, 27, 20, tzinfo=UTC), WINDOW, BERLIN) == datetime(2025, 3, 28, 8, tzinfo=UTC)


def test_window_opening_in_the_skipped_hour_moves_forward() -> None:
    """A window opening at 02:30 on the spring-forward day opens at 03:30 EDT instead."""
    window = SendWindow(time(2, 30), time(5), weekdays=frozenset(range(7)))
    opened = next_in_window(local(NEW_YORK, 2025, 3, 9, 0, 0), window, NEW_YORK)
    assert opened.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2025, 3, 9, 3, 30)
    assert in_window(opened, window, NEW_YORK)


def test_dateline_zones_use_their_own_weekday() -> None:
    """Kiritimati (UTC+14) is already on Saturday when UTC is on Friday, so it waits for Monday."""
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    friday_utc = datetime(2025, 6, 6, 12, tzinfo=UTC)
    due = next_in_window(friday_utc, WINDOW, kiritimati)
    assert due == local(kiritimati, 2025, 6, 9, 9)


def test_naive_datetimes_are_refused() -> None:
    """A naive instant is ambiguous, so it is an error rather than a guess."""
    with pytest.raises(ValueError):
        next_in_window(datetime(2025, 6, 6, 12), WINDOW, BERLIN)


def test_timezone_prefers_attribute_then_place_then_rep() -> None:
    """The explicit attribute wins, then country/region, then the rep's zone."""
    assert resolve_timezone({"timezone": "Asia/Tokyo", "country": "US"}, "Europe/Paris") == ZoneInfo("Asia/Tokyo")
    assert resolve_timezone({"timezone": "Mars/Olympus", "country": "US", "region": "US-CA"}, "UTC") == ZoneInfo(
        "America/Los_Angeles"
    )
    assert resolve_timezone({"country": "de"}, "UTC") == BERLIN
    assert resolve_timezone({"country": "ZZ"}, "Europe/Paris") == ZoneInfo("Europe/Paris")
    assert zone_for_place("AU", "WA") == ZoneInfo("Australia/Perth")


instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.just(UTC),
)
delays = st.builds(
    Delay,
    st.integers(0, 30),
    st.sampled_from(UNITS),
)
windows = st.builds(
    lambda start, length, days, holidays: SendWindow(
        time(start), time(start + length), frozenset(days), frozenset(holidays)
    ),
    st.integers(0, 20),
    st.integers(1, 3),
    st.sets(st.integers(0, 6), min_size=1),
    st.sets(st.dates(date(2024, 1, 1), date(2028, 3, 1)), max_size=20),
)


@settings(max_examples=200, deadline=None)
@given(instants, delays, windows, st.sets(st.integers(-1, 30), max_size=15), st.sampled_from(ZONES))
def test_due_time_always_inside_window(
    start: datetime, delay: Delay, window: SendWindow, near: set[int], zone: str
) -> None:
    """A due time is never before the delay, never outside the window, a weekend or a holiday."""
    tz = ZoneInfo(zone)
    # Holidays close to the start, where a due time would otherwise land.
    today = start.astimezone(tz).date()
    window = replace(window, holidays=window.holidays | {today + timedelta(days=k) for k in near})
    due = due_time(start, delay, window, tz)
    wall = due.astimezone(tz)
    day = wall.date()
    assert in_window(due, window, tz)
    if wall_time_exists(day, window.start, tz):
        assert window.start <= wall.time() < window.end
    assert day.weekday() in window.weekdays and day not in window.holidays
    assert due >= start


@settings(max_examples=150, deadline=None)
@given(
    instants,
    st.integers(0, 20),
    st.integers(0, 20),
    st.sampled_from(UNITS),
    st.sampled_from(ZONES),
)
def test_due_time_is_monotone_in_delay(start: datetime, a: int, b: int, unit: DelayUnit, zone: str) -> None:
    """A longer delay never makes a step due earlier."""
    tz = ZoneInfo(zone)
    short, long = sorted((a, b))
    assert due_time(start, Delay(short, unit), WINDOW, tz) <= due_time(start, Delay(long, unit), WINDOW, tz)


@settings(max_examples=150, deadline=None)
@given(instants, windows, st.sampled_from(ZONES))
def test_next_in_window_is_the_earliest_open_instant(start: datetime, window: SendWindow, zone: str) -> None:
    """Nothing between the start and the answer (checked every 30 minutes) is inside the window."""
    tz = ZoneInfo(zone)
    answer = next_in_window(start, window, tz)
    probe = start
    while probe < answer and probe < start + timedelta(days=4):
        assert not in_window(probe, window, tz)
        probe += timedelta(minutes=30)
