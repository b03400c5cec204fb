"""Kafka I/O for the bench: fill a backlog, pace a load, and count (or read) what comes out.

Counts by consuming, never from end offsets: the local broker under-reports those after
multi-record batches (see shared/local_broker.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition

from bench.stack import Infra, admin_client

Keyed = tuple[bytes | None, bytes]


def create_producer(infra: Infra, linger_ms: int = 5, *, idempotent: bool = True) -> Producer:
    """A producer for backlogs (idempotent: a retry never doubles a count) or for paced load.

    A paced load passes idempotent=False: on the local broker librdkafka's idempotent producer
    holds records for 170-240 ms at 100-300 records/s (8-12 ms without), which the end-to-end
    figures would otherwise charge to the spine. acks=all either way.
    """
    # murmur2 is the services' (aiokafka's) partitioner: keyed records land where the services put theirs.
    return Producer(
        infra.kafka.confluent_config()
        | {
            "enable.idempotence": idempotent,
            "acks": "all",
            "partitioner": "murmur2_random",
            "linger.ms": linger_ms,
            "queue.buffering.max.messages": 1_000_000,
        }
    )


def produce_all(producer: Producer, topic: str, records: Iterable[Keyed]) -> int:
    """Produce every record and wait for the broker's acknowledgement of all; returns the count."""
    count = 0
    for key, value in records:
        _produce(producer, topic, key, value)
        count += 1
    if producer.flush(60) != 0:
        raise RuntimeError(f"the broker did not acknowledge every record on {topic} in 60 s")
    return count


def _produce(producer: Producer, topic: str, key: bytes | None, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, value, key=key)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.05)


def produce_paced(
    producer: Producer,
    records: Sequence[tuple[str, bytes | None, bytes]],
    per_second: float,
    on_sent: Callable[[int, float], None],
) -> float:
    """Produce (topic, key, value) `records` in order at `per_second`, in 5 ms ticks; `on_sent(index,
    wall time)` per record.

    Returns the wall time of the first send. Falls behind silently only if this process cannot
    keep up, which the caller sees as an achieved rate below the offered one.
    """
    started = time.time()
    sent = 0
    while sent < len(records):
        due = min(len(records), int((time.time() - started) * per_second) + 1)
        while sent < due:
            topic, key, value = records[sent]
            on_sent(sent, time.time())
            _produce(producer, topic, key, value)
            sent += 1
        time.sleep(0.005)
    producer.flush(30)
    return started


def wait_for_topics(infra: Infra, topics: Sequence[str], seconds: float, tick: Callable[[], None]) -> None:
    """Until every topic exists (a service creates its changelogs as it starts); `tick` notices a dead service."""
    admin, deadline = admin_client(infra), time.monotonic() + seconds
    while missing := set(topics) - set(admin.list_topics(timeout=10).topics):
        tick()
        if time.monotonic() > deadline:
            raise RuntimeError(f"topics not created after {seconds:.0f} s: {sorted(missing)}")
        time.sleep(0.2)


@dataclass
class TopicCounter:
    """Reads whole topics from the beginning and counts their records (optionally handing each on)."""

    infra: Infra
    topics: Sequence[str]
    on_message: Callable[[Message], None] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    first_timestamp_ms: int | None = None
    last_timestamp_ms: int | None = None

    def __post_init__(self) -> None:
        self.consumer = Consumer(
            self.infra.kafka.confluent_config()
            | {"group.id": f"bench-counter-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
        )
        # Assign every partition from the start: no group join to wait for, nothing missed.
        metadata = self.consumer.list_topics(timeout=10).topics
        self.consumer.assign(
            [TopicPartition(t, p, OFFSET_BEGINNING) for t in self.topics for p in metadata[t].partitions]
        )
        self.counts = dict.fromkeys(self.topics, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def poll(self, timeout: float = 0.1) -> int:
        """Read what is there (waiting up to `timeout`); returns how many records were new."""
        messages = self.consumer.consume(num_messages=2000, timeout=timeout)
        new = 0
        for message in messages:
            if message.error():
                continue
            self._seen(message)
            new += 1
        return new

    def _seen(self, message: Message) -> None:
        self.counts[message.topic() or ""] += 1
        stamp = message.timestamp()[1]
        if self.first_timestamp_ms is None or stamp < self.first_timestamp_ms:
            self.first_timestamp_ms = stamp
        if self.last_timestamp_ms is None or stamp > self.last_timestamp_ms:
            self.last_timestamp_ms = stamp
        if self.on_message is not None:
            self.on_message(message)

    def wait_until(self, done: Callable[[], bool], seconds: float, tick: Callable[[], None] | None = None) -> bool:
        """Poll until `done()` or `seconds` passed; `tick` runs after every poll (to notice a dead service)."""
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            self.poll()
            if tick is not None:
                tick()
        return done()

    def wait_for(self, total: int, seconds: float, tick: Callable[[], None] | None = None) -> bool:
        """Poll until `total` records were seen, or `seconds` passed."""
        return self.wait_until(lambda: self.total >= total, seconds, tick)

    def close(self) -> None:
        self.consumer.close()
