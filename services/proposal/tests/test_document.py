"""Tests of the HTML and PDF proposal documents and their local storage."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from pypdf import PdfReader

from services.proposal.config import ProposalConfig
from services.proposal.document import (
    FontFiles,
    Party,
    ProposalDocument,
    font_files,
    publish,
    render_html,
    render_pdf,
)
from services.proposal.money import format_money
from services.proposal.pdf_layout import ProposalPdf
from services.proposal.presentation import RepContact
from services.proposal.pricing import (
    LineRequest,
    PricedProposal,
    PricingRequest,
    price_proposal,
)
from services.proposal.storage import LocalDocumentStore, StorageError
from services.proposal.tests.samples import CATALOG, pricing_requests

D = Decimal
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
SELLER = Party("Salesflow Inc.", "Dana Reyes", ("100 Market St", "San Francisco, CA 94105"), "dana@salesflow.example")
CUSTOMER = Party("Müller & Söhne GmbH", "Jörg Müller", ("Hauptstraße 1", "10115 Berlin"))
LINES = (
    LineRequest("SF-CRM-PRO", 120, D("0.12")),
    LineRequest("SF-ANL-ADD", 120),
    LineRequest("SF-ONB-STD", 1, D("0.05")),
)


def priced_in(currency: str) -> PricedProposal:
    request = PricingRequest(currency, LINES, overall_discount=D("0.03"), tax_rate=D("0.19"))
    return price_proposal(request, CATALOG)


def document(priced: PricedProposal, customer: Party = CUSTOMER) -> ProposalDocument:
    return ProposalDocument(
        number="P-2025-0042",
        version=2,
        issued_on=date(2025, 6, 2),
        valid_until=date(2025, 6, 30),
        seller=SELLER,
        customer=customer,
        terms="Annual subscription, invoiced yearly in advance. Payment within 30 days.",
        priced=priced,
    )


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# Worked by hand, e.g. USD: 69,696.00 + 25,920.00 + 4,702.50 = 100,318.50; 3 % off = 3,009.56;
# 19 % tax on 97,308.94 = 18,488.70; total 115,797.64.
@pytest.mark.parametrize(
    ("currency", "total"),
    [
        ("USD", "$115,797.64"),
        ("EUR", "€107,626.47"),
        ("GBP", "£92,505.26"),
        ("JPY", "¥17,369,647"),
    ],
)
def test_pdf_shows_the_priced_totals_to_the_cent(currency: str, total: str) -> None:
    """The PDF's text carries the title, parties, lines, every total and the terms."""
    priced = priced_in(currency)
    assert format_money(priced.total, priced.currency) == total
    text = pdf_text(render_pdf(document(priced)))
    assert "Proposal P-2025-0042" in text and "Version 2" in text
    assert "Müller & Söhne GmbH" in text and "Salesflow Inc." in text
    for line in priced.lines:
        assert line.sku in text
        assert format_money(line.line_total, priced.currency) in text
    assert f"Subtotal {format_money(priced.subtotal, priced.currency)}" in text
    overall = format_money(priced.overall_discount_amount, priced.currency)
    assert f"Overall discount (3%) -{overall}" in text
    assert f"Tax (19%) {format_money(priced.tax, priced.currency)}" in text
    assert f"Total ({currency}) {total}" in text
    assert "Payment within 30 days." in text and "valid until the end of 2025-06-30" in text


def test_pdf_shows_tiers_and_line_discounts() -> None:
    """Each line shows its list price, the tier reached and its discount."""
    text = pdf_text(render_pdf(document(priced_in("USD"))))
    assert "$720.00 50+ $660.00" in text
    assert "12% (-$9,504.00)" in text.replace("\n", "")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pricing_requests)
def test_any_priced_proposal_renders_its_total(request: PricingRequest) -> None:
    """Whatever the lines and currency, the PDF total equals the priced total."""
    priced = price_proposal(request, CATALOG)
    text = pdf_text(render_pdf(document(priced)))
    code = priced.currency.code
    assert f"Total ({code}) {format_money(priced.total, priced.currency)}" in text


def test_pdf_bytes_are_reproducible() -> None:
    """The same document renders to the same bytes."""
    doc = document(priced_in("EUR"))
    assert render_pdf(doc) == render_pdf(doc)


def test_core_font_replaces_characters_it_cannot_draw() -> None:
    """A name outside windows-1252 still renders, with '?' for what Helvetica lacks."""
    customer = Party("株式会社 Example", "Ωmega")
    text = pdf_text(render_pdf(document(priced_in("JPY"), customer)))
    assert "? Example" in text and "?mega" in text


