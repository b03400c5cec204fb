"""The deal walk of issue #4 on the real broker and Redis: lead → deal → quote → approval → PDF → won.

ingest, opportunity and proposal run as processes; tools.deal_walkthrough drives them over HTTP as
it does against the local stack, and the events and the PDF are checked against the API.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from services.opportunity.records import command_record
from services.proposal.catalog import load_catalog
from services.proposal.money import format_money
from tests.integration.harness import API_KEY, Infra, Stack, TopicReader
from tests.integration.test_proposal_deadlines import WAIT_SECONDS, wait_for
from tests.integration.test_proposal_flow import KeyedProducer, accept_command, line, publish_rep, request
from tools.deal_walkthrough import OWNER, Endpoints, Walk, walk
from tools.deal_walkthrough_events import DEAL_TOPICS, read_deal_events

ROOT = Path(__file__).resolve().parents[2]
USD = load_catalog(ROOT / "services" / "proposal" / "catalog.yaml").currency("USD")
assert USD is not None
CUSTOMER = {
    "company": "株式会社 Sakura Łódź",
    "contact": "Zoë Łukasiewicz",
    "email": "zoe@sakura-lodz.example",
    "address": ["ul. Piotrkowska 104", "90-926 Łódź", "Poland"],
}


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("deal")
    stack = Stack(infra, workdir, extra_env={"SALESFLOW_PROPOSAL_DIR": str(workdir / "documents")})
    stack.start("ingest", "opportunity", "proposal")
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def walked(stack: Stack) -> Walk:
    # The local stack seeds the demo roster; here the deal's owner is put on reps.roster the same way.
    publish_rep(stack, OWNER, "Noor Haddad", "noor.haddad@example.com")
    urls = {name: stack.services[name].url("") for name in ("ingest", "opportunity", "proposal")}
    # Each step waits until its state is reached; the limit only bounds a loaded machine.
    return walk(Endpoints(API_KEY, **urls, timeout=WAIT_SECONDS), say=lambda _: None, customer=CUSTOMER)


def test_a_converted_lead_is_walked_to_closed_won(walked: Walk) -> None:
    """The walk ends with the proposal accepted and the deal closed won at the quote's pre-tax value."""
    latest = walked.proposal["versions"][-1]
    assert walked.opportunity_id == f"opp_{walked.lead_id}"
    assert (walked.deal["stage"], walked.deal["probability"]) == ("closed_won", "1")
    assert Decimal(walked.deal["amount"]) == Decimal(latest["total"]) - Decimal(latest["tax"])
    assert walked.proposal["approval"]["decisions"][0]["role"] == "manager"


def test_every_step_is_an_event(stack: Stack, walked: Walk) -> None:
    """Conversion, stage moves, request, approval, generation, command, acceptance and close are on the topics."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": stack.infra.bootstrap, "SALESFLOW_TOPIC_PREFIX": stack.prefix}
    events = read_deal_events(env, walked.opportunity_id, walked.lead_id)
    topics = {topic for topic, _ in events}
    assert topics == set(DEAL_TOPICS) - {"opportunities.rejected", "proposals.rejected", "proposals.withdrawn"}
    stages = [v["stage"] for t, v in events if t == "opportunities.changed"]
    assert stages == ["qualification", "discovery", "demo", "proposal", "closed_won"]
    generated = next(v for t, v in events if t == "proposals.generated")
    accepted = next(v for t, v in events if t == "proposals.accepted")
    assert (accepted["number"], accepted["total"]) == (walked.number, generated["total"])
    assert generated["total"] == walked.proposal["versions"][-1]["total"]


def test_the_pdf_shows_the_customer_as_written_and_the_totals_to_the_cent(walked: Walk) -> None:
    """Polish and Japanese names print as written; the totals equal the API's to the cent; the rep by name."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(walked.pdf)).pages)
    for name in (CUSTOMER["company"], CUSTOMER["contact"], "90-926 Łódź"):
        assert name in text, name
    latest = walked.proposal["versions"][-1]
    for field in ("subtotal", "tax", "total"):
        assert format_money(Decimal(latest[field]), USD) in text, field
    assert f"Your discounts: {format_money(Decimal(latest['discount_total']), USD)}" in text
    assert walked.number in text and latest["valid_until"] in text
    assert "Your contact: Noor Haddad, noor.haddad@example.com" in text


def test_an_accept_command_on_the_topic_closes_the_deal_and_a_second_is_rejected(stack: Stack) -> None:
    """ProposalCommand accept → proposals.accepted → the deal closed won; accepting again names why it cannot."""
    deal = f"opp_{uuid.uuid4().hex[:10]}"
    producer = KeyedProducer(stack)
    producer.produce("opportunities.commands", "OpportunityCommand", open_command(deal), deal)
    reader = stack.consumer("proposals.generated", "proposals.accepted", "proposals.rejected", "opportunities.changed")
    try:
        producer.produce("proposals.requested", "ProposalRequested", request(deal, line("SF-CRM-STD", 10)), deal)
        generated = wait_for(reader, "proposals.generated", deal)[0]
        first, second = accept_command(deal, generated["number"]), accept_command(deal, generated["number"])
        producer.produce("proposals.commands", "ProposalCommand", first, deal)
        accepted = wait_for(reader, "proposals.accepted", deal)[0]
        assert (accepted["event_id"], accepted["total"]) == (f"{first['event_id']}:accepted", generated["total"])
        won = wait_for_stage(reader, deal, "closed_won")
        assert Decimal(won["amount"]) == Decimal(generated["total"]) - Decimal(generated["tax"])

        producer.produce("proposals.commands", "ProposalCommand", second, deal)
        producer.produce("proposals.commands", "ProposalCommand", accept_command(deal, "P-NONE"), deal)
        rejected = wait_for(reader, "proposals.rejected", deal, count=2)
        assert sorted(r["reason"] for r in rejected) == ["already_accepted", "unknown_proposal"]
        assert len(wait_for(reader, "proposals.accepted", deal)) == 1
    finally:
        reader.close()


def open_command(deal: str) -> dict[str, Any]:
    fields = {
        "account_id": "acct-northwind",
        "owner_id": "rep-na-01",
        "amount": "5000.00",
        "currency": "USD",
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
        "source": "test",
    }
    return command_record(deal, f"open-{deal}", "open", datetime.now(UTC), fields)


def wait_for_stage(reader: TopicReader, deal: str, stage: str) -> dict[str, Any]:
    def in_stage() -> list[dict[str, Any]]:
        changes = [v for v in reader.values("opportunities.changed") if v["opportunity_id"] == deal]
        return [v for v in changes if v["stage"] == stage]

    reader.poll_until(lambda _: bool(in_stage()), seconds=WAIT_SECONDS)
    assert in_stage(), f"{deal} never reached {stage}"
    return in_stage()[0]
