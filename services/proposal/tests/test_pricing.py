"""Tests of exact proposal pricing: tiers, discounts, tax and per-currency rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings

from services.proposal.pricing import (
    LineRequest,
    PricedProposal,
    PricingError,
    PricingRequest,
    price_proposal,
)
from services.proposal.tests.samples import CATALOG, pricing_requests

D = Decimal


def price(
    *lines: LineRequest, currency: str = "USD", overall: str = "0", tax: str = "0", segment: str | None = None
) -> PricedProposal:
    request = PricingRequest(currency, lines, segment, D(overall), D(tax))
    return price_proposal(request, CATALOG)


def test_prices_a_typical_quote_exactly() -> None:
    """Tier, line discount, overall discount and tax combine to the expected cents."""
    priced = price(
        LineRequest("SF-CRM-PRO", 120, D("0.12")), LineRequest("SF-ONB-STD", 1), overall="0.03", tax="0.0825"
    )
    pro, onboarding = priced.lines
    assert (pro.unit_price, pro.tier and pro.tier.min_qty) == (D("660.00"), 50)
    assert pro.discount_amount == D("9504.00")  # 120 x 660.00 x 12 %
    assert pro.line_total == D("69696.00")
    assert onboarding.line_total == D("4950.00") and onboarding.tier is None
    assert priced.subtotal == D("74646.00")
    assert priced.overall_discount_amount == D("2239.38")  # 3 % of 74,646.00
    assert priced.tax == D("5973.55")  # 8.25 % of 72,406.62 = 5,973.546...
    assert priced.total == D("78380.17")
    assert priced.discount_total == D("11743.38")


@pytest.mark.parametrize(
    ("quantity", "unit_price", "tier"),
    [
        (1, "720.00", None),
        (49, "720.00", None),
        (50, "660.00", 50),
        (199, "660.00", 50),
        (200, "600.00", 200),
        (5000, "600.00", 200),
    ],
)
def test_volume_tier_applies_from_its_minimum_quantity(quantity: int, unit_price: str, tier: int | None) -> None:
    """The highest tier reached prices every unit of the line."""
    (line,) = price(LineRequest("SF-CRM-PRO", quantity)).lines
    assert line.unit_price == D(unit_price)
    assert (line.tier.min_qty if line.tier else None) == tier
    assert line.line_total == D(unit_price) * quantity


def test_rounds_half_up_to_the_cent() -> None:
    """A discount of exactly half a cent rounds up: 1,800.00 x 0.000125 = 0.225 -> 0.23."""
    (line,) = price(LineRequest("SF-TRN-DAY", 1, D("0.000125"))).lines
    assert line.discount_amount == D("0.23")
    assert line.line_total == D("1799.77")


def test_rounds_yen_to_whole_units() -> None:
    """JPY amounts round half up to whole yen."""
    priced = price(LineRequest("SF-CRM-STD", 1, D("0.00001")), currency="JPY", tax="0.1")
    (line,) = priced.lines
    assert line.discount_amount == D("0")  # 45,000 x 0.00001 = 0.45 yen
    assert line.line_total == D("45000")
    assert priced.tax == D("4500") and priced.total == D("49500")
    assert priced.total.as_tuple().exponent == 0


def test_yen_half_unit_rounds_up() -> None:
    """Half a yen rounds up to one yen."""
    (line,) = price(LineRequest("SF-CRM-STD", 1, D("0.00003")), currency="JPY").lines
    assert line.discount_amount == D("1")  # 1.35 yen


def test_segment_book_changes_the_price() -> None:
    """An enterprise quote uses the enterprise book's price."""
    (line,) = price(LineRequest("SF-CRM-ENT", 10), segment="enterprise").lines
    assert line.unit_price == D("1440.00")


def test_full_discount_gives_a_zero_line() -> None:
    """A 100 % discount makes the line free, not negative."""
    (line,) = price(LineRequest("SF-SBX-FULL", 2, D("1"))).lines
    assert line.line_total == D("0.00") and line.discount_amount == D("12000.00")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lines": (LineRequest("NOPE", 1),)}, "unknown SKU"),
        ({"currency": "CHF"}, "unknown currency"),
        ({"lines": (LineRequest("SF-CRM-PRO", 0),)}, "quantity must be at least 1"),
        ({"lines": (LineRequest("SF-CRM-PRO", 1, D("-0.01")),)}, "discount"),
        ({"lines": (LineRequest("SF-CRM-PRO", 1, D("1.01")),)}, "discount"),
        ({"lines": (LineRequest("SF-CRM-PRO", 1, D("NaN")),)}, "discount"),
        ({"overall_discount": D("1.5")}, "overall discount"),
        ({"tax_rate": D("-0.1")}, "tax rate"),
        ({"lines": ()}, "at least one line"),
    ],
)
def test_rejects_unpriceable_requests(kwargs: dict[str, object], message: str) -> None:
    """Bad SKUs, currencies, quantities and rates raise PricingError."""
    base: dict[str, object] = {"currency": "USD", "lines": (LineRequest("SF-CRM-PRO", 1),)}
    request = PricingRequest(**{**base, **kwargs})  # type: ignore[arg-type]
    with pytest.raises(PricingError, match=message):
        price_proposal(request, CATALOG)


@settings(max_examples=200, deadline=None)
@given(pricing_requests)
def test_totals_equal_the_sum_of_the_lines(request: PricingRequest) -> None:
    """Subtotal, discounts, tax and total add up from the lines without a cent lost."""
    priced = price_proposal(request, CATALOG)
    assert priced.subtotal == sum(line.line_total for line in priced.lines)
    line_discounts = sum(line.discount_amount for line in priced.lines)
    assert priced.discount_total == line_discounts + priced.overall_discount_amount
    gross = sum(line.gross for line in priced.lines)
    assert gross - priced.discount_total + priced.tax == priced.total
    assert priced.total == priced.subtotal - priced.overall_discount_amount + priced.tax


@settings(max_examples=200, deadline=None)
@given(pricing_requests)
def test_every_amount_is_rounded_to_the_currency_minor_unit(request: PricingRequest) -> None:
    """Each amount carries exactly the currency's decimals and is within half a unit of exact."""
    priced = price_proposal(request, CATALOG)
    exponent = -priced.currency.minor_units
    half = priced.currency.quantum / 2
    amounts = [priced.subtotal, priced.overall_discount_amount, priced.tax, priced.total]
    for line in priced.lines:
        amounts += [line.unit_price, line.discount_amount, line.line_total]
        assert abs(line.discount_amount - line.gross * line.discount_rate) <= half
    assert all(amount.as_tuple().exponent == exponent for amount in amounts)
    assert abs(priced.tax - priced.taxable * priced.tax_rate) <= half


@settings(max_examples=100, deadline=None)
@given(pricing_requests)
def test_amounts_are_never_negative(request: PricingRequest) -> None:
    """Discounts of at most 100 % never drive a line or the total below zero."""
    priced = price_proposal(request, CATALOG)
    assert all(line.line_total >= 0 for line in priced.lines)
    assert priced.taxable >= 0 and priced.total >= 0
