"""End offsets as Faust's recovery reads them, after multi-record batches (docs/reliability.md, defect 2).

The local broker answers ListOffsets with the last batch's base offset + 1; the local transport
corrects that with the high watermark of a fetch. On Apache Kafka both agree already.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from faust.types import TP

from shared.local_broker import end_offsets_from_fetch
from tests.integration.harness import Infra

BURSTS = (10, 5, 1, 3)  # records per producer batch, as in the measurement table


async def produce_bursts(bootstrap: str, topic: str) -> list[int]:
    """Each burst lingers into one batch on partition 0; partition 1 stays empty."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=200)
    await producer.start()
    try:
        offsets = []
        for size in BURSTS:
            sent = [await producer.send(topic, b"x", partition=0) for _ in range(size)]
            offsets += [(await future).offset for future in sent]
        return offsets
    finally:
        await producer.stop()


async def end_offsets(bootstrap: str, topic: str) -> tuple[dict[TP, int], dict[TP, int]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        listed = {TP(tp.topic, tp.partition): end for tp, end in (await consumer.end_offsets(partitions)).items()}
        return listed, await end_offsets_from_fetch(consumer._client, listed)
    finally:
        await consumer.stop()


def test_end_offsets_follow_the_last_record_of_multi_record_batches(infra: Infra) -> None:
    topic = f"t{uuid.uuid4().hex[:10]}.end-offsets"
    admin = AdminClient(infra.kafka.confluent_config())
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(10)
    try:
        offsets = asyncio.run(produce_bursts(infra.bootstrap, topic))
        listed, corrected = asyncio.run(end_offsets(infra.bootstrap, topic))
    finally:
        admin.delete_topics([topic])
    assert offsets == list(range(sum(BURSTS)))
    assert corrected == {TP(topic, 0): sum(BURSTS), TP(topic, 1): 0}
    assert listed[TP(topic, 0)] <= corrected[TP(topic, 0)]  # the correction never lowers an end offset
