"""SIGKILL of the workers whose effects leave Kafka: nurture (email at a real SMTP server) and
analytics (a read model in Redis), three times each under load.

nurture: every enrolment's emails counted at the server per enrolment and step: none missing,
none twice. analytics: after the kills the API's funnel and rep numbers equal a recount of the
raw topics.
"""

from __future__ import annotations

import email
import email.policy
import json
import random
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.faults.pipeline import Readback
from tests.faults.reconcile import Observed, Reconciliation, Sent, reconcile
from tests.integration.harness import Infra, ServiceProcess, Stack, free_port
from tests.integration.nurture_support import SUBJECTS, assign, running_nurture, serving_smtp
from tests.integration.test_analytics_pipeline import assigned, captured, emailed, qualified, scored

pytestmark = pytest.mark.faults
Record = Callable[[Reconciliation], Reconciliation]
KILLS = 3
FUNNEL_STEPS = ("captured", "scored", "qualified", "assigned", "contacted")


class CountingInbox:
    """An aiosmtpd handler that counts every copy it accepts, by recipient and subject."""

    def __init__(self) -> None:
        self.port = free_port()
        self.copies: list[tuple[str, str, str]] = []  # (recipient, subject, Message-ID), in arrival order
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self.copies.append((rcpt, str(parsed["Subject"]), str(parsed["Message-ID"])))
        return "250 OK"

    def observed(self) -> list[Observed]:
        """One Observed per copy; each copy is its own effect, so a second copy is a duplicate."""
        with self._lock:
            copies = list(self.copies)
        numbered = Counter[tuple[str, str]]()
        seen = []
        for rcpt, subject, msg_id in copies:
            numbered[rcpt, subject] += 1
            seen.append(Observed(f"{rcpt}#{subject}", rcpt, "delivered", f"{msg_id}#{numbered[rcpt, subject]}"))
        return seen


@pytest.fixture
def inbox() -> Iterator[CountingInbox]:
    with serving_smtp(CountingInbox()) as handler:
        yield handler


@dataclass
class Steady:
    """Calls `one()` at `per_second` in a thread until stopped."""

    one: Callable[[], None]
    per_second: float
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="steady")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(1 / self.per_second):
            self.one()


def kill_three_times(stack: Stack, name: str, gap: float) -> None:
    for _ in range(KILLS):
        time.sleep(gap)
        stack.services[name].kill()
        stack.restart(name)


def test_sigkilled_nurture_sends_each_email_once(
    infra: Infra, inbox: CountingInbox, tmp_path: Path, record: Record
) -> None:
    """kill -9 nurture three times while leads are assigned: every step's email at the server once."""
    # A timer claimed by a killed worker fires again after the lease: short, so recovery fits the test.
    with running_nurture(infra, inbox, tmp_path, NURTURE_TIMER_LEASE_SECONDS="10") as stack:
        addresses: list[str] = []

        def assign_one() -> None:
            address = f"ada.{uuid.uuid4().hex[:10]}@analytical.example"
            assign(stack, address)
            addresses.append(address)

        load = Steady(assign_one, 3)
        load.start()
        kill_three_times(stack, "nurture", 5)
        time.sleep(3)
        load.stop()
        sent = [Sent(f"{address}#{subject}", address) for address in addresses for subject in SUBJECTS]
        wanted = {s.event_id for s in sent}
        deadline = time.monotonic() + 150
        while not wanted <= {o.event_id for o in inbox.observed()} and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(12)  # a timer re-fired after its lease would bring a second copy in this window
        result = record(reconcile(f"kill -9 nurture x{KILLS}", sent, inbox.observed()))
        assert result.events_in > 100, "the load never ran"
        assert (result.lost, result.unseen) == (0, 0), f"emails missing: {result.missing[:10]}"
        assert result.duplicates == 0, "an email reached the server twice"
        assert result.out_of_order == 0, "a lead's emails arrived out of step order"


