"""The lead spine under test: a configured Stack, a steady load of leads, and the reading-back.

Every input carries a unique event_id and a unique email (its key); what comes out is turned
into `Observed` records for the reconciliation checker.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from services.scoring.rules import default_rules_path
from shared.avro_codec import DecodeError
from tests.faults.reconcile import Observed, Sent
from tests.integration.harness import Infra, ServiceProcess, Stack, free_port

MQL_THRESHOLD = 30
POLICY = """
fallback_queue: unassigned
regions: {NA: [US, CA]}
segments: [{name: smb, max_employees: 199}, {name: enterprise}]
unknown_segment: smb
products: [platform, analytics]
sla: {by_grade: {A: 15m, B: 1h, C: 4h, D: 24h}, default: 24h}
free_mail_domains: [gmail.com]
rules:
  - name: everyone
    rep_must_match: []
"""
HOT = {
    "source": "web_form",
    "job_title": "VP of Sales",
    "employees": 1200,
    "country": "US",
    "region": "CA",
    "industry": "Software",
    "product_interest": "platform",
    "annual_revenue": 50_000_000,
}
COLD = {"source": "import", "job_title": "Student", "employees": 2}
OUTPUT_TOPICS = (
    "leads.captured",
    "engagement.captured",
    "leads.scored",
    "leads.qualified",
    "leads.assigned",
    "dlq.ingest",
    "dlq.scoring",
    "dlq.routing",
)


def spine_stack(infra: Infra, workdir: Path, reps: int = 4) -> Stack:
    """A Stack whose policy routes every qualified lead and whose rules qualify on fit alone."""
    stack = Stack(infra, workdir)
    policy = workdir / "policy.yaml"
    policy.write_text(POLICY)
    rules = workdir / "scoring.yaml"
    rules.write_text(default_rules_path().read_text().replace("mql_threshold: 60", f"mql_threshold: {MQL_THRESHOLD}"))
    stack.extra_env |= {
        "ROUTING_POLICY_PATH": str(policy),
        "SCORING_RULES_PATH": str(rules),
        "ROUTING_ROSTER_CACHE_SECONDS": "0",
    }
    for n in range(reps):
        stack.produce("reps.roster", "RepProfile", rep(f"r{n}"), key=f"r{n}")
    return stack


def rep(rep_id: str) -> dict[str, Any]:
    return {
        "rep_id": rep_id,
        "name": f"Rep {rep_id}",
        "email": f"{rep_id}@seller.example",
        "active": True,
        "capacity": 100_000,
        "territories": ["US"],
        "products": ["platform", "analytics"],
        "segments": ["smb", "mid_market", "enterprise"],
        "timezone": "UTC",
        "manager": None,
        "updated_at": datetime.now(UTC),
    }


def lead(kind: str) -> dict[str, Any]:
    """A LeadSubmitted value: "hot" qualifies, "cold" does not, "bad" fails ingest's validation."""
    email = f"{kind}-{uuid.uuid4().hex[:12]}@gmail.com"
    facts = {"hot": HOT, "cold": COLD, "bad": COLD}[kind]
    value = facts | {"event_id": uuid.uuid4().hex, "occurred_at": datetime.now(UTC), "email": email}
    return value | ({"email": f"not-an-address-{uuid.uuid4().hex[:8]}"} if kind == "bad" else {})


def engagement(email: str, kind: str = "page_view") -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC),
        "email": email,
        "type": kind,
        "attributes": {},
    }


def extra_worker(stack: Stack, name: str, label: str) -> ServiceProcess:
    """A second process of `name` in the same consumer group, with its own data directory."""
    port = free_port()
    env = stack.env_for(name, port) | {"SALESFLOW_DATA_DIR": str(stack.workdir / f"data-{label}")}
    worker = ServiceProcess(name, port, env, stack.workdir / f"{name}-{label}.log")
    worker.start()
    stack.services[f"{name}-{label}"] = worker
    return worker


