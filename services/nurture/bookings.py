"""What a meeting_booked event does to a lead's meetings: book, move or cancel, and which mail goes.

Pure: the event's attributes and the stored meeting in, the new meeting, the mail and the reminder
plan out. A repeated event changes nothing, so redelivery neither mails nor reschedules twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from services.nurture.meetings import Meeting, Reminder, ReminderPlan, plan_reminders, reminders

MailKind = Literal["confirmation", "update", "cancellation"]


@dataclass(frozen=True)
class Booking:
    """A meeting_booked event's attributes: `cancelled` when attributes.status is cancelled."""

    meeting_id: str
    start: datetime
    duration: timedelta
    attendee_email: str
    attendee_name: str = ""
    title: str = ""
    location: str = ""
    cancelled: bool = False


@dataclass(frozen=True)
class MeetingUpdate:
    """The meeting to store (None: nothing changed), the mail to send, the reminders to change."""

    meeting: Meeting | None
    mail: MailKind | None
    plan: ReminderPlan


def booking_from_attributes(attributes: Mapping[str, str], default_minutes: int) -> Booking:
    """Read start (ISO 8601 with offset), duration_minutes, attendee_email and meeting_id.

    Raises ValueError naming the attribute that is missing or malformed.
    """
    meeting_id, attendee = attributes.get("meeting_id", "").strip(), attributes.get("attendee_email", "").strip()
    if not meeting_id or "@" not in attendee:
        raise ValueError("meeting_booked needs attributes meeting_id and attendee_email")
    start = datetime.fromisoformat(attributes.get("start", ""))
    if start.utcoffset() is None:
        raise ValueError("meeting_booked attribute start needs a UTC offset")
    minutes = int(attributes.get("duration_minutes") or default_minutes)
    if minutes <= 0:
        raise ValueError("meeting_booked attribute duration_minutes must be positive")
    return Booking(
        meeting_id,
        start.astimezone(UTC),
        timedelta(minutes=minutes),
        attendee,
        attributes.get("attendee_name", ""),
        attributes.get("title", ""),
        attributes.get("location", ""),
        attributes.get("status", "").lower() == "cancelled",
    )


def _meeting(booking: Booking, organizer: tuple[str, str], title: str, revision: int) -> Meeting:
    return Meeting(
        booking.meeting_id,
        booking.start,
        booking.duration,
        booking.title or title,
        organizer[0],
        organizer[1],
        booking.attendee_name or booking.attendee_email,
        booking.attendee_email,
        booking.location,
        revision,
    )


def update_meeting(
    old: Meeting | None,
    booking: Booking,
    organizer: tuple[str, str],
    now: datetime,
    before: Sequence[timedelta],
    title: str = "Meeting",
) -> MeetingUpdate:
    """Book (no `old`), move (a new start or length: revision + 1), or cancel the meeting.

    A moved meeting keeps its first organizer, since calendars match the update by UID and organizer.
    """
    if booking.cancelled:
        if old is None or old.status == "cancelled":
            return MeetingUpdate(None, None, ReminderPlan((), ()))
        cancelled = replace(old, status="cancelled")
        return MeetingUpdate(cancelled, "cancellation", plan_reminders(old, None, now, before))
    if old is None:
        booked = _meeting(booking, organizer, title, 0)
        return MeetingUpdate(booked, "confirmation", plan_reminders(None, booked, now, before))
    if old.status == "confirmed" and (old.start, old.duration) == (booking.start, booking.duration):
        return MeetingUpdate(None, None, ReminderPlan((), ()))
    moved = _meeting(booking, (old.organizer_name, old.organizer_email), title, old.revision + 1)
    pending = old if old.status == "confirmed" else None
    return MeetingUpdate(moved, "update", plan_reminders(pending, moved, now, before))


def reminder_ref(reminder: Reminder) -> str:
    """A reminder's timer ref: short, colon-free, and new whenever the meeting moves."""
    return hashlib.sha256(reminder.reminder_id.encode()).hexdigest()[:24]


def find_reminder(
    meetings: Sequence[Meeting], ref: str, before: Sequence[timedelta]
) -> tuple[Meeting, Reminder] | None:
    """The confirmed meeting and reminder a fired timer names; None once moved or cancelled."""
    if not before:
        return None
    for meeting in meetings:
        if meeting.status != "confirmed":
            continue
        # Every reminder of the meeting, past ones included: the timer fires at the reminder time.
        for reminder in reminders(meeting, meeting.start - max(before) - timedelta(seconds=1), before):
            if reminder_ref(reminder) == ref:
                return meeting, reminder
    return None


def keep_meetings(meetings: Sequence[Meeting], changed: Meeting, now: datetime) -> tuple[Meeting, ...]:
    """The lead's meetings with `changed` stored; meetings over for a day are forgotten."""
    kept = [
        m for m in meetings if m.meeting_id != changed.meeting_id and m.start + m.duration > now - timedelta(days=1)
    ]
    return (*kept, changed)


def meeting_to_dict(meeting: Meeting) -> dict[str, Any]:
    """Plain JSON-ready dict; the start as UTC ISO 8601, the duration in seconds."""
    raw = dict(meeting.__dict__)
    return raw | {"start": meeting.start.astimezone(UTC).isoformat(), "duration": meeting.duration.total_seconds()}


def meeting_from_dict(raw: Mapping[str, Any]) -> Meeting:
    """Inverse of meeting_to_dict."""
    fields = dict(raw)
    start, duration = datetime.fromisoformat(fields.pop("start")), timedelta(seconds=fields.pop("duration"))
    return Meeting(start=start, duration=duration, **fields)
