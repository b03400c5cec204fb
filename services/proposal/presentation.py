"""What a proposal document shows: its parties, and its lines and totals formatted for print.

Shared by the HTML and the PDF so both show the same strings; it formats, never computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.proposal.money import format_money, format_rate
from services.proposal.pricing import PricedLine, PricedProposal


@dataclass(frozen=True)
class Party:
    """A company and its contact as printed on the document."""

    company: str
    contact: str = ""
    address: tuple[str, ...] = ()
    email: str = ""


@dataclass(frozen=True)
class RepContact:
    """The sales rep the customer deals with; name and email empty while the roster has not named them."""

    rep_id: str
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class ProposalDocument:
    """Everything a proposal document shows; `priced` carries every amount."""

    number: str
    version: int
    issued_on: date
    valid_until: date
    seller: Party
    customer: Party
    terms: str
    priced: PricedProposal
    rep: RepContact | None = None


@dataclass(frozen=True)
class LineRow:
    """One line item as displayed, every amount formatted in the proposal's currency."""

    name: str
    detail: str
    quantity: str
    list_price: str
    tier: str
    unit_price: str
    discount: str
    amount: str


def line_rows(priced: PricedProposal) -> tuple[LineRow, ...]:
    """The line items as the HTML and the PDF both show them."""
    return tuple(_line_row(line, priced) for line in priced.lines)


def _line_row(line: PricedLine, priced: PricedProposal) -> LineRow:
    money = priced.currency
    discount = "-"
    if line.discount_amount:
        amount = format_money(-line.discount_amount, money)
        discount = f"{format_rate(line.discount_rate)} ({amount})"
    return LineRow(
        name=line.name,
        detail=f"{line.sku} - per {line.unit}",
        quantity=f"{line.quantity:,}",
        list_price=format_money(line.list_price, money),
        tier=f"{line.tier.min_qty:,}+" if line.tier else "-",
        unit_price=format_money(line.unit_price, money),
        discount=discount,
        amount=format_money(line.line_total, money),
    )


def total_rows(priced: PricedProposal) -> tuple[tuple[str, str], ...]:
    """The totals block as (label, amount) pairs, shared by the HTML and the PDF."""
    money = priced.currency
    rows = [("Subtotal", format_money(priced.subtotal, money))]
    if priced.overall_discount_amount:
        rows.append(
            (
                f"Overall discount ({format_rate(priced.overall_discount_rate)})",
                format_money(-priced.overall_discount_amount, money),
            )
        )
    rows.append((f"Tax ({format_rate(priced.tax_rate)})", format_money(priced.tax, money)))
    rows.append((f"Total ({money.code})", format_money(priced.total, money)))
    return tuple(rows)


def subtitle(doc: ProposalDocument) -> str:
    """The line under the title: version, issue date and validity."""
    return (
        f"Version {doc.version} \N{MIDDLE DOT} Issued {doc.issued_on.isoformat()} "
        f"\N{MIDDLE DOT} Valid until {doc.valid_until.isoformat()}"
    )


def savings_note(priced: PricedProposal) -> str:
    """The customer's total discount, line and overall together."""
    return f"Your discounts: {format_money(priced.discount_total, priced.currency)}"


def validity_note(doc: ProposalDocument) -> str:
    """The currency and the validity, in the words both documents print."""
    return (
        f"All amounts in {doc.priced.currency.code}. This proposal is valid until the end "
        f"of {doc.valid_until.isoformat()} (UTC)."
    )


def contact_note(doc: ProposalDocument) -> str | None:
    """Whom the customer talks to: the rep's name and email, or only their id while the roster has not named them."""
    rep = doc.rep
    if rep is None:
        return None
    if not rep.name:
        return f"Your contact: {rep.rep_id}"
    return f"Your contact: {rep.name}, {rep.email}" if rep.email else f"Your contact: {rep.name}"
