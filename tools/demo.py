"""Demo traffic and a live one-screen summary of the lead spine.

Submits realistic leads over HTTP and engagement events over Kafka at a steady rate, and shows
leads/s captured, scored, qualified and assigned with the last assignments, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

from shared.avro_codec import DecodeError, create_codec
from shared.config import KafkaSettings
from tools.workload import Workload

WATCHED = ("leads.captured", "leads.scored", "leads.qualified", "leads.assigned")


class Tally:
    """What the summary consumer has seen; written by its thread, read by the screen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.totals: collections.Counter[str] = collections.Counter()
        self.recent: collections.deque[tuple[float, str]] = collections.deque()
        self.assignments: collections.deque[dict[str, Any]] = collections.deque(maxlen=6)
        self.sent = 0
        self.rejected = 0

    def record(self, topic: str, value: dict[str, Any]) -> None:
        with self.lock:
            self.totals[topic] += 1
            self.recent.append((time.monotonic(), topic))
            if topic == "leads.assigned":
                self.assignments.appendleft(value)

    def rates(self, window: float = 5.0) -> dict[str, float]:
        cutoff = time.monotonic() - window
        with self.lock:
            while self.recent and self.recent[0][0] < cutoff:
                self.recent.popleft()
            counts = collections.Counter(topic for _, topic in self.recent)
        return {topic: counts[topic] / window for topic in WATCHED}


def consume_forever(tally: Tally, kafka: KafkaSettings, stop: threading.Event) -> None:
    codec = create_codec(kafka.schema_registry_url)
    consumer = Consumer(
        kafka.confluent_config()
        | {"group.id": f"salesflow-demo-{os.getpid()}", "auto.offset.reset": "latest", "enable.auto.commit": False}
    )
    # Assign every partition at its end: no group join to wait for, only what happens from now on.
    topics = consumer.list_topics(timeout=10).topics
    consumer.assign([TopicPartition(t, p, OFFSET_END) for t in WATCHED for p in topics[t].partitions])
    try:
        while not stop.is_set():
            message = consumer.poll(0.5)
            if message is None or message.error() or message.value() is None:
                continue
            try:
                _name, value = codec.decode(message.value() or b"")
            except DecodeError:
                continue
            tally.record(message.topic() or "", value)
    finally:
        consumer.close()


def render(tally: Tally) -> str:
    rates = tally.rates()
    lines = [
        "salesflow demo — Ctrl-C stops everything",
        "",
        f"submitted {tally.sent}  (rejected by validation: {tally.rejected})",
        "",
        f"{'stage':12} {'per second':>10} {'total':>8}",
    ]
    for topic in WATCHED:
        lines.append(f"{topic.split('.')[1]:12} {rates[topic]:10.1f} {tally.totals[topic]:8d}")
    lines += ["", "last assignments:"]
    for a in list(tally.assignments):
        who = a.get("rep_id") or f"queue {a.get('queue')}"
        due = a["sla_due_at"].strftime("%H:%M:%S") if isinstance(a.get("sla_due_at"), datetime) else "-"
        lines.append(f"  {a['lead_id'][:18]:18} -> {who:10} rule={a['rule']:18} grade={a.get('grade')} sla={due}")
    return "\n".join(lines)


async def submit_leads(tally: Tally, workload: Workload, rate: float, url: str, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            started = time.monotonic()
            async with session.post(f"{url}/v1/leads", json=workload.lead(datetime.now(UTC))) as response:
                tally.sent += 1
                tally.rejected += response.status == 422
            await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))


async def submit_engagement(workload: Workload, rate: float, kafka: KafkaSettings) -> None:
    codec = create_codec(kafka.schema_registry_url)
    producer = Producer(kafka.confluent_config() | {"enable.idempotence": True, "linger.ms": 5})
    while True:
        event = workload.engagement(datetime.now(UTC))
        if event is not None:
            producer.produce("engagement.inbound", codec.encode("EngagementEvent", event))
            producer.poll(0)
        await asyncio.sleep(1 / rate)


async def show(tally: Tally) -> None:
    while True:
        print("\033[2J\033[H" + render(tally), flush=True)
        await asyncio.sleep(1)


async def run(args: argparse.Namespace) -> None:
    kafka = KafkaSettings.from_env(os.environ)
    tally, stop, workload = Tally(), threading.Event(), Workload(seed=args.seed)
    thread = threading.Thread(target=consume_forever, args=(tally, kafka, stop), daemon=True)
    thread.start()
    try:
        await asyncio.gather(
            submit_leads(tally, workload, args.rate, args.url, args.api_key),
            submit_engagement(workload, args.rate * 2, kafka),
            show(tally),
        )
    finally:
        stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=5.0, help="leads per second")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", default="http://127.0.0.1:8001")
    parser.add_argument("--api-key", required=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
