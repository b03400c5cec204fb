"""Crypto-shredding on the real broker, Redis and SMTP server: after an erasure, replaying every topic
from offset 0 finds no personal data of the person, in the raw bytes or in anything that opens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from shared.avro_codec import DecodeError
from shared.pii import SubjectErased
from shared.pii_keys import SHREDDED, key_name
from tests.integration.erasure_support import ingest_post, replay, report
from tests.integration.harness import Infra, Stack
from tests.integration.nurture_support import (
    Inbox,
    assigned,
    captured,
    engagement,
    now_ms,
    running_nurture,
    wait_until,
)
from tests.integration.nurture_support import inbox as inbox  # the fixture, used by name
from tests.integration.sealed import opened, sealed, sealed_like_ingest, shred, subject_key
from tests.integration.test_spine_routing import HOT
from tests.integration.test_spine_routing import spine as spine  # the fixture, used by name

SPINE_TOPICS = ("leads.captured", "engagement.captured", "leads.scored", "leads.qualified", "leads.assigned")


def person(tag: str) -> dict[str, Any]:
    """A qualifying lead whose every person field is a unique string no base64 text could hold by chance."""
    return HOT | {
        "event_id": uuid.uuid4().hex,
        "email": f"shred-{tag}@northwind-{tag}.example",
        "first_name": f"Philippa{tag}",
        "last_name": f"Quennell{tag}",
        "phone": "+1 415 555 2671",
        "company": "Northwind",
    }


def needles(lead: dict[str, Any]) -> set[bytes]:
    """What must never appear in a raw record: the address, its local part, the names, the number."""
    local = lead["email"].partition("@")[0]
    return {v.encode() for v in (lead["email"], local, lead["first_name"], lead["last_name"], "4155552671")}


def decoded(stack: Stack, value: bytes | None) -> dict[str, Any] | None:
    try:
        record = stack.codec.decode(value or b"")[1]
    except DecodeError:
        return None
    return record if isinstance(record, dict) else None


def in_clear(records: list[tuple[str, bytes, bytes | None]], found: set[bytes]) -> list[str]:
    """The topics of the records whose key or value holds any of `found` as it is."""
    return [topic for topic, key, value in records for n in found if n in key or n in (value or b"")]


def leaks(records: list[tuple[str, bytes, bytes | None]], lead: dict[str, Any]) -> list[str]:
    return in_clear(records, needles(lead))


def test_after_an_erasure_replaying_every_topic_finds_no_trace_of_the_person(spine: Stack) -> None:
    """Two leads flow through ingest, scoring and routing with engagement; one is erased. A fresh
    consumer reading every spine topic, scoring's changelog and the DLQs from offset 0 finds neither
    person's data in the clear; the erased one's sealed fields no longer open, the other's still do."""
    erased, kept = person(uuid.uuid4().hex[:10]), person(uuid.uuid4().hex[:10])
    status, body = ingest_post(spine, "/v1/leads", [erased, kept])
    assert status == 202, body
    erased_id, kept_id = (r["lead_id"] for r in body["results"])
    for lead in (erased, kept):
        # The attendee attributes are on ingest's allow-list of personal attributes: sealed like the email.
        attendee = {"attendee_email": lead["email"], "attendee_name": f"{lead['first_name']} {lead['last_name']}"}
        event = {
            "event_id": uuid.uuid4().hex,
            "occurred_at": datetime.now(UTC),
            "type": "demo_request",
            "attributes": attendee,
        }
        spine.produce("engagement.inbound", "EngagementEvent", event | {"email": lead["email"]}, lead["email"])
    reader = spine.consumer("leads.assigned", "engagement.captured", "subjects.erased")
    reader.poll_until(
        lambda seen: (
            {v["lead_id"] for t, v, _ in seen if t == "leads.assigned"} >= {erased_id, kept_id}
            and {v["lead_id"] for t, v, _ in seen if t == "engagement.captured"} >= {erased_id, kept_id}
        ),
        seconds=90,
    )

    status, answer = ingest_post(spine, "/v1/subjects/erase", {"email": erased["email"]})
    assert status == 202 and answer["lead_id"] == erased_id

    removed = report(reader, answer["event_id"], "ingest")["removed"]
    assert "redis:pii-key" in removed and subject_key(spine, erased_id) is None
    reader.close()

    changelog = f"{spine.prefix}salesflow-scoring-lead-profiles-changelog"
    dlqs = [spine.topic(f"dlq.{s}") for s in ("ingest", "scoring", "routing")]
    records = replay(spine, [spine.topic(t) for t in SPINE_TOPICS] + [changelog, *dlqs])
    assert leaks(records, erased) == [] and leaks(records, kept) == []

    values = [v for _, _, raw in records if (v := decoded(spine, raw)) and v.get("lead_id") in (erased_id, kept_id)]
    by_lead = {lead_id: [v for v in values if v["lead_id"] == lead_id] for lead_id in (erased_id, kept_id)}
    # captured, engagement.captured, scored, qualified, assigned at least: every one sealed.
    assert all(len(v) >= 5 for v in by_lead.values()) and all(sealed(v) for v in values)
    for value in by_lead[erased_id]:
        with pytest.raises(SubjectErased):
            opened(spine, value)
    for value in (opened(spine, v) for v in by_lead[kept_id]):
        assert value["email"] == kept["email"] and value.get("first_name", kept["first_name"]) == kept["first_name"]
        assert (value.get("attributes") or {}).get("attendee_email", kept["email"]) == kept["email"]
    attendees = [a for v in by_lead[kept_id] if (a := (v.get("attributes") or {}).get("attendee_email"))]
    assert attendees and all(a.endswith("@" + kept["email"].partition("@")[2]) for a in attendees)


