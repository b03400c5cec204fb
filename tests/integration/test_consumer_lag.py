"""Consumer lag on /metrics: the records a stuck worker has not handled, and none once it has."""

from __future__ import annotations

import time
import urllib.error
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.integration.harness import ServiceProcess, Stack, free_port, metrics

LAG = "salesflow_ingest_consumer_lag_records"


def lead() -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC),
        "source": "web_form",
        "email": f"{uuid.uuid4().hex[:8]}@acme-robotics.example",
        "company": "Acme Robotics",
        "country": "US",
    }


def inbound_lag(service: ServiceProcess) -> dict[str, float] | None:
    """leads.inbound's lag by partition, or None while /metrics does not answer."""
    try:
        sampled = metrics(service)
    except (urllib.error.URLError, OSError):
        return None
    return {
        dict(labels)["partition"]: value
        for (name, labels), value in sampled.items()
        if name == LAG and dict(labels)["topic"] == "leads.inbound"
    }


def lag_becomes(service: ServiceProcess, total: int, seconds: float = 60) -> dict[str, float] | None:
    deadline, lags = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        lags = inbound_lag(service)
        if lags and sum(lags.values()) == total:
            break
        time.sleep(0.5)
    return lags


def test_lag_counts_what_a_stuck_worker_holds_and_drains_when_it_recovers(stack: Stack) -> None:
    # ingest cannot dedupe without Redis, so it retries the batch and commits nothing.
    stack.extra_env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    stack.start("ingest", wait=False)
    ingest = stack.services["ingest"]
    stack.produce_many("leads.inbound", "LeadSubmitted", [lead() for _ in range(4)], key_by="email")
    stuck = lag_becomes(ingest, 4)
    assert stuck is not None and sum(stuck.values()) == 4, ingest.log_tail()
    assert len(stuck) == 6  # every partition of leads.inbound has a series, the idle ones at 0

    ingest.stop()
    ingest.env["REDIS_URL"] = stack.infra.redis_url
    stack.restart("ingest")
    drained = lag_becomes(ingest, 0)
    assert drained is not None and len(drained) == 6 and sum(drained.values()) == 0, drained
