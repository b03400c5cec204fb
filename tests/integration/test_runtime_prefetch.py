"""A consumer's prefetch: each fetched batch's records are read at once before any is handled, the
handlers see that answer, a record that does not decode still goes to the dead-letter topic, and a
bug in the prefetch ends the process uncommitted like a handler's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import redis

from shared.runtime import EXIT_RECORD_FAILED
from tests.integration.harness import Stack
from tests.integration.test_runtime_crash import dies_twice_of, run_until_exit


def request(lead_id: str) -> dict[str, object]:
    return {"event_id": uuid.uuid4().hex, "occurred_at": datetime.now(UTC), "lead_id": lead_id}


def test_handlers_see_their_batch_prefetched_and_junk_is_still_dead_lettered(stack: Stack) -> None:
    # One key, so all land on one partition in this order; the last one's handler has a bug, which
    # ends the run once the records before it were handled.
    for lead_id in ("lead-a", "lead-b"):
        stack.produce("subjects.erasure_requested", "SubjectErasureRequested", request(lead_id), key="k")
    stack.produce_raw("subjects.erasure_requested", b"\xc3\x01junk", key="k")
    for lead_id in ("lead-c", "boom-in-handler"):
        stack.produce("subjects.erasure_requested", "SubjectErasureRequested", request(lead_id), key="k")
    code, output = run_until_exit(stack)
    assert code == EXIT_RECORD_FAILED, output[-2000:]
    client = redis.Redis.from_url(stack.infra.redis_url)
    # The handler counts a record whose lead its batch's prefetch named, and one it did not.
    assert client.get(f"{stack.prefix}sf:ingest:handled-with-prefetch") == b"3"
    assert client.get(f"{stack.prefix}sf:ingest:handled-without-prefetch") is None
    reader = stack.consumer("dlq.ingest")
    try:
        dead = reader.poll_until(lambda seen: len(seen) >= 1, seconds=20)
    finally:
        reader.close()
    assert [value for _, value, _ in dead] == [b"\xc3\x01junk"]


def test_a_prefetch_bug_exits_the_process_and_the_batch_is_retried(stack: Stack) -> None:
    stack.produce("subjects.erasure_requested", "SubjectErasureRequested", request("boom-in-prefetch"), key="k")
    dies_twice_of(stack, "a bug in the prefetch")
    client = redis.Redis.from_url(stack.infra.redis_url)
    assert client.get(f"{stack.prefix}sf:ingest:handled-with-prefetch") is None