def test_a_shredded_lead_id_is_never_sealed_again(spine: Stack) -> None:
    """Engagement naming an erased lead_id is refused (409), so no new key or record brings them back."""
    lead = person(uuid.uuid4().hex[:10])
    status, body = ingest_post(spine, "/v1/leads", lead)
    assert status == 202
    lead_id = body["lead_id"]
    assert ingest_post(spine, "/v1/subjects/erase", {"email": lead["email"]})[0] == 202
    wait_until(
        lambda: subject_key(spine, lead_id) is None and _shredded(spine, lead_id), 30, "the key was not shredded"
    )
    engagement = {"event_id": uuid.uuid4().hex, "occurred_at": now_ms(), "type": "page_view", "lead_id": lead_id}
    status, _ = ingest_post(spine, "/v1/engagement", engagement | {"email": lead["email"]})
    assert status == 409 and subject_key(spine, lead_id) is None


def _shredded(stack: Stack, lead_id: str) -> bool:
    """A tombstone is there (not merely no key)."""
    return redis.Redis.from_url(stack.infra.redis_url).get(key_name(f"{stack.prefix}sf:", lead_id)) == SHREDDED


REP = {"rep_id": "rep_ida", "name": "Ida Rep", "email": "ida@salesflow.example", "timezone": "UTC"}
SEQUENCES = {
    "test-rep": """
id: test-rep
kind: rep
window: {start: "00:00", end: "23:59:59", days: [mon, tue, wed, thu, fri, sat, sun]}
steps:
  - {id: intro, delay: 0 seconds, channel: email, subject: "Hello {{ lead.first_name }}", text: "Hi"}
  - {id: call, delay: 0 seconds, channel: task, task: call,
     instructions: "Call {{ lead.first_name }} {{ lead.last_name }}"}
  - {id: follow-up, delay: 30 seconds, channel: email, subject: "Again, {{ lead.first_name }}", text: "Hi again"}
""",
    "test-marketing": """
id: test-marketing
kind: marketing
steps:
  - {id: welcome, delay: 0 seconds, channel: email, subject: "Welcome", text: "Bye: {{ unsubscribe_url }}"}
""",
}


