"""A consumer with keys_at_once: records of different keys in one batch are handled at once, and
each key's in order."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from shared.runtime import EXIT_RECORD_FAILED
from tests.integration.harness import Stack
from tests.integration.test_runtime_crash import run_until_exit


def due(lead_id: str, step: int) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "event_id": f"due:{lead_id}:{step}",
        "occurred_at": now,
        "lead_id": lead_id,
        "enrolment_id": f"enrolment-{lead_id}",
        "step_index": step,
        "due_at": now,
    }


def test_a_key_waiting_on_a_later_key_is_overtaken_and_each_key_keeps_its_order(stack: Stack) -> None:
    # One record batch on one partition, so one fetch. An idle agent takes the first record alone
    # (Faust hands records over one by one), so the gate holds it a second while the rest arrive.
    # Then a:0 waits until b:0 was handled, which comes after a's records. Handled one after
    # another, a:0 would give up waiting and b:0 would never be reached before the bug in a:99
    # ends the run.
    burst = [due("gate", 0), due("a", 0), due("a", 1), due("b", 0), due("a", 99)]
    stack.produce_many("nurture.due", "StepDue", burst, key_by="lead_id", partition=0)
    code, output = run_until_exit(stack)
    assert code == EXIT_RECORD_FAILED, output[-2000:]
    handled = redis.Redis.from_url(stack.infra.redis_url).lrange(f"{stack.prefix}sf:ingest:due-handled", 0, -1)
    assert handled == [b"gate:0", b"b:0", b"a:0", b"a:1"]
