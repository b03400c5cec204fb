"""Tests of catalog loading and validation."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from services.proposal.catalog import CatalogError, parse_catalog
from services.proposal.tests.samples import CATALOG

VALID = """
currencies:
  - {code: USD, minor_units: 2, symbol: "$"}
  - {code: JPY, minor_units: 0, symbol: "¥"}
products:
  - {sku: A, name: Seat, unit: user / year, max_discount: "0.2"}
price_books:
  - currency: USD
    prices:
      A: {list: "100.00", tiers: [{min_qty: 10, price: "90.00"}]}
  - currency: JPY
    prices:
      A: {list: 15000}
"""


def test_shipped_catalog_prices_every_product_in_every_currency() -> None:
    """Every shipped product has a default price in USD, EUR, GBP and JPY."""
    assert {c.code for c in CATALOG.currencies} == {"USD", "EUR", "GBP", "JPY"}
    for product in CATALOG.products:
        for currency in ("USD", "EUR", "GBP", "JPY"):
            assert CATALOG.price(product.sku, currency) is not None, (product.sku, currency)


def test_yen_has_no_minor_unit() -> None:
    """JPY amounts carry no decimals."""
    yen = CATALOG.currency("JPY")
    assert yen is not None and yen.minor_units == 0


def test_segment_book_overrides_only_the_skus_it_lists() -> None:
    """The enterprise book prices its SKUs; other SKUs fall back to the default book."""
    enterprise = CATALOG.price("SF-CRM-ENT", "USD", "enterprise")
    default = CATALOG.price("SF-CRM-ENT", "USD")
    assert enterprise is not None and default is not None
    assert enterprise.list_price < default.list_price
    assert CATALOG.price("SF-CRM-STD", "USD", "enterprise") == CATALOG.price("SF-CRM-STD", "USD")


def test_parses_prices_as_exact_decimals() -> None:
    """Prices, tiers and bands become Decimals with the digits written."""
    catalog = parse_catalog(VALID)
    entry = catalog.price("A", "USD")
    assert entry is not None
    assert entry.list_price == Decimal("100.00")
    assert entry.tiers[0].min_qty == 10 and entry.tiers[0].unit_price == Decimal("90.00")
    product = catalog.product("A")
    assert product is not None and product.max_discount == Decimal("0.2")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("A: {list: 15000}", 'A: {list: "15000.5"}', "at most 0 decimals"),
        ('list: "100.00"', 'list: "100.001"', "at most 2 decimals"),
        ('list: "100.00"', 'list: "-1"', ">= 0"),
        ('max_discount: "0.2"', 'max_discount: "1.5"', "max_discount"),
        ('price: "90.00"', 'price: "110.00"', "tiers must ascend"),
        ("min_qty: 10", "min_qty: 1", "min_qty"),
        ("  - currency: JPY", "  - currency: CHF", "'CHF' is not among the currencies"),
        ("      A: {list: 15000}", "      B: {list: 15000}", "unknown SKU"),
        ("unit: user / year, ", "", "unit must be a non-empty string"),
        ("code: JPY", "code: USD", "duplicates USD"),
        ('list: "100.00"', "list: [1]", "must be a number"),
        ('list: "100.00"', 'list: "abc"', "must be a number"),
    ],
)
def test_rejects_invalid_catalogs(old: str, new: str, message: str) -> None:
    """A malformed or inconsistent catalog raises CatalogError naming the problem."""
    assert old in VALID
    with pytest.raises(CatalogError, match=re.escape(message)):
        parse_catalog(VALID.replace(old, new))


def test_rejects_text_that_is_not_yaml() -> None:
    """Broken YAML is a CatalogError, not a parser exception."""
    with pytest.raises(CatalogError, match="not valid YAML"):
        parse_catalog("products: [unclosed")


def test_rejects_a_catalog_without_products() -> None:
    """An empty products list is refused."""
    with pytest.raises(CatalogError, match="products must be a non-empty list"):
        parse_catalog(VALID.replace("products:\n  - {sku: A", "products: []\nx:\n  - {sku: A"))
