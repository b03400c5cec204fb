"""The proposal service on the real broker and Redis: quotes, approvals, documents, acceptance,
withdrawal, the rep's name from the roster, DLQ."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from confluent_kafka import Producer
from pypdf import PdfReader

from services.proposal.catalog import load_catalog
from services.proposal.pricing import LineRequest, PricingRequest, price_proposal
from tests.integration.harness import API_KEY, Infra, Stack, TopicReader

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "services" / "proposal" / "catalog.yaml")
OUTPUTS = (
    "proposals.generated",
    "approvals.requested",
    "proposals.accepted",
    "proposals.withdrawn",
    "proposals.rejected",
    "opportunities.commands",
    "dlq.proposal",
)


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("proposal")
    stack = Stack(infra, workdir, extra_env={"SALESFLOW_PROPOSAL_DIR": str(workdir / "documents")})
    stack.start("proposal")
    yield stack
    stack.close()


class KeyedProducer:
    """Produces as the service does: librdkafka's default partitioner (CRC32) would put a key on a
    different partition than aiokafka and Java clients (murmur2), and so away from its table state."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.producer = Producer(stack.infra.kafka.confluent_config() | {"partitioner": "murmur2_random"})

    def produce(self, topic: str, record: str, value: dict[str, Any], key: str) -> None:
        self.produce_raw(topic, self.stack.codec.encode(record, value), key)

    def produce_raw(self, topic: str, data: bytes, key: str) -> None:
        self.producer.produce(self.stack.topic(topic), data, key=key.encode())
        self.producer.flush(10)


@pytest.fixture(scope="module")
def producer(stack: Stack) -> KeyedProducer:
    return KeyedProducer(stack)


@pytest.fixture(scope="module")
def reader(stack: Stack) -> Iterator[TopicReader]:
    reader = stack.consumer(*OUTPUTS)
    yield reader
    reader.close()


def request(opportunity_id: str, *lines: dict[str, Any], overall: str | None = None) -> dict[str, Any]:
    return {
        "event_id": f"req-{uuid.uuid4()}",
        "occurred_at": datetime.now(UTC),
        "opportunity_id": opportunity_id,
        "proposal_number": None,
        "customer": {"company": "Northwind Logistics", "contact": "Priya Raman", "email": None, "address": []},
        "lines": list(lines),
        "overall_discount": overall,
        "tax_rate": "0.0825",
        "currency": "USD",
        "segment": None,
        "terms": "Annual subscription, invoiced yearly in advance.",
        "valid_until": date.today() + timedelta(days=30),
        "requested_by": {"rep_id": "rep-na-01", "role": "rep"},
    }


def line(sku: str, quantity: int, discount: str | None = None) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "discount": discount}


