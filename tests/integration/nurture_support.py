"""What nurture's integration and fault modules share: a real SMTP server (aiosmtpd) that keeps what
it receives, the standard rep and sequences, nurture started with its settings for a test, and
the records nurture consumes."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.integration.harness import API_KEY, Infra, Stack, free_port

SECRET = "integration-unsubscribe-secret"
# Every day, all day: steps go out when due, whatever the hour the tests run at.
ALWAYS = 'window: {start: "00:00", end: "23:59:59", days: [mon, tue, wed, thu, fri, sat, sun]}'
AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
REP = {"rep_id": "rep_grace", "name": "Grace Hopper", "email": "grace@salesflow.example", "timezone": "UTC"}
# The whole sequence runs in about ten seconds.
REP_SEQUENCE = f"""
id: test-rep
kind: rep
{ALWAYS}
steps:
  - id: intro
    delay: 0 seconds
    channel: email
    subject: "Quick question, {{{{ lead.first_name }}}}"
    text: "Hi {{{{ lead.first_name }}}}, how is {{{{ lead.company }}}}? {{{{ rep.first_name }}}}"
  - id: call
    delay: 1 seconds
    channel: task
    task: call
    instructions: "Call {{{{ lead.first_name }}}} at {{{{ lead.company }}}}."
  - id: follow-up
    delay: 4 seconds
    channel: email
    subject: "Following up, {{{{ lead.first_name }}}}"
    text: "Hi {{{{ lead.first_name }}}}, following up. {{{{ rep.first_name }}}}"
  - id: break-up
    delay: 4 seconds
    channel: email
    subject: "Closing your file, {{{{ lead.first_name }}}}"
    text: "Hi {{{{ lead.first_name }}}}, I'll stop here. {{{{ rep.first_name }}}}"
"""
MARKETING_SEQUENCE = f"""
id: test-marketing
kind: marketing
{ALWAYS}
steps:
  - id: welcome
    delay: 0 seconds
    channel: email
    subject: "Welcome, {{{{ lead.first_name }}}}"
    text: "Hi {{{{ lead.first_name }}}}. Unsubscribe: {{{{ unsubscribe_url }}}}"
"""
# nurture's rep and marketing sequences unless a module names others (see nurture_env).
SEQUENCES = {"test-rep": REP_SEQUENCE, "test-marketing": MARKETING_SEQUENCE}
# What the rep sequence emails Ada, in order.
SUBJECTS = ["Quick question, Ada", "Following up, Ada", "Closing your file, Ada"]


class SmtpServer(Protocol):
    """An aiosmtpd handler that knows the port it is served on."""

    port: int


Handler = TypeVar("Handler", bound=SmtpServer)


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

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]

    def wait_for(self, address: str, count: int, seconds: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + seconds
        while len(self.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.to(address)


@contextmanager
def serving_smtp(handler: Handler) -> Iterator[Handler]:
    """A real SMTP server handing what it receives to `handler`, on the handler's port, for as long
    as the block runs."""
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def running_inbox() -> AbstractContextManager[Inbox]:
    """A real SMTP server keeping what it receives, on a free port, for as long as the block runs."""
    return serving_smtp(Inbox(free_port()))


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    """The module's SMTP server (import it by name into a test module to use it)."""
    with running_inbox() as handler:
        yield handler


def write_sequences(workdir: Path, texts: Mapping[str, str]) -> Path:
    """A sequences folder holding one `<id>.yaml` per text; returns the folder."""
    folder = workdir / "sequences"
    folder.mkdir(exist_ok=True)
    for sequence_id, text in texts.items():
        (folder / f"{sequence_id}.yaml").write_text(text)
    return folder


def nurture_env(smtp: SmtpServer, sequences: Path, **settings: str) -> dict[str, str]:
    """nurture delivering to `smtp` from `sequences`, its rep and marketing sequences test-rep and
    test-marketing, without caps or optional tracks unless given."""
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "NURTURE_SEQUENCES_DIR": str(sequences),
        "NURTURE_REP_SEQUENCE": "test-rep",
        "NURTURE_MARKETING_SEQUENCE": "test-marketing",
        "NURTURE_LEAD_CAPS": "",
        "NURTURE_MAILBOX_CAPS": "",
        "NURTURE_REENGAGE_SEQUENCE": "",
        "NURTURE_ONBOARDING_SEQUENCE": "",
        "SALESFLOW_UNSUBSCRIBE_SECRET": SECRET,
        **settings,
    }


