"""Naming every Redis trace a lead left, for erasure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.bookings import reminder_ref
from services.nurture.leads import new_record
from services.nurture.meetings import Meeting, reminders
from services.nurture.messages import message_id
from services.nurture.records import task_created
from services.nurture.sequences import parse_sequence
from services.nurture.state import Enrolment, LeadEnrolments
from services.nurture.timers import DueStep, Timer
from services.nurture.traces import is_lead_timer, lead_traces, timer_match

NOW = datetime(2025, 6, 2, 12, tzinfo=UTC)
BEFORE = (timedelta(hours=24), timedelta(hours=1))
TASK_SEQUENCE = """
id: seq
kind: rep
steps:
  - {id: call, delay: 0 days, channel: task, task: call, instructions: "Call."}
"""


def enrolment(enrolment_id: str, step_index: int) -> Enrolment:
    return Enrolment(enrolment_id, "lead-1", "seq", "rep", 0, "active", step_index, NOW, NOW)


def meeting(revision: int) -> Meeting:
    start = NOW + timedelta(days=3)
    return Meeting(
        "mtg-1", start, timedelta(minutes=30), "Intro", "Grace", "g@x.example", "Ada", "a@x.example", "", revision
    )


def test_every_step_up_to_the_current_one_is_named() -> None:
    """Send-once refs, task ids and Message-IDs cover steps 0..step_index of each enrolment."""
    record = replace(new_record("lead-1"), enrolments=LeadEnrolments("lead-1", (enrolment("enr_a", 2),)))
    traces = lead_traces(record, "mail.example", BEFORE)
    assert traces.send_refs == ("enr_a:0", "enr_a:1", "enr_a:2")
    assert traces.enrolment_ids == ("enr_a",)
    assert traces.message_ids == tuple(message_id("enr_a", i, "mail.example") for i in range(3))
    sequence = parse_sequence(TASK_SEQUENCE)
    task = task_created(DueStep("lead-1", "enr_a", 1), sequence, sequence.steps[0], None, "", NOW)
    assert traces.task_ids[1] == task["task_id"]


def test_meeting_mails_of_every_revision_and_current_reminders_are_named() -> None:
    """A moved meeting's earlier confirmations and its reminders are traces too."""
    record = replace(new_record("lead-1"), meetings=(meeting(1),))
    refs = lead_traces(record, "mail.example", BEFORE).send_refs
    assert {"meeting:mtg-1:0:confirmation", "meeting:mtg-1:1:update", "meeting:mtg-1:1:cancellation"} <= set(refs)
    expected = {f"reminder:{reminder_ref(r)}" for r in reminders(meeting(1), NOW, BEFORE)}
    assert len(expected) == 2 and expected <= set(refs)


def test_a_fresh_record_has_no_traces() -> None:
    """A lead nurture never enrolled names nothing but what erasure always clears."""
    traces = lead_traces(new_record("lead-1"), "mail.example", BEFORE)
    assert traces.send_refs == traces.enrolment_ids == traces.task_ids == traces.message_ids == ()


def test_timers_are_matched_by_their_own_lead_only() -> None:
    """A lead id that ends another lead's id does not make that lead's timers its own."""
    assert is_lead_timer(DueStep("abc", "enr_a", 0).member, "abc")
    assert is_lead_timer(Timer("task", "task_1", "abc").member, "abc")
    assert not is_lead_timer(DueStep("x:abc", "enr_a", 0).member, "abc")
    assert not is_lead_timer("garbage", "abc")


def unescape(pattern: str) -> tuple[str, str]:
    """(the literal text, the glob specials left unescaped), reading backslash escapes as Redis does."""
    literal, specials, i = "", "", 0
    while i < len(pattern):
        if pattern[i] == "\\":
            literal, i = literal + pattern[i + 1], i + 2
            continue
        specials += pattern[i] if pattern[i] in "*?[]" else ""
        literal, i = literal + pattern[i], i + 1
    return literal, specials


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=20))
def test_the_timer_glob_holds_the_lead_id_literally(lead_id: str) -> None:
    """After the leading "*:", every glob special of the lead id is escaped."""
    pattern = timer_match(lead_id)
    assert pattern.startswith("*:")
    assert unescape(pattern[2:]) == (lead_id, "")
