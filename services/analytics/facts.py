"""Facts the analytics folds read: small frozen values the wiring builds from events.

Pure data, never Avro or Faust events; every datetime must be timezone-aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, cast, get_args

Step = Literal[
    "captured",
    "scored",
    "qualified",
    "assigned",
    "contacted",
    "opportunity",
    "proposal",
    "won",
    "lost",
]
STEPS: tuple[Step, ...] = get_args(Step)

DealStatus = Literal["open", "won", "lost"]
ForecastCategory = Literal["pipeline", "best_case", "commit", "omitted"]
FORECAST_CATEGORIES: tuple[ForecastCategory, ...] = get_args(ForecastCategory)

NurtureKind = Literal["sent", "opened", "clicked", "replied", "unsubscribed", "bounced"]
NURTURE_KINDS: tuple[NurtureKind, ...] = get_args(NurtureKind)


def require_aware(value: datetime, name: str) -> None:
    """Reject naive datetimes: windows and latencies across zones would silently be wrong."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def require_member(value: str, allowed: tuple[str, ...], name: str) -> None:
    """Reject a value outside its closed set, naming it."""
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}")


@dataclass(frozen=True)
class LeadFact:
    """A lead reached a funnel step; "contacted" is the rep's first touch (email, task, call)."""

    event_id: str
    lead_id: str
    step: Step
    occurred_at: datetime
    source: str | None = None
    campaign: str | None = None
    territory: str | None = None
    rep_id: str | None = None
    grade: str | None = None

    def __post_init__(self) -> None:
        require_member(self.step, STEPS, "step")
        require_aware(self.occurred_at, "occurred_at")


@dataclass(frozen=True)
class DealFact:
    """A full snapshot of an opportunity after a change; amount in the deal's currency."""

    event_id: str
    opportunity_id: str
    occurred_at: datetime
    stage: str
    status: DealStatus
    amount: Decimal
    probability: Decimal
    forecast_category: ForecastCategory
    close_date: date
    rep_id: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.occurred_at, "occurred_at")
        require_member(self.status, get_args(DealStatus), "status")
        require_member(self.forecast_category, FORECAST_CATEGORIES, "forecast category")
        if self.amount < 0:
            raise ValueError(f"amount must not be negative, got {self.amount}")
        if not 0 <= self.probability <= 1:
            raise ValueError(f"probability must be within 0..1, got {self.probability}")


@dataclass(frozen=True)
class NurtureFact:
    """One nurture email outcome for a sequence step and variant."""

    event_id: str
    sequence_id: str
    step: int
    variant: str
    kind: NurtureKind
    occurred_at: datetime

    def __post_init__(self) -> None:
        require_member(self.kind, NURTURE_KINDS, "nurture kind")
        require_aware(self.occurred_at, "occurred_at")


def deal_to_dict(fact: DealFact) -> dict[str, Any]:
    """Plain form; amounts as strings and times as ISO 8601 so the round trip is exact."""
    return {
        "event_id": fact.event_id,
        "opportunity_id": fact.opportunity_id,
        "occurred_at": fact.occurred_at.isoformat(),
        "stage": fact.stage,
        "status": fact.status,
        "amount": str(fact.amount),
        "probability": str(fact.probability),
        "forecast_category": fact.forecast_category,
        "close_date": fact.close_date.isoformat(),
        "rep_id": fact.rep_id,
    }


def deal_from_dict(data: Mapping[str, Any]) -> DealFact:
    """Inverse of deal_to_dict."""
    return DealFact(
        event_id=data["event_id"],
        opportunity_id=data["opportunity_id"],
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        stage=data["stage"],
        status=cast(DealStatus, data["status"]),
        amount=Decimal(data["amount"]),
        probability=Decimal(data["probability"]),
        forecast_category=cast(ForecastCategory, data["forecast_category"]),
        close_date=date.fromisoformat(data["close_date"]),
        rep_id=data["rep_id"],
    )
