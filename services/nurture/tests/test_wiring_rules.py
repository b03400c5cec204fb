"""The pure rules under the wiring: event signals, suppression flags, lead records, timers, records."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiosmtplib
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.caps import Cap
from services.nurture.enrolment import enrol, exit_enrolment, record_step
from services.nurture.leads import (
    SEND_HISTORY,
    LeadProfile,
    LeadRecord,
    RepContact,
    lead_timezone,
    new_record,
    profile_from_captured,
    record_send,
    render_context,
)
from services.nurture.mailer import is_bounce
from services.nurture.records import Delivery, email_sent, enrolment_changed, step_due
from services.nurture.schedule import SendWindow, in_window
from services.nurture.sequences import load_shipped, render_step
from services.nurture.signals import on_assignment, signal_for, suppression_for, wants_marketing
from services.nurture.templates import SAMPLE_CONTEXT
from services.nurture.timers import DueStep, plan_timers, postpone, send_at

SEQUENCES = load_shipped()
REP = SEQUENCES["mql-follow-up"]
MARKETING = SEQUENCES["new-inbound-lead"]
UTC_ZONE = ZoneInfo("UTC")
MONDAY = datetime(2025, 6, 2, 10, tzinfo=UTC)
ADA = LeadProfile("ada@example.com", "Ada", "Lovelace", "Engines", "CTO", "GB", None, True)


def test_reply_with_return_date_pauses_and_plain_reply_exits() -> None:
    """An out-of-office reply carries its return date; a plain reply carries none."""
    paused = signal_for("email_reply", {"out_of_office_until": "2025-06-09"})
    assert paused is not None and paused.out_of_office_until == datetime(2025, 6, 9, tzinfo=UTC)
    plain = signal_for("email_reply", {})
    assert plain is not None and plain.out_of_office_until is None
    assert signal_for("page_view", {}) is None


def test_bounces_are_hard_unless_marked_soft_or_transient() -> None:
    """A bounce suppresses and exits unless it says it is soft or has a 4.x.x status."""
    assert suppression_for("email_bounce", {}) == "hard_bounced"
    assert suppression_for("email_bounce", {"bounce_type": "soft"}) is None
    assert suppression_for("email_bounce", {"status": "4.2.2"}) is None
    hard = signal_for("email_bounce", {"status": "5.1.1"})
    assert hard is not None and hard.hard
    assert suppression_for("unsubscribe", {}) == "unsubscribed"
    assert suppression_for("spam_complaint", {}) == "complained"
    assert suppression_for("email_reply", {}) is None


def test_marketing_track_once_per_lead_and_only_with_consent() -> None:
    """Below MQL with consent enrols once; above MQL, without consent or after a past enrolment, never."""
    record = replace(new_record("lead-1"), profile=ADA)
    assert wants_marketing(record, MARKETING.sequence_id, 40, 60)
    assert not wants_marketing(record, MARKETING.sequence_id, 60, 60)
    assert not wants_marketing(
        replace(record, profile=replace(ADA, marketing_consent=False)), "new-inbound-lead", 1, 60
    )
    once = enrol(record.enrolments, MARKETING, MONDAY, UTC_ZONE).state
    ended = exit_enrolment(once, once.enrolments[0].enrolment_id, "email_reply", MONDAY).state
    assert not wants_marketing(replace(record, enrolments=ended), MARKETING.sequence_id, 40, 60)


def test_reassignment_ends_the_previous_reps_sequence_and_starts_anew() -> None:
    """A new rep's assignment exits the old rep sequence and enrols a new generation."""
    first = on_assignment(new_record("lead-1"), "rep-a", REP, MONDAY, UTC_ZONE).state
    record = replace(new_record("lead-1"), rep_id="rep-a", enrolments=first)
    moved = on_assignment(record, "rep-b", REP, MONDAY, UTC_ZONE)
    assert [c.change for c in moved.changes] == ["exited", "enrolled"]
    assert moved.changes[0].reason == "lead_reassigned"
    assert [e.generation for e in moved.state.live()] == [1]


