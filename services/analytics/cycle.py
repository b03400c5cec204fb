"""Cycle time: days from opportunity open to close and time in each stage, won and lost apart.

Pure: contributions of one deal record and views over tallies; no Faust, no clock.
Durations are summed in whole microseconds so totals are exact in any order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from services.analytics.deals import (
    DealRecord,
    Outcome,
    closed_at,
    outcome,
    stage_durations,
)
from services.analytics.tally import EMPTY, Key, Number, Tally, select, tally_of

MICROS = timedelta(microseconds=1)
MICROS_PER_DAY = Decimal(86_400_000_000)


def cycle_contribution(record: DealRecord | None) -> Tally:
    """A closed deal's cycle and stage times under its outcome; nothing while open."""
    final = None if record is None else outcome(record)
    end = None if record is None else closed_at(record)
    if record is None or final is None or end is None:
        return EMPTY
    entries: list[tuple[Key, Number]] = [
        (("cycle", final, "deals"), 1),
        (("cycle", final, "total_us"), (end - record.opened_at) // MICROS),
    ]
    for stage, spent in stage_durations(record).items():
        entries.append((("cycle", final, "stage_deals", stage), 1))
        entries.append((("cycle", final, "stage_us", stage), spent // MICROS))
    return tally_of(entries)


@dataclass(frozen=True)
class CycleStats:
    """Averages in days for one outcome; None when no deal closed that way."""

    outcome: Outcome
    deals: int
    average_days: Decimal | None
    stage_average_days: Mapping[str, Decimal]


def cycle_stats(tally: Tally, final: Outcome) -> CycleStats:
    """Average cycle and per-stage days for deals closed with the given outcome."""
    deals = tally.count(("cycle", final, "deals"))
    total = tally.amount(("cycle", final, "total_us"))
    counted = select(tally, ("cycle", final, "stage_deals"))
    stages = {
        key[0]: tally.amount(("cycle", final, "stage_us", key[0])) / n / MICROS_PER_DAY for key, n in counted.items()
    }
    average = total / deals / MICROS_PER_DAY if deals else None
    return CycleStats(final, deals, average, stages)
