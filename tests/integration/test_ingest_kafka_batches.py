"""ingest's Kafka agents take what the consumer fetched as one batch: each record must come out as
if handled alone. Every burst here is produced before one flush, so its records arrive together.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.erasure_support import ingest_post
from tests.integration.harness import Infra, Stack, TopicReader


@pytest.fixture(scope="module")
def ingest(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(infra, tmp_path_factory.mktemp("ingest-batches"))
    stack.start("ingest")
    yield stack
    stack.close()


def lead(email: str | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC),
        "source": "web_form",
        "email": email or f"{uuid.uuid4().hex[:8]}@acme-robotics.example",
        "first_name": "Ada",
        "job_title": "VP of Sales",
        "company": "Acme Robotics",
        "country": "US",
    } | overrides


def posted(record: dict[str, Any]) -> dict[str, Any]:
    """The record as an HTTP body: JSON has no datetime, and ingest stamps a missing occurred_at."""
    return {name: value for name, value in record.items() if name != "occurred_at"}


def engagement(**fields: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC),
        "type": "email_click",
        "attributes": {},
    } | fields


def erased_email(stack: Stack) -> str:
    """The email of a lead that was captured, then erased (ingest has reported the erasure)."""
    email = f"erased-{uuid.uuid4().hex[:8]}@acme-robotics.example"
    assert ingest_post(stack, "/v1/leads", posted(lead(email)))[0] == 202
    status, answer = ingest_post(stack, "/v1/subjects/erase", {"email": email})
    assert status == 202
    reader = stack.consumer("subjects.erased")
    reader.poll_until(lambda seen: any(v["request_event_id"] == answer["event_id"] for _, v, _ in seen))
    reader.close()
    return email


def settled(reader: TopicReader, topic: str, wanted: set[str], dead: str) -> None:
    """Poll until every `wanted` event_id is on `topic` and `dead` is dead-lettered, then two seconds
    more: a second copy of a record would come with the first."""
    reader.poll_until(
        lambda seen: {v["event_id"] for t, v, _ in seen if t == topic} >= wanted and bool(dead_letters(seen, {dead}))
    )
    reader.poll_until(lambda _: False, seconds=2)


def dead_letters(seen: Any, event_ids: set[str]) -> list[tuple[dict[str, Any], dict[str, bytes]]]:
    """The dead letters among `seen` (a reader or what it saw) of these event_ids: (value, headers).
    These records decode: they are refused by validation, not by the codec."""
    records = seen.seen if isinstance(seen, TopicReader) else seen
    return [
        (value, dict(headers))
        for t, value, headers in records
        if t == "dlq.ingest" and isinstance(value, dict) and value["event_id"] in event_ids
    ]


def test_a_burst_of_leads_is_captured_record_by_record(ingest: Stack) -> None:
    """Invalid records are dead-lettered, a repeated event_id is captured once, an erased person
    is dropped without consent and comes back as a new lead with it; the rest are captured."""
    gone = erased_email(ingest)
    good, twice = lead(), lead()
    invalid = lead(email="not-an-address")
    refused = lead(gone)
    consented = lead(gone, marketing_consent=True)
    # Keyed by email, as the contract asks: one person's submissions stay in order on one partition
    # (the consented comeback after the refusal). Sent without a flush between, so they batch.
    for submission in [good, invalid, twice, twice, refused, consented]:
        ingest._producer.produce(
            ingest.topic("leads.inbound"), ingest.codec.encode("LeadSubmitted", submission), key=submission["email"]
        )
    ingest._producer.flush(30)

    reader = ingest.consumer("leads.captured", "dlq.ingest")
    wanted = {good["event_id"], twice["event_id"], consented["event_id"]}
    settled(reader, "leads.captured", wanted, invalid["event_id"])
    burst_ids = wanted | {invalid["event_id"], refused["event_id"]}
    captured = [v["event_id"] for v in reader.values("leads.captured") if v["event_id"] in burst_ids]
    assert sorted(captured) == sorted(wanted), "each valid lead once, the erased one without consent dropped"
    comeback = next(v for v in reader.values("leads.captured") if v["event_id"] == consented["event_id"])
    assert comeback["is_new"] is True
    (dead,) = dead_letters(reader, burst_ids)
    assert dead[1]["error.class"] == b"InvalidRecord" and b"email" in dead[1]["error.message"]
    assert dead[0]["event_id"] == invalid["event_id"]
    reader.close()


def test_a_burst_of_engagement_is_captured_record_by_record(ingest: Stack) -> None:
    """By email and by lead_id in one batch: each resolves its lead, a repeat is captured once, an
    erased person's event is dropped, one naming neither lead nor email is dead-lettered."""
    known = lead()
    status, answer = ingest_post(ingest, "/v1/leads", posted(known))
    assert status == 202
    by_email = engagement(email=known["email"])
    by_lead = engagement(lead_id=answer["lead_id"])
    unknown = engagement(email=f"new-{uuid.uuid4().hex[:8]}@acme-robotics.example")
    refused = engagement(email=erased_email(ingest))
    nameless = engagement()
    burst = [by_email, by_email, nameless, by_lead, refused, unknown]
    ingest.produce_many("engagement.inbound", "EngagementEvent", burst)

    reader = ingest.consumer("engagement.captured", "dlq.ingest")
    wanted = {by_email["event_id"], by_lead["event_id"], unknown["event_id"]}
    settled(reader, "engagement.captured", wanted, nameless["event_id"])
    burst_ids = {event["event_id"] for event in burst}
    copies = [v for v in reader.values("engagement.captured") if v["event_id"] in burst_ids]
    captured = {v["event_id"]: v["lead_id"] for v in copies}
    assert len(copies) == len(captured), "an event captured twice"
    assert set(captured) == wanted, "the erased person's event is dropped, the rest captured once"
    assert captured[by_email["event_id"]] == captured[by_lead["event_id"]] == answer["lead_id"]
    assert captured[unknown["event_id"]].startswith("lead_") and captured[unknown["event_id"]] != answer["lead_id"]
    (dead,) = dead_letters(reader, burst_ids)
    assert dead[0]["event_id"] == nameless["event_id"]
    assert dead[1]["error.class"] == b"InvalidRecord" and b"lead_id or email" in dead[1]["error.message"]
    reader.close()


def test_an_http_engagement_batch_with_an_erased_person_captures_none(ingest: Stack) -> None:
    """HTTP batches are all or none, engagement as leads: the refusal names the erasure."""
    known = lead()
    assert ingest_post(ingest, "/v1/leads", posted(known))[0] == 202
    fine = {"event_id": uuid.uuid4().hex, "email": known["email"], "type": "email_open"}
    gone = {"event_id": uuid.uuid4().hex, "email": erased_email(ingest), "type": "email_open"}
    status, answer = ingest_post(ingest, "/v1/engagement", [fine, gone])
    assert status == 409 and "erased" in str(answer)
    status, answer = ingest_post(ingest, "/v1/engagement", [fine])
    assert status == 202 and answer["results"][0]["duplicate"] is False, "the refused batch left no claim"
