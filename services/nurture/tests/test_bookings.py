"""Meeting bookings: reading the event, booking, moving, cancelling, and which reminder a timer names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.bookings import (
    Booking,
    booking_from_attributes,
    find_reminder,
    keep_meetings,
    meeting_from_dict,
    meeting_to_dict,
    reminder_ref,
    update_meeting,
)
from services.nurture.leads import LeadRecord, new_record
from services.nurture.meetings import reminders

NOW = datetime(2025, 6, 2, 12, tzinfo=UTC)
BEFORE = (timedelta(hours=24), timedelta(hours=1))
GRACE = ("Grace Hopper", "grace@salesflow.example")
ATTRIBUTES = {
    "meeting_id": "mtg-1",
    "start": "2025-06-05T14:00:00+02:00",
    "duration_minutes": "45",
    "attendee_email": "ada@example.com",
}


def booking(start: datetime, cancelled: bool = False) -> Booking:
    return Booking("mtg-1", start, timedelta(minutes=30), "ada@example.com", cancelled=cancelled)


def test_attributes_are_read_into_a_booking() -> None:
    """Start becomes UTC, the duration minutes, and status=cancelled marks a cancellation."""
    read = booking_from_attributes(ATTRIBUTES, 30)
    assert read.start == datetime(2025, 6, 5, 12, tzinfo=UTC) and read.duration == timedelta(minutes=45)
    assert read.attendee_email == "ada@example.com" and not read.cancelled
    assert booking_from_attributes({**ATTRIBUTES, "status": "Cancelled"}, 30).cancelled
    assert booking_from_attributes({k: v for k, v in ATTRIBUTES.items() if k != "duration_minutes"}, 30).duration == (
        timedelta(minutes=30)
    )


@pytest.mark.parametrize(
    "broken",
    [
        {"meeting_id": ""},
        {"attendee_email": "nobody"},
        {"start": "2025-06-05T14:00:00"},
        {"start": "next tuesday"},
        {"duration_minutes": "0"},
    ],
)
def test_malformed_attributes_are_refused(broken: dict[str, str]) -> None:
    """A missing id or attendee, a start without offset or a non-positive length is a ValueError."""
    with pytest.raises(ValueError):
        booking_from_attributes({**ATTRIBUTES, **broken}, 30)


def test_first_booking_confirms_and_schedules_the_reminders() -> None:
    """A new meeting is confirmed with revision 0 and both reminders scheduled, none withdrawn."""
    update = update_meeting(None, booking(NOW + timedelta(days=3)), GRACE, NOW, BEFORE)
    assert update.mail == "confirmation" and update.meeting is not None
    assert update.meeting.revision == 0 and update.meeting.organizer_email == GRACE[1]
    assert [r.at for r in update.plan.schedule] == [NOW + timedelta(days=2), NOW + timedelta(days=3, hours=-1)]
    assert update.plan.withdraw == ()


def test_repeated_booking_changes_nothing() -> None:
    """The same booking again (a redelivery) sends no mail and touches no reminder."""
    first = update_meeting(None, booking(NOW + timedelta(days=3)), GRACE, NOW, BEFORE).meeting
    again = update_meeting(first, booking(NOW + timedelta(days=3)), GRACE, NOW, BEFORE)
    assert again.meeting is None and again.mail is None and again.plan.schedule == again.plan.withdraw == ()


def test_moved_meeting_is_an_update_that_replaces_pending_reminders() -> None:
    """A new start bumps the revision, keeps the organizer, withdraws old reminders and schedules new ones."""
    first = update_meeting(None, booking(NOW + timedelta(days=3)), GRACE, NOW, BEFORE).meeting
    moved = update_meeting(first, booking(NOW + timedelta(days=4)), ("Someone Else", "x@y.example"), NOW, BEFORE)
    assert moved.mail == "update" and moved.meeting is not None and moved.meeting.revision == 1
    assert moved.meeting.organizer_email == GRACE[1]
    assert first is not None and set(moved.plan.withdraw) == set(reminders(first, NOW, BEFORE))
    assert set(moved.plan.schedule) == set(reminders(moved.meeting, NOW, BEFORE))


def test_cancellation_withdraws_reminders_once() -> None:
    """A cancel sends a cancellation and withdraws every reminder; a second cancel does nothing."""
    first = update_meeting(None, booking(NOW + timedelta(days=3)), GRACE, NOW, BEFORE).meeting
    cancelled = update_meeting(first, booking(NOW + timedelta(days=3), cancelled=True), GRACE, NOW, BEFORE)
    assert cancelled.mail == "cancellation" and cancelled.meeting is not None
    assert cancelled.meeting.status == "cancelled" and cancelled.plan.schedule == ()
    assert len(cancelled.plan.withdraw) == 2
    again = update_meeting(cancelled.meeting, booking(NOW + timedelta(days=3), cancelled=True), GRACE, NOW, BEFORE)
    assert again.mail is None and again.meeting is None
    unknown = update_meeting(None, booking(NOW + timedelta(days=3), cancelled=True), GRACE, NOW, BEFORE)
    assert unknown.mail is None and unknown.meeting is None


def test_rebooking_a_cancelled_meeting_schedules_without_withdrawing() -> None:
    """A booking after a cancel is an update with fresh reminders (the cancelled ones are gone already)."""
    first = update_meeting(None, booking(NOW + timedelta(days=3)), GRACE, NOW, BEFORE).meeting
    cancelled = update_meeting(first, booking(NOW + timedelta(days=3), cancelled=True), GRACE, NOW, BEFORE).meeting
    back = update_meeting(cancelled, booking(NOW + timedelta(days=3)), GRACE, NOW, BEFORE)
    assert back.mail == "update" and back.meeting is not None and back.meeting.status == "confirmed"
    assert back.plan.withdraw == () and len(back.plan.schedule) == 2


def test_a_fired_timer_finds_its_reminder_only_while_the_meeting_stands() -> None:
    """The ref names one reminder of the confirmed meeting; after a move or a cancel it names none."""
    first = update_meeting(None, booking(NOW + timedelta(days=3)), GRACE, NOW, BEFORE)
    assert first.meeting is not None
    ref = reminder_ref(first.plan.schedule[1])
    later = NOW + timedelta(days=3, hours=-1)
    assert find_reminder((first.meeting,), ref, BEFORE) == (first.meeting, first.plan.schedule[1])
    moved = update_meeting(first.meeting, booking(NOW + timedelta(days=4)), GRACE, later, BEFORE).meeting
    assert moved is not None and find_reminder((moved,), ref, BEFORE) is None
    cancelled = update_meeting(first.meeting, booking(first.meeting.start, True), GRACE, later, BEFORE).meeting
    assert cancelled is not None and find_reminder((cancelled,), ref, BEFORE) is None
    assert find_reminder((first.meeting,), ref, ()) is None


def test_meetings_over_for_a_day_are_forgotten() -> None:
    """Storing a meeting replaces its earlier version and drops meetings that ended over a day ago."""
    old = update_meeting(None, booking(NOW - timedelta(days=3)), GRACE, NOW, BEFORE).meeting
    current = update_meeting(None, booking(NOW + timedelta(days=1)), GRACE, NOW, BEFORE).meeting
    assert old is not None and current is not None
    other = meeting_from_dict(meeting_to_dict(old) | {"meeting_id": "mtg-0"})
    assert keep_meetings((other, old), current, NOW) == (current,)


@settings(max_examples=100, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)),
    minutes=st.integers(1, 600),
    revision=st.integers(0, 50),
)
def test_a_lead_record_keeps_its_meetings_exactly(start: datetime, minutes: int, revision: int) -> None:
    """Meetings round-trip through the table value unchanged."""
    meeting = update_meeting(None, booking(start), GRACE, start - timedelta(days=2), BEFORE).meeting
    assert meeting is not None
    meeting = meeting_from_dict(meeting_to_dict(meeting) | {"duration": minutes * 60.0, "revision": revision})
    record = LeadRecord("lead-1", meetings=(meeting,), enrolments=new_record("lead-1").enrolments)
    assert LeadRecord.from_dict(record.to_dict()) == record
