"""Erasure (GDPR Article 17) through nurture and proposal, on the real broker, Redis and SMTP server."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pypdf import PdfReader

from tests.integration.erasure_support import changelog_values, erase, report
from tests.integration.harness import Infra, Stack, TopicReader
from tests.integration.nurture_support import Inbox, assign, now_ms, running_nurture, wait_until
from tests.integration.nurture_support import inbox as inbox  # the fixture, used by name
from tests.integration.test_proposal_flow import call, line, request

FOLLOW_UP_SECONDS = 45
# The follow-up is due 45 s after the task: erasure has that long to stop it, even on a loaded machine.
REP_SEQUENCE = """
id: test-rep
kind: rep
window: {start: "00:00", end: "23:59:59", days: [mon, tue, wed, thu, fri, sat, sun]}
steps:
  - {id: intro, delay: 0 seconds, channel: email, subject: "Hello", text: "Hi {{ lead.last_name }}"}
  - {id: call, delay: 0 seconds, channel: task, task: call, instructions: "Call {{ lead.last_name }}."}
  - {id: follow-up, delay: FOLLOW_UP seconds, channel: email, subject: "Again, {{ lead.first_name }}", text: "Hi again"}
""".replace("FOLLOW_UP", str(FOLLOW_UP_SECONDS))
MARKETING_SEQUENCE = """
id: test-marketing
kind: marketing
steps:
  - {id: welcome, delay: 0 seconds, channel: email, subject: "Welcome", text: "Bye: {{ unsubscribe_url }}"}
"""
OPPORTUNITY = (
    Path(__file__).resolve().parents[2] / "schemas" / "avro" / "examples" / "OpportunityChanged" / "opened.json"
)
CONTACT = "Ada Lovelace"


@pytest.fixture(scope="module")
def stack(infra: Infra, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("erasure")
    sequences = {"test-rep": REP_SEQUENCE, "test-marketing": MARKETING_SEQUENCE}
    documents = {"SALESFLOW_PROPOSAL_DIR": str(workdir / "documents")}
    with running_nurture(infra, inbox, workdir, sequences, services=("nurture", "proposal"), **documents) as stack:
        yield stack


READERS: dict[bytes, Callable[[redis.Redis, bytes], Any]] = {
    b"string": lambda client, key: client.get(key),
    b"hash": lambda client, key: client.hgetall(key),
    b"set": lambda client, key: client.smembers(key),
    b"zset": lambda client, key: client.zrange(key, 0, -1),
    b"list": lambda client, key: client.lrange(key, 0, -1),
}


def redis_text(client: redis.Redis, key: bytes) -> bytes:
    """A key's name and whole content as bytes, whatever its type (DUMP may compress)."""
    kind = client.type(key)
    return key + b"\x00" + repr(READERS[kind if isinstance(kind, bytes) else kind.encode()](client, key)).encode()


def keys_mentioning(stack: Stack, *needles: str) -> list[str]:
    client = redis.Redis.from_url(stack.infra.redis_url)
    texts = [redis_text(client, key) for key in client.scan_iter(match=f"{stack.prefix}*", count=10_000)]
    return sorted(t.split(b"\x00")[0].decode() for t in texts if any(n.encode() in t for n in needles))


def test_an_erased_lead_in_a_sequence_gets_no_more_email_and_leaves_no_trace(stack: Stack, inbox: Inbox) -> None:
    """After the first email and the rep's task (stored sealed), erasure stops the follow-up, nurture
    names what it removed, the table entry is a tombstone, a replayed assignment is ignored, and only
    the suppression entry (flagged erased, holding no address) and the lead's data key mention the lead."""
    reader = stack.consumer("tasks.created", "subjects.erased")
    lead_id, email = assign(stack)
    assert len(inbox.wait_for(email, 1)) == 1
    reader.poll_until(lambda seen: any(t == "tasks.created" and v["lead_id"] == lead_id for t, v, _ in seen))
    follow_up_due = time.monotonic() + FOLLOW_UP_SECONDS
    before = keys_mentioning(stack, lead_id, "Lovelace")
    assert any(":task:" in key for key in before) and len(before) > 3, before
    assert not [key for key in keys_mentioning(stack, "Lovelace") if ":task:" in key], "the stored task is sealed"

    request_id = erase(stack, lead_id, email)
    removed = report(reader, request_id, "nurture")["removed"]
    # Erasure is not retroactive: the test says something only if it landed before the follow-up was due.
    assert time.monotonic() < follow_up_due, "the erasure report came after the follow-up was due"
    expected = {"table:nurture-leads", "redis:timers", "redis:send-once", "redis:enrolment-map", "redis:tasks"}
    assert expected | {"redis:stats"} <= set(removed)

    time.sleep(max(0.0, follow_up_due + 3 - time.monotonic()))  # past the follow-up's due time
    assert len(inbox.to(email)) == 1, f"an email went out after the erasure: {inbox.subjects(email)}"
    changelog = f"{stack.prefix}salesflow-nurture-nurture-leads-changelog"
    assert changelog_values(stack, changelog, json.dumps(lead_id).encode())[-1] is None
    suppression = f"{stack.prefix}sf:nurture:suppression:{lead_id}"
    # The lead's data key (nurture made it to seal the task: this lead was captured unsealed) is
    # shredded by ingest, which does not run here.
    pii_key = f"{stack.prefix}sf:pii:key:{lead_id}"
    assert set(keys_mentioning(stack, lead_id, email, "Lovelace")) - {pii_key} == {suppression}
    assert redis.Redis.from_url(stack.infra.redis_url).hgetall(suppression) == {b"erased": b"1"}
    reader.close()


