"""The local broker's end offset after a multi-record batch (known defect 2 in docs/reliability.md).

Tansu 0.6.0 answers ListOffsets(latest) with the last batch's base offset + 1. The test states
what Kafka promises and is expected to fail on that broker; when a broker upgrade fixes it, the
strict xfail turns red, and the end-offset correction in `shared/local_broker.py` can go.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.harness import Infra

pytestmark = pytest.mark.faults
BATCH = 5


def test_the_end_offset_follows_the_last_record_of_a_batch(infra: Infra, request: pytest.FixtureRequest) -> None:
    """Five records in one batch: the end offset is one past the last record's offset."""
    if infra.kafka.local_broker:
        reason = "the local broker reports the last batch's base offset + 1 as its end offset"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    config = infra.kafka.confluent_config()
    topic = f"t{uuid.uuid4().hex[:10]}.end-offset"
    admin = AdminClient(config)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    producer = Producer(config | {"linger.ms": 200})  # the burst lingers into one batch
    acked: list[int] = []
    for _ in range(BATCH):
        producer.produce(topic, b"x", on_delivery=lambda _error, message: acked.append(message.offset()))
    producer.flush(10)
    consumer = Consumer(config | {"group.id": f"{topic}-reader", "enable.auto.commit": False})
    _, end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.close()
    admin.delete_topics([topic])
    assert sorted(acked) == list(range(BATCH))
    assert end == BATCH
