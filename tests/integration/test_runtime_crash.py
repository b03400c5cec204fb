"""A handler bug ends the process without committing the record, so a restart retries it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime

import redis

from shared.runtime import EXIT_RECORD_FAILED
from tests.integration.harness import ROOT, Stack, free_port


def lead(email: str) -> dict[str, object]:
    return {"event_id": uuid.uuid4().hex, "occurred_at": datetime.now(UTC), "source": "api", "email": email}


def run_until_exit(stack: Stack, seconds: float = 60) -> tuple[int, str]:
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "tests.integration.crashing_service"],
        cwd=ROOT,
        env=stack.env_for("ingest", port),
        capture_output=True,
        text=True,
        timeout=seconds,
    )
    return result.returncode, result.stdout + result.stderr


def dies_twice_of(stack: Stack, bug: str) -> None:
    """Two runs in a row meet the same uncommitted record and end the process of the same bug."""
    for _ in range(2):
        code, output = run_until_exit(stack)
        assert code == EXIT_RECORD_FAILED, output[-2000:]
        assert "record_failed" in output and bug in output


def test_a_handler_bug_exits_the_process_and_the_record_is_retried(stack: Stack) -> None:
    """The good record before the bug is handled; the bad one kills the process every time, uncommitted."""
    # One key, so both land on one partition in this order.
    stack.produce("leads.inbound", "LeadSubmitted", lead("fine@acme.example"), key="acme")
    stack.produce("leads.inbound", "LeadSubmitted", lead("boom@acme.example"), key="acme")
    code, output = run_until_exit(stack)
    assert code == EXIT_RECORD_FAILED, output[-2000:]
    assert "record_failed" in output and "a bug in the handler" in output
    # Not committed: a second run meets the same record and dies the same way.
    code, output = run_until_exit(stack)
    assert code == EXIT_RECORD_FAILED
    handled = redis.Redis.from_url(stack.infra.redis_url).get(f"{stack.prefix}sf:ingest:handled")
    assert handled is not None and int(handled) >= 1


def test_a_batch_handler_bug_exits_the_process_and_the_batch_is_retried(stack: Stack) -> None:
    """A batch handler's bug ends the process as a per-record one does: nothing of the batch is
    committed, so a second run meets the same records and dies the same way."""
    event = {"event_id": uuid.uuid4().hex, "occurred_at": datetime.now(UTC), "type": "email_open", "attributes": {}}
    stack.produce("engagement.inbound", "EngagementEvent", event | {"email": "boom@acme.example"}, key="acme")
    dies_twice_of(stack, "a bug in the batch handler")
    client = redis.Redis.from_url(stack.infra.redis_url)
    assert client.get(f"{stack.prefix}sf:ingest:handled-in-batches") is None