@dataclass
class Load:
    """Produces leads (and engagement for some) to the inbound topics at a steady rate, in a thread."""

    stack: Stack
    per_second: float
    mix: tuple[str, ...] = ("hot", "hot", "cold", "hot", "cold", "bad")
    engagement_every: int = 3
    sent: list[Sent] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="load")
        self._thread.start()

    def stop(self) -> list[Sent]:
        self._stop.set()
        if self._thread:
            self._thread.join(30)
        return self.sent

    def _run(self) -> None:
        producer = Producer(
            self.stack.infra.kafka.confluent_config()
            | {"enable.idempotence": True, "partitioner": "murmur2_random", "linger.ms": 5}
        )
        n = 0
        while not self._stop.is_set():
            self.send_one(producer, n)
            n += 1
            if n % 50 == 0:
                producer.flush(30)
            time.sleep(1 / self.per_second)
        producer.flush(30)

    def send_one(self, producer: Producer, n: int) -> None:
        kind = self.mix[n % len(self.mix)]
        value = lead(kind)
        self._produce(producer, "leads.inbound", "LeadSubmitted", value)
        self.kinds[value["event_id"]] = kind
        self.sent.append(Sent(value["event_id"], value["email"]))
        if kind == "hot" and n % self.engagement_every == 0:
            event = engagement(value["email"])
            self._produce(producer, "engagement.inbound", "EngagementEvent", event)
            self.kinds[event["event_id"]] = "engagement"
            self.sent.append(Sent(event["event_id"], value["email"]))

    def _produce(self, producer: Producer, topic: str, record: str, value: dict[str, Any]) -> None:
        data = self.stack.codec.encode(record, value)
        producer.produce(self.stack.topic(topic), data, key=value["email"].encode())
        producer.poll(0)


