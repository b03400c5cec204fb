"""Exact proposal pricing: volume tiers, line and overall discounts, tax, per-currency rounding.

Pure `Decimal` arithmetic over a `Catalog`; no floats, no I/O, no approval decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.proposal.catalog import Catalog, PriceEntry, Product, Tier
from services.proposal.money import Currency, round_money

ZERO = Decimal(0)
ONE = Decimal(1)


class PricingError(ValueError):
    """The request cannot be priced (unknown SKU or currency, bad quantity or rate)."""


@dataclass(frozen=True)
class LineRequest:
    """A requested line; `discount` is a fraction of the line's gross (0.15 = 15 %)."""

    sku: str
    quantity: int
    discount: Decimal = ZERO


@dataclass(frozen=True)
class PricingRequest:
    """What to price; rates are fractions, `overall_discount` applies to the lines' subtotal."""

    currency: str
    lines: tuple[LineRequest, ...]
    segment: str | None = None
    overall_discount: Decimal = ZERO
    tax_rate: Decimal = ZERO


@dataclass(frozen=True)
class PricedLine:
    """A priced line: gross = quantity x unit_price; line_total = gross - discount_amount."""

    sku: str
    name: str
    unit: str
    quantity: int
    list_price: Decimal
    unit_price: Decimal
    tier: Tier | None
    discount_rate: Decimal
    discount_amount: Decimal
    line_total: Decimal
    max_discount: Decimal

    @property
    def gross(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class PricedProposal:
    """Totals, each rounded to the currency's minor unit.

    subtotal = sum of line totals; taxable = subtotal - overall_discount_amount;
    total = taxable + tax; discount_total = line discounts + overall_discount_amount.
    """

    currency: Currency
    segment: str | None
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    overall_discount_rate: Decimal
    overall_discount_amount: Decimal
    discount_total: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal

    @property
    def taxable(self) -> Decimal:
        return self.subtotal - self.overall_discount_amount


def price_proposal(request: PricingRequest, catalog: Catalog) -> PricedProposal:
    """Price every line, then the overall discount and the tax on what remains."""
    currency = catalog.currency(request.currency)
    if currency is None:
        raise PricingError(f"unknown currency {request.currency!r}")
    if not request.lines:
        raise PricingError("a proposal needs at least one line")
    _check_rate(request.overall_discount, "overall discount", upper=ONE)
    _check_rate(request.tax_rate, "tax rate", upper=None)
    lines = tuple(_price_line(line, request, catalog, currency) for line in request.lines)
    return _totals(request, currency, lines)


def _totals(request: PricingRequest, currency: Currency, lines: tuple[PricedLine, ...]) -> PricedProposal:
    subtotal = sum((line.line_total for line in lines), ZERO)
    overall = round_money(subtotal * request.overall_discount, currency)
    tax = round_money((subtotal - overall) * request.tax_rate, currency)
    line_discounts = sum((line.discount_amount for line in lines), ZERO)
    return PricedProposal(
        currency=currency,
        segment=request.segment,
        lines=lines,
        subtotal=subtotal,
        overall_discount_rate=request.overall_discount,
        overall_discount_amount=overall,
        discount_total=line_discounts + overall,
        tax_rate=request.tax_rate,
        tax=tax,
        total=subtotal - overall + tax,
    )


def _price_line(line: LineRequest, request: PricingRequest, catalog: Catalog, currency: Currency) -> PricedLine:
    product, entry = _lookup(line.sku, request, catalog)
    if line.quantity < 1:
        raise PricingError(f"{line.sku}: quantity must be at least 1, got {line.quantity}")
    _check_rate(line.discount, f"{line.sku}: discount", upper=ONE)
    tier = applicable_tier(entry, line.quantity)
    unit_price = round_money(tier.unit_price if tier else entry.list_price, currency)
    discount = round_money(unit_price * line.quantity * line.discount, currency)
    return PricedLine(
        sku=line.sku,
        name=product.name,
        unit=product.unit,
        quantity=line.quantity,
        list_price=round_money(entry.list_price, currency),
        unit_price=unit_price,
        tier=tier,
        discount_rate=line.discount,
        discount_amount=discount,
        line_total=unit_price * line.quantity - discount,
        max_discount=product.max_discount,
    )


def applicable_tier(entry: PriceEntry, quantity: int) -> Tier | None:
    """The highest tier the quantity reaches; volume pricing applies it to every unit."""
    reached = [tier for tier in entry.tiers if quantity >= tier.min_qty]
    return reached[-1] if reached else None


def _lookup(sku: str, request: PricingRequest, catalog: Catalog) -> tuple[Product, PriceEntry]:
    product = catalog.product(sku)
    entry = catalog.price(sku, request.currency, request.segment)
    if product is None:
        raise PricingError(f"unknown SKU {sku!r}")
    if entry is None:
        raise PricingError(f"{sku} has no price in {request.currency}")
    return product, entry


def _check_rate(rate: Decimal, what: str, upper: Decimal | None) -> None:
    if not rate.is_finite() or rate < ZERO or (upper is not None and rate > upper):
        bound = f" and at most {upper}" if upper is not None else ""
        raise PricingError(f"{what} must be a fraction of at least 0{bound}, got {rate}")
