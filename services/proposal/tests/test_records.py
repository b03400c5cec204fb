"""Tests of the record edges: intake parsing, emitted records, the table value and the read model."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from services.proposal import events
from services.proposal.approvals import Decision
from services.proposal.document import StoredDocuments
from services.proposal.intake import IntakeError, decision, quote_request, request_record
from services.proposal.ledger import Ledger, record
from services.proposal.presentation import Party
from services.proposal.pricing import PricingRequest, price_proposal
from services.proposal.serialization import ledger_from_dict, ledger_to_dict
from services.proposal.tests.samples import CATALOG, POLICY, pricing_requests
from services.proposal.views import proposal_view
from services.proposal.workflow import (
    ProposalFile,
    Quote,
    QuoteRequest,
    checks_due,
    decide_approval,
    record_generated,
    request_quote,
)
from shared.avro_codec import create_codec

EXAMPLES = Path(__file__).resolve().parents[3] / "schemas" / "avro" / "examples"
CODEC = create_codec()
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
DOCS = StoredDocuments("http://x/v/1.html", "http://x/v/1.pdf")


def example(record_name: str, name: str) -> dict[str, Any]:
    """An example payload as a consumer sees it: encoded, then decoded."""
    raw = json.loads((EXAMPLES / record_name / f"{name}.json").read_text())
    return CODEC.decode_as(CODEC.encode(record_name, raw), record_name)


def held_file(request: PricingRequest | None = None) -> ProposalFile:
    pricing = request or PricingRequest(
        "USD", quote_request(example("ProposalRequested", "new_with_discounts")).pricing.lines
    )
    quote = Quote(Party("Müller & Söhne GmbH", "Jörg", ("Hauptstraße 1",)), "Net 30", "rep-1", "rep", "req-1")
    ask = QuoteRequest("opp-1", None, pricing, date(2025, 6, 30), quote)
    return request_quote(None, ask, price_proposal(pricing, CATALOG), POLICY, NOW).file


def test_a_requested_example_parses_into_a_quote_request() -> None:
    """Decimal strings become exact decimals; absent discounts are zero."""
    parsed = quote_request(example("ProposalRequested", "new_with_discounts"))
    assert parsed.number is None and parsed.valid_until == date(2025, 6, 30)
    assert [line.discount for line in parsed.pricing.lines] == [Decimal("0.12"), Decimal(0), Decimal("0.05")]
    assert (parsed.pricing.overall_discount, parsed.pricing.tax_rate) == (Decimal("0.03"), Decimal("0.19"))
    assert parsed.quote.customer.address == ("Hauptstraße 1", "10115 Berlin")
    assert quote_request(example("ProposalRequested", "revision_minimal")).number == "P-3F9D2C4B8A7E"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tax_rate": "nineteen"}, "tax_rate"),
        ({"overall_discount": "NaN"}, "overall_discount"),
        ({"lines": [{"sku": "SF-CRM-PRO", "quantity": 1, "discount": "x"}]}, "lines[0].discount"),
        ({"requested_by": {"rep_id": " ", "role": "rep"}}, "requested_by.rep_id"),
    ],
)
def test_unusable_values_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    """Values the schema lets through but the domain cannot use raise IntakeError naming the field."""
    with pytest.raises(IntakeError, match=field.replace("[", r"\[").replace("]", r"\]")):
        quote_request(example("ProposalRequested", "new_with_discounts") | change)


def test_a_decision_example_parses() -> None:
    """ApprovalDecided becomes (number, version, Decision) at its occurred_at."""
    number, version, made = decision(example("ApprovalDecided", "approved"))
    assert (number, version, made.role, made.approved) == ("P-3F9D2C4B8A7E", 2, "vp", True)
    assert made.at.tzinfo is not None


def test_a_json_body_becomes_an_encodable_request() -> None:
    """Defaults fill what a JSON body may omit; the client's event_id wins over the generated one."""
    body = {
        "opportunity_id": "opp-1",
        "customer": {"company": "Acme"},
        "lines": [{"sku": "SF-CRM-PRO", "quantity": 2}],
        "currency": "USD",
        "valid_until": "2025-06-30",
        "requested_by": {"rep_id": "r", "role": "rep"},
        "event_id": "client-1",
    }
    built = request_record(body, "generated-1", NOW)
    assert built["event_id"] == "client-1" and built["valid_until"] == date(2025, 6, 30)
    assert quote_request(CODEC.decode_as(CODEC.encode("ProposalRequested", built), "ProposalRequested")).pricing.lines
    with pytest.raises(IntakeError):
        request_record(body | {"valid_until": "end of June"}, "generated-1", NOW)


def test_every_emitted_record_encodes_with_derived_ids() -> None:
    """Generated, approval, expiry, due and close-won records fit their schemas; ids derive from the cause."""
    file = held_file()
    asked = events.approval_requested(file, "req-1", POLICY, NOW)
    approved = decide_approval(file, 1, Decision("vp", "v", True, NOW), POLICY).file
    generated = events.generated(record_generated(approved, DOCS, NOW), "dec-1", NOW)
    (due,) = checks_due(file, POLICY, NOW + timedelta(days=1))
    latest = file.proposal.latest
    records = [
        asked,
        generated,
        events.expired(file, latest, NOW),
        events.due("opp-1", due, NOW),
        events.close_won(file, latest, "acc-1", NOW),
    ]
    for name, value in records:
        assert CODEC.decode_as(CODEC.encode(name, value), name)["opportunity_id"] == "opp-1"
    assert [value["event_id"] for _, value in records] == [
        "req-1:approval-requested",
        "dec-1:generated",
        f"{file.number}:v1:expired",
        due.key,
        "acc-1:close-won",
    ]
    assert generated[1]["approved_by"] == ["vp:v"]


def test_generated_totals_are_the_priced_totals() -> None:
    """ProposalGenerated carries the priced amounts as plain decimal strings."""
    priced_file = held_file()
    approved = decide_approval(priced_file, 1, Decision("vp", "v", True, NOW), POLICY).file
    _, value = events.generated(record_generated(approved, DOCS, NOW), "d", NOW)
    priced = priced_file.proposal.latest.priced
    assert [Decimal(value[k]) for k in ("subtotal", "discount_total", "tax", "total")] == [
        priced.subtotal,
        priced.discount_total,
        priced.tax,
        priced.total,
    ]
    assert "E" not in value["total"]


@settings(max_examples=100, deadline=None)
@given(pricing_requests)
def test_the_table_value_round_trips_exactly(request: PricingRequest) -> None:
    """ledger_from_dict inverts ledger_to_dict, through JSON, for any priceable request."""
    try:
        file = held_file(request)
    except ValueError:
        return  # unpriceable (a SKU missing from a currency's book): nothing to store
    if file.latest.approval is not None:
        file = decide_approval(file, 1, Decision("vp", "v", True, NOW, "ok"), POLICY).file
    file = record_generated(file, DOCS, NOW)
    ledger = record(Ledger(), file, "req-1")
    assert ledger_from_dict(json.loads(json.dumps(ledger_to_dict(ledger)))) == ledger


def test_the_read_model_shows_status_approval_and_versions() -> None:
    """A held proposal reads as a draft with its pending approval; validity passing reads as expired."""
    view = proposal_view(held_file(), NOW)
    assert (view["status"], view["approval"]["pending"], view["versions"][0]["pdf_url"]) == ("draft", ["manager"], None)
    assert proposal_view(held_file(), datetime(2025, 7, 1, tzinfo=UTC))["status"] == "expired"
    json.dumps(view)