def test_an_erased_contact_is_gone_from_proposals_found_by_email_and_by_converted_lead(stack: Stack) -> None:
    """One proposal names the person's email, one is on a deal converted from the lead: both lose the
    contact in the stored state and the PDF, proposal reports both, and its index forgets the person."""
    lead_id, email = f"lead_{uuid.uuid4().hex[:12]}", f"ada.{uuid.uuid4().hex[:8]}@northwind.example"
    by_email, by_lead = f"opp-{uuid.uuid4().hex[:8]}", f"opp-{uuid.uuid4().hex[:8]}"
    opened = json.loads(OPPORTUNITY.read_text()) | {"event_id": uuid.uuid4().hex, "occurred_at": now_ms()}
    stack.produce(
        "opportunities.changed",
        "OpportunityChanged",
        opened | {"opportunity_id": by_lead, "lead_id": lead_id},
        by_lead,
    )
    reader = stack.consumer("proposals.generated", "subjects.erased")
    numbers = {}
    for deal, address in ((by_email, email.upper()), (by_lead, None)):
        quote = request(deal, line("SF-CRM-STD", 10))
        quote["customer"] |= {"contact": CONTACT, "email": address, "address": ["1 Engine Row"]}
        stack.produce("proposals.requested", "ProposalRequested", quote, deal)
        numbers[deal] = number_of(reader, deal)
        assert CONTACT in pdf_text(stack, numbers[deal], lambda text: CONTACT in text)
    wait_until(lambda: bool(keys_mentioning(stack, lead_id)), 20, "the deal's link to the lead never reached Redis")

    request_id = erase(stack, lead_id, email)
    removed = set(report(reader, request_id, "proposal")["removed"])
    assert {f"documents:proposal {n}" for n in numbers.values()} <= removed
    assert {"redis:contact-index", "redis:lead-deals"} <= removed

    for deal in (by_email, by_lead):
        text = pdf_text(stack, numbers[deal], lambda text: CONTACT not in text)
        assert "Northwind Logistics" in text and CONTACT not in text and email not in text.lower()
        stored = changelog_values(
            stack, f"{stack.prefix}salesflow-proposal-proposals-changelog", json.dumps(deal).encode()
        )
        latest = stored[-1] if stored else None
        assert latest is not None and b"1 Engine Row" in latest, "the proposal's last state is missing"
        assert CONTACT.encode() not in latest and b"northwind.example" not in latest
    left = keys_mentioning(stack, lead_id, CONTACT, hashlib.sha256(email.encode()).hexdigest())
    assert [key for key in left if ":proposal:" in key] == []  # nurture keeps its suppression entry
    reader.close()


def number_of(reader: TopicReader, deal: str) -> str:
    """The number of the deal's first generated proposal, once generated."""

    def generated() -> list[dict[str, Any]]:
        return [v for v in reader.values("proposals.generated") if v["opportunity_id"] == deal]

    reader.poll_until(lambda _: bool(generated()), seconds=45)
    assert generated(), f"no proposal generated for {deal}"
    return str(generated()[0]["number"])


def pdf_text(stack: Stack, number: str, ready: Callable[[str], bool]) -> str:
    """The proposal's v1 PDF as text, once `ready(text)` (the erasure runs on the deal's partition)."""
    deadline, text = time.monotonic() + 20, ""
    while time.monotonic() < deadline:
        status, pdf = call(stack, "GET", f"/v1/proposals/{number}/v/1.pdf")
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages) if status == 200 else ""
        if ready(text):
            break
        time.sleep(0.3)
    assert ready(text), f"{number}'s PDF never became ready: {text!r}"
    return text
