"""The product catalog and price books, parsed and validated from YAML into frozen values.

Validation is all-or-nothing at start-up: a bad file raises `CatalogError` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml

from services.proposal.money import Currency, is_rounded

T = TypeVar("T")


class CatalogError(ValueError):
    """The catalog file is malformed or inconsistent; the message names the field."""


@dataclass(frozen=True)
class Product:
    """A sellable item; `max_discount` is the widest discount fraction allowed without approval."""

    sku: str
    name: str
    unit: str
    max_discount: Decimal


@dataclass(frozen=True)
class Tier:
    """Volume pricing: from `min_qty` units on, every unit of the line costs `unit_price`."""

    min_qty: int
    unit_price: Decimal


@dataclass(frozen=True)
class PriceEntry:
    """One product's list price in one price book, with its tiers by ascending `min_qty`."""

    sku: str
    list_price: Decimal
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True)
class PriceBook:
    """Prices in one currency; `segment` None is the currency's default book."""

    currency: str
    segment: str | None
    entries: tuple[PriceEntry, ...]

    def entry(self, sku: str) -> PriceEntry | None:
        return next((e for e in self.entries if e.sku == sku), None)


@dataclass(frozen=True)
class Catalog:
    """Currencies, products and price books, cross-checked against each other."""

    currencies: tuple[Currency, ...]
    products: tuple[Product, ...]
    price_books: tuple[PriceBook, ...]

    def currency(self, code: str) -> Currency | None:
        return next((c for c in self.currencies if c.code == code), None)

    def product(self, sku: str) -> Product | None:
        return next((p for p in self.products if p.sku == sku), None)

    def price(self, sku: str, currency: str, segment: str | None = None) -> PriceEntry | None:
        """The segment's price if its book lists the SKU, else the currency's default price."""
        for book in (self._book(currency, segment), self._book(currency, None)):
            found = book.entry(sku) if book else None
            if found:
                return found
        return None

    def _book(self, currency: str, segment: str | None) -> PriceBook | None:
        matches = (b for b in self.price_books if (b.currency, b.segment) == (currency, segment))
        return next(matches, None)


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog file."""
    return parse_catalog(path.read_text(encoding="utf-8"))


def parse_catalog(text: str) -> Catalog:
    """Validate catalog YAML (see catalog.yaml for the format) into a `Catalog`."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CatalogError(f"catalog is not valid YAML: {error}") from error
    root = _mapping(raw, "catalog")
    currencies = _unique(
        [_currency(c, f"currencies[{i}]") for i, c in enumerate(_list(root, "currencies"))],
        lambda c: c.code,
        "currencies",
    )
    products = _unique(
        [_product(p, f"products[{i}]") for i, p in enumerate(_list(root, "products"))], lambda p: p.sku, "products"
    )
    books = _unique(
        [_book(b, f"price_books[{i}]", currencies, products) for i, b in enumerate(_list(root, "price_books"))],
        lambda b: (b.currency, b.segment),
        "price_books",
    )
    return Catalog(tuple(currencies), tuple(products), tuple(books))


def _currency(raw: object, where: str) -> Currency:
    item = _mapping(raw, where)
    minor_units = _int(item, "minor_units", where, minimum=0)
    return Currency(_text(item, "code", where), minor_units, _text(item, "symbol", where))


def _product(raw: object, where: str) -> Product:
    item = _mapping(raw, where)
    max_discount = _decimal(item.get("max_discount"), f"{where}.max_discount")
    if not Decimal(0) <= max_discount <= Decimal(1):
        raise CatalogError(f"{where}.max_discount must be a fraction between 0 and 1")
    return Product(_text(item, "sku", where), _text(item, "name", where), _text(item, "unit", where), max_discount)


def _book(raw: object, where: str, currencies: list[Currency], products: list[Product]) -> PriceBook:
    item = _mapping(raw, where)
    code = _text(item, "currency", where)
    currency = next((c for c in currencies if c.code == code), None)
    if currency is None:
        raise CatalogError(f"{where}.currency {code!r} is not among the currencies")
    segment = _text(item, "segment", where) if "segment" in item else None
    prices = _mapping(item.get("prices"), f"{where}.prices")
    known = {p.sku for p in products}
    entries = tuple(_entry(str(sku), value, f"{where}.prices.{sku}", currency, known) for sku, value in prices.items())
    return PriceBook(code, segment, entries)


def _entry(sku: str, raw: object, where: str, currency: Currency, known: set[str]) -> PriceEntry:
    if sku not in known:
        raise CatalogError(f"{where}: unknown SKU")
    item = _mapping(raw, where)
    list_price = _amount(item.get("list"), f"{where}.list", currency)
    tiers = tuple(_tier(t, f"{where}.tiers[{i}]", currency) for i, t in enumerate(item.get("tiers") or ()))
    _check_tiers(tiers, list_price, where)
    return PriceEntry(sku, list_price, tiers)


def _tier(raw: object, where: str, currency: Currency) -> Tier:
    item = _mapping(raw, where)
    return Tier(_int(item, "min_qty", where, minimum=2), _amount(item.get("price"), f"{where}.price", currency))


def _check_tiers(tiers: tuple[Tier, ...], list_price: Decimal, where: str) -> None:
    """Tiers are volume discounts: ascending quantities, never dearer than the tier below."""
    previous = Tier(1, list_price)
    for tier in tiers:
        if tier.min_qty <= previous.min_qty or tier.unit_price > previous.unit_price:
            raise CatalogError(f"{where}.tiers must ascend in min_qty and not rise in price")
        previous = tier


def _amount(raw: object, where: str, currency: Currency) -> Decimal:
    amount = _decimal(raw, where)
    if amount < 0 or not is_rounded(amount, currency):
        raise CatalogError(f"{where} must be >= 0 with at most {currency.minor_units} decimals ({currency.code})")
    return amount


def _decimal(raw: object, where: str) -> Decimal:
    # A YAML float such as 49.99 goes through str() so the digits written are the digits kept.
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise CatalogError(f"{where} must be a number, got {raw!r}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as error:
        raise CatalogError(f"{where} must be a number, got {raw!r}") from error
    if not value.is_finite():
        raise CatalogError(f"{where} must be finite")
    return value


def _int(item: Mapping[str, Any], key: str, where: str, minimum: int) -> int:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CatalogError(f"{where}.{key} must be an integer >= {minimum}")
    return value


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}.{key} must be a non-empty string")
    return value


def _mapping(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where} must be a mapping")
    return raw


def _list(item: Mapping[str, Any], key: str) -> list[Any]:
    value = item.get(key)
    if not isinstance(value, list) or not value:
        raise CatalogError(f"{key} must be a non-empty list")
    return value


def _unique(items: list[T], key: Callable[[T], object], where: str) -> list[T]:
    seen = [key(i) for i in items]
    duplicates = sorted({str(k) for k in seen if seen.count(k) > 1})
    if duplicates:
        raise CatalogError(f"{where}: duplicates {', '.join(duplicates)}")
    return items
