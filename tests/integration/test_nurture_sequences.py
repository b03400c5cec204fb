"""nurture as a real process on the real broker and Redis, delivering to a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from confluent_kafka import Producer

from tests.integration.harness import API_KEY, Infra, Stack, free_port

SECRET = "integration-unsubscribe-secret"
REP = {"rep_id": "rep_grace", "name": "Grace Hopper", "email": "grace@salesflow.example", "timezone": "UTC"}
# Every day, all day, in seconds: the whole sequence runs in about ten seconds.
REP_SEQUENCE = """
id: test-rep
kind: rep
window: {start: "00:00", end: "23:59:59", days: [mon, tue, wed, thu, fri, sat, sun]}
steps:
  - id: intro
    delay: 0 seconds
    channel: email
    subject: "Quick question, {{ lead.first_name }}"
    text: "Hi {{ lead.first_name }}, how is {{ lead.company }}? {{ rep.first_name }}"
  - id: call
    delay: 1 seconds
    channel: task
    task: call
    instructions: "Call {{ lead.first_name }} at {{ lead.company }}."
  - id: follow-up
    delay: 4 seconds
    channel: email
    subject: "Following up, {{ lead.first_name }}"
    text: "Hi {{ lead.first_name }}, following up. {{ rep.first_name }}"
  - id: break-up
    delay: 4 seconds
    channel: email
    subject: "Closing your file, {{ lead.first_name }}"
    text: "Hi {{ lead.first_name }}, I'll stop here. {{ rep.first_name }}"
"""
MARKETING_SEQUENCE = """
id: test-marketing
kind: marketing
window: {start: "00:00", end: "23:59:59", days: [mon, tue, wed, thu, fri, sat, sun]}
steps:
  - id: welcome
    delay: 0 seconds
    channel: email
    subject: "Welcome, {{ lead.first_name }}"
    text: "Hi {{ lead.first_name }}. Unsubscribe: {{ unsubscribe_url }}"