def call(stack: Stack, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    http = urllib.request.Request(stack.services["proposal"].url(path), data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(http, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def for_deal(reader: TopicReader, topic: str, opportunity_id: str) -> list[dict[str, Any]]:
    return [v for v in reader.values(topic) if isinstance(v, dict) and v.get("opportunity_id") == opportunity_id]


def wait_for(reader: TopicReader, topic: str, opportunity_id: str, count: int = 1) -> list[dict[str, Any]]:
    reader.poll_until(lambda _: len(for_deal(reader, topic, opportunity_id)) >= count, seconds=45)
    found = for_deal(reader, topic, opportunity_id)
    assert len(found) >= count, f"no {topic} for {opportunity_id}"
    return found


def settle(reader: TopicReader, seconds: float = 3.0) -> None:
    """Keep reading for a while, so an event that should not come has had time to arrive."""
    deadline = time.monotonic() + seconds
    reader.poll_until(lambda _: time.monotonic() >= deadline, seconds=seconds + 1)


def read_view(stack: Stack, number: str, ready: Any, seconds: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        status, body = call(stack, "GET", f"/v1/proposals/{number}")
        view = json.loads(body) if status == 200 else None
        if (view and ready(view)) or time.monotonic() > deadline:
            assert view is not None, f"GET /v1/proposals/{number} answered {status}"
            return view
        time.sleep(0.3)


def test_quote_under_threshold_is_generated_at_once_with_exact_pdf_totals(stack: Stack, reader: TopicReader) -> None:
    """A quote within the rep's limits is generated at once; its PDF shows the event's totals to the cent."""
    deal = f"opp-{uuid.uuid4().hex[:8]}"
    body = request(deal, line("SF-CRM-PRO", 120, "0.05"), line("SF-ONB-STD", 1), overall="0.03")
    body |= {"occurred_at": None, "valid_until": body["valid_until"].isoformat()}
    status, answer = call(stack, "POST", "/v1/proposals", body)
    assert status == 202, answer
    number = json.loads(answer)["number"]

    generated = wait_for(reader, "proposals.generated", deal)[0]
    expected = price_proposal(
        PricingRequest(
            "USD",
            (LineRequest("SF-CRM-PRO", 120, Decimal("0.05")), LineRequest("SF-ONB-STD", 1)),
            overall_discount=Decimal("0.03"),
            tax_rate=Decimal("0.0825"),
        ),
        CATALOG,
    )
    assert (generated["number"], generated["version"]) == (number, 1)
    assert Decimal(generated["total"]) == expected.total
    assert for_deal(reader, "approvals.requested", deal) == []

    status, pdf = call(stack, "GET", f"/v1/proposals/{number}/v/1.pdf")
    assert status == 200 and pdf.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for field in ("subtotal", "tax", "total"):
        assert f"${Decimal(generated[field]):,.2f}" in text, field
    assert read_view(stack, number, lambda v: v["status"] == "sent")["status"] == "sent"


def test_accepting_a_sent_proposal_closes_the_deal_as_won(
    stack: Stack, reader: TopicReader, producer: KeyedProducer
) -> None:
    """Acceptance over HTTP emits proposals.accepted and a close_won command for the deal."""
    deal, generated = sent_proposal(stack, reader, producer)
    status, answer = call(stack, "POST", f"/v1/proposals/{generated['number']}/accept", {"accepted_by": "Priya"})
    assert status == 202, answer
    accepted = wait_for(reader, "proposals.accepted", deal)[0]
    command = wait_for(reader, "opportunities.commands", deal)[0]
    assert (accepted["total"], command["type"]) == (generated["total"], "close_won")
    view = read_view(stack, generated["number"], lambda v: v["status"] == "accepted")
    assert view["status"] == "accepted"
    assert call(stack, "POST", f"/v1/proposals/{generated['number']}/accept", {})[0] == 409


def test_a_withdrawn_proposal_reads_withdrawn_and_cannot_be_accepted(
    stack: Stack, reader: TopicReader, producer: KeyedProducer
) -> None:
    """Withdrawal over HTTP emits proposals.withdrawn and the view shows it; accepting after is refused as withdrawn."""
    deal, generated = sent_proposal(stack, reader, producer)
    number = generated["number"]
    body = {"withdrawn_by": "rep-na-01", "note": "Wrong price book"}
    status, answer = call(stack, "POST", f"/v1/proposals/{number}/withdraw", body)
    assert status == 202, answer
    withdrawn = wait_for(reader, "proposals.withdrawn", deal)[0]
    assert (withdrawn["number"], withdrawn["version"], withdrawn["withdrawn_by"]) == (number, 1, "rep-na-01")
    assert withdrawn["event_id"] == f"{json.loads(answer)['event_id']}:withdrawn"
    view = read_view(stack, number, lambda v: v["status"] == "withdrawn")
    assert [v["status"] for v in view["versions"]] == ["withdrawn"]

    status, answer = call(stack, "POST", f"/v1/proposals/{number}/accept", {"accepted_by": "Priya"})
    assert status == 409 and b"withdrawn" in answer
    command = accept_command(deal, number, version=1)
    producer.produce("proposals.commands", "ProposalCommand", command, deal)
    rejected = wait_for(reader, "proposals.rejected", deal)[0]
    assert (rejected["command_id"], rejected["reason"]) == (command["event_id"], "withdrawn")
    assert for_deal(reader, "proposals.accepted", deal) == []


def sent_proposal(stack: Stack, reader: TopicReader, producer: KeyedProducer) -> tuple[str, dict[str, Any]]:
    """A fresh deal's proposal for ten seats, once generated and sent: the deal and the generated record."""
    deal = f"opp-{uuid.uuid4().hex[:8]}"
    producer.produce("proposals.requested", "ProposalRequested", request(deal, line("SF-CRM-STD", 10)), deal)
    generated = wait_for(reader, "proposals.generated", deal)[0]
    read_view(stack, generated["number"], lambda v: v["status"] == "sent")
    return deal, generated


def accept_command(deal: str, number: str, version: int | None = None) -> dict[str, Any]:
    """A ProposalCommand accepting the proposal (its latest version unless `version` is given)."""
    return {
        "event_id": f"cmd-{uuid.uuid4()}",
        "occurred_at": datetime.now(UTC),
        "opportunity_id": deal,
        "number": number,
        "type": "accept",
        "version": version,
        "accepted_by": "Priya Raman",
    }


def publish_rep(stack: Stack, rep_id: str, name: str, email: str) -> None:
    """Put a rep on reps.roster and wait until proposal has stored it (its Redis hash of reps)."""
    profile = {"rep_id": rep_id, "name": name, "email": email, "updated_at": datetime.now(UTC)}
    stack.produce("reps.roster", "RepProfile", profile, rep_id)
    client = redis.Redis.from_url(stack.infra.redis_url)
    deadline = time.monotonic() + 45
    while not client.hexists(f"{stack.prefix}sf:proposal:reps", rep_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.hexists(f"{stack.prefix}sf:proposal:reps", rep_id), "proposal did not store the roster's rep"


def pdf_text(stack: Stack, number: str) -> str:
    status, pdf = call(stack, "GET", f"/v1/proposals/{number}/v/1.pdf")
    assert status == 200 and pdf.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_names_the_rep_from_the_roster_or_by_id(
    stack: Stack, reader: TopicReader, producer: KeyedProducer
) -> None:
    """A rep on reps.roster prints as "Your contact: <name>, <email>"; one the roster never named, by id."""
    named, unnamed = f"rep-{uuid.uuid4().hex[:6]}", f"rep-{uuid.uuid4().hex[:6]}"
    publish_rep(stack, named, "Noor Haddad", "noor.haddad@example.com")
    texts = {}
    for rep_id in (named, unnamed):
        deal = f"opp-{uuid.uuid4().hex[:8]}"
        quote = request(deal, line("SF-CRM-STD", 10)) | {"requested_by": {"rep_id": rep_id, "role": "rep"}}
        producer.produce("proposals.requested", "ProposalRequested", quote, deal)
        generated = wait_for(reader, "proposals.generated", deal)[0]
        assert generated["rep_id"] == rep_id
        texts[rep_id] = pdf_text(stack, generated["number"])
    assert "Your contact: Noor Haddad, noor.haddad@example.com" in texts[named]
    assert f"Your contact: {unnamed}" in texts[unnamed]


def test_quote_over_threshold_waits_for_approval(stack: Stack, reader: TopicReader, producer: KeyedProducer) -> None:
    """A 20 % discount asks the manager and is generated only after the approvals.decided approval."""
    deal = f"opp-{uuid.uuid4().hex[:8]}"
    producer.produce("proposals.requested", "ProposalRequested", request(deal, line("SF-CRM-PRO", 10, "0.20")), deal)
    asked = wait_for(reader, "approvals.requested", deal)[0]
    assert asked["approver_chain"] == ["manager"]
    assert [t["sku"] for t in asked["triggers"]] == ["SF-CRM-PRO"]
    settle(reader)
    assert for_deal(reader, "proposals.generated", deal) == []
    view = read_view(stack, asked["number"], lambda v: v["approval"] is not None)
    assert (view["status"], view["approval"]["status"]) == ("draft", "requested")

    decision = {
        "event_id": f"dec-{uuid.uuid4()}",
        "occurred_at": datetime.now(UTC),
        "opportunity_id": deal,
        "number": asked["number"],
        "version": 1,
        "role": "manager",
        "approver": "mgr-na-01",
        "approved": True,
        "note": None,
    }
    producer.produce("approvals.decided", "ApprovalDecided", decision, deal)
    generated = wait_for(reader, "proposals.generated", deal)[0]
    assert (generated["number"], generated["approved_by"]) == (asked["number"], ["manager:mgr-na-01"])


def test_rejected_approval_generates_nothing(stack: Stack, reader: TopicReader, producer: KeyedProducer) -> None:
    """A rejection over HTTP ends the approval and no document is generated."""
    deal = f"opp-{uuid.uuid4().hex[:8]}"
    producer.produce("proposals.requested", "ProposalRequested", request(deal, line("SF-CRM-PRO", 10, "0.30")), deal)
    asked = wait_for(reader, "approvals.requested", deal)[0]
    assert asked["approver_chain"] == ["manager", "vp"]
    number = asked["number"]
    read_view(stack, number, lambda v: v["approval"] is not None)

    decision = {"role": "manager", "approver": "mgr-na-01", "approved": False, "note": "too deep"}
    status, answer = call(stack, "POST", f"/v1/approvals/{number}/decisions", decision)
    assert status == 202, answer
    view = read_view(stack, number, lambda v: v["approval"]["status"] == "rejected")
    assert view["approval"]["status"] == "rejected"
    settle(reader)
    assert for_deal(reader, "proposals.generated", deal) == []
    assert call(stack, "GET", f"/v1/proposals/{number}/v/1.pdf")[0] == 404


def test_poison_requests_are_dead_lettered_and_the_next_still_works(
    stack: Stack, reader: TopicReader, producer: KeyedProducer
) -> None:
    """Undecodable bytes and an unknown SKU land in dlq.proposal; the request after them is generated."""
    deal = f"opp-{uuid.uuid4().hex[:8]}"
    poison = b"\xc3\x01" + deal.encode()
    producer.produce_raw("proposals.requested", poison, deal)
    producer.produce("proposals.requested", "ProposalRequested", request(deal, line("NO-SUCH-SKU", 1)), deal)
    producer.produce("proposals.requested", "ProposalRequested", request(deal, line("SF-TRN-DAY", 2)), deal)

    generated = wait_for(reader, "proposals.generated", deal)[0]
    assert generated["total"] == f"{Decimal('3600.00') * Decimal('1.0825'):.2f}"

    def dead_letters() -> list[str]:
        return sorted(
            dict(headers)["error.class"].decode()
            for topic, value, headers in reader.seen
            if topic == "dlq.proposal" and (value == poison or _deal_of(value) == deal)
        )

    reader.poll_until(lambda _: len(dead_letters()) >= 2, seconds=20)
    assert dead_letters() == ["DecodeError", "InvalidRecord"]


def _deal_of(value: Any) -> str | None:
    return value.get("opportunity_id") if isinstance(value, dict) else None


def test_http_refuses_bad_commands_with_the_reason(stack: Stack) -> None:
    """No key is 401, a bad field or unknown SKU 422 naming it, an unknown proposal 404."""
    url = stack.services["proposal"].url("/v1/proposals/P-NONE")
    with pytest.raises(urllib.error.HTTPError) as unauthorised:
        urllib.request.urlopen(url, timeout=10)
    assert unauthorised.value.code == 401
    body = request("opp-http", line("NO-SUCH-SKU", 1)) | {"occurred_at": None}
    body["valid_until"] = body["valid_until"].isoformat()
    status, answer = call(stack, "POST", "/v1/proposals", body)
    assert status == 422 and b"NO-SUCH-SKU" in answer
    status, answer = call(stack, "POST", "/v1/proposals", body | {"lines": [line("SF-CRM-PRO", 1)], "currency": 7})
    assert status == 422 and b"currency" in answer
    assert call(stack, "GET", "/v1/proposals/P-NONE")[0] == 404
    assert call(stack, "POST", "/v1/approvals/P-NONE/decisions", {"role": "vp"})[0] == 404