def test_same_rep_again_is_not_a_second_enrolment() -> None:
    """The same rep assigned twice leaves one live enrolment."""
    first = on_assignment(new_record("lead-1"), "rep-a", REP, MONDAY, UTC_ZONE).state
    again = on_assignment(
        replace(new_record("lead-1"), rep_id="rep-a", enrolments=first), "rep-a", REP, MONDAY, UTC_ZONE
    )
    assert again.rejected == "already_enrolled" and len(again.state.live()) == 1


def test_lead_record_round_trips_through_plain_dicts() -> None:
    """What goes into the table comes back equal."""
    state = enrol(new_record("lead-1").enrolments, REP, MONDAY, UTC_ZONE).state
    record = LeadRecord("lead-1", ADA, "rep-a", "evt-1", state, (MONDAY,))
    assert LeadRecord.from_dict(record.to_dict()) == record


def test_send_history_keeps_only_what_a_cap_can_see() -> None:
    """Sends older than a week are dropped when a new one is recorded."""
    old = replace(new_record("lead-1"), sent=(MONDAY - SEND_HISTORY - timedelta(seconds=1), MONDAY - timedelta(days=1)))
    assert record_send(old, MONDAY).sent == (MONDAY - timedelta(days=1), MONDAY)


def test_captured_lead_becomes_a_profile_with_its_timezone() -> None:
    """The LeadCaptured fields and the timezone attribute make the profile; the zone falls back to the place."""
    captured = {
        "email": "a@b.example",
        "first_name": "Ada",
        "job_title": "CTO",
        "country": "DE",
        "marketing_consent": True,
        "attributes": {"timezone": "Asia/Tokyo"},
    }
    profile = profile_from_captured(captured)
    assert profile.title == "CTO" and profile.marketing_consent
    assert lead_timezone(profile, "UTC") == ZoneInfo("Asia/Tokyo")
    assert lead_timezone(replace(profile, timezone=None), "UTC") == ZoneInfo("Europe/Berlin")
    assert lead_timezone(None, "America/Denver") == ZoneInfo("America/Denver")


def test_render_context_has_every_template_variable_even_for_a_bare_lead() -> None:
    """The context offers every SAMPLE_CONTEXT variable, so every shipped step renders for any lead."""
    bare = render_context(LeadProfile("x@y.example"), None, ("Salesflow", "hello@s.example"), "https://u/t")
    for key, value in SAMPLE_CONTEXT.items():
        assert key in bare and (not isinstance(value, dict) or set(value) <= set(bare[key]))
    for sequence in SEQUENCES.values():
        for step in sequence.steps:
            assert render_step(step, step.variants[0].name, bare).text
    rep = RepContact("rep-a", "Grace Hopper", "grace@s.example", "UTC", "https://cal/grace")
    full = render_context(ADA, rep, ("Salesflow", "hello@s.example"), "https://u/t")
    assert full["rep"]["first_name"] == "Grace" and full["rep"]["last_name"] == "Hopper"
    assert bare["lead"]["first_name"] == "there"


def test_timer_member_round_trips_even_with_colons_in_the_lead_id() -> None:
    """A lead id may hold anything; the member still parses back to the same step."""
    due = DueStep("crm:lead:42", "enr_abc", 3)
    assert DueStep.parse(due.member) == due


def test_timer_plan_follows_the_table() -> None:
    """A live enrolment has a timer at its next due time; an ended one has none."""
    state = enrol(new_record("lead-1").enrolments, REP, MONDAY, UTC_ZONE).state
    live = state.enrolments[0]
    plan = plan_timers(state)
    assert plan.schedule == {DueStep("lead-1", live.enrolment_id, 0).member: live.next_due} and not plan.cancel
    ended = exit_enrolment(state, live.enrolment_id, "email_reply", MONDAY).state
    assert plan_timers(ended).cancel == (DueStep("lead-1", live.enrolment_id, 0).member,)


