"""A minimal service whose handler has a bug for one input, to test what the runtime does with bugs.

Run as `python -m tests.integration.crashing_service` with the usual environment.
"""

from __future__ import annotations

from typing import Any

from shared.dead_letters import RecordMeta
from shared.health import install_health
from shared.runtime import runtime_for
from shared.worker import run_worker

runtime = runtime_for("ingest", 8001)


async def handle(value: dict[str, Any], meta: RecordMeta) -> None:
    if value["email"].startswith("boom"):
        raise RuntimeError("a bug in the handler")
    await runtime.redis.incr(runtime.redis_key("handled"))


runtime.consume("leads.inbound", handle)
install_health(runtime)
run_worker(runtime)
