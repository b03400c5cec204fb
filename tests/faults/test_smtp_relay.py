"""The SMTP relay answering 4xx, then recovering; and 5xx for a recipient: retries, once, hard bounce."""

from __future__ import annotations

import email
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.faults.reconcile import Observed, Reconciliation, Sent, reconcile
from tests.integration.harness import Infra, Stack, free_port
from tests.integration.nurture_support import SUBJECTS, assign, running_nurture, serving_smtp, wait_until

pytestmark = pytest.mark.faults
Record = Callable[[Reconciliation], Reconciliation]


class FlakyRelay:
    """Answers 451 at RCPT until `recover_at`, 550 to addresses starting "bounce.", then accepts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.recover_at = 0.0
        self.attempts: list[tuple[float, str]] = []
        self.delivered: list[tuple[str, str, str]] = []  # (recipient, subject, message id)
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self._lock:
            self.attempts.append((time.monotonic(), address))
        if address.startswith("bounce."):
            return "550 5.1.1 no such mailbox"
        if time.monotonic() < self.recover_at:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content or b"")
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self.delivered.append((rcpt, str(parsed["Subject"]), str(parsed["Message-ID"])))
        return "250 OK"

    def to(self, address: str) -> list[tuple[str, str, str]]:
        with self._lock:
            return [d for d in self.delivered if d[0] == address]

    def attempts_for(self, address: str) -> list[float]:
        with self._lock:
            return [at for at, rcpt in self.attempts if rcpt == address]


@pytest.fixture
def relay() -> Iterator[FlakyRelay]:
    with serving_smtp(FlakyRelay()) as handler:
        yield handler


@pytest.fixture
def nurture(infra: Infra, relay: FlakyRelay, tmp_path: Path) -> Iterator[Stack]:
    with running_nurture(infra, relay, tmp_path) as stack:
        yield stack


def test_a_relay_answering_451_gets_each_email_once_after_it_recovers(
    nurture: Stack, relay: FlakyRelay, record: Record
) -> None:
    """451 for 12 s: the first send is retried with growing gaps, then every email arrives exactly once."""
    address = f"ada.{uuid.uuid4().hex[:8]}@analytical.example"
    relay.recover_at = time.monotonic() + 12
    assign(nurture, address)
    wait_until(lambda: len(relay.to(address)) >= 3, 60, "the sequence never completed after the relay recovered")
    time.sleep(6)  # a late duplicate would arrive in this window
    delivered = relay.to(address)
    sent = [Sent(subject, address) for subject in SUBJECTS]
    observed = [
        Observed(subject, address, "delivered", f"{msg_id}#{n}") for n, (_, subject, msg_id) in enumerate(delivered)
    ]
    result = record(reconcile("smtp 451 for 12 s", sent, observed))
    assert [subject for _, subject, _ in delivered] == SUBJECTS
    assert (result.lost, result.unseen, result.duplicates) == (0, 0, 0)
    refused = [at for at in relay.attempts_for(address) if at < relay.recover_at]
    gaps = [b - a for a, b in itertools.pairwise(refused)]
    assert len(refused) >= 3, "the refused send was not retried"
    assert gaps[-1] > gaps[0], f"no backoff between retries: {gaps}"


def test_a_550_for_the_recipient_is_a_hard_bounce_never_retried(nurture: Stack, relay: FlakyRelay) -> None:
    """A permanent refusal is tried once, nothing is delivered, and the enrolment exits."""
    address = f"bounce.{uuid.uuid4().hex[:8]}@analytical.example"
    lead_id, _ = assign(nurture, address)
    reader = nurture.consumer("nurture.enrolments")
    seen = reader.poll_until(lambda s: any(v["lead_id"] == lead_id and v["change"] == "exited" for _, v, _ in s), 30)
    reader.close()
    exits = [v for _, v, _ in seen if v["lead_id"] == lead_id and v["change"] == "exited"]
    assert exits, "the bounced lead's enrolment never exited"
    time.sleep(6)
    assert len(relay.attempts_for(address)) == 1 and relay.to(address) == []