@contextmanager
def running_nurture(
    infra: Infra,
    smtp: SmtpServer,
    workdir: Path,
    sequences: Mapping[str, str] = SEQUENCES,
    rep: Mapping[str, str] | None = REP,
    services: tuple[str, ...] = ("nurture",),
    **settings: str,
) -> Iterator[Stack]:
    """`services` (nurture among them) in a namespace of their own, nurture delivering to `smtp` from
    `sequences` with `settings` (see nurture_env) and `rep` on the roster and known before the block
    runs; every service stopped after it."""
    stack = Stack(infra, workdir)
    stack.extra_env |= nurture_env(smtp, write_sequences(workdir, sequences), **settings)
    try:
        stack.start(*services)
        if rep is not None:
            add_to_roster(stack, rep)
        yield stack
    finally:
        stack.close()


def add_to_roster(stack: Stack, rep: Mapping[str, str]) -> None:
    """Publish the rep's profile and wait until nurture has stored it."""
    stack.produce("reps.roster", "RepProfile", dict(rep) | {"updated_at": now_ms()}, rep["rep_id"])
    wait_until(lambda: rep_known(stack, rep["rep_id"]), 20, "the roster never reached Redis")


def rep_known(stack: Stack, rep_id: str = REP["rep_id"]) -> bool:
    client = redis.Redis.from_url(stack.infra.redis_url)
    return bool(client.hexists(f"{stack.prefix}sf:nurture:reps", rep_id))


def assign(stack: Stack, address: str = "", rep_id: str = REP["rep_id"]) -> tuple[str, str]:
    """Capture a fresh lead at `address` (a fresh one at analytical.example if not given) and assign
    it to the rep; returns its lead_id and email."""
    lead_id = f"lead_{uuid.uuid4().hex[:12]}"
    address = address or f"ada.{uuid.uuid4().hex[:8]}@analytical.example"
    stack.produce("leads.captured", "LeadCaptured", captured(lead_id, address), lead_id)
    stack.produce("leads.assigned", "LeadAssigned", assigned(lead_id, address, rep_id), lead_id)
    return lead_id, address


def now_ms() -> int:
    return int(time.time() * 1000)


def wait_until(condition: Callable[[], bool], seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.2)


def http(
    method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, url, error.read().decode()


def api(base_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """A call to nurture's API with the test key; the body parsed as JSON."""
    data = None if body is None else json.dumps(body).encode()
    status, _, text = http(method, f"{base_url}{path}", data, AUTH)
    return status, json.loads(text) if text else None


def captured(lead_id: str, address: str, **fields: Any) -> dict[str, Any]:
    """A LeadCaptured value for Ada at `address`; `fields` override."""
    return {
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
    } | fields


def assigned(lead_id: str, address: str, rep_id: str) -> dict[str, Any]:
    """A LeadAssigned value giving the lead to `rep_id`."""
    return {
        "event_id": uuid.uuid4().hex,
        "lead_id": lead_id,
        "email": address,
        "occurred_at": now_ms(),
        "rule": "round_robin",
        "reason": "next in turn",
        "sla_due_at": now_ms() + 3600_000,
        "rep_id": rep_id,
        "grade": "A",
    }


def engagement(lead_id: str, kind: str, attributes: dict[str, str] | None = None, event_id: str = "") -> dict[str, Any]:
    """An EngagementEvent value of `kind` for the lead."""
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "occurred_at": now_ms(),
        "lead_id": lead_id,
        "type": kind,
        "attributes": attributes or {},
    }


def enrolment_changes(
    stack: Stack, lead_ids: set[str], done: Callable[[list[dict[str, Any]]], bool], seconds: float = 30
) -> list[Any]:
    """nurture.enrolments records of the leads, read from the start until `done` holds for them
    (or `seconds` pass)."""
    reader = stack.consumer("nurture.enrolments")
    try:
        ours = lambda seen: [v for _, v, _ in seen if v["lead_id"] in lead_ids]  # noqa: E731
        return ours(reader.poll_until(lambda seen: done(ours(seen)), seconds))
    finally:
        reader.close()