"""
SUBJECTS = ["Quick question, Ada", "Following up, Ada", "Closing your file, Ada"]
AUTH = {"Authorization": f"Bearer {API_KEY}"}


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts, parsed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        with self._lock:
            self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, address: str, count: int, seconds: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + seconds
        while len(self.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.to(address)


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    handler = Inbox(free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture(scope="module")
def nurture(infra: Infra, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("nurture")
    sequences = workdir / "sequences"
    sequences.mkdir()
    (sequences / "test-rep.yaml").write_text(REP_SEQUENCE)
    (sequences / "test-marketing.yaml").write_text(MARKETING_SEQUENCE)
    stack = Stack(infra, workdir)
    stack.extra_env.update(smtp_env(inbox, sequences))
    stack.start("nurture")
    stack.produce("reps.roster", "RepProfile", REP | {"updated_at": now_ms()}, REP["rep_id"])
    wait_until(lambda: rep_known(stack), 20, "the roster never reached Redis")
    yield stack
    stack.close()


def smtp_env(inbox: Inbox, sequences: Path) -> dict[str, str]:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(inbox.port),
        "NURTURE_SEQUENCES_DIR": str(sequences),
        "NURTURE_REP_SEQUENCE": "test-rep",
        "NURTURE_MARKETING_SEQUENCE": "test-marketing",
        "NURTURE_LEAD_CAPS": "",
        "NURTURE_MAILBOX_CAPS": "",
        "NURTURE_REENGAGE_SEQUENCE": "",
        "NURTURE_ONBOARDING_SEQUENCE": "",
        "SALESFLOW_UNSUBSCRIBE_SECRET": SECRET,
    }


def produce(stack: Stack, topic: str, record: str, value: dict[str, Any], key: str) -> None:
    """Produce with the Java client's partitioner (murmur2), as aiokafka does: the service's own
    records and ours must land on the same partition for one lead (the harness's producer uses
    librdkafka's default crc32 partitioner, which breaks co-partitioning with Faust's table)."""
    producer = _producers.setdefault(
        stack.prefix, Producer(stack.infra.kafka.confluent_config() | {"partitioner": "murmur2_random"})
    )
    producer.produce(stack.topic(topic), stack.codec.encode(record, value), key=key.encode())
    producer.flush(10)


_producers: dict[str, Producer] = {}


def now_ms() -> int:
    return int(time.time() * 1000)


def wait_until(condition: Callable[[], bool], seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.2)


def rep_known(stack: Stack) -> bool:
    client = redis.Redis.from_url(stack.infra.redis_url)
    return bool(client.hexists(f"{stack.prefix}sf:nurture:reps", REP["rep_id"]))


def assign(stack: Stack) -> tuple[str, str]:
    """Capture and assign a fresh lead to the rep; returns its lead_id and email."""
    lead_id, address = f"lead_{uuid.uuid4().hex[:12]}", f"ada.{uuid.uuid4().hex[:8]}@analytical.example"
    captured = {
        "event_id": uuid.uuid4().hex,
        "lead_id": lead_id,
        "email": address,
        "occurred_at": now_ms(),
        "captured_at": now_ms(),
        "source": "web_form",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines",
        "job_title": "CTO",
        "country": "GB",
        "attributes": {"timezone": "UTC"},
    }
    produce(stack, "leads.captured", "LeadCaptured", captured, lead_id)
    assigned = {
        "event_id": uuid.uuid4().hex,
        "lead_id": lead_id,
        "email": address,
        "occurred_at": now_ms(),
        "rule": "round_robin",
        "reason": "next in turn",
        "sla_due_at": now_ms() + 3600_000,
        "rep_id": REP["rep_id"],
        "grade": "A",
    }
    produce(stack, "leads.assigned", "LeadAssigned", assigned, lead_id)
    return lead_id, address


def engagement(stack: Stack, lead_id: str, kind: str, attributes: dict[str, str] | None = None) -> None:
    event = {
        "event_id": uuid.uuid4().hex,
        "occurred_at": now_ms(),
        "lead_id": lead_id,
        "type": kind,
        "attributes": attributes or {},
    }
    produce(stack, "engagement.captured", "EngagementEvent", event, lead_id)


def unsubscribe_url(message: EmailMessage) -> str:
    header = str(message["List-Unsubscribe"])
    return next(part.strip(" <>") for part in header.split(",") if "/v1/unsubscribe?token=" in part)


def http(
    method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, url, error.read().decode()


def test_assigned_lead_gets_the_rep_sequence_with_the_right_headers(nurture: Stack, inbox: Inbox) -> None:
    """An assigned lead's first email comes from the rep with the subject, To and List-Unsubscribe headers."""
    lead_id, address = assign(nurture)
    first = inbox.wait_for(address, 1)[0]
    assert first["From"].addresses[0].addr_spec == REP["email"]
    assert first["From"].addresses[0].display_name == REP["name"]
    assert first["To"].addresses[0].addr_spec == address
    assert first["Subject"] == "Quick question, Ada"
    assert "/v1/unsubscribe?token=" in str(first["List-Unsubscribe"]) and "mailto:" in str(first["List-Unsubscribe"])
    assert first["List-Unsubscribe-Post"] is None, "one-click is promised only on marketing email"
    assert "Hi Ada, how is Analytical Engines? Grace" in first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    reader = nurture.consumer("email.outbound", "tasks.created")
    seen = reader.poll_until(lambda s: any(t == "tasks.created" and v["lead_id"] == lead_id for t, v, _ in s))
    sent = [v for t, v, _ in seen if t == "email.outbound" and v["lead_id"] == lead_id]
    assert sent[0]["template"] == "test-rep/intro" and sent[0]["message_id"] == first["Message-ID"]
    task = next(v for t, v, _ in seen if t == "tasks.created" and v["lead_id"] == lead_id)
    assert task["kind"] == "call" and task["rep_id"] == REP["rep_id"] and "Call Ada" in task["instructions"]
    reader.close()
    assert [m["Subject"] for m in inbox.wait_for(address, 3)] == SUBJECTS
    metrics = http("GET", nurture.services["nurture"].url("/metrics"))[2]
    assert 'salesflow_nurture_emails_sent_total{sequence="test-rep"}' in metrics


