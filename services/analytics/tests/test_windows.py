"""Tests of event-time tumbling windows and their grace period."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.tally import EMPTY, Tally, combine, tally_of
from services.analytics.windows import (
    Windows,
    between,
    closed_windows,
    place,
    stamped_change,
    window_start,
    windows_from_dict,
    windows_to_dict,
)

H = timedelta(hours=1)
T = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
ONE = tally_of([(("k",), 1)])


def add(windows: Windows, at: datetime) -> Windows:
    """Place one count at its own event time."""
    return place(windows, at, {at: ONE})


def test_window_start_floors_to_utc_hour_and_day() -> None:
    """Windows start on the UTC hour or day, whatever the event's zone."""
    at = datetime(2026, 10, 5, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert window_start(at, "hour") == datetime(2026, 10, 4, 23, 0, tzinfo=UTC)
    assert window_start(at, "day") == datetime(2026, 10, 4, tzinfo=UTC)


def test_out_of_order_event_lands_in_its_own_window() -> None:
    """An earlier event arriving after a later one is counted in its event-time window."""
    windows = add(add(Windows("hour"), T + H + timedelta(minutes=5)), T + timedelta(minutes=50))
    assert windows.buckets == {T: ONE, T + H: ONE}
    assert windows.late == EMPTY


def test_late_within_grace_still_counts_in_its_window() -> None:
    """An event 10 minutes past its window's end, under a 15 minute grace, joins the window."""
    windows = add(add(Windows("hour"), T + H + timedelta(minutes=10)), T + timedelta(minutes=59))
    assert windows.buckets[T] == ONE


def test_late_beyond_grace_counts_only_in_running_totals() -> None:
    """Past end + grace a window is closed: late events go to running and late, not to it."""
    windows = add(add(Windows("hour"), T + H + timedelta(minutes=15)), T + timedelta(minutes=30))
    assert T not in windows.buckets
    assert windows.running.count(("k",)) == 2
    assert windows.late == ONE
    assert closed_windows(windows) == []


def test_closed_windows_are_listed_oldest_first() -> None:
    """Windows whose end plus grace the watermark passed are final."""
    windows = Windows("hour")
    for at in (T, T + H, T + 3 * H):
        windows = add(windows, at)
    assert closed_windows(windows) == [(T, ONE), (T + H, ONE)]


def test_between_sums_the_windows_in_range() -> None:
    """A range query sums windows starting within [start, end)."""
    windows = Windows("hour")
    for at in (T, T + H, T + 2 * H):
        windows = add(windows, at)
    assert between(windows, T + H, T + 3 * H).count(("k",)) == 2


def test_only_the_newest_windows_are_retained() -> None:
    """Retention drops the oldest windows beyond the limit."""
    windows = Windows("hour", retain=2)
    for at in (T, T + H, T + 2 * H):
        windows = add(windows, at)
    assert sorted(windows.buckets) == [T + H, T + 2 * H]
    assert windows.running.count(("k",)) == 3


def test_stamped_change_moves_a_count_between_times() -> None:
    """Changing a contribution's time yields -1 at the old time and +1 at the new."""
    change = stamped_change({T + H: ONE}, {T: ONE})
    assert change == {T: ONE, T + H: tally_of([(("k",), -1)])}


offsets = st.lists(st.integers(0, 6 * 60), max_size=30)


@settings(max_examples=150, deadline=None)
@given(offsets, st.randoms())
def test_windows_plus_late_equal_running_in_any_order(minutes: list[int], rnd: object) -> None:
    """Whatever the arrival order, windows and late add up to the running total."""
    rnd.shuffle(minutes)  # type: ignore[attr-defined]
    windows = Windows("hour")
    for m in minutes:
        windows = add(windows, T + timedelta(minutes=m))
    assert combine(*windows.buckets.values(), windows.late) == windows.running
    assert windows.running.count(("k",)) == len(minutes)


@settings(max_examples=150, deadline=None)
@given(offsets)
def test_in_order_events_are_never_late(minutes: list[int]) -> None:
    """Events that arrive in event-time order always land in their windows."""
    windows = Windows("day")
    for m in sorted(minutes):
        windows = add(windows, T + timedelta(minutes=m))
    assert windows.late == EMPTY


@settings(max_examples=100, deadline=None)
@given(offsets)
def test_dict_round_trip_is_exact(minutes: list[int]) -> None:
    """Windows survive their plain-dict form unchanged."""
    windows = Windows("hour", grace=timedelta(seconds=90.5))
    for m in minutes:
        windows = add(windows, T + timedelta(minutes=m))
    assert windows_from_dict(windows_to_dict(windows)) == windows


def test_empty_windows_round_trip() -> None:
    """A fresh state with no watermark round-trips too."""
    fresh = Windows("day")
    assert windows_from_dict(windows_to_dict(fresh)) == fresh
    assert isinstance(fresh.running, Tally)
