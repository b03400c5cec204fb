"""nurture's later features as a real process: manual enrol and exit, A/B stats, meetings, rep tasks,
re-engagement, onboarding and mailbox throttles, on the real broker and Redis with a real SMTP server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import pytest

from shared.tests import EXAMPLE_DIR, load_json
from tests.integration import nurture_support
from tests.integration.harness import Infra, Stack
from tests.integration.nurture_support import (
    ALWAYS,
    Inbox,
    add_to_roster,
    assigned,
    captured,
    engagement,
    http,
    running_nurture,
    wait_until,
)
from tests.integration.nurture_support import inbox as inbox  # the fixture, used by name

SEQUENCES = {
    "ops-rep": f"""
id: ops-rep
kind: rep
{ALWAYS}
steps:
  - id: intro
    delay: 0 seconds
    channel: email
    variants:
      - {{name: a, subject: "Intro A, {{{{ lead.first_name }}}}"}}
      - {{name: b, subject: "Intro B, {{{{ lead.first_name }}}}"}}
    text: "Hi {{{{ lead.first_name }}}}. {{{{ rep.first_name }}}}"
  - id: call
    delay: 1 seconds
    channel: task
    task: call
    instructions: "Call {{{{ lead.first_name }}}}."
  - id: later
    delay: 10 minutes
    channel: email
    subject: "Later, {{{{ lead.first_name }}}}"
    text: "Later. {{{{ rep.first_name }}}}"
""",
    "ops-marketing": f"""
id: ops-marketing
kind: marketing
{ALWAYS}
steps:
  - {{id: welcome, delay: 0 seconds, channel: email, subject: "Welcome", text: "Bye: {{{{ unsubscribe_url }}}}"}}
""",
    "ops-manual": f"""
id: ops-manual
kind: marketing
{ALWAYS}
steps:
  - {{id: hello, delay: 0 seconds, channel: email, subject: "Manual hello", text: "Bye: {{{{ unsubscribe_url }}}}"}}
  - {{id: later, delay: 10 minutes, channel: email, subject: "Manual later", text: "Bye: {{{{ unsubscribe_url }}}}"}}
""",
    "ops-reengage": f"""
id: ops-reengage
kind: marketing
{ALWAYS}
steps:
  - {{id: miss-you, delay: 0 seconds, channel: email, subject: "We miss you", text: "Bye: {{{{ unsubscribe_url }}}}"}}
""",
    "ops-onboarding": f"""
id: ops-onboarding
kind: rep
{ALWAYS}
steps:
  - {{id: welcome, delay: 0 seconds, channel: email, subject: "Welcome aboard", text: "Hi {{{{ lead.first_name }}}}"}}
  - {{id: later, delay: 10 minutes, channel: email, subject: "Onboarding later", text: "Hi"}}
