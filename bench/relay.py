"""`RELAY_MODE=faust|runtime python -m bench.relay`: the ceiling's relay inside Faust, and inside salesflow's runtime.

Between the ceiling (plain confluent-kafka) and a stage, two floors say where a stage's time goes:
`faust` is one Faust agent that decodes each leads.captured record, re-encodes it and hands it to
the app's producer (what any Faust service pays); `runtime` is the same relay through
`ServiceRuntime.consume` and `send` (the batched consume loop, metrics, acknowledgement after the
outputs). Both write to leads.scored, where the stage runner counts them. Configured like a
service, from the environment the bench sets.
"""

from __future__ import annotations

import os
from typing import Any

import faust

from shared.avro_codec import create_codec
from shared.dead_letters import RecordMeta
from shared.runtime import ServiceRuntime, runtime_for
from shared.topics import physical_name
from shared.worker import run_worker

RECORD = "LeadCaptured"
PORT = 8090


def faust_relay() -> ServiceRuntime:
    """A runtime only for its app, settings and logging; the agent below is plain Faust."""
    runtime = runtime_for("scoring", PORT)  # scoring's settings and dead-letter topic
    app, codec, prefix = runtime.app, create_codec(), runtime.settings.topic_prefix
    sink = physical_name("leads.scored", prefix)

    async def relay(stream: faust.StreamT[bytes]) -> None:
        producer = await app.maybe_start_producer()
        async for event in stream.events():
            value = codec.decode_as(event.value, RECORD)
            await producer.send(sink, event.key, codec.encode(RECORD, value), None, None, None)

    app.agent(runtime.topic("leads.captured"), name="relay.faust")(relay)
    return runtime


def runtime_relay() -> ServiceRuntime:
    runtime = runtime_for("scoring", PORT)  # scoring's settings and dead-letter topic

    async def relay(record: dict[str, Any], meta: RecordMeta) -> None:
        await runtime.send("leads.scored", record["lead_id"], (RECORD, record))

    runtime.consume("leads.captured", relay)
    return runtime


RELAYS = {"faust": faust_relay, "runtime": runtime_relay}

if __name__ == "__main__":
    run_worker(RELAYS[os.environ.get("RELAY_MODE", "runtime")]())