@dataclass
class FunnelLoad:
    """Leads that each go some way down the funnel: captured, then scored, qualified, assigned, emailed."""

    stack: Stack
    rng: random.Random = field(default_factory=lambda: random.Random(8))
    leads: int = 0
    records: int = 0

    def one(self) -> None:
        lead_id, reach = f"lead_{uuid.uuid4().hex[:12]}", self.rng.randint(1, len(FUNNEL_STEPS))
        for topic, record, value in funnel_records(lead_id, reach):
            self.stack.produce(topic, record, value, lead_id)
            self.records += 1
        self.leads += 1


def funnel_records(lead_id: str, reach: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The first `reach` records of a lead's way down the funnel, from the schema examples."""
    rep = f"r{int(lead_id[-1], 16) % 3}"
    chain = [
        captured(lead_id, 0, "web_form"),
        scored(lead_id, 1, "A"),
        qualified(lead_id, 2, "A"),
        assigned(lead_id, 3, rep, "A", 0),
        emailed(lead_id, 4, f"<{lead_id}@mail.example>"),
    ]
    return chain[:reach]


def recount(reader: Readback) -> tuple[dict[str, int], dict[str, int]]:
    """Funnel counts and leads assigned per rep, recounted from the raw topics.

    A lead counts at every step up to the furthest one any of its records reached.
    """
    topics = ("leads.captured", "leads.scored", "leads.qualified", "leads.assigned", "email.outbound")
    reached: dict[str, int] = {}
    for step, topic in enumerate(topics, start=1):
        for value in reader.values(topic):
            reached[value["lead_id"]] = max(step, reached.get(value["lead_id"], 0))
    funnel = {name: sum(1 for n in reached.values() if n >= i) for i, name in enumerate(FUNNEL_STEPS, start=1)}
    reps = Counter(value["rep_id"] for value in {v["lead_id"]: v for v in reader.values("leads.assigned")}.values())
    return funnel, dict(reps)


def get(service: ServiceProcess, path: str) -> Any:
    with urllib.request.urlopen(service.url(path), timeout=10) as response:
        return json.loads(response.read())


def served(service: ServiceProcess) -> tuple[dict[str, int], dict[str, int]]:
    """The API's funnel (the recounted steps) and leads assigned per rep."""
    groups = get(service, "/v1/funnel")["groups"]
    counts = groups[0]["counts"] if groups else {}
    reps = {r["rep_id"]: r["leads_assigned"] for r in get(service, "/v1/reps")["reps"] if r["leads_assigned"]}
    return {step: counts.get(step, 0) for step in FUNNEL_STEPS}, reps


def compare(scenario: str, expected: dict[str, int], got: dict[str, int]) -> Reconciliation:
    """A table row from step counts: with one record per step and lead, each record adds one count."""
    short = sum(max(0, n - got.get(step, 0)) for step, n in expected.items())
    over = sum(max(0, got.get(step, 0) - n) for step, n in expected.items())
    total = sum(expected.values())
    return Reconciliation(scenario, total, total - short, short, 0, over, 0, 0, (), ())


def test_sigkilled_analytics_serves_a_recount_of_the_topics(infra: Infra, tmp_path: Path, record: Record) -> None:
    """kill -9 analytics three times under load: afterwards its funnel and rep numbers equal a recount."""
    stack = Stack(infra, tmp_path, extra_env={"ANALYTICS_FLUSH_INTERVAL_SECONDS": "0.3"})
    try:
        stack.start("analytics")
        load = FunnelLoad(stack)
        steady = Steady(load.one, 6)
        steady.start()
        kill_three_times(stack, "analytics", 5)
        time.sleep(3)
        steady.stop()
        reader = Readback(
            stack, ("leads.captured", "leads.scored", "leads.qualified", "leads.assigned", "email.outbound")
        )
        deadline = time.monotonic() + 60
        while len(reader.records) < load.records and time.monotonic() < deadline:
            reader.poll(2)
        expected = recount(reader)
        reader.close()
        service = stack.services["analytics"]
        deadline = time.monotonic() + 90
        while (got := served(service)) != expected and time.monotonic() < deadline:
            time.sleep(0.5)
        result = record(compare(f"kill -9 analytics x{KILLS}", expected[0], got[0]))
        assert load.leads > 50, "the load never ran"
        assert got == expected, f"API {got} != recount {expected}"
        assert result.clean
        assert "ConsistencyError" not in Path(service.log_path).read_text()
    finally:
        stack.close()
