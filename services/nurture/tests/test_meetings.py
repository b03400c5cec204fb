"""Meeting invites (.ics) and the reminder plan for booked, moved and cancelled meetings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.nurture.meetings import Meeting, build_invite, plan_reminders, reminders

NOW = datetime(2025, 6, 2, 12, tzinfo=UTC)
MEETING = Meeting(
    "mtg-1",
    NOW + timedelta(days=3),
    timedelta(minutes=30),
    "Intro call; Salesflow, Ada",
    "Grace Hopper",
    "grace@salesflow.example",
    "Ada Lovelace",
    "ada@example.com",
    location="https://meet.example/abc",
)


def unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


def test_invite_is_valid_icalendar_request() -> None:
    """The invite has the required properties in UTC, escaped text and CRLF line ends."""
    ics = build_invite(MEETING, NOW, "salesflow.example")
    lines = unfold(ics)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert "METHOD:REQUEST" in lines and "UID:mtg-1@salesflow.example" in lines
    assert "DTSTART:20250605T120000Z" in lines and "DTEND:20250605T123000Z" in lines
    assert "DTSTAMP:20250602T120000Z" in lines
    assert "SUMMARY:Intro call\\; Salesflow\\, Ada" in lines
    assert any(
        line.startswith("ATTENDEE;CN=Ada Lovelace") and line.endswith("mailto:ada@example.com") for line in lines
    )
    assert "\n" not in ics.replace("\r\n", "")


def test_long_lines_are_folded_at_75_octets() -> None:
    """No physical line exceeds 75 octets, even with multi-byte characters."""
    long = Meeting(**{**MEETING.__dict__, "title": "Réunion " * 30})
    ics = build_invite(long, NOW, "salesflow.example")
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    assert f"SUMMARY:{'Réunion ' * 30}" in unfold(ics)


def test_cancel_invite_reuses_uid() -> None:
    """A cancellation carries METHOD:CANCEL and the same UID, so calendars remove the event."""
    lines = unfold(build_invite(MEETING, NOW, "salesflow.example", method="CANCEL"))
    assert "METHOD:CANCEL" in lines and "STATUS:CANCELLED" in lines
    assert "UID:mtg-1@salesflow.example" in lines


def test_reminders_24h_and_1h_before() -> None:
    """Default reminders fall 24 h and 1 h before the start."""
    assert [r.at for r in reminders(MEETING, NOW)] == [
        MEETING.start - timedelta(hours=24),
        MEETING.start - timedelta(hours=1),
    ]


def test_reminders_already_past_are_dropped() -> None:
    """A meeting booked 3 hours ahead only gets the 1 h reminder."""
    soon = Meeting(**{**MEETING.__dict__, "start": NOW + timedelta(hours=3)})
    assert [r.at for r in reminders(soon, NOW)] == [soon.start - timedelta(hours=1)]


def test_moved_meeting_replaces_reminders() -> None:
    """Moving a meeting withdraws the old reminders and schedules new ones."""
    moved = Meeting(
        **{
            **MEETING.__dict__,
            "start": MEETING.start + timedelta(days=1),
            "revision": 1,
        }
    )
    plan = plan_reminders(MEETING, moved, NOW)
    assert plan.withdraw == reminders(MEETING, NOW)
    assert plan.schedule == reminders(moved, NOW)
    assert not {r.reminder_id for r in plan.withdraw} & {r.reminder_id for r in plan.schedule}


def test_cancelled_meeting_withdraws_everything() -> None:
    """Cancelling withdraws the pending reminders and schedules none."""
    plan = plan_reminders(MEETING, None, NOW)
    assert plan.withdraw == reminders(MEETING, NOW) and plan.schedule == ()


def test_repeated_booking_changes_nothing() -> None:
    """The same booking seen twice neither withdraws nor schedules."""
    plan = plan_reminders(MEETING, MEETING, NOW)
    assert plan.withdraw == () and plan.schedule == ()
    assert plan_reminders(None, MEETING, NOW).schedule == reminders(MEETING, NOW)