""",
}
SILENCE_SECONDS = 6
REMINDER_SECONDS = 20
# Above what the marketing mailbox sends in this module, so only the throttle test meets it.
MAILBOX_PER_MINUTE = 6


@pytest.fixture(scope="module")
def nurture(infra: Infra, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = {
        "NURTURE_REP_SEQUENCE": "ops-rep",
        "NURTURE_MARKETING_SEQUENCE": "ops-marketing",
        "NURTURE_REENGAGE_SEQUENCE": "ops-reengage",
        "NURTURE_ONBOARDING_SEQUENCE": "ops-onboarding",
        "NURTURE_REENGAGE_AFTER_DAYS": str(SILENCE_SECONDS / 86400),
        "NURTURE_MEETING_REMINDERS": f"{REMINDER_SECONDS}s",
        "NURTURE_TASK_DUE_AFTER": "4s",
        "NURTURE_MAILBOX_CAPS": f"{MAILBOX_PER_MINUTE}/minute,1000/24h",
    }
    # Each test adds a rep of its own (so its own mailbox).
    with running_nurture(infra, inbox, tmp_path_factory.mktemp("nurture-ops"), SEQUENCES, None, **settings) as stack:
        yield stack


def add_rep(stack: Stack) -> dict[str, str]:
    """A rep of its own (so its own mailbox) for one test."""
    rep_id = f"rep_{uuid.uuid4().hex[:8]}"
    rep = {"rep_id": rep_id, "name": "Grace Hopper", "email": f"{rep_id}@salesflow.example", "timezone": "UTC"}
    add_to_roster(stack, rep)
    return rep


def capture(stack: Stack, consent: bool = False) -> tuple[str, str]:
    # A company of its own per lead: a won deal onboards every contact at the deal's company.
    lead_id, address = f"lead_{uuid.uuid4().hex[:12]}", f"ada@x{uuid.uuid4().hex[:8]}.example"
    lead = captured(lead_id, address, marketing_consent=consent)
    stack.produce("leads.captured", "LeadCaptured", lead, lead_id)
    # Commands and the capture travel on different topics: wait until the lead is known.
    wait_until(lambda: api(stack, "GET", f"/v1/leads/{lead_id}/enrolments")[0] == 200, 20, "capture never arrived")
    return lead_id, address


def assign(stack: Stack, lead_id: str, address: str, rep: dict[str, str]) -> None:
    stack.produce("leads.assigned", "LeadAssigned", assigned(lead_id, address, rep["rep_id"]), lead_id)


def engage(stack: Stack, lead_id: str, kind: str, attributes: dict[str, str], event_id: str | None = None) -> None:
    event = engagement(lead_id, kind, attributes, event_id or "")
    stack.produce("engagement.captured", "EngagementEvent", event, lead_id)


def api(stack: Stack, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    return nurture_support.api(stack.services["nurture"].url(""), method, path, body)


def enrolments(stack: Stack, lead_id: str) -> list[dict[str, Any]]:
    status, body = api(stack, "GET", f"/v1/leads/{lead_id}/enrolments")
    return list(body["enrolments"]) if status == 200 else []


def calendar_method(message: EmailMessage) -> str | None:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return str(parts[0].get_param("method")) if parts else None


def test_manual_enrol_and_exit_through_the_api(nurture: Stack, inbox: Inbox) -> None:
    """POST enrols (the first email arrives), DELETE ends the enrolment with reason manual; both need the key."""
    lead_id, address = capture(nurture, consent=True)
    status, _, _ = http("POST", nurture.services["nurture"].url("/v1/enrolments"), b"{}")
    assert status == 401
    assert api(nurture, "POST", "/v1/enrolments", {"lead_id": lead_id, "sequence_id": "nope"})[0] == 422
    status, body = api(nurture, "POST", "/v1/enrolments", {"lead_id": lead_id, "sequence_id": "ops-manual"})
    assert status == 202 and body["sequence_id"] == "ops-manual"
    assert [str(m["Subject"]) for m in inbox.wait_for(address, 1)] == ["Manual hello"]
    [enrolment] = [e for e in enrolments(nurture, lead_id) if e["sequence_id"] == "ops-manual"]
    assert api(nurture, "DELETE", "/v1/enrolments/enr_unknown")[0] == 404
    status, body = api(nurture, "DELETE", f"/v1/enrolments/{enrolment['enrolment_id']}")
    assert status == 202 and body["lead_id"] == lead_id
    wait_until(
        lambda: any(e["status"] == "exited" and e["exit_reason"] == "manual" for e in enrolments(nurture, lead_id)),
        20,
        "the manual exit never reached the table",
    )
    reader = nurture.consumer("nurture.enrolments")
    seen = reader.poll_until(lambda s: any(v["lead_id"] == lead_id and v["change"] == "exited" for _, v, _ in s))
    assert [v["reason"] for _, v, _ in seen if v["lead_id"] == lead_id and v["change"] == "exited"] == ["manual"]
    reader.close()


def test_sequence_stats_count_sends_and_each_engagement_once(nurture: Stack, inbox: Inbox) -> None:
    """Sends, opens and replies are counted per variant (an open twice counts once), with A/B tests."""
    rep = add_rep(nurture)
    lead_id, address = capture(nurture)
    assign(nurture, lead_id, address, rep)
    first = inbox.wait_for(address, 1)[0]
    variant = "a" if str(first["Subject"]).startswith("Intro A") else "b"
    before = intro_counts(nurture, variant)
    engage(nurture, lead_id, "email_open", {"message_id": str(first["Message-ID"])})
    engage(nurture, lead_id, "email_open", {"message_id": str(first["Message-ID"])})
    engage(nurture, lead_id, "email_reply", {})
    wait_until(lambda: intro_counts(nurture, variant)["replies"] > before["replies"], 20, "the reply was not counted")
    after = intro_counts(nurture, variant)
    assert after["opens"] == before["opens"] + 1 and after["replies"] == before["replies"] + 1
    assert after["sends"] >= 1 and after["clicks"] == before["clicks"]
    intro = next(s for s in ops_rep_stats(nurture) if s["step_id"] == "intro")
    assert {(t["control"], t["variant"]) for t in intro["ab_tests"]} == {("a", "b")}


def ops_rep_stats(stack: Stack) -> list[dict[str, Any]]:
    status, body = api(stack, "GET", "/v1/sequences")
    assert status == 200
    return list(next(s for s in body["sequences"] if s["sequence_id"] == "ops-rep")["stats"])


def intro_counts(stack: Stack, variant: str) -> dict[str, int]:
    intro = next(s for s in ops_rep_stats(stack) if s["step_id"] == "intro")
    return dict(next(v for v in intro["variants"] if v["variant"] == variant))


def test_a_task_not_completed_by_its_due_time_is_overdue(nurture: Stack, inbox: Inbox) -> None:
    """Of two created tasks, the one completed through the API raises nothing; the other raises tasks.overdue."""
    rep = add_rep(nurture)
    leads = [capture(nurture) for _ in range(2)]
    for lead_id, address in leads:
        assign(nurture, lead_id, address, rep)
    ids = {lead_id for lead_id, _ in leads}
    reader = nurture.consumer("tasks.created", "tasks.overdue")
    seen = reader.poll_until(lambda s: {v["lead_id"] for t, v, _ in s if t == "tasks.created"} >= ids)
    created = {v["lead_id"]: v for t, v, _ in seen if t == "tasks.created" and v["lead_id"] in ids}
    done, late = (created[lead_id] for lead_id, _ in leads)
    status, body = api(nurture, "POST", f"/v1/tasks/{done['task_id']}/complete")
    assert status == 200 and body["task_id"] == done["task_id"]
    assert api(nurture, "POST", "/v1/tasks/task_unknown/complete")[0] == 404
    seen = reader.poll_until(lambda s: any(t == "tasks.overdue" and v["lead_id"] in ids for t, v, _ in s), 20)
    time.sleep(3)
    seen = reader.poll_until(lambda s: False, 1)
    overdue = [v for t, v, _ in seen if t == "tasks.overdue" and v["lead_id"] in ids]
    reader.close()
    assert [v["task_id"] for v in overdue] == [late["task_id"]]
    assert overdue[0]["rep_id"] == rep["rep_id"] and overdue[0]["overdue_seconds"] >= 0


def test_meetings_confirm_remind_move_and_cancel(nurture: Stack, inbox: Inbox) -> None:
    """A booking confirms with an .ics and reminds once; a move re-invites and replaces the reminder;
    a cancel sends a CANCEL and withdraws it; repeating an event sends nothing more."""
    booked, moved, cancelled = (capture(nurture) for _ in range(3))
    start = time.time()
    book(nurture, booked, start + REMINDER_SECONDS + 6, event_id="booking-1")
    book(nurture, booked, start + REMINDER_SECONDS + 6, event_id="booking-1-again")
    book(nurture, moved, start + REMINDER_SECONDS + 20)
    book(nurture, moved, start + REMINDER_SECONDS + 8)
    book(nurture, cancelled, start + REMINDER_SECONDS + 10)
    book(nurture, cancelled, start + REMINDER_SECONDS + 10, status="cancelled")
    assert calendar_method(inbox.wait_for(booked[1], 2)[0]) == "REQUEST"
    assert [calendar_method(m) for m in inbox.wait_for(moved[1], 3)] == ["REQUEST", "REQUEST", None]
    assert [calendar_method(m) for m in inbox.wait_for(cancelled[1], 2)] == ["REQUEST", "CANCEL"]
    time.sleep(max(0.0, start + 23 - time.time()))
    assert [s.split(":")[0] for s in inbox.subjects(booked[1])] == ["Confirmed", "Reminder"]
    assert [s.split(":")[0] for s in inbox.subjects(moved[1])] == ["Confirmed", "Moved", "Reminder"]
    assert [s.split(":")[0] for s in inbox.subjects(cancelled[1])] == ["Confirmed", "Cancelled"]


def book(stack: Stack, lead: tuple[str, str], start: float, event_id: str | None = None, status: str = "") -> None:
    attributes = {
        "meeting_id": f"mtg-{lead[0]}",
        "start": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start)),
        "duration_minutes": "30",
        "attendee_email": lead[1],
    }
    engage(stack, lead[0], "meeting_booked", attributes | ({"status": status} if status else {}), event_id)


def test_a_silent_lead_is_reengaged_once(nurture: Stack, inbox: Inbox) -> None:
    """A consenting lead silent for the configured time gets the re-engagement email once; one without consent none."""
    _, address = capture(nurture, consent=True)
    _, other = capture(nurture, consent=False)
    assert inbox.subjects(address) == []
    assert [str(m["Subject"]) for m in inbox.wait_for(address, 1, seconds=SILENCE_SECONDS + 20)] == ["We miss you"]
    time.sleep(SILENCE_SECONDS + 3)
    assert inbox.subjects(address) == ["We miss you"] and inbox.subjects(other) == []


def test_a_won_deal_onboards_its_lead_and_a_conversion_ends_sequences(nurture: Stack, inbox: Inbox) -> None:
    """opportunities.changed to won enrols the lead in onboarding; leads.converted exits with opportunity_opened."""
    rep = add_rep(nurture)
    lead_id, address = capture(nurture)
    opportunity = load_json(EXAMPLE_DIR / "OpportunityChanged" / "opened.json")
    won = opportunity | {
        "event_id": f"won-{uuid.uuid4().hex}",
        "opportunity_id": f"opp_{lead_id}",
        "lead_id": lead_id,
        "status": "won",
        "changed": ["stage", "status"],
    }
    nurture.produce("opportunities.changed", "OpportunityChanged", won, won["opportunity_id"])
    assert [str(m["Subject"]) for m in inbox.wait_for(address, 1)] == ["Welcome aboard"]
    converted_lead, converted_address = capture(nurture)
    assign(nurture, converted_lead, converted_address, rep)
    inbox.wait_for(converted_address, 1)
    converted = load_json(EXAMPLE_DIR / "LeadConverted" / "named_deal.json")
    nurture.produce("leads.converted", "LeadConverted", converted | {"lead_id": converted_lead}, converted_lead)
    reader = nurture.consumer("nurture.enrolments")
    seen = reader.poll_until(lambda s: any(v["lead_id"] == converted_lead and v["change"] == "exited" for _, v, _ in s))
    reader.close()
    exits = [v for _, v, _ in seen if v["lead_id"] == converted_lead and v["change"] == "exited"]
    assert [(v["sequence_id"], v["reason"]) for v in exits] == [("ops-rep", "opportunity_opened")]


def test_a_mailbox_over_its_throttle_holds_the_overflow(nurture: Stack, inbox: Inbox) -> None:
    """With N emails a minute per mailbox, the rep's N+1th lead waits for the next minute instead of being dropped."""
    rep = add_rep(nurture)
    leads = [capture(nurture) for _ in range(MAILBOX_PER_MINUTE + 1)]
    for lead_id, address in leads:
        assign(nurture, lead_id, address, rep)
    wait_until(lambda: sum(len(inbox.to(a)) for _, a in leads) >= MAILBOX_PER_MINUTE, 30, "the first emails never came")
    time.sleep(4)
    assert sum(len(inbox.to(a)) for _, a in leads) == MAILBOX_PER_MINUTE
    [(held, _)] = [(lead_id, a) for lead_id, a in leads if not inbox.to(a)]
    [enrolment] = enrolments(nurture, held)
    assert enrolment["status"] == "active" and enrolment["step_index"] == 0
    due = datetime.fromisoformat(enrolment["next_due"]).timestamp()
    assert time.time() + 20 < due <= time.time() + 61
    metrics = http("GET", nurture.services["nurture"].url("/metrics"))[2]
    assert "salesflow_nurture_emails_throttled_total" in metrics
