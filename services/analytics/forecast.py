"""Forecast: open pipeline by category and close period (raw and weighted), won to date, and a
run-rate projection. Pure: Decimal amounts, `now` is an argument; no Faust, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from services.analytics.deals import DealRecord
from services.analytics.facts import FORECAST_CATEGORIES, ForecastCategory
from services.analytics.tally import EMPTY, Tally, tally_of

CENTS = Decimal("0.01")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class Period:
    """A close period: a month ("2026-10") or a quarter ("2026-Q4"); end is exclusive."""

    label: str
    start: date
    end: date


def _months_later(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_of(day: date) -> Period:
    """The calendar month holding day."""
    start = day.replace(day=1)
    return Period(f"{day.year}-{day.month:02d}", start, _months_later(start, 1))


def quarter_of(day: date) -> Period:
    """The calendar quarter holding day."""
    quarter = (day.month - 1) // 3 + 1
    start = date(day.year, 3 * quarter - 2, 1)
    return Period(f"{day.year}-Q{quarter}", start, _months_later(start, 3))


def parse_period(label: str) -> Period:
    """Read "2026-10" or "2026-Q4"; ValueError for anything else."""
    if match := _MONTH.match(label):
        return month_of(date(int(match[1]), int(match[2]), 1))
    if match := _QUARTER.match(label):
        return quarter_of(date(int(match[1]), 3 * int(match[2]), 1))
    raise ValueError(f"period must look like 2026-10 or 2026-Q4, got {label!r}")


def forecast_contribution(record: DealRecord | None) -> Tally:
    """An open deal's raw and weighted amount, or a won deal's amount, in both its close month
    and its close quarter; a lost deal adds nothing.
    """
    if record is None or record.latest.status == "lost":
        return EMPTY
    deal = record.latest
    labels = (month_of(deal.close_date).label, quarter_of(deal.close_date).label)
    if deal.status == "won":
        return tally_of((("forecast", "won", label), deal.amount) for label in labels)
    weighted = deal.amount * deal.probability
    return tally_of(
        pair
        for label in labels
        for pair in (
            (("forecast", "open", label, deal.forecast_category, "raw"), deal.amount),
            (("forecast", "open", label, deal.forecast_category, "weighted"), weighted),
        )
    )


@dataclass(frozen=True)
class Forecast:
    """Open pipeline per category, raw and weighted, and won to date, for one period."""

    period: Period
    raw: Mapping[ForecastCategory, Decimal]
    weighted: Mapping[ForecastCategory, Decimal]
    won: Decimal

    @property
    def raw_total(self) -> Decimal:
        """All open pipeline closing in the period."""
        return sum(self.raw.values(), Decimal(0))

    @property
    def weighted_total(self) -> Decimal:
        """All open pipeline closing in the period, each deal times its probability."""
        return sum(self.weighted.values(), Decimal(0))


def forecast_for(tally: Tally, period: Period) -> Forecast:
    """Read one period's forecast out of a tally."""

    def amounts(kind: str) -> dict[ForecastCategory, Decimal]:
        return {c: tally.amount(("forecast", "open", period.label, c, kind)) for c in FORECAST_CATEGORIES}

    won = tally.amount(("forecast", "won", period.label))
    return Forecast(period, amounts("raw"), amounts("weighted"), won)


def run_rate(won: Decimal, period: Period, now: datetime) -> Decimal:
    """Won so far scaled to the whole period at the pace so far, to the cent.

    Before the period starts there is no pace, so the answer is what is won; after it ends
    the answer is what was won.
    """
    start = datetime.combine(period.start, time(), UTC)
    length = datetime.combine(period.end, time(), UTC) - start
    elapsed = min(max(now - start, timedelta(0)), length)
    if not elapsed:
        return won.quantize(CENTS)
    return (won * Decimal(length.total_seconds()) / Decimal(elapsed.total_seconds())).quantize(CENTS)
