"""A worker with RocksDB tables killed with SIGKILL recovers its state from the changelog.

This is the check on the local broker profile (one record per producer batch): without it, the
broker's end offsets are too low after multi-record batches and Faust's recovery fails.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tests.integration.harness import Stack


def engagement(email: str, kind: str) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "occurred_at": datetime.now(UTC), "email": email, "type": kind,
            "attributes": {}}


def explained_events(record: dict[str, Any]) -> set[str]:
    return {f["event_id"] for f in record["explanation"] if f.get("event_id")}


def test_killed_scoring_worker_recovers_lead_profiles(stack: Stack) -> None:
    """After kill -9 and restart, a new engagement is scored on top of every earlier one."""
    stack.start("ingest", "scoring")
    email = f"{uuid.uuid4().hex[:8]}@initech.example"
    lead = {"event_id": uuid.uuid4().hex, "occurred_at": datetime.now(UTC), "source": "webinar", "email": email,
            "job_title": "Director of IT", "employees": 240, "country": "US"}
    stack.produce("leads.inbound", "LeadSubmitted", lead)
    # A burst, so an unprofiled producer would write multi-record changelog batches.
    before = [engagement(email, kind) for kind in ("page_view", "pricing_page_view", "content_download") * 10]
    for event in before:
        stack.produce("engagement.inbound", "EngagementEvent", event)
    wanted = {e["event_id"] for e in before}
    reader = stack.consumer("leads.scored")
    reader.poll_until(lambda seen: any(wanted <= explained_events(v) for _, v, _ in seen), 60)
    assert any(wanted <= explained_events(v) for v in reader.values("leads.scored")), "profile never complete"

    stack.services["scoring"].kill()
    stack.restart("scoring")
    after = engagement(email, "webinar_attended")
    stack.produce("engagement.inbound", "EngagementEvent", after)
    everything = wanted | {after["event_id"]}
    reader.poll_until(lambda seen: any(everything <= explained_events(v) for _, v, _ in seen), 60)
    assert any(everything <= explained_events(v) for v in reader.values("leads.scored")), (
        "the restarted worker lost the lead's earlier engagement"
    )
    log = stack.services["scoring"].log_path.read_text()
    assert "ConsistencyError" not in log
    reader.close()
