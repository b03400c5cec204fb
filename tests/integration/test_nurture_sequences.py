"""nurture as a real process on the real broker and Redis, delivering to a real SMTP server."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from tests.integration.harness import Infra, Stack
from tests.integration.nurture_support import (
    AUTH,
    REP,
    SUBJECTS,
    Inbox,
    assign,
    engagement,
    http,
    running_nurture,
)
from tests.integration.nurture_support import inbox as inbox  # the fixture, used by name
from tests.integration.sealed import opened, sealed


@pytest.fixture(scope="module")
def nurture(infra: Infra, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_nurture(infra, inbox, tmp_path_factory.mktemp("nurture")) as stack:
        yield stack


def unsubscribe_url(message: EmailMessage) -> str:
    header = str(message["List-Unsubscribe"])
    return next(part.strip(" <>") for part in header.split(",") if "/v1/unsubscribe?token=" in part)


def test_assigned_lead_gets_the_rep_sequence_with_the_right_headers(nurture: Stack, inbox: Inbox) -> None:
    """An assigned lead's first email comes from the rep with the subject, To and List-Unsubscribe headers."""
    lead_id, address = assign(nurture)
    first = inbox.wait_for(address, 1)[0]
    assert first["From"].addresses[0].addr_spec == REP["email"]
    assert first["From"].addresses[0].display_name == REP["name"]
    assert first["To"].addresses[0].addr_spec == address
    assert first["Subject"] == "Quick question, Ada"
    assert "/v1/unsubscribe?token=" in str(first["List-Unsubscribe"]) and "mailto:" in str(first["List-Unsubscribe"])
    assert first["List-Unsubscribe-Post"] is None, "one-click is promised only on marketing email"
    assert "Hi Ada, how is Analytical Engines? Grace" in first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    reader = nurture.consumer("email.outbound", "tasks.created")
    # Two topics are fetched independently: wait for both records, not for the later one alone.
    both = {"email.outbound", "tasks.created"}
    seen = reader.poll_until(lambda s: {t for t, v, _ in s if v["lead_id"] == lead_id} == both)
    sent = [v for t, v, _ in seen if t == "email.outbound" and v["lead_id"] == lead_id]
    assert sent[0]["template"] == "test-rep/intro" and sent[0]["message_id"] == first["Message-ID"]
    task = next(v for t, v, _ in seen if t == "tasks.created" and v["lead_id"] == lead_id)
    assert task["kind"] == "call" and task["rep_id"] == REP["rep_id"] and sealed(task) and sealed(sent[0])
    # Sealed with a key nurture made for this lead (captured here without one, as with sealing off).
    assert "Call Ada" in opened(nurture, task)["instructions"] and opened(nurture, sent[0])["recipient"] == address
    reader.close()
    assert [m["Subject"] for m in inbox.wait_for(address, 3)] == SUBJECTS
    metrics = http("GET", nurture.services["nurture"].url("/metrics"))[2]
    assert 'salesflow_nurture_emails_sent_total{sequence="test-rep"}' in metrics


def test_a_reply_stops_the_sequence(nurture: Stack, inbox: Inbox) -> None:
    """After the lead replies, no further email of the sequence arrives and the exit names the reply."""
    lead_id, address = assign(nurture)
    inbox.wait_for(address, 1)
    nurture.produce("engagement.captured", "EngagementEvent", engagement(lead_id, "email_reply"), lead_id)
    reader = nurture.consumer("nurture.enrolments")
    seen = reader.poll_until(lambda s: any(v["lead_id"] == lead_id and v["change"] == "exited" for _, v, _ in s))
    exits = [v for _, v, _ in seen if v["lead_id"] == lead_id and v["change"] == "exited"]
    assert exits and exits[0]["reason"] == "email_reply"
    reader.close()
    time.sleep(10)
    assert [m["Subject"] for m in inbox.to(address)] == SUBJECTS[:1]


def test_one_click_unsubscribe_suppresses_the_lead(nurture: Stack, inbox: Inbox) -> None:
    """POST to the List-Unsubscribe URL answers 200 without redirect, emits unsubscribe, and stops the emails."""
    lead_id, address = assign(nurture)
    url = unsubscribe_url(inbox.wait_for(address, 1)[0])
    assert url.startswith(nurture.services["nurture"].url("/v1/unsubscribe?token="))
    status, _, page = http("GET", url)
    assert status == 200 and '<form method="post"' in page
    status, final_url, body = http("POST", url, b"List-Unsubscribe=One-Click")
    assert (status, final_url, json.loads(body)) == (200, url, {"unsubscribed": True})
    reader = nurture.consumer("engagement.inbound")
    seen = reader.poll_until(lambda s: any(v["lead_id"] == lead_id for _, v, _ in s))
    assert [v["type"] for _, v, _ in seen if v["lead_id"] == lead_id] == ["unsubscribe"]
    reader.close()
    time.sleep(10)
    assert [m["Subject"] for m in inbox.to(address)] == SUBJECTS[:1]


def test_a_forged_unsubscribe_token_is_refused(nurture: Stack) -> None:
    """A token with a bad signature unsubscribes nobody and says why."""
    forged = urllib.parse.quote("bGVhZF94.9999999999.c2lnbmF0dXJl")
    status, _, body = http("POST", nurture.services["nurture"].url(f"/v1/unsubscribe?token={forged}"), b"")
    assert status == 400 and json.loads(body)["reason"] == "bad_signature"


def test_enrolments_and_sequences_are_served(nurture: Stack, inbox: Inbox) -> None:
    """The API lists the configured sequences and a lead's enrolment on the (only) worker, to a key holder."""
    lead_id, address = assign(nurture)
    inbox.wait_for(address, 1)
    url = nurture.services["nurture"].url(f"/v1/leads/{lead_id}/enrolments")
    assert http("GET", url)[0] == 401
    status, _, body = http("GET", url, headers=AUTH)
    enrolments = json.loads(body)["enrolments"]
    assert status == 200 and [e["sequence_id"] for e in enrolments] == ["test-rep"]
    status, _, body = http("GET", nurture.services["nurture"].url("/v1/sequences"), headers=AUTH)
    ids = sorted(s["sequence_id"] for s in json.loads(body)["sequences"])
    assert status == 200 and ids == ["test-marketing", "test-rep"]


def test_a_killed_worker_sends_the_remaining_emails_once_after_restart(nurture: Stack, inbox: Inbox) -> None:
    """SIGKILL between steps: after a restart exactly the remaining emails arrive, none twice."""
    _, address = assign(nurture)
    inbox.wait_for(address, 1)
    nurture.services["nurture"].kill()
    time.sleep(6)
    nurture.restart("nurture")
    inbox.wait_for(address, 3, seconds=45)
    time.sleep(6)
    received = inbox.to(address)
    assert [m["Subject"] for m in received] == SUBJECTS
    assert len({m["Message-ID"] for m in received}) == 3
