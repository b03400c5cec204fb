"""What the erasure modules share: calling ingest's API, asking for an erasure on the topic and
waiting for a service's report, and reading topics back from offset 0 as a new consumer would."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from tests.integration.harness import API_KEY, Stack, TopicReader


def ingest_post(stack: Stack, path: str, body: Any) -> tuple[int, Any]:
    """POST `body` as JSON to ingest with the test key; the status and the parsed answer."""
    request = urllib.request.Request(
        stack.services["ingest"].url(path),
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def erase(stack: Stack, lead_id: str, email: str) -> str:
    """Ask for the lead's erasure on subjects.erasure_requested, as ingest does; returns the request's event_id."""
    event_id = f"erase-{uuid.uuid4().hex[:8]}"
    digest = hashlib.sha256(email.encode()).hexdigest()
    value = {"event_id": event_id, "occurred_at": int(time.time() * 1000), "lead_id": lead_id, "email_sha256": digest}
    stack.produce("subjects.erasure_requested", "SubjectErasureRequested", value | {"requested_by": "test"}, lead_id)
    return event_id


def report(reader: TopicReader, request_id: str, service: str) -> dict[str, Any]:
    """The service's subjects.erased report for the request, once it is there (30 s at most)."""

    def mine(seen: list[Any]) -> list[dict[str, Any]]:
        return [v for t, v, _ in seen if t == "subjects.erased" and v["event_id"] == f"{request_id}:{service}"]

    found = mine(reader.poll_until(lambda seen: bool(mine(seen)), seconds=30))
    assert found, f"{service} reported no erasure"
    return found[0]


def replay(stack: Stack, topics: list[str]) -> list[tuple[str, bytes, bytes | None]]:
    """Every record of the (physical) topics from offset 0 with a fresh consumer: (topic, key, value),
    a tombstone's value None."""
    consumer = Consumer(
        stack.infra.kafka.confluent_config() | {"group.id": f"{stack.prefix}replay", "enable.auto.commit": False}
    )
    partitions = {t: consumer.list_topics(t, timeout=10).topics[t].partitions for t in topics}
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in partitions[t]])
    records, empty_polls = [], 0
    while empty_polls < 10:
        message = consumer.poll(0.3)
        if message is None or message.error():
            empty_polls += 1
            continue
        empty_polls = 0
        records.append((message.topic(), message.key() or b"", message.value()))
    consumer.close()
    return records


def changelog_values(stack: Stack, topic: str, key: bytes) -> list[bytes | None]:
    """The values a (physical) changelog topic holds for `key`, oldest first; None for a tombstone."""
    return [value for _, found, value in replay(stack, [topic]) if found == key]
