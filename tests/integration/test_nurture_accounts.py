"""Leads of one company on the real broker, Redis and SMTP server: a colleague's reply ends the
others' enrolments (switched on here), free-mail domains excepted; a won deal onboards every
known contact of its company, once each."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared.tests import EXAMPLE_DIR, load_json
from tests.integration.harness import Infra, Stack
from tests.integration.nurture_support import (
    ALWAYS,
    Inbox,
    api,
    assigned,
    captured,
    engagement,
    enrolment_changes,
    running_nurture,
    wait_until,
)
from tests.integration.nurture_support import inbox as inbox  # the fixture, used by name

REP = {"rep_id": "rep_accounts", "name": "Grace Hopper", "email": "grace.accounts@salesflow.example", "timezone": "UTC"}
TEXT = "Hi {{ lead.first_name }}, {{ unsubscribe_url }}"
SEQUENCES = {
    sequence_id: f"""
id: {sequence_id}
kind: {kind}
{ALWAYS}
steps:
  - {{id: first, delay: 0 seconds, channel: email, subject: "{subject}", text: "{TEXT}"}}
  - {{id: later, delay: 10 minutes, channel: email, subject: "Later", text: "{TEXT}"}}
"""
    for sequence_id, kind, subject in (
        ("acct-rep", "rep", "Hello"),
        ("acct-marketing", "marketing", "News"),
        ("acct-onboarding", "rep", "Welcome aboard"),
    )
}


@pytest.fixture(scope="module")
def nurture(infra: Infra, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("nurture-accounts")
    with running_nurture(
        infra,
        inbox,
        workdir,
        SEQUENCES,
        REP,
        NURTURE_REP_SEQUENCE="acct-rep",
        NURTURE_MARKETING_SEQUENCE="acct-marketing",
        NURTURE_ONBOARDING_SEQUENCE="acct-onboarding",
        NURTURE_COLLEAGUE_REPLY_EXIT="true",
    ) as stack:
        yield stack


def lead_at(stack: Stack, domain: str, assign: bool = True) -> tuple[str, str]:
    """A captured lead at `domain` (assigned to the rep unless told otherwise)."""
    lead_id = f"lead_{uuid.uuid4().hex[:12]}"
    address = f"{lead_id}@{domain}"
    stack.produce("leads.captured", "LeadCaptured", captured(lead_id, address), lead_id)
    if assign:
        stack.produce("leads.assigned", "LeadAssigned", assigned(lead_id, address, REP["rep_id"]), lead_id)
    return lead_id, address


def exits(changes: list[dict[str, Any]], lead_id: str) -> list[tuple[str, str]]:
    return [(c["sequence_id"], c["reason"]) for c in changes if c["lead_id"] == lead_id and c["change"] == "exited"]


def test_a_reply_ends_the_colleagues_enrolments_once_but_not_other_gmail_users(nurture: Stack, inbox: Inbox) -> None:
    """The replier exits with email_reply, each colleague once with colleague_replied (a redelivered
    reply changes nothing); a gmail user's reply ends no other gmail lead's enrolment."""
    company = f"c{uuid.uuid4().hex[:8]}.example"
    replier, *colleagues = [lead_at(nurture, company) for _ in range(3)]
    gmail_replier, gmail_other = lead_at(nurture, "gmail.com"), lead_at(nurture, "gmail.com")
    for _, address in (replier, *colleagues, gmail_replier, gmail_other):
        assert inbox.wait_for(address, 1) != [], f"no first email for {address}"
    reply = engagement(replier[0], "email_reply")
    nurture.produce("engagement.captured", "EngagementEvent", reply, replier[0])
    nurture.produce("engagement.captured", "EngagementEvent", reply, replier[0])  # redelivered
    gmail_reply = engagement(gmail_replier[0], "email_reply")
    nurture.produce("engagement.captured", "EngagementEvent", gmail_reply, gmail_replier[0])
    leads = {lead_id for lead_id, _ in (replier, *colleagues, gmail_replier, gmail_other)}
    ended = {replier[0], gmail_replier[0], *(lead_id for lead_id, _ in colleagues)}
    enrolment_changes(nurture, leads, lambda seen: ended <= {c["lead_id"] for c in seen if c["change"] == "exited"})
    time.sleep(4)  # room for a wrong second exit or a wrong gmail exit to show up
    changes = enrolment_changes(nurture, leads, lambda seen: False, seconds=3)
    assert exits(changes, replier[0]) == [("acct-rep", "email_reply")]
    for lead_id, _ in colleagues:
        assert exits(changes, lead_id) == [("acct-rep", "colleague_replied")]
    assert exits(changes, gmail_replier[0]) == [("acct-rep", "email_reply")]
    assert exits(changes, gmail_other[0]) == []


def test_a_won_deal_onboards_every_contact_of_the_company_once(nurture: Stack, inbox: Inbox) -> None:
    """The deal's lead and the other contacts at its domain get the onboarding welcome once each,
    even when the deal's event is delivered twice; a contact at another domain gets none."""
    company = f"w{uuid.uuid4().hex[:8]}.example"
    deal_lead, *contacts = [lead_at(nurture, company, assign=False) for _ in range(3)]
    stranger = lead_at(nurture, f"s{uuid.uuid4().hex[:8]}.example", assign=False)
    onboarded = {lead_id for lead_id, _ in (deal_lead, *contacts)}
    won = load_json(EXAMPLE_DIR / "OpportunityChanged" / "opened.json") | {
        "event_id": f"won-{uuid.uuid4().hex}",
        "opportunity_id": f"opp_{deal_lead[0]}",
        "lead_id": deal_lead[0],
        "status": "won",
        "changed": ["stage", "status"],
    }
    wait_until(lambda: known(nurture, [*onboarded, stranger[0]]), 20, "the captures never arrived")
    nurture.produce("opportunities.changed", "OpportunityChanged", won, won["opportunity_id"])
    nurture.produce("opportunities.changed", "OpportunityChanged", won, won["opportunity_id"])  # redelivered
    for _, address in (deal_lead, *contacts):
        assert [str(m["Subject"]) for m in inbox.wait_for(address, 1)] == ["Welcome aboard"]
    time.sleep(4)
    for _, address in (deal_lead, *contacts):
        assert inbox.subjects(address) == ["Welcome aboard"], address
    assert inbox.subjects(stranger[1]) == []
    changes = enrolment_changes(nurture, onboarded, lambda seen: False, seconds=3)
    enrolled = sorted(c["lead_id"] for c in changes if c["change"] == "enrolled")
    assert enrolled == sorted(onboarded)


def known(stack: Stack, lead_ids: list[str]) -> bool:
    url = stack.services["nurture"].url("")
    return all(api(url, "GET", f"/v1/leads/{lead_id}/enrolments")[0] == 200 for lead_id in lead_ids)
