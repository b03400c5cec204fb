"""A minimal service whose handlers (one per record, one per batch, one per record after a batch
prefetch, several keys at once) have a bug for one input, to test what the runtime does with bugs,
with a prefetch and with keys handled at once.

Run as `python -m tests.integration.crashing_service` with the usual environment.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.runtime import prefetched, runtime_for
from shared.worker import run_worker

runtime = runtime_for("ingest", 8001)


async def handle(value: dict[str, Any], meta: RecordMeta) -> None:
    if value["email"].startswith("boom"):
        raise RuntimeError("a bug in the handler")
    await runtime.redis.incr(runtime.redis_key("handled"))


async def handle_batch(batch: list[tuple[dict[str, Any], RecordMeta]]) -> list[InvalidRecord | None]:
    if any(str(value["email"]).startswith("boom") for value, _ in batch):
        raise RuntimeError("a bug in the batch handler")
    await runtime.redis.incrby(runtime.redis_key("handled-in-batches"), len(batch))
    return [None] * len(batch)


async def prefetch_leads(batch: list[dict[str, Any]]) -> frozenset[str]:
    if any(value["lead_id"] == "boom-in-prefetch" for value in batch):
        raise RuntimeError("a bug in the prefetch")
    return frozenset(value["lead_id"] for value in batch)


async def handle_prefetched(value: dict[str, Any], meta: RecordMeta) -> None:
    if value["lead_id"] == "boom-in-handler":
        raise RuntimeError("a bug in the handler")
    batch = prefetched()
    seen = "with" if isinstance(batch, frozenset) and value["lead_id"] in batch else "without"
    await runtime.redis.incr(runtime.redis_key(f"handled-{seen}-prefetch"))


async def handle_due(value: dict[str, Any], meta: RecordMeta) -> None:
    """Appends "lead:step" to a list. Lead "gate" first sleeps a second, lead "a" step 0 first waits
    (20 s at most) for lead "b", and step 99 is a bug."""
    if value["step_index"] == 99:
        raise RuntimeError("a bug in the handler")
    handled = runtime.redis_key("due-handled")
    if value["lead_id"] == "gate":
        await asyncio.sleep(1)
    if (value["lead_id"], value["step_index"]) == ("a", 0):
        for _ in range(200):
            if b"b:0" in await runtime.redis.lrange(handled, 0, -1):
                break
            await asyncio.sleep(0.1)
    await runtime.redis.rpush(handled, f"{value['lead_id']}:{value['step_index']}")


runtime.consume("leads.inbound", handle)
runtime.consume("nurture.due", handle_due, keys_at_once=4)
runtime.consume("subjects.erasure_requested", handle_prefetched, prefetch=prefetch_leads)
runtime.consume_batches("engagement.inbound", handle_batch)
install_health(runtime)
run_worker(runtime)
