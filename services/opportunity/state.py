"""One opportunity's state and what is read off it: expected revenue, time in stage.

Pure values: times are timezone-aware datetimes from the caller, never read here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.opportunity.pipeline import Stage, StageType

CENTS = Decimal("0.01")


class OpportunityStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


_STATUS_OF = {
    StageType.OPEN: OpportunityStatus.OPEN,
    StageType.WON: OpportunityStatus.WON,
    StageType.LOST: OpportunityStatus.LOST,
}


@dataclass(frozen=True)
class StageVisit:
    """One stay in a stage; exited_at is None for the stage the deal is in now."""

    stage: str
    entered_at: datetime
    exited_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Opportunity:
    """A deal as the stage machine keeps it; change it only through apply_command.

    version counts the applied commands that changed something; applied_command_ids
    holds the most recent command ids (for idempotency); alerted holds the alert
    conditions already reported (one key per alert kind).
    """

    opportunity_id: str
    pipeline: str
    account_id: str
    owner_id: str
    lead_id: str | None
    currency: str
    amount: Decimal
    probability: Decimal
    close_date: date
    next_step: str | None
    stage: str
    status: OpportunityStatus
    lost_reason: str | None
    stage_history: tuple[StageVisit, ...]
    activity_count: int
    last_activity_at: datetime | None
    push_count: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int
    applied_command_ids: tuple[str, ...]
    alerted: tuple[str, ...]

    @property
    def expected_revenue(self) -> Decimal:
        """amount * probability, rounded half-up to 2 places."""
        return (self.amount * self.probability).quantize(CENTS, rounding=ROUND_HALF_UP)

    @property
    def is_open(self) -> bool:
        return self.status is OpportunityStatus.OPEN

    @property
    def stage_entered_at(self) -> datetime:
        return self.stage_history[-1].entered_at

    @property
    def last_touched_at(self) -> datetime:
        """The later of stage entry and last activity: stalls count from it."""
        if self.last_activity_at is None:
            return self.stage_entered_at
        return max(self.stage_entered_at, self.last_activity_at)


def time_in_stage(state: Opportunity, now: datetime) -> dict[str, timedelta]:
    """Total time spent in each visited stage, the current stay counted up to now.

    A stage visited twice (after moving backwards) sums both stays; a stay never counts
    negative, even if now lags behind a recorded time.
    """
    totals: dict[str, timedelta] = {}
    for visit in state.stage_history:
        spent = max((visit.exited_at or now) - visit.entered_at, timedelta(0))
        totals[visit.stage] = totals.get(visit.stage, timedelta(0)) + spent
    return totals


def enter_stage(state: Opportunity, stage: Stage, now: datetime) -> Opportunity:
    """Leave the current stage at now and enter stage, with its default probability."""
    history = (
        *state.stage_history[:-1],
        replace(state.stage_history[-1], exited_at=now),
    )
    return replace(
        state,
        stage=stage.name,
        probability=stage.probability,
        status=_STATUS_OF[stage.type],
        stage_history=(*history, StageVisit(stage.name, now)),
    )
