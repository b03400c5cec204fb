"""The emails about a meeting: confirmation or update with an .ics REQUEST, cancellation with an
.ics CANCEL, and the reminder. Pure: times are shown in the zone passed in; no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal
from zoneinfo import ZoneInfo

from services.nurture.meetings import Meeting, build_invite

MeetingMail = Literal["confirmation", "update", "cancellation", "reminder"]
_SUBJECTS: dict[MeetingMail, str] = {
    "confirmation": "Confirmed: {title}, {when}",
    "update": "Moved: {title}, now {when}",
    "cancellation": "Cancelled: {title}, {when}",
    "reminder": "Reminder: {title}, {when}",
}
_OPENINGS: dict[MeetingMail, str] = {
    "confirmation": "Your meeting is booked.",
    "update": "Your meeting has moved; the invite attached replaces the earlier one.",
    "cancellation": "Your meeting is cancelled; the attachment removes it from your calendar.",
    "reminder": "A reminder of your upcoming meeting.",
}


@dataclass(frozen=True)
class MeetingEnvelope:
    """Who sends a meeting mail, its Message-ID, the zone its times are shown in, the UID domain."""

    sender: Address
    msg_id: str
    tz: ZoneInfo
    domain: str


def when(meeting: Meeting, tz: ZoneInfo) -> str:
    """'Tue 3 Jun 2025, 14:00 (Europe/London)': the start as the attendee reads it."""
    local = meeting.start.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({tz.key})"


def meeting_message(meeting: Meeting, kind: MeetingMail, envelope: MeetingEnvelope, now: datetime) -> EmailMessage:
    """The email, with the invite as a text/calendar part (METHOD REQUEST, or CANCEL)."""
    shown = when(meeting, envelope.tz)
    minutes = int(meeting.duration.total_seconds() // 60)
    message = EmailMessage()
    message["From"], message["To"] = envelope.sender, Address(addr_spec=meeting.attendee_email)
    message["Subject"] = _SUBJECTS[kind].format(title=meeting.title, when=shown)
    message["Message-ID"], message["Date"] = envelope.msg_id, format_datetime(now)
    lines = [_OPENINGS[kind], "", f"{meeting.title}", f"When: {shown}, {minutes} minutes"]
    lines += [f"Where: {meeting.location}"] if meeting.location else []
    lines += [f"With: {meeting.organizer_name} <{meeting.organizer_email}>"]
    message.set_content("\n".join(lines) + "\n")
    if kind != "reminder":
        method: Literal["REQUEST", "CANCEL"] = "CANCEL" if kind == "cancellation" else "REQUEST"
        invite = build_invite(meeting, now, envelope.domain, method).encode()
        message.add_attachment(
            invite, maintype="text", subtype="calendar", params={"method": method}, filename="invite.ics"
        )
    return message