def test_a_reply_stops_the_sequence(nurture: Stack, inbox: Inbox) -> None:
    """After the lead replies, no further email of the sequence arrives and the exit names the reply."""
    lead_id, address = assign(nurture)
    inbox.wait_for(address, 1)
    engagement(nurture, lead_id, "email_reply")
    reader = nurture.consumer("nurture.enrolments")
    seen = reader.poll_until(lambda s: any(v["lead_id"] == lead_id and v["change"] == "exited" for _, v, _ in s))
    exits = [v for _, v, _ in seen if v["lead_id"] == lead_id and v["change"] == "exited"]
    assert exits and exits[0]["reason"] == "email_reply"
    reader.close()
    time.sleep(10)
    assert [m["Subject"] for m in inbox.to(address)] == SUBJECTS[:1]


def test_one_click_unsubscribe_suppresses_the_lead(nurture: Stack, inbox: Inbox) -> None:
    """POST to the List-Unsubscribe URL answers 200 without redirect, emits unsubscribe, and stops the emails."""
    lead_id, address = assign(nurture)
    url = unsubscribe_url(inbox.wait_for(address, 1)[0])
    assert url.startswith(nurture.services["nurture"].url("/v1/unsubscribe?token="))
    status, _, page = http("GET", url)
    assert status == 200 and '<form method="post"' in page
    status, final_url, body = http("POST", url, b"List-Unsubscribe=One-Click")
    assert (status, final_url, json.loads(body)) == (200, url, {"unsubscribed": True})
    reader = nurture.consumer("engagement.inbound")
    seen = reader.poll_until(lambda s: any(v["lead_id"] == lead_id for _, v, _ in s))
    assert [v["type"] for _, v, _ in seen if v["lead_id"] == lead_id] == ["unsubscribe"]
    reader.close()
    time.sleep(10)
    assert [m["Subject"] for m in inbox.to(address)] == SUBJECTS[:1]


def test_a_forged_unsubscribe_token_is_refused(nurture: Stack) -> None:
    """A token with a bad signature unsubscribes nobody and says why."""
    forged = urllib.parse.quote("bGVhZF94.9999999999.c2lnbmF0dXJl")
    status, _, body = http("POST", nurture.services["nurture"].url(f"/v1/unsubscribe?token={forged}"), b"")
    assert status == 400 and json.loads(body)["reason"] == "bad_signature"


def test_enrolments_and_sequences_are_served(nurture: Stack, inbox: Inbox) -> None:
    """The API lists the configured sequences and a lead's enrolment on the (only) worker, to a key holder."""
    lead_id, address = assign(nurture)
    inbox.wait_for(address, 1)
    url = nurture.services["nurture"].url(f"/v1/leads/{lead_id}/enrolments")
    assert http("GET", url)[0] == 401
    status, _, body = http("GET", url, headers=AUTH)
    enrolments = json.loads(body)["enrolments"]
    assert status == 200 and [e["sequence_id"] for e in enrolments] == ["test-rep"]
    status, _, body = http("GET", nurture.services["nurture"].url("/v1/sequences"), headers=AUTH)
    ids = sorted(s["sequence_id"] for s in json.loads(body)["sequences"])
    assert status == 200 and ids == ["test-marketing", "test-rep"]


def test_a_killed_worker_sends_the_remaining_emails_once_after_restart(nurture: Stack, inbox: Inbox) -> None:
    """SIGKILL between steps: after a restart exactly the remaining emails arrive, none twice."""
    _, address = assign(nurture)
    inbox.wait_for(address, 1)
    nurture.services["nurture"].kill()
    time.sleep(6)
    nurture.restart("nurture")
    inbox.wait_for(address, 3, seconds=45)
    time.sleep(6)
    received = inbox.to(address)
    assert [m["Subject"] for m in received] == SUBJECTS
    assert len({m["Message-ID"] for m in received}) == 3
