"""Erasure (GDPR Article 17) through ingest and scoring, on the real broker and Redis."""

from __future__ import annotations

import json
import uuid

import redis

from tests.integration.erasure_support import changelog_values, ingest_post
from tests.integration.harness import Stack


def test_erasure_removes_the_person_everywhere_and_keeps_them_out(stack: Stack) -> None:
    """After an erasure, ingest and scoring report what they removed, the profile is a tombstone,
    Redis holds nothing of the email, and the email comes back only with fresh consent."""
    stack.start("ingest", "scoring")
    email = f"erase-me-{uuid.uuid4().hex[:8]}@acme-robotics.example"
    lead = {"source": "web_form", "email": email, "first_name": "Ada", "job_title": "CTO", "country": "US"}
    status, body = ingest_post(stack, "/v1/leads", lead)
    assert status == 202
    lead_id = body["lead_id"]
    reader = stack.consumer("leads.scored", "subjects.erased")
    reader.poll_until(lambda seen: any(t == "leads.scored" and v["lead_id"] == lead_id for t, v, _ in seen))

    status, answer = ingest_post(stack, "/v1/subjects/erase", {"email": email.upper()})
    assert status == 202 and answer["lead_id"] == lead_id
    reader.poll_until(
        lambda seen: {v["service"] for t, v, _ in seen if t == "subjects.erased"} >= {"ingest", "scoring"}
    )
    reports = {v["service"]: v for v in reader.values("subjects.erased")}
    assert reports["ingest"]["removed"] == ["redis:identity", "redis:pii-key"]
    assert reports["scoring"]["removed"] == ["table:lead-profiles"]
    assert all(r["request_event_id"] == answer["event_id"] and r["lead_id"] == lead_id for r in reports.values())

    changelog = f"{stack.prefix}salesflow-scoring-lead-profiles-changelog"
    values = changelog_values(stack, changelog, json.dumps(lead_id).encode())
    assert values and values[-1] is None, "the profile's last changelog record is not a tombstone"

    client = redis.Redis.from_url(stack.infra.redis_url)
    keys = list(client.scan_iter(match=f"{stack.prefix}*", count=10_000))
    assert keys and not any(email.encode() in key or email.encode() in (client.dump(key) or b"") for key in keys)

    assert ingest_post(stack, "/v1/leads", lead)[0] == 409
    status, again = ingest_post(stack, "/v1/leads", lead | {"marketing_consent": True})
    assert status == 202 and again["lead_id"] != lead_id
    reader.close()
