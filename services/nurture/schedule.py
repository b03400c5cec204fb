"""Due-time arithmetic for sequence steps: delays, send windows, weekends and holidays.

Pure: every instant is an aware datetime passed in and returned in UTC; no clock reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DelayUnit = Literal["business_days", "business_hours", "days", "hours", "minutes", "seconds"]

_DELAY = re.compile(r"^\s*(\d+)\s+(business\s+days?|business\s+hours?|days?|hours?|minutes?|seconds?)\s*$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A send window holds within one local day, so a week of searching always finds one
# unless the holidays cover years; the bound turns a misconfiguration into an error.
_MAX_SEARCH_DAYS = 3660
_ELAPSED_SECONDS = {"hours": 3600, "minutes": 60, "seconds": 1}


@dataclass(frozen=True)
class Delay:
    """How long after the previous step (or the enrolment) a step is due."""

    amount: int
    unit: DelayUnit

    @classmethod
    def parse(cls, text: str) -> Delay:
        """Parse '2 business days', '4 business hours', '3 days', '6 hours', '30 minutes', '5 seconds'.

        Seconds exist for tests and demos that must run a whole sequence in moments.
        """
        match = _DELAY.match(text)
        if match is None:
            raise ValueError(f"bad delay {text!r}")
        words = match.group(2).split()
        unit = "_".join(words).rstrip("s") + "s"
        return cls(int(match.group(1)), unit)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.replace('_', ' ')}"


@dataclass(frozen=True)
class SendWindow:
    """Local hours [start, end) on the given weekdays (0 = Monday), minus holiday dates."""

    start: time = time(9, 0)
    end: time = time(17, 0)
    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("send window must start before it ends, within one day")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("send window needs weekdays in 0..6")

    def is_open_on(self, day: date) -> bool:
        """True when the window opens at all on this local date."""
        return day.weekday() in self.weekdays and day not in self.holidays


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")


def _local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The instant of a local wall time; a wall time skipped by DST moves forward by the gap."""
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def _window_bounds(day: date, window: SendWindow, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return _local_instant(day, window.start, tz), _local_instant(day, window.end, tz)


def in_window(moment: datetime, window: SendWindow, tz: ZoneInfo) -> bool:
    """True when the instant falls inside the lead's send window on an open day."""
    _require_aware(moment)
    day = moment.astimezone(tz).date()
    opens, closes = _window_bounds(day, window, tz)
    return window.is_open_on(day) and opens <= moment < closes


def next_in_window(moment: datetime, window: SendWindow, tz: ZoneInfo) -> datetime:
    """The earliest instant at or after `moment` inside the window (UTC)."""
    _require_aware(moment)
    day = moment.astimezone(tz).date()
    for offset in range(_MAX_SEARCH_DAYS):
        candidate_day = day + timedelta(days=offset)
        opens, closes = _window_bounds(candidate_day, window, tz)
        if window.is_open_on(candidate_day) and moment < closes:
            return max(moment, opens).astimezone(UTC)
    raise ValueError("send window never opens; check weekdays and holidays")


def _add_business_days(moment: datetime, days: int, window: SendWindow, tz: ZoneInfo) -> datetime:
    """Same local wall time `days` open days later; weekends and holidays are not counted."""
    local = moment.astimezone(tz)
    day = local.date()
    while days > 0:
        day += timedelta(days=1)
        days -= window.is_open_on(day)
    return _local_instant(day, local.time(), tz)


def _add_business_hours(moment: datetime, hours: int, window: SendWindow, tz: ZoneInfo) -> datetime:
    """Spend `hours` of open window time, carrying what is left into the next window."""
    remaining = timedelta(hours=hours)
    cursor = next_in_window(moment, window, tz)
    while True:
        _, closes = _window_bounds(cursor.astimezone(tz).date(), window, tz)
        if cursor + remaining < closes:
            return cursor + remaining
        remaining -= closes - cursor
        cursor = next_in_window(closes, window, tz)


def add_delay(moment: datetime, delay: Delay, window: SendWindow, tz: ZoneInfo) -> datetime:
    """`moment` plus the delay, before the window is applied.

    Calendar days keep the local wall time across DST changes; hours and minutes are
    elapsed time. Business hours are counted only while the window is open.
    """
    _require_aware(moment)
    if delay.unit == "business_days":
        return _add_business_days(moment, delay.amount, window, tz)
    if delay.unit == "business_hours":
        return _add_business_hours(moment, delay.amount, window, tz)
    if delay.unit == "days":
        local = moment.astimezone(tz)
        later = local.date() + timedelta(days=delay.amount)
        return _local_instant(later, local.time(), tz)
    seconds = delay.amount * _ELAPSED_SECONDS[delay.unit]
    return (moment + timedelta(seconds=seconds)).astimezone(UTC)


def due_time(previous: datetime, delay: Delay, window: SendWindow, tz: ZoneInfo) -> datetime:
    """When a step is due: `delay` after the previous step actually went out, inside the window.

    Measuring from the actual send time is what shifts the following steps when one
    step had to wait for its window or for a cap.
    """
    return next_in_window(add_delay(previous, delay, window, tz), window, tz)
