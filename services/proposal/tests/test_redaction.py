"""Erasing a contact person from proposals and their documents."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from services.proposal.document import StoredDocuments, render_html, render_pdf
from services.proposal.presentation import Party
from services.proposal.pricing import LineRequest, PricingRequest, price_proposal
from services.proposal.redaction import (
    ERASURE,
    ProposalRef,
    contact_digest,
    erasure_command,
    has_contact,
    redact_file,
    rendered_versions,
)
from services.proposal.tests.samples import CATALOG, POLICY
from services.proposal.workflow import ProposalFile, Quote, QuoteRequest, document_for, record_generated, request_quote

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
ADA = Party("Northwind", "Ada Lovelace", ("1 Engine Row", "London"), "ada@northwind.example")
SELLER = Party("Salesflow", "Grace", (), "grace@salesflow.example")
DOCS = StoredDocuments("http://x/P/v/1.html", "http://x/P/v/1.pdf")


def quoted(customer: Party, number: str | None = None, file: ProposalFile | None = None) -> ProposalFile:
    request = QuoteRequest(
        "opp-1",
        number,
        PricingRequest("USD", (LineRequest("SF-CRM-PRO", 3),)),
        date(2025, 6, 30),
        Quote(customer, "Net 30", "rep-1", "rep", f"req-{number}"),
    )
    return request_quote(file, request, price_proposal(request.pricing, CATALOG), POLICY, NOW).file


def test_every_version_loses_the_contact_and_keeps_the_company() -> None:
    """Name and email go from every version; company, address, prices and document URLs stay."""
    v1 = record_generated(quoted(ADA), DOCS, NOW)
    both = quoted(ADA, v1.number, v1)
    redacted = redact_file(both)
    assert has_contact(both) and not has_contact(redacted)
    customers = [r.quote.customer for r in redacted.revisions]
    assert customers == [Party("Northwind", "", ("1 Engine Row", "London"), "")] * 2
    assert redacted.proposal == both.proposal and rendered_versions(redacted) == (1,)
    assert redacted.revisions[0].documents == DOCS


def test_rendered_documents_no_longer_name_the_contact() -> None:
    """Re-rendering the redacted file leaves the person out of the PDF and the HTML."""
    file = redact_file(record_generated(quoted(ADA), DOCS, NOW))
    doc = document_for(file, 1, SELLER)
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(doc))).pages)
    html = render_html(doc).decode()
    for text in (pdf_text, html):
        assert "Northwind" in text and "Ada Lovelace" not in text and "ada@northwind.example" not in text


def test_the_digest_matches_the_erasure_requests() -> None:
    """Case and surrounding space do not change the digest; no email has none."""
    expected = hashlib.sha256(b"ada@northwind.example").hexdigest()
    assert contact_digest("  Ada@Northwind.example ") == expected
    assert contact_digest("") is None and contact_digest("   ") is None


def test_the_command_is_keyed_to_the_deal_with_a_derived_id() -> None:
    """One command per proposal, on the deal's key, the same id on every replay of the request."""
    ref = ProposalRef("opp-1", "P-1")
    command = erasure_command({"event_id": "e-1", "lead_id": "lead-1"}, ref, NOW)
    assert (command["opportunity_id"], command["number"], command["kind"]) == ("opp-1", "P-1", ERASURE)
    assert command["event_id"] == erasure_command({"event_id": "e-1"}, ref, NOW)["event_id"] == "e-1:proposal:P-1"


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30))
def test_refs_round_trip(opportunity_id: str, number: str) -> None:
    """A ref decodes to itself whatever the deal id holds (numbers never hold the separator)."""
    ref = ProposalRef(opportunity_id.replace("\x1f", ""), number.replace("\x1f", ""))
    assert ProposalRef.decode(ref.encode()) == ref
