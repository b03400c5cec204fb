"""Tumbling hour/day windows placed by event time, with a grace period, plus running totals.

Pure values: the watermark is the greatest event time seen, never the wall clock.

Grace rule: a window [start, end) stays open until the watermark reaches end + grace. An entry
whose window is already closed is added to the running total and to `late`, but never to its
closed window, so a closed window's numbers never change once published. Hence for every key
sum(windows) + late == running, whatever the order of arrival, until retention drops old windows
(keep retain times the window size well above the grace, so only closed windows are ever dropped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from services.analytics.tally import (
    EMPTY,
    Tally,
    combine,
    negate,
    tally_from_dict,
    tally_to_dict,
)

Granularity = Literal["hour", "day"]
SIZES: Mapping[Granularity, timedelta] = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
DEFAULT_GRACE = timedelta(minutes=15)

# A contribution split by the event time each part belongs to.
Stamped = Mapping[datetime, Tally]


@dataclass(frozen=True)
class Windows:
    """Per-window tallies keyed by UTC window start; only the newest `retain` are kept."""

    granularity: Granularity
    grace: timedelta = DEFAULT_GRACE
    retain: int = 48
    watermark: datetime | None = None
    buckets: Mapping[datetime, Tally] = field(default_factory=dict)
    running: Tally = EMPTY
    late: Tally = EMPTY


def window_start(at: datetime, granularity: Granularity) -> datetime:
    """The UTC start of the window holding at."""
    utc = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return utc.replace(hour=0) if granularity == "day" else utc


def is_closed(windows: Windows, start: datetime) -> bool:
    """True once the watermark has passed the window's end plus the grace period."""
    end = start + SIZES[windows.granularity]
    return windows.watermark is not None and windows.watermark >= end + windows.grace


def place(windows: Windows, event_time: datetime, stamped: Stamped) -> Windows:
    """Add one event's contribution: the event first advances the watermark, then each part
    goes to its own window if that is still open, else to `late`; all go to `running`.
    """
    return place_split(windows, event_time, stamped)[0]


def place_split(windows: Windows, event_time: datetime, stamped: Stamped) -> tuple[Windows, dict[datetime, Tally]]:
    """As place, and also the parts that went to `late` (by their event time), so the entity
    that caused them can remember them and the windows can be rebuilt from entities alone."""
    mark = event_time if windows.watermark is None else max(windows.watermark, event_time)
    moved = replace(windows, watermark=mark)
    buckets = dict(moved.buckets)
    late: dict[datetime, Tally] = {}
    for at, tally in stamped.items():
        start = window_start(at, moved.granularity)
        if is_closed(moved, start):
            late[at] = tally
        else:
            buckets[start] = combine(buckets.get(start, EMPTY), tally)
    placed = replace(
        moved,
        buckets=_newest(buckets, moved.retain),
        running=combine(moved.running, *stamped.values()),
        late=combine(moved.late, *late.values()),
    )
    return placed, late


def rebuild(empty: Windows, watermark: datetime | None, stamped: Stamped, late: Stamped) -> Windows:
    """Windows from what entities remember: every part by event time, and the parts of them
    that arrived after their window had closed (those count in `late`, not in a window)."""
    buckets: dict[datetime, Tally] = {}
    for at, tally in stamped_change(late, stamped).items():
        start = window_start(at, empty.granularity)
        buckets[start] = combine(buckets.get(start, EMPTY), tally)
    return replace(
        empty,
        watermark=watermark,
        buckets=_newest({s: t for s, t in buckets.items() if t != EMPTY}, empty.retain),
        running=flatten(stamped),
        late=flatten(late),
    )


def _newest(buckets: Mapping[datetime, Tally], retain: int) -> dict[datetime, Tally]:
    kept = sorted(buckets)[-retain:]
    return {start: buckets[start] for start in kept if buckets[start] != EMPTY}


def closed_windows(windows: Windows) -> list[tuple[datetime, Tally]]:
    """Retained windows that are final, oldest first."""
    return [(s, t) for s, t in sorted(windows.buckets.items()) if is_closed(windows, s)]


def between(windows: Windows, start: datetime, end: datetime) -> Tally:
    """Sum of retained windows whose start lies in [start, end)."""
    return combine(*(t for s, t in windows.buckets.items() if start <= s < end))


def stamped_change(before: Stamped, after: Stamped) -> dict[datetime, Tally]:
    """What to place so that a contribution `before` becomes `after`, time by time."""
    times = set(before) | set(after)
    change = {at: combine(after.get(at, EMPTY), negate(before.get(at, EMPTY))) for at in times}
    return {at: tally for at, tally in change.items() if tally != EMPTY}


def flatten(stamped: Stamped) -> Tally:
    """The contribution with its times forgotten."""
    return combine(*stamped.values())


def stamped_of(parts: Iterable[tuple[datetime, Tally]]) -> dict[datetime, Tally]:
    """Group (time, tally) parts by time."""
    grouped: dict[datetime, Tally] = {}
    for at, tally in parts:
        grouped[at] = combine(grouped.get(at, EMPTY), tally)
    return grouped


def windows_to_dict(windows: Windows) -> dict[str, Any]:
    """Plain form; times ISO 8601, grace in seconds."""
    return {
        "granularity": windows.granularity,
        "grace_seconds": windows.grace.total_seconds(),
        "retain": windows.retain,
        "watermark": None if windows.watermark is None else windows.watermark.isoformat(),
        "buckets": [[s.isoformat(), tally_to_dict(t)] for s, t in sorted(windows.buckets.items())],
        "running": tally_to_dict(windows.running),
        "late": tally_to_dict(windows.late),
    }


def windows_from_dict(data: Mapping[str, Any]) -> Windows:
    """Inverse of windows_to_dict."""
    mark = data["watermark"]
    return Windows(
        granularity=data["granularity"],
        grace=timedelta(seconds=data["grace_seconds"]),
        retain=int(data["retain"]),
        watermark=None if mark is None else datetime.fromisoformat(mark),
        buckets={datetime.fromisoformat(s): tally_from_dict(t) for s, t in data["buckets"]},
        running=tally_from_dict(data["running"]),
        late=tally_from_dict(data["late"]),
    )
