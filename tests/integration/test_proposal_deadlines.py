"""Proposal deadlines end to end on the real broker and Redis: approval escalation and expiry.

Escalation runs with a policy that escalates after seconds; expiry restarts the service with
libfaketime (Debian's faketime) moving its clock past the validity date, as the next day would.
"""

from __future__ import annotations

import re
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import API_KEY, Infra, Stack, TopicReader
from tests.integration.test_proposal_flow import (
    KeyedProducer,
    accept_command,
    call,
    for_deal,
    line,
    read_view,
    request,
)

# Generous: a loaded 2-core machine restarts and recovers a service slowly; the waits end when the
# condition holds, so they cost nothing when it is quiet.
WAIT_SECONDS = 120

ESCALATE_AFTER_SECONDS = 2
POLICY = f"""
escalate_after_seconds: {ESCALATE_AFTER_SECONDS}
roles:
  - {{role: rep, max_discount: "0.10"}}
  - {{role: manager, max_discount: "0.25"}}
  - {{role: vp}}
"""
FAKETIME_LIBRARY = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
OUTPUTS = ("proposals.generated", "approvals.requested", "proposals.expired", "proposals.rejected", "dlq.proposal")


def start_proposal(infra: Infra, workdir: Path) -> Stack:
    policy = workdir / "approvals.yaml"
    policy.write_text(POLICY)
    env = {
        "SALESFLOW_PROPOSAL_DIR": str(workdir / "documents"),
        "PROPOSAL_APPROVALS_PATH": str(policy),
        "PROPOSAL_CHECK_INTERVAL_SECONDS": "0.5",
    }
    stack = Stack(infra, workdir, extra_env=env)
    stack.start("proposal")
    return stack


@pytest.fixture
def stack(infra: Infra, tmp_path: Path) -> Iterator[Stack]:
    stack = start_proposal(infra, tmp_path)
    yield stack
    stack.close()


@pytest.fixture
def reader(stack: Stack) -> Iterator[TopicReader]:
    reader = stack.consumer(*OUTPUTS)
    yield reader
    reader.close()


def scans(stack: Stack) -> float:
    """How many deadline scans the running worker completed (its /metrics counter)."""
    url = stack.services["proposal"].url("/metrics")
    http = urllib.request.Request(url, headers={"Authorization": f"Bearer {API_KEY}"})
    with urllib.request.urlopen(http, timeout=10) as response:
        text = response.read().decode()
    found = re.search(r"^salesflow_proposal_deadline_scans_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def wait_scans(stack: Stack, reader: TopicReader, count: int) -> None:
    """Read on until the worker has scanned its ledgers `count` more times: any repeat had its chance."""
    target = scans(stack) + count
    reader.poll_until(lambda _: scans(stack) >= target, seconds=WAIT_SECONDS)
    assert scans(stack) >= target, f"the deadline scanner stopped:\n{stack.services['proposal'].log_tail()}"


def wait_for(reader: TopicReader, topic: str, deal: str, count: int = 1) -> list[dict[str, Any]]:
    reader.poll_until(lambda _: len(for_deal(reader, topic, deal)) >= count, seconds=WAIT_SECONDS)
    found = for_deal(reader, topic, deal)
    assert len(found) >= count, f"no {topic} for {deal}"
    return found


def escalations(reader: TopicReader, deal: str) -> list[dict[str, Any]]:
    return [v for v in for_deal(reader, "approvals.requested", deal) if v["status"] == "escalated"]


def test_an_undecided_approval_escalates_to_the_next_approver_once(stack: Stack, reader: TopicReader) -> None:
    """The manager's silence hands the step to the VP in one approvals.requested; the VP's approval generates it."""
    deal = f"opp-{uuid.uuid4().hex[:8]}"
    producer = KeyedProducer(stack)
    producer.produce("proposals.requested", "ProposalRequested", request(deal, line("SF-CRM-PRO", 10, "0.20")), deal)
    asked = wait_for(reader, "approvals.requested", deal)[0]
    assert (asked["status"], asked["approver_chain"]) == ("requested", ["manager"])

    reader.poll_until(lambda _: bool(escalations(reader, deal)), seconds=WAIT_SECONDS)
    wait_scans(stack, reader, 8)
    escalated = escalations(reader, deal)
    assert [(e["approver_chain"], e["number"], e["version"]) for e in escalated] == [(["vp"], asked["number"], 1)]
    assert escalated[0]["due_at"] > asked["due_at"]
    assert for_deal(reader, "proposals.generated", deal) == []

    # The manager no longer holds the step; the VP decides.
    view = read_view(stack, asked["number"], lambda v: v["approval"]["status"] == "escalated", WAIT_SECONDS)
    assert view["approval"]["pending"] == ["vp"]
    decision = {"role": "vp", "approver": "vp-emea", "approved": True, "note": None}
    status, answer = call(stack, "POST", f"/v1/approvals/{asked['number']}/decisions", decision)
    assert status == 202, answer
    generated = wait_for(reader, "proposals.generated", deal)[0]
    assert generated["approved_by"] == ["vp:vp-emea"]


def seconds_past_midnight_utc(extra: int) -> int:
    """The offset that moves a clock from now to `extra` seconds after the coming UTC midnight."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=UTC)
    return int((midnight - now).total_seconds()) + extra


def test_a_proposal_expires_after_its_validity_date_once_and_cannot_be_accepted(
    stack: Stack, reader: TopicReader
) -> None:
    """Past the validity date proposals.expired comes once; accepting is then refused over HTTP and on the topic."""
    assert FAKETIME_LIBRARY.exists(), "needs Debian's faketime: make tools (scripts/install-tools.sh)"
    deal = f"opp-{uuid.uuid4().hex[:8]}"
    producer = KeyedProducer(stack)
    today = datetime.now(UTC).date()
    quote = request(deal, line("SF-CRM-STD", 10)) | {"valid_until": today}
    producer.produce("proposals.requested", "ProposalRequested", quote, deal)
    generated = wait_for(reader, "proposals.generated", deal)[0]
    number = generated["number"]
    read_view(stack, number, lambda v: v["status"] == "sent", WAIT_SECONDS)
    assert for_deal(reader, "proposals.expired", deal) == []

    # The next day, as the service sees it: the same table, a clock past the end of the validity date.
    service = stack.services["proposal"]
    service.stop()
    service.env |= {
        "LD_PRELOAD": str(FAKETIME_LIBRARY),
        "FAKETIME": f"+{seconds_past_midnight_utc(extra=60)}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    service.start()
    service.wait_ready(WAIT_SECONDS)

    expired = wait_for(reader, "proposals.expired", deal)
    wait_scans(stack, reader, 8)
    assert [(e["number"], e["version"], e["valid_until"]) for e in for_deal(reader, "proposals.expired", deal)] == [
        (number, 1, today)
    ]
    assert expired[0]["event_id"] == f"{number}:v1:expired"
    view = read_view(stack, number, lambda v: v["status"] == "expired", WAIT_SECONDS)
    assert view["status"] == "expired"

    status, answer = call(stack, "POST", f"/v1/proposals/{number}/accept", {"accepted_by": "Priya"})
    assert status == 409 and b"expired" in answer
    command = accept_command(deal, number)
    producer.produce("proposals.commands", "ProposalCommand", command, deal)
    rejected = wait_for(reader, "proposals.rejected", deal)[0]
    assert (rejected["command_id"], rejected["reason"]) == (command["event_id"], "expired")
    assert read_view(stack, number, lambda v: True)["status"] == "expired"
