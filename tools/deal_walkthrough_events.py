"""A deal's events as they are on the broker: one pass over each deal topic up to its end, no group join.

Reads only; used by tools.deal_walkthrough to show what the walk caused, and by its test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from shared.avro_codec import DecodeError, create_codec
from shared.config import KafkaSettings, env_str
from shared.topics import physical_name

# Where a deal's story is told, in the order the walk causes it.
DEAL_TOPICS = (
    "leads.converted",
    "opportunities.commands",
    "opportunities.changed",
    "opportunities.rejected",
    "proposals.requested",
    "approvals.requested",
    "approvals.decided",
    "proposals.generated",
    "proposals.commands",
    "proposals.accepted",
    "proposals.withdrawn",
    "proposals.rejected",
)


def read_deal_events(env: dict[str, str], opportunity_id: str, lead_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every record of the deal (or, on leads.converted, of its lead) now on DEAL_TOPICS, topic by topic."""
    kafka, prefix = KafkaSettings.from_env(env), env_str(env, "SALESFLOW_TOPIC_PREFIX", "")
    codec = create_codec(kafka.schema_registry_url)
    # A short fetch wait: the local broker answers a fetch only when its wait expires.
    group = {"group.id": f"deal-walkthrough-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    group |= {"fetch.wait.max.ms": 20}
    consumer = Consumer(kafka.confluent_config() | group)
    try:
        found: list[tuple[str, dict[str, Any]]] = []
        for topic in DEAL_TOPICS:
            for value in _topic_values(consumer, physical_name(topic, prefix), codec.decode):
                if value.get("opportunity_id") == opportunity_id or value.get("lead_id") == lead_id:
                    found.append((topic, value))
        return found
    finally:
        consumer.close()


def _topic_values(consumer: Consumer, topic: str, decode: Callable[[bytes], Any]) -> list[dict[str, Any]]:
    """The topic's records up to its end offsets when called (one pass, no group join)."""
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions}
    ends = {p: high for p, (low, high) in marks.items() if high > low}
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    values: list[dict[str, Any]] = []
    remaining = set(ends)
    deadline = time.monotonic() + 30
    while remaining and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        partition, offset, data = message.partition(), message.offset(), message.value()
        if partition in ends and offset is not None and offset + 1 >= ends[partition]:
            remaining.discard(partition)
        try:
            values.append(decode(data or b"")[1])
        except DecodeError:
            continue  # a poison record another test left: not part of this deal's story
    return values


SUMMARY_FIELDS = (
    "type",
    "command_type",
    "stage",
    "status",
    "approver_chain",
    "role",
    "approved",
    "version",
    "amount",
    "total",
    "currency",
    "accepted_by",
    "withdrawn_by",
    "reason",
)


def summary(value: dict[str, Any]) -> str:
    """The fields that tell what an event says, in one line."""
    return ", ".join(f"{k}={value[k]}" for k in SUMMARY_FIELDS if value.get(k) not in (None, "", []))
