"""Per-lead frequency caps and per-mailbox throttles: overflow waits, never drops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.caps import Cap, earliest_allowed, earliest_send, respects

T0 = datetime(2025, 6, 2, 9, tzinfo=UTC)
DAY, WEEK = timedelta(days=1), timedelta(weeks=1)
LEAD_CAPS = (Cap(1, DAY), Cap(3, WEEK))


def test_cap_parses_rates() -> None:
    """Caps are written as count/period."""
    assert Cap.parse("1/day") == Cap(1, DAY)
    assert Cap.parse("3 / week") == Cap(3, WEEK)
    assert Cap.parse("500/24h") == Cap(500, timedelta(hours=24))
    with pytest.raises(ValueError):
        Cap.parse("often")


def test_no_history_sends_at_candidate() -> None:
    """With nothing sent, the candidate time is allowed."""
    assert earliest_allowed(T0, [], LEAD_CAPS) == T0


def test_daily_cap_waits_a_full_day() -> None:
    """One email a day: a second email waits until 24 h after the first."""
    assert earliest_allowed(T0 + timedelta(hours=2), [T0], LEAD_CAPS) == T0 + DAY


def test_weekly_cap_waits_for_oldest_to_leave_the_week() -> None:
    """Three a week: a fourth waits until the first of the three is a week old."""
    history = [T0, T0 + DAY, T0 + 2 * DAY]
    assert earliest_allowed(T0 + 3 * DAY, history, LEAD_CAPS) == T0 + WEEK


def test_booked_future_sends_leave_gaps_usable() -> None:
    """A mailbox queue with a gap lets a send fall in the gap without crowding either side."""
    per_minute = (Cap(2, timedelta(minutes=1)),)
    booked = [T0, T0 + timedelta(seconds=10), T0 + timedelta(minutes=3)]
    assert earliest_allowed(T0, booked, per_minute) == T0 + timedelta(minutes=1)


def test_lead_and_mailbox_caps_combine() -> None:
    """A send waits for whichever of the lead's caps and the mailbox's throttle is later."""
    lead_free = T0 + timedelta(hours=23)  # a day after the lead's last email
    mailbox = [lead_free + timedelta(seconds=s) for s in range(0, 60, 10)]
    throttle = (Cap(6, timedelta(minutes=1)),)
    moment = earliest_send(T0, [T0 - timedelta(hours=1)], LEAD_CAPS, mailbox, throttle)
    assert moment == lead_free + timedelta(minutes=1)


instants = st.integers(0, 14 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m))
cap_sets = st.lists(
    st.builds(
        Cap,
        st.integers(1, 4),
        st.sampled_from([timedelta(minutes=1), timedelta(hours=1), DAY, WEEK]),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(instants, max_size=25), cap_sets)
def test_caps_are_never_exceeded(requests: list[datetime], caps: list[Cap]) -> None:
    """Booking every request at its earliest allowed time never breaks a cap and never drops one."""
    booked: list[datetime] = []
    for request in requests:
        moment = earliest_allowed(request, booked, caps)
        assert moment >= request
        booked.append(moment)
    assert len(booked) == len(requests)
    assert all(respects(booked, cap) for cap in caps)


@settings(max_examples=100, deadline=None)
@given(st.lists(instants, max_size=10), st.lists(instants, max_size=15), instants)
def test_earliest_send_respects_both_sides(lead: list[datetime], mailbox: list[datetime], candidate: datetime) -> None:
    """The combined answer keeps the lead's caps and the mailbox's throttle, given valid histories."""
    lead_caps, mailbox_caps = [Cap(1, DAY)], [Cap(2, timedelta(hours=1))]
    lead_ok = keep_within(lead, lead_caps[0])
    mailbox_ok = keep_within(mailbox, mailbox_caps[0])
    moment = earliest_send(candidate, lead_ok, lead_caps, mailbox_ok, mailbox_caps)
    assert moment >= candidate
    assert respects([*lead_ok, moment], lead_caps[0])
    assert respects([*mailbox_ok, moment], mailbox_caps[0])


def keep_within(sends: list[datetime], cap: Cap) -> list[datetime]:
    """A history that itself respects the cap: drop any send that would break it."""
    kept: list[datetime] = []
    for send in sorted(sends):
        if respects([*kept, send], cap):
            kept.append(send)
    return kept