@pytest.fixture(scope="module")
def mailer(infra: Infra, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # No key cache: this nurture never hears of the erasure (that would drop a cached key at once),
    # so only the shredded key itself can stop the follow-up.
    workdir = tmp_path_factory.mktemp("shredding")
    with running_nurture(infra, inbox, workdir, SEQUENCES, REP, SALESFLOW_PII_KEY_CACHE_SECONDS="0") as stack:
        yield stack


def test_nurture_mails_the_opened_address_and_stops_once_the_key_is_shredded(mailer: Stack, inbox: Inbox) -> None:
    """nurture opens the sealed profile only to send: the mail reaches the real address with the real
    name; email.outbound and tasks.created hold the address, subject and instructions sealed (they
    open with the lead's key) and the template, step and sequence in the clear. Once the key is
    shredded (nurture never told) the follow-up is not sent, the enrolment ends "erased", the lead is
    suppressed, and a replay of those topics and nurture's changelog finds none of it in the clear."""
    tag = uuid.uuid4().hex[:8]
    lead_id, address = f"lead_{tag}", f"wilhelmina.{tag}@analytical.example"
    names = {"first_name": f"Wilhelmina{tag}", "last_name": f"Quist{tag}"}
    mailer.produce(
        "leads.captured",
        "LeadCaptured",
        sealed_like_ingest(mailer, captured(lead_id, address) | names),
        lead_id,
    )
    mailer.produce(
        "leads.assigned",
        "LeadAssigned",
        sealed_like_ingest(mailer, assigned(lead_id, address, REP["rep_id"])),
        lead_id,
    )
    (first,) = inbox.wait_for(address, 1)
    assert first["Subject"] == f"Hello {names['first_name']}"
    email, task = _email_and_task(mailer, lead_id)
    assert sealed(email) and sealed(task) and email["recipient"].endswith("@analytical.example")
    assert (email["template"], email["sequence_id"], task["step_id"]) == ("test-rep/intro", "test-rep", "call")
    assert opened(mailer, email)["recipient"] == address and opened(mailer, email)["subject"] == first["Subject"]
    assert opened(mailer, task)["instructions"] == f"Call {names['first_name']} {names['last_name']}"
    shred(mailer, lead_id)

    reader = mailer.consumer("nurture.enrolments")
    exits = reader.poll_until(
        lambda seen: any(v["lead_id"] == lead_id and v["change"] == "exited" for _, v, _ in seen), seconds=90
    )
    reader.close()
    assert [v["reason"] for _, v, _ in exits if v["lead_id"] == lead_id and v["change"] == "exited"] == ["erased"]
    assert len(inbox.to(address)) == 1, "a mail went out after the key was shredded"
    flags = redis.Redis.from_url(mailer.infra.redis_url).hgetall(f"{mailer.prefix}sf:nurture:suppression:{lead_id}")
    assert b"erased" in flags

    changelog = f"{mailer.prefix}salesflow-nurture-nurture-leads-changelog"
    topics = [mailer.topic(t) for t in ("email.outbound", "tasks.created", "tasks.overdue")]
    leaked = {address.encode(), address.partition("@")[0].encode(), *(n.encode() for n in names.values())}
    records = replay(mailer, [changelog, *topics])
    assert in_clear(records, leaked) == []
    written = [v for t, _, raw in records if t != changelog and (v := decoded(mailer, raw)) and v["lead_id"] == lead_id]
    assert len(written) >= 2 and all(sealed(v) for v in written)
    for value in (v for v in written if "recipient" in v or "instructions" in v):
        with pytest.raises(SubjectErased):
            opened(mailer, value)


TOPICS = ("email.outbound", "tasks.created")


def _email_and_task(stack: Stack, lead_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The lead's first EmailSent and its TaskCreated, as written."""
    reader = stack.consumer(*TOPICS)
    seen = reader.poll_until(lambda s: {t for t, v, _ in s if v["lead_id"] == lead_id} == set(TOPICS), 60)
    reader.close()
    email = next(v for t, v, _ in seen if t == "email.outbound" and v["lead_id"] == lead_id)
    return email, next(v for t, v, _ in seen if t == "tasks.created" and v["lead_id"] == lead_id)


def test_a_booked_meeting_mails_the_opened_attendee_and_keeps_it_sealed(mailer: Stack, inbox: Inbox) -> None:
    """A meeting_booked event with its attendee sealed as ingest seals it: the invite reaches the real
    attendee under their name; email.outbound and nurture's changelog hold neither in the clear."""
    tag = uuid.uuid4().hex[:8]
    lead_id, address = f"lead_{tag}", f"augusta.{tag}@byron.example"
    attendee = {"attendee_email": address, "attendee_name": f"Augusta{tag} Byron{tag}"}
    mailer.produce("leads.captured", "LeadCaptured", sealed_like_ingest(mailer, captured(lead_id, address)), lead_id)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    booking = attendee | {"meeting_id": f"mtg-{tag}", "start": start.isoformat(), "duration_minutes": "30"}
    event = sealed_like_ingest(mailer, engagement(lead_id, "meeting_booked", booking))
    assert sealed(event) and event["attributes"]["meeting_id"] == f"mtg-{tag}"
    mailer.produce("engagement.captured", "EngagementEvent", event, lead_id)
    (invite,) = inbox.wait_for(address, 1)
    calendar = next(p for p in invite.walk() if p.get_content_type() == "text/calendar").get_content()
    unfolded = (calendar.decode() if isinstance(calendar, bytes) else calendar).replace("\r\n ", "")
    assert str(invite["Subject"]).startswith("Confirmed") and f"CN={attendee['attendee_name']};" in unfolded

    reader = mailer.consumer("email.outbound")
    seen = reader.poll_until(lambda s: any(v["lead_id"] == lead_id for _, v, _ in s))
    reader.close()
    (sent,) = [v for _, v, _ in seen if v["lead_id"] == lead_id]
    assert sealed(sent) and opened(mailer, sent)["recipient"] == address
    changelog = f"{mailer.prefix}salesflow-nurture-nurture-leads-changelog"
    leaked = {address.encode(), *(part.encode() for part in attendee["attendee_name"].split())}
    records = replay(mailer, [changelog, mailer.topic("email.outbound")])
    assert in_clear(records, leaked) == []
