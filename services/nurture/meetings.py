"""Meetings: the iCalendar (.ics) invite for a booked meeting, and its reminder plan.

Pure: `now` is passed in; a moved or cancelled meeting yields the reminders to withdraw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

DEFAULT_REMINDERS = (timedelta(hours=24), timedelta(hours=1))


MeetingStatus = Literal["confirmed", "cancelled"]


@dataclass(frozen=True)
class Meeting:
    """A booked meeting; `revision` grows each time it moves (iCalendar SEQUENCE)."""

    meeting_id: str
    start: datetime
    duration: timedelta
    title: str
    organizer_name: str
    organizer_email: str
    attendee_name: str
    attendee_email: str
    location: str = ""
    revision: int = 0
    status: MeetingStatus = "confirmed"


@dataclass(frozen=True)
class Reminder:
    """A reminder due at `at`; its id changes when the meeting moves, so old ones can be withdrawn."""

    reminder_id: str
    meeting_id: str
    at: datetime


@dataclass(frozen=True)
class ReminderPlan:
    """Reminders to cancel and reminders to schedule after a booking, move or cancellation."""

    withdraw: tuple[Reminder, ...]
    schedule: tuple[Reminder, ...]


def _escape(text: str) -> str:
    """RFC 5545 TEXT escaping."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 3.1)."""
    raw, parts = line.encode(), list[str]()
    while len(raw) > 75:
        cut = 75 if not parts else 74
        while (raw[cut] & 0xC0) == 0x80:
            cut -= 1
        parts.append(raw[:cut].decode())
        raw = raw[cut:]
    parts.append(raw.decode())
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def build_invite(
    meeting: Meeting,
    now: datetime,
    domain: str,
    method: Literal["REQUEST", "CANCEL"] = "REQUEST",
) -> str:
    """The .ics text for the meeting; CANCEL withdraws an invite sent earlier with the same UID."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//salesflow//nurture//EN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{meeting.meeting_id}@{domain}",
        f"SEQUENCE:{meeting.revision}",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(meeting.start)}",
        f"DTEND:{_utc(meeting.start + meeting.duration)}",
        f"SUMMARY:{_escape(meeting.title)}",
        f"ORGANIZER;CN={_escape(meeting.organizer_name)}:mailto:{meeting.organizer_email}",
        f"ATTENDEE;CN={_escape(meeting.attendee_name)};ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{meeting.attendee_email}",
        f"STATUS:{'CANCELLED' if method == 'CANCEL' else 'CONFIRMED'}",
    ]
    lines += [f"LOCATION:{_escape(meeting.location)}"] if meeting.location else []
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def reminders(meeting: Meeting, now: datetime, before: Sequence[timedelta] = DEFAULT_REMINDERS) -> tuple[Reminder, ...]:
    """The reminders still ahead of `now`, earliest first; one already past is not sent late."""
    due = sorted(meeting.start - offset for offset in before)
    return tuple(
        Reminder(
            f"{meeting.meeting_id}:{_utc(meeting.start)}:{_utc(at)}",
            meeting.meeting_id,
            at,
        )
        for at in due
        if now < at < meeting.start
    )


def plan_reminders(
    old: Meeting | None,
    new: Meeting | None,
    now: datetime,
    before: Sequence[timedelta] = DEFAULT_REMINDERS,
) -> ReminderPlan:
    """What to change when a meeting is booked (old None), moved, or cancelled (new None).

    Reminders that stay identical are neither withdrawn nor rescheduled, so a repeated
    event changes nothing.
    """
    pending = set(reminders(old, now, before)) if old else set()
    wanted = set(reminders(new, now, before)) if new else set()
    return ReminderPlan(
        tuple(sorted(pending - wanted, key=lambda r: r.at)),
        tuple(sorted(wanted - pending, key=lambda r: r.at)),
    )
