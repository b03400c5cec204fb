"""The consumer thread's two fetch-position fixes on the real broker (docs/reliability.md, defect 7).

A partition whose records were fetched and dropped must be fetched again after Faust's seek to
the committed offsets, even when the group never committed it; an empty active set fetches nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from shared.config import ServiceSettings
from shared.faust_app import create_app
from shared.group_consumer import GroupConsumerThread
from tests.integration.harness import Infra

RECORDS_PER_PARTITION = 5


@asynccontextmanager
async def drained_consumer(infra: Infra, topic: str) -> AsyncIterator[tuple[GroupConsumerThread, AIOKafkaConsumer]]:
    """A group consumer that has read every record of both partitions, and a thread around it."""
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        for partition in (0, 1):
            for _ in range(RECORDS_PER_PARTITION):
                await producer.send_and_wait(topic, b"x", partition=partition)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infra.bootstrap,
        group_id=f"{topic}.group",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        read = 0
        while read < 2 * RECORDS_PER_PARTITION:
            read += sum(len(records) for records in (await consumer.getmany(timeout_ms=1000)).values())
        yield consumer_thread(infra, topic, consumer), consumer
    finally:
        await consumer.stop()


def consumer_thread(infra: Infra, topic: str, consumer: AIOKafkaConsumer) -> GroupConsumerThread:
    settings = ServiceSettings.from_env("scoring", 8002, {"KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap})
    app = create_app(settings, app_id=f"{topic}.app")
    thread = GroupConsumerThread(app.consumer, loop=asyncio.get_running_loop(), beacon=app.consumer.beacon)
    thread._consumer = consumer  # the consumer it would create on start, already drained
    return thread


def with_topic(infra: Infra) -> tuple[str, AdminClient]:
    topic = f"t{uuid.uuid4().hex[:10]}.group-consumer"
    admin = AdminClient(infra.kafka.confluent_config())
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(10)
    return topic, admin


def test_a_partition_the_group_never_committed_is_read_again_from_the_start(infra: Infra) -> None:
    """Seeking to committed offsets moves a never-committed partition back to offset 0, not only the committed one."""

    async def positions_after_seek(topic: str) -> tuple[int, int]:
        async with drained_consumer(infra, topic) as (thread, consumer):
            await consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, "")})
            await thread._seek_to_committed_or_reset()
            return await consumer.position(TopicPartition(topic, 0)), await consumer.position(TopicPartition(topic, 1))

    topic, admin = with_topic(infra)
    try:
        assert asyncio.run(positions_after_seek(topic)) == (3, 0)
    finally:
        admin.delete_topics([topic])


def test_an_empty_active_set_fetches_nothing(infra: Infra) -> None:
    """aiokafka reads an empty partition set as every partition; the thread hands over nothing instead."""

    async def fetched(topic: str) -> tuple[dict[int, int], dict[int, int]]:
        async with drained_consumer(infra, topic) as (thread, consumer):
            for partition in (0, 1):
                consumer.seek(TopicPartition(topic, partition), 0)
            await asyncio.sleep(1)  # aiokafka fetches both partitions in the background
            nothing = await thread._fetch_records(consumer, set(), timeout=1)
            only_first = await thread._fetch_records(consumer, {TopicPartition(topic, 0)}, timeout=1)
            return _counts(nothing), _counts(only_first)

    topic, admin = with_topic(infra)
    try:
        assert asyncio.run(fetched(topic)) == ({}, {0: RECORDS_PER_PARTITION})
    finally:
        admin.delete_topics([topic])


def _counts(records: dict[TopicPartition, list[object]]) -> dict[int, int]:
    return {tp.partition: len(batch) for tp, batch in records.items()}
