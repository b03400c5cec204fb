"""Open pipeline by stage: how many deals sit in each stage and their amount.

Pure contributions and views; no Faust, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.analytics.deals import DealRecord
from services.analytics.tally import EMPTY, Tally, select, tally_of


def stage_contribution(record: DealRecord | None) -> Tally:
    """An open deal counts in its current stage with its amount; a closed deal adds nothing."""
    if record is None or record.latest.status != "open":
        return EMPTY
    stage = record.latest.stage
    return tally_of([(("pipeline", stage, "deals"), 1), (("pipeline", stage, "amount"), record.latest.amount)])


@dataclass(frozen=True)
class StageLoad:
    """Open deals in one stage and their summed amount."""

    stage: str
    deals: int
    amount: Decimal


def pipeline_by_stage(tally: Tally) -> list[StageLoad]:
    """Every stage holding an open deal, by name."""
    stages = sorted({key[0] for key in select(tally, ("pipeline",))})
    return [
        StageLoad(s, tally.count(("pipeline", s, "deals")), tally.amount(("pipeline", s, "amount"))) for s in stages
    ]
