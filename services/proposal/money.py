"""Currencies and exact money arithmetic: rounding to the minor unit and display.

Amounts are always `Decimal`; a float never enters here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Currency:
    """An ISO 4217 currency with its minor unit (2 for cents, 0 for yen) and symbol."""

    code: str
    minor_units: int
    symbol: str

    @property
    def quantum(self) -> Decimal:
        """The smallest amount this currency can express, e.g. 0.01 or 1."""
        return Decimal(1).scaleb(-self.minor_units)


def round_money(amount: Decimal, currency: Currency) -> Decimal:
    """Round half up (away from zero on a tie) to the currency's minor unit."""
    return amount.quantize(currency.quantum, rounding=ROUND_HALF_UP)


def is_rounded(amount: Decimal, currency: Currency) -> bool:
    """Whether the amount has no digits below the currency's minor unit."""
    return round_money(amount, currency) == amount


def format_money(amount: Decimal, currency: Currency) -> str:
    """Display an amount as symbol, thousands separators and the minor unit: -$1,234.50."""
    rounded = round_money(amount, currency)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{currency.symbol}{abs(rounded):,.{currency.minor_units}f}"


def format_rate(rate: Decimal) -> str:
    """Display a fraction as a percentage without trailing zeros: 0.125 -> 12.5%."""
    percent = (rate * 100).normalize()
    # normalize() turns 10 into 1E+1; the fixed-point format undoes the exponent.
    return f"{percent:f}%"
