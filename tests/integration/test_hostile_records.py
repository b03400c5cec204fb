"""Hostile and awkward records on the real broker: each has its expected outcome.

Bad bytes go to the dead-letter topic with the error named and processing goes on; records valid
by an older schema are read; duplicates are captured once; late and out-of-order engagement
scores as if it had arrived in order.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from shared.avro_codec import SINGLE_OBJECT_MAGIC, AvroSchema
from tests.integration.harness import Infra, Stack
from tests.integration.sealed import opened

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "avro"
# Fields the older LeadSubmitted lacked; each has a default in the current schema.
ADDED_LATER = frozenset({"utm_source", "utm_medium", "utm_campaign", "attributes"})


def schema_variant(drop: frozenset[str] = frozenset(), add: dict[str, Any] | None = None) -> AvroSchema:
    """LeadSubmitted with fields removed (an older writer) or added (a newer writer)."""
    schema = json.loads((SCHEMAS / "LeadSubmitted.avsc").read_text())
    schema["fields"] = [f for f in schema["fields"] if f["name"] not in drop] + ([add] if add else [])
    return AvroSchema.from_json(json.dumps(schema))


OLDER = schema_variant(drop=ADDED_LATER)
NEWER = schema_variant(add={"name": "lead_priority", "type": ["null", "string"], "default": None})


def single_object(schema: AvroSchema, value: dict[str, Any]) -> bytes:
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema.parsed, value)
    return SINGLE_OBJECT_MAGIC + struct.pack("<Q", schema.fingerprint) + body.getvalue()


@pytest.fixture(scope="module")
def hostile(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("hostile")
    # The deployed catalog knows the older LeadSubmitted as a writer schema (history/), not the newer one.
    schemas = workdir / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    (schemas / "history" / "LeadSubmitted.v0.avsc").write_text(OLDER.source)
    stack = Stack(infra, workdir, extra_env={"SALESFLOW_SCHEMA_DIR": str(schemas)})
    stack.start("ingest", "scoring")
    yield stack
    stack.close()


def lead(**overrides: Any) -> dict[str, Any]:
    value = {
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC),
        "source": "web_form",
        "email": f"h-{uuid.uuid4().hex[:10]}@initech.example",
        "job_title": "Director of IT",
        "employees": 300,
        "country": "US",
    }
    return value | overrides


def dead_letter(stack: Stack, topic: str, key: bytes, seconds: float = 20) -> dict[str, bytes]:
    """Headers of the dead letter carrying `key` (a dead letter keeps the original key)."""
    consumer = Consumer(
        stack.infra.kafka.confluent_config() | {"group.id": f"{stack.prefix}dlq-{uuid.uuid4().hex[:6]}"}
    )
    name = stack.topic(topic)
    partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
    consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in partitions])
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.3)
            if message is not None and not message.error() and message.key() == key:
                return header_map(message.headers())
    finally:
        consumer.close()
    raise AssertionError(f"no dead letter keyed {key!r} on {topic}")


def header_map(headers: Any) -> dict[str, bytes]:
    pairs: list[tuple[str, Any]] = list(headers or [])
    return {name: value if isinstance(value, bytes) else str(value or "").encode() for name, value in pairs}


def produce_raw(stack: Stack, topic: str, data: bytes) -> bytes:
    """Produce raw bytes under a fresh key, which the dead letter keeps."""
    key = uuid.uuid4().hex.encode()
    stack.produce_raw(topic, data, key.decode())
    return key


def captured(stack: Stack, event_ids: set[str], seconds: float = 20) -> list[dict[str, Any]]:
    reader = stack.consumer("leads.captured")
    # Raw bytes on the topic (another test's junk) stay undecoded: skip them.
    seen = reader.poll_until(lambda s: event_ids <= {v["event_id"] for _, v, _ in s if isinstance(v, dict)}, seconds)
    reader.close()
    return [v for _, v, _ in seen if isinstance(v, dict) and v["event_id"] in event_ids]


GOOD = single_object(schema_variant(), lead())
JUNK = {
    "poison_pill": (b"\xde\xad\xbe\xef not avro at all", "neither single-object"),
    "empty_value": (b"", "neither single-object"),
    "truncated_avro": (GOOD[: len(GOOD) // 2], "corrupt LeadSubmitted body"),
    "trailing_bytes": (GOOD + b"\x00\x01", "trailing bytes"),
    "unknown_fingerprint": (SINGLE_OBJECT_MAGIC + b"\x01" * 8 + GOOD[10:], "unknown schema fingerprint"),
    "confluent_unknown_schema_id": (b"\x00" + struct.pack(">I", 424242) + GOOD[10:], "schema id 424242"),
    "wrong_record_type": (None, "expected a LeadSubmitted record, got EngagementEvent"),
    "newer_schema_not_deployed": (single_object(NEWER, lead() | {"lead_priority": "high"}), "unknown schema"),
}


@pytest.mark.parametrize("case", sorted(JUNK))
def test_undecodable_records_are_dead_lettered_with_the_reason(hostile: Stack, case: str) -> None:
    """Bytes that are not a whole LeadSubmitted go to dlq.ingest unchanged, headers naming the error."""
    data, reason = JUNK[case]
    if data is None:
        data = hostile.codec.encode(
            "EngagementEvent",
            {"event_id": "e", "occurred_at": datetime.now(UTC), "email": "x@initech.example", "type": "page_view"},
        )
    headers = dead_letter(hostile, "dlq.ingest", produce_raw(hostile, "leads.inbound", data))
    assert headers["error.class"] == b"DecodeError"
    assert reason in headers["error.message"].decode()
    assert headers["source.topic"] == b"leads.inbound"


def test_processing_goes_on_after_a_poison_pill(hostile: Stack) -> None:
    """A good lead behind a poison pill on the same partition is captured."""
    good = lead()
    key = good["email"]
    hostile.produce_raw("leads.inbound", b"\x00\x00", key)
    hostile.produce("leads.inbound", "LeadSubmitted", good, key=good["email"])
    assert [opened(hostile, v)["email"] for v in captured(hostile, {good["event_id"]})] == [good["email"]]


def test_a_poison_pill_to_scoring_lands_in_its_own_dead_letter_topic(hostile: Stack) -> None:
    """Every consumer dead-letters on its own topic: junk on leads.captured goes to dlq.scoring."""
    headers = dead_letter(hostile, "dlq.scoring", produce_raw(hostile, "leads.captured", b"\xc3\x01junk"))
    assert headers["error.class"] == b"DecodeError" and headers["service"] == b"scoring"


def test_a_record_written_with_an_older_compatible_schema_is_captured(hostile: Stack) -> None:
    """A LeadSubmitted from a writer that predates utm_* and attributes is read with their defaults."""
    old = {k: v for k, v in lead().items() if k not in ADDED_LATER}
    hostile.produce_raw("leads.inbound", single_object(OLDER, old), old["email"])
    (record,) = captured(hostile, {old["event_id"]})
    assert opened(hostile, record)["email"] == old["email"]
    assert record["attributes"] == {} and record["utm_source"] is None


def test_an_upstream_retry_is_captured_once(hostile: Stack) -> None:
    """The same LeadSubmitted delivered three times yields one leads.captured record."""
    value = lead()
    for _ in range(3):
        hostile.produce("leads.inbound", "LeadSubmitted", value, key=value["email"])
    sentinel = lead()
    hostile.produce("leads.inbound", "LeadSubmitted", sentinel, key=value["email"])
    records = captured(hostile, {value["event_id"], sentinel["event_id"]})
    assert [r["event_id"] for r in records].count(value["event_id"]) == 1


def test_late_and_out_of_order_engagement_scores_as_if_in_order(hostile: Stack) -> None:
    """Two leads get the same engagement, one in order and one reversed with a late event: same score."""
    base = datetime.now(UTC) - timedelta(hours=2)
    kinds = ("pricing_page_view", "content_download", "demo_request")
    leads = [lead(), lead()]
    for value in leads:
        hostile.produce("leads.inbound", "LeadSubmitted", value, key=value["email"])
    lead_ids = [
        r["lead_id"]
        for r in sorted(
            captured(hostile, {v["event_id"] for v in leads}),
            key=lambda r: [v["email"] for v in leads].index(opened(hostile, r)["email"]),
        )
    ]
    wanted: dict[str, set[str]] = {}
    for value, lead_id, order in zip(leads, lead_ids, (kinds, tuple(reversed(kinds))), strict=True):
        wanted[lead_id] = set()
        for kind in order:
            at = base + timedelta(minutes=kinds.index(kind))
            engagement = {"event_id": uuid.uuid4().hex, "occurred_at": at, "email": value["email"], "type": kind}
            hostile.produce("engagement.inbound", "EngagementEvent", engagement, key=value["email"])
            wanted[lead_id].add(engagement["event_id"])
    reader = hostile.consumer("leads.scored")

    def complete(lead_id: str, seen: list[Any]) -> dict[str, Any] | None:
        return next((v for _, v, _ in seen if v["lead_id"] == lead_id and wanted[lead_id] <= _explained(v)), None)

    seen = reader.poll_until(lambda s: all(complete(i, s) for i in lead_ids), 30)
    reader.close()
    in_order, reversed_ = (complete(i, seen) for i in lead_ids)
    assert in_order is not None and reversed_ is not None, "engagement never scored"
    assert in_order["score"] == reversed_["score"] and in_order["engagement_score"] == reversed_["engagement_score"]
    assert _timeline(in_order) == _timeline(reversed_)


def _explained(scored: dict[str, Any]) -> set[str]:
    return {f["event_id"] for f in scored["explanation"] if f.get("event_id")}


def _timeline(scored: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(f["name"], f["occurred_at"]) for f in scored["explanation"] if f.get("event_id")]
