"""The ceiling: one plain confluent-kafka process that consumes, decodes, re-encodes and produces.

It does nothing a service does beyond the codec, so it is the most one Python process can move
through this broker on this machine: every stage is compared with it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.stack import Infra, admin_client
from bench.stages import scoring_inputs
from bench.stats import per_thousand, rate
from bench.topic_io import create_producer, produce_all
from shared.avro_codec import create_codec
from shared.cli import create_topics
from shared.topics import topic_spec

RECORD = "LeadCaptured"


@dataclass(frozen=True)
class CeilingRun:
    events: int
    seconds: float
    events_per_second: float
    cpu_seconds_per_1000: float


def run_ceiling(infra: Infra, count: int, seed: int) -> CeilingRun:
    """Move `count` LeadCaptured records (scoring's input) through decode → encode once."""
    source, sink = _create_topics(infra)
    records, _ = scoring_inputs(create_codec(), count, seed)
    produce_all(create_producer(infra), source, records)
    return _relay(infra, source, sink, count)


def _create_topics(infra: Infra) -> tuple[str, str]:
    """Two private topics shaped like leads.captured (same partitions and policy)."""
    prefix, shape = f"b{uuid.uuid4().hex[:10]}.", topic_spec("leads.captured")
    specs = [replace(shape, name="ceiling.in"), replace(shape, name="ceiling.out")]
    create_topics(admin_client(infra), specs, prefix=prefix)
    return f"{prefix}ceiling.in", f"{prefix}ceiling.out"


def _relay(infra: Infra, source: str, sink: str, count: int) -> CeilingRun:
    codec = create_codec()
    consumer = Consumer(infra.kafka.confluent_config() | {"group.id": f"{source}.relay", "enable.auto.commit": False})
    partitions = consumer.list_topics(source, timeout=10).topics[source].partitions
    consumer.assign([TopicPartition(source, p, OFFSET_BEGINNING) for p in partitions])
    producer = create_producer(infra)
    moved, started, cpu_started = 0, 0.0, 0.0
    while moved < count:
        for message in consumer.consume(num_messages=1000, timeout=1.0):
            if message.error():
                continue
            if moved == 0:
                started, cpu_started = time.perf_counter(), time.process_time()
            value = codec.decode_as(message.value() or b"", RECORD)
            producer.produce(sink, codec.encode(RECORD, value), key=message.key())
            producer.poll(0)
            moved += 1
    producer.flush(60)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    consumer.close()
    return CeilingRun(moved, seconds, rate(moved, seconds), per_thousand(cpu, moved))