@pytest.mark.skipif(not (DEJAVU / "DejaVuSans.ttf").exists(), reason="DejaVu fonts not installed")
def test_truetype_fonts_draw_any_script() -> None:
    """With a Unicode font, Greek and Cyrillic names appear as written."""
    fonts = FontFiles(DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSans-Bold.ttf")
    customer = Party("Ωmega Λtd", "Дмитрий Иванов")
    text = pdf_text(render_pdf(document(priced_in("EUR"), customer), fonts))
    assert "Ωmega Λtd" in text and "Дмитрий Иванов" in text
    assert "Total (EUR) €" in text


def test_the_default_fonts_draw_latin_extended_and_cjk_names() -> None:
    """With the default fonts (DejaVu Sans, Droid Sans Fallback), Polish, German, Japanese names print as written."""
    config = ProposalConfig.from_env({})
    fonts = font_files(config.font_regular, config.font_bold, config.font_fallback)
    assert fonts is not None and fonts.fallback is not None, "make tools installs the fonts"
    customer = Party("株式会社 Łódź Zoë GmbH", "Zoë Łukasiewicz")
    priced = priced_in("JPY")
    text = pdf_text(render_pdf(document(priced, customer), fonts))
    assert "株式会社 Łódź Zoë GmbH" in text and "Zoë Łukasiewicz" in text
    assert f"Total (JPY) {format_money(priced.total, priced.currency)}" in text


@pytest.mark.parametrize("longer", ["seller", "customer"])
def test_the_line_table_starts_below_the_longer_party_block(longer: str) -> None:
    """A six-line seller or customer block ends above the line table, whichever column it is in."""
    full = Party("Salesflow Inc.", "Sales team", ("500 Market Street", "San Francisco, CA 94105", "US"), "s@x.example")
    doc = document(priced_in("USD"), full if longer == "customer" else Party("Northwind"))
    if longer == "seller":
        doc = replace(doc, seller=full)
    pdf = ProposalPdf(doc, None)
    pdf.add_page()
    top = pdf.get_y()
    pdf.write_parties()
    assert pdf.get_y() >= top + 7 * 5  # heading and six lines of 5 mm
    assert pdf.get_x() == pdf.l_margin


@pytest.mark.parametrize(
    ("rep", "printed"),
    [
        (
            RepContact("rep-emea-smb-03", "Noor Haddad", "noor.haddad@example.com"),
            "Your contact: Noor Haddad, noor.haddad@example.com",
        ),
        (RepContact("rep-emea-smb-03"), "Your contact: rep-emea-smb-03"),
    ],
)
def test_the_pdf_and_html_name_the_rep_or_their_id(rep: RepContact, printed: str) -> None:
    """The rep the roster names prints with name and email; one it has not named, by id."""
    doc = replace(document(priced_in("EUR")), rep=rep)
    assert printed in pdf_text(
        render_pdf(doc, font_files(str(DEJAVU / "DejaVuSans.ttf"), str(DEJAVU / "DejaVuSans-Bold.ttf"), ""))
    )
    assert printed in pdf_text(render_pdf(doc))
    assert printed in render_html(doc).decode("utf-8")


def test_missing_font_files_are_named() -> None:
    """A configured font that does not exist is refused with its path; an empty path means core fonts."""
    with pytest.raises(FileNotFoundError, match=r"no-such\.ttf"):
        font_files("/nonexistent/no-such.ttf", str(DEJAVU / "DejaVuSans-Bold.ttf"), "")
    assert font_files("", "", "") is None


def test_html_escapes_customer_text_and_shows_totals() -> None:
    """Customer-supplied text is escaped; amounts are formatted per currency."""
    customer = Party("<script>alert(1)</script> Corp", "A & B")
    priced = priced_in("GBP")
    page = render_html(document(priced, customer)).decode("utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Corp" in page
    assert "A &amp; B" in page
    assert format_money(priced.total, priced.currency) in page
    assert "<td>50+</td>" in page and "Valid until 2025-06-30" in page


def test_local_store_round_trips_and_returns_the_url(tmp_path: Path) -> None:
    """put writes under the root and returns base URL + path; get reads it back."""
    store = LocalDocumentStore(tmp_path, "http://localhost:8006/v1/proposals/")
    url = store.put("P-1/v/2.pdf", b"%PDF-1.7")
    assert url == "http://localhost:8006/v1/proposals/P-1/v/2.pdf"
    assert (tmp_path / "P-1" / "v" / "2.pdf").read_bytes() == b"%PDF-1.7"
    assert store.get("P-1/v/2.pdf") == b"%PDF-1.7"
    assert [p.name for p in (tmp_path / "P-1" / "v").iterdir()] == ["2.pdf"]


@pytest.mark.parametrize("path", ["../escape.pdf", "/etc/passwd", "a/../../b", ""])
def test_local_store_refuses_paths_outside_its_root(tmp_path: Path, path: str) -> None:
    """Absolute paths and parent references are refused."""
    store = LocalDocumentStore(tmp_path / "docs", "http://x")
    with pytest.raises(StorageError):
        store.put(path, b"x")


def test_local_store_reports_a_missing_document(tmp_path: Path) -> None:
    """get on an absent path raises StorageError."""
    with pytest.raises(StorageError, match="no document"):
        LocalDocumentStore(tmp_path, "http://x").get("P-9/v/1.pdf")


def test_publish_stores_html_and_pdf_under_the_version_path(tmp_path: Path) -> None:
    """Both documents land at {number}/v/{version}.html and .pdf."""
    store = LocalDocumentStore(tmp_path, "http://localhost:8006/v1/proposals")
    doc = document(priced_in("USD"))
    stored = publish(doc, store)
    assert stored.pdf_url == "http://localhost:8006/v1/proposals/P-2025-0042/v/2.pdf"
    assert stored.html_url.endswith("/P-2025-0042/v/2.html")
    assert store.get("P-2025-0042/v/2.pdf") == render_pdf(doc)
