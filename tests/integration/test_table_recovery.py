"""A worker with RocksDB tables killed with SIGKILL mid-stream recovers its state from the changelog.

It guards three defects (docs/reliability.md): the local broker reports a partition's end offset
as the last batch's base offset + 1, so without the local transport's correction a kill right after
a multi-record changelog batch made Faust's recovery fail (ConsistencyError); Faust could skip a
queued record around the end of recovery and commit past it; and it committed inputs before their
changelog records were acknowledged. Each failed this test in some runs before its fix.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tests.integration.harness import Stack

LEADS = 30
EVENTS_PER_LEAD = 20
KINDS = ("page_view", "pricing_page_view", "content_download", "email_open")


def engagement(email: str, kind: str) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC),
        "email": email,
        "type": kind,
        "attributes": {},
    }


def explained_events(record: dict[str, Any]) -> set[str]:
    return {f["event_id"] for f in record["explanation"] if f.get("event_id")}


def test_killed_scoring_worker_recovers_lead_profiles(stack: Stack) -> None:
    """Killed mid-burst and restarted, scoring still holds every engagement of every lead."""
    stack.start("ingest", "scoring")
    emails = [f"{uuid.uuid4().hex[:8]}@initech.example" for _ in range(LEADS)]
    leads = [
        {
            "event_id": uuid.uuid4().hex,
            "occurred_at": datetime.now(UTC),
            "source": "webinar",
            "email": email,
            "job_title": "Director of IT",
            "employees": 240,
            "country": "US",
        }
        for email in emails
    ]
    stack.produce_many("leads.inbound", "LeadSubmitted", leads)
    burst = {email: [engagement(email, KINDS[i % len(KINDS)]) for i in range(EVENTS_PER_LEAD)] for email in emails}
    reader = stack.consumer("leads.scored")
    stack.produce_many("engagement.inbound", "EngagementEvent", [e for events in burst.values() for e in events])
    # Kill while the burst is being processed, so the changelog's last batches are recent.
    reader.poll_until(lambda seen: len(seen) >= LEADS + 30, 60)
    stack.services["scoring"].kill()
    stack.restart("scoring")

    # A demo request always moves the score, so its explanation lists every event the profile holds.
    finals = {email: engagement(email, "demo_request") for email in emails}
    stack.produce_many("engagement.inbound", "EngagementEvent", list(finals.values()))
    final_ids = {e["event_id"] for e in finals.values()}

    def finished(seen: list[Any]) -> bool:
        return final_ids <= {i for _, v, _ in seen for i in explained_events(v)}

    reader.poll_until(finished, 90)
    by_final = {i: v for v in reader.values("leads.scored") for i in explained_events(v) & final_ids}
    assert set(by_final) == final_ids, "some leads were never scored after the restart"
    for email, final in finals.items():
        held = explained_events(by_final[final["event_id"]])
        missing = {e["event_id"] for e in burst[email]} - held
        assert not missing, f"the restarted worker lost {len(missing)} engagement events of a lead"
    assert "ConsistencyError" not in stack.services["scoring"].log_path.read_text()
    reader.close()