def test_postpone_moves_only_that_enrolment() -> None:
    """Postponing one enrolment leaves the lead's others alone."""
    state = enrol(new_record("lead-1").enrolments, MARKETING, MONDAY, UTC_ZONE).state
    later = MONDAY + timedelta(hours=5)
    moved = postpone(state, state.enrolments[0].enrolment_id, later)
    assert moved.enrolments[0].next_due == later


windows = st.builds(
    SendWindow,
    st.sampled_from([time(8), time(9), time(13)]),
    st.sampled_from([time(14), time(17), time(23)]),
    st.sets(st.integers(0, 6), min_size=1).map(frozenset),
)


@settings(max_examples=150, deadline=None)
@given(
    st.datetimes(datetime(2025, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),
    windows,
    st.lists(st.integers(-7 * 24 * 60, 0), max_size=6),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)
def test_send_at_is_in_window_and_within_caps(now: datetime, window: SendWindow, ago: list[int], zone: str) -> None:
    """The chosen instant is never earlier than now, always in the window, and keeps every cap."""
    tz = ZoneInfo(zone)
    history = sorted(now + timedelta(minutes=m) for m in ago)
    caps = (Cap.parse("1/day"), Cap.parse("3/week"))
    at = send_at(now, window, tz, history, caps)
    assert at >= now and in_window(at, window, tz)
    assert all(at - sent >= timedelta(days=1) for sent in history)
    assert sum(at - sent < timedelta(weeks=1) for sent in history) < 3


def test_event_ids_are_derived_from_the_cause() -> None:
    """The same cause gives the same ids; a different cause a different one."""
    state = enrol(new_record("lead-1").enrolments, REP, MONDAY, UTC_ZONE)
    change = state.changes[0]
    assert enrolment_changed(change, "evt-1")["event_id"] == enrolment_changed(change, "evt-1")["event_id"]
    assert enrolment_changed(change, "evt-1")["event_id"] != enrolment_changed(change, "evt-2")["event_id"]
    due = DueStep("lead-1", change.enrolment_id, 0)
    assert step_due(due, MONDAY, MONDAY)["event_id"] == step_due(due, MONDAY, MONDAY + timedelta(minutes=1))["event_id"]
    delivery = Delivery("lead-1", change.enrolment_id, 0, "question", "<m@x>", "g@x", "a@x", "Hi", "sent")
    retried = replace(delivery, outcome="unknown")
    assert email_sent(delivery, REP, MONDAY)["event_id"] == email_sent(retried, REP, MONDAY)["event_id"]
    assert email_sent(delivery, REP, MONDAY)["template"] == "mql-follow-up/intro"


def test_stepping_past_a_sent_step_is_stale() -> None:
    """Recording a step twice (a redelivered StepDue) changes nothing the second time."""
    state = enrol(new_record("lead-1").enrolments, REP, MONDAY, UTC_ZONE).state
    eid = state.enrolments[0].enrolment_id
    once = record_step(state, eid, 0, REP, MONDAY, UTC_ZONE).state
    assert record_step(once, eid, 0, REP, MONDAY, UTC_ZONE).rejected == "stale_step"


def test_only_recipient_or_content_5xx_is_a_bounce() -> None:
    """A 5xx about the recipient bounces; a 4xx, or a 5xx about our sender, is not the lead's fault."""
    assert is_bounce(aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@x")]))
    assert is_bounce(aiosmtplib.SMTPDataError(554, "rejected"))
    assert not is_bounce(aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "busy", "a@x")]))
    assert not is_bounce(aiosmtplib.SMTPSenderRefused(550, "bad sender", "me@x"))
    assert not is_bounce(aiosmtplib.SMTPAuthenticationError(535, "bad credentials"))