class Readback:
    """Reads every partition of the output topics from the beginning and keeps raw records."""

    def __init__(self, stack: Stack, topics: Iterable[str] = OUTPUT_TOPICS) -> None:
        self.stack = stack
        self.consumer = Consumer(
            stack.infra.kafka.confluent_config()
            | {"group.id": f"{stack.prefix}readback-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False}
        )
        names = [stack.topic(t) for t in topics]
        metadata = self.consumer.list_topics(timeout=10).topics
        self.consumer.assign([TopicPartition(n, p, OFFSET_BEGINNING) for n in names for p in metadata[n].partitions])
        self.records: list[tuple[str, Any, dict[str, bytes]]] = []

    def poll(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = self.consumer.consume(1000, 0.3)
            if not batch:
                return
            for message in batch:
                if message.error():
                    continue
                topic = str(message.topic()).removeprefix(self.stack.prefix)
                self.records.append((topic, self._decode(message.value() or b""), header_map(message.headers())))

    def _decode(self, data: bytes) -> Any:
        try:
            return self.stack.codec.decode(data)[1]
        except DecodeError:
            return data

    def values(self, topic: str) -> list[Any]:
        return [value for t, value, _ in self.records if t == topic]

    def observed(self) -> list[Observed]:
        """Each input's outcomes: assigned, not qualified (scored below threshold), captured
        (engagement), or dead-lettered with its error class."""
        email_of = {v["lead_id"]: v["email"] for v in self.values("leads.captured")}
        input_of = {v["lead_id"]: v["event_id"] for v in self.values("leads.captured")}
        qualified = {v["lead_id"] for v in self.values("leads.qualified")}
        seen: list[Observed] = []
        for topic, value, headers in self.records:
            seen.extend(_observe(topic, value, headers, email_of, input_of, qualified))
        return seen

    def wait_for(self, sent: list[Sent], seconds: float, done: Callable[[], bool] | None = None) -> list[Observed]:
        """Read until every sent input is accounted for (and `done` holds) or `seconds` pass."""
        wanted = {s.event_id for s in sent}
        deadline = time.monotonic() + seconds
        while True:
            self.poll(2)
            observed = self.observed()
            complete = wanted <= {o.event_id for o in observed} and (done is None or done())
            if complete or time.monotonic() > deadline:
                self.poll(3)  # late redeliveries still count
                return keyed_as_sent(self.observed(), sent)

    def close(self) -> None:
        self.consumer.close()


def keyed_as_sent(observed: Iterable[Observed], sent: Iterable[Sent]) -> list[Observed]:
    """Each observation under its input's key: records downstream carry the email sealed, so
    the plain address the scenario sent is what groups one lead's records."""
    key_of = {s.event_id: s.key for s in sent}
    return [replace(o, key=key_of.get(o.event_id, o.key)) for o in observed]


def header_map(headers: Any) -> dict[str, bytes]:
    """Kafka headers as a dict of bytes (confluent-kafka gives a list of pairs, values may be None)."""
    pairs: list[tuple[str, Any]] = list(headers or [])
    return {name: value if isinstance(value, bytes) else str(value or "").encode() for name, value in pairs}


def _observe(
    topic: str,
    value: Any,
    headers: dict[str, bytes],
    email_of: dict[str, str],
    input_of: dict[str, str],
    qualified: set[str],
) -> list[Observed]:
    if topic == "leads.assigned" and value["lead_id"] in input_of:
        effect = value["rep_id"] or f"queue:{value['queue']}"
        return [Observed(input_of[value["lead_id"]], email_of[value["lead_id"]], "assigned", effect)]
    if topic == "leads.scored" and value["lead_id"] in input_of and value["lead_id"] not in qualified:
        # Only the score the submission itself caused decides "not qualified"; an engagement may come first.
        cause = input_of[value["lead_id"]]
        if value["event_id"] == f"{value['lead_id']}:scored:{cause}" and value["score"] < MQL_THRESHOLD:
            return [Observed(cause, email_of[value["lead_id"]], "not_qualified", "")]
    if topic == "engagement.captured":
        return [Observed(value["event_id"], value.get("email") or email_of.get(value["lead_id"], ""), "captured")]
    if topic.startswith("dlq.") and isinstance(value, dict):
        error = headers.get("error.class", b"").decode()
        return [Observed(value["event_id"], value.get("email", ""), f"dead_lettered:{topic}", error)]
    return []


def profiles_changelog(stack: Stack) -> dict[str, dict[str, Any]]:
    """The last value per key of scoring's lead-profile changelog: the table as recovery sees it."""
    name = f"{stack.prefix}salesflow-scoring-lead-profiles-changelog"
    consumer = Consumer(
        stack.infra.kafka.confluent_config()
        | {"group.id": f"{stack.prefix}changelog-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False}
    )
    partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
    consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in partitions])
    table: dict[str, dict[str, Any]] = {}
    while batch := consumer.consume(1000, 2.0):
        for message in batch:
            if message.error() or message.key() is None:
                continue
            key, value = message.key() or b"", message.value()
            table[json.loads(key)] = json.loads(value) if value else {}
    consumer.close()
    return table


def recount_mismatches(table: dict[str, dict[str, Any]], reader: Readback) -> list[str]:
    """Leads whose table entry differs from a recount of the topics: engagement set, qualification, last score."""
    engaged: dict[str, set[str]] = {}
    for value in reader.values("engagement.captured"):
        engaged.setdefault(value["lead_id"], set()).add(value["event_id"])
    last_score = {v["lead_id"]: v["score"] for v in reader.values("leads.scored")}
    qualified = {v["lead_id"] for v in reader.values("leads.qualified")}
    wrong: list[str] = []
    for lead_id in {v["lead_id"] for v in reader.values("leads.captured")}:
        profile = table.get(lead_id, {}).get("profile")
        if profile is None:
            wrong.append(f"{lead_id}: no table entry")
            continue
        recount = (engaged.get(lead_id, set()), lead_id in qualified, last_score.get(lead_id))
        stored = ({e["event_id"] for e in profile["engagements"]}, profile["qualified"], profile["last_score"])
        if recount != stored:
            wrong.append(f"{lead_id}: table {stored} != recount {recount}")
    return wrong
