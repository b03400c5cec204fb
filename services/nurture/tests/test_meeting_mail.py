"""Meeting emails: invites attached as text/calendar with the right method, times in the lead's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from services.nurture.meeting_mail import MeetingEnvelope, meeting_message, when
from services.nurture.meetings import Meeting

NOW = datetime(2025, 6, 2, 12, tzinfo=UTC)
MEETING = Meeting(
    "mtg-1",
    datetime(2025, 6, 3, 13, tzinfo=UTC),
    timedelta(minutes=30),
    "Intro call",
    "Grace Hopper",
    "grace@salesflow.example",
    "Ada Lovelace",
    "ada@example.com",
    location="https://meet.example/abc",
)
ENVELOPE = MeetingEnvelope(
    Address("Grace Hopper", addr_spec="grace@salesflow.example"),
    "<abc@salesflow.example>",
    ZoneInfo("Europe/London"),
    "salesflow.example",
)


def calendars(message: EmailMessage) -> list[str]:
    return [part.get_param("method") for part in message.walk() if part.get_content_type() == "text/calendar"]  # type: ignore[misc]


def test_confirmation_carries_a_request_invite_with_the_local_time() -> None:
    """The confirmation goes to the attendee from the organizer, with an .ics REQUEST."""
    message = meeting_message(MEETING, "confirmation", ENVELOPE, NOW)
    assert message["To"] == "ada@example.com" and message["From"].addresses[0].addr_spec == "grace@salesflow.example"
    assert message["Subject"] == "Confirmed: Intro call, Tue 3 Jun 2025, 14:00 (Europe/London)"
    assert message["Message-ID"] == "<abc@salesflow.example>"
    assert calendars(message) == ["REQUEST"]
    invite = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert "DTSTART:20250603T130000Z" in invite.get_content()
    body = message.get_body(("plain",))
    assert body is not None and "Where: https://meet.example/abc" in body.get_content()


def test_update_also_requests_and_cancellation_cancels() -> None:
    """A moved meeting's mail carries a REQUEST, a cancelled one's a CANCEL, a reminder none."""
    assert calendars(meeting_message(MEETING, "update", ENVELOPE, NOW)) == ["REQUEST"]
    cancellation = meeting_message(MEETING, "cancellation", ENVELOPE, NOW)
    assert calendars(cancellation) == ["CANCEL"] and cancellation["Subject"].startswith("Cancelled: ")
    reminder = meeting_message(MEETING, "reminder", ENVELOPE, NOW)
    assert calendars(reminder) == [] and reminder["Subject"].startswith("Reminder: Intro call")


def test_times_read_in_the_zone_given() -> None:
    """The same instant reads as the attendee's local wall time, across DST."""
    assert when(MEETING, ZoneInfo("America/New_York")) == "Tue 3 Jun 2025, 09:00 (America/New_York)"
    winter = Meeting(**{**MEETING.__dict__, "start": datetime(2025, 1, 7, 13, tzinfo=UTC)})
    assert when(winter, ZoneInfo("Europe/London")) == "Tue 7 Jan 2025, 13:00 (Europe/London)"
