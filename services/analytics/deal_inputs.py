"""Decoded deal-keyed records (plain dicts) to the inputs the deal folds read, one mapping per
record type. Pure, like inputs.py: a record that cannot be read raises ValueError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import cast, get_args

from services.analytics.facts import FORECAST_CATEGORIES, DealFact, DealStatus, ForecastCategory
from services.analytics.inputs import Record, required, utc


@dataclass(frozen=True)
class DealInput:
    """What one deal-keyed record says: a full snapshot, or that a proposal went out."""

    opportunity_id: str
    event_id: str
    occurred_at: datetime
    snapshot: DealFact | None = None
    lead_id: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    proposal: bool = False
    activity_at: datetime | None = None


def forecast_category(text: str, status: str) -> ForecastCategory:
    """Opportunity's "Best Case" as best_case; "Closed" carries no category of its own."""
    name = text.strip().lower().replace(" ", "_")
    if name == "closed":
        return "omitted" if status == "lost" else "commit"
    if name not in FORECAST_CATEGORIES:
        raise ValueError(f"unknown forecast category {text!r}")
    return name


def _decimal(record: Record, name: str) -> Decimal:
    try:
        return Decimal(required(record, name))
    except InvalidOperation as exc:
        raise ValueError(f"{name} is not a decimal: {record[name]!r}") from exc


def from_opportunity(record: Record) -> DealInput:
    """opportunities.changed: the deal's full state after a change."""
    status = required(record, "status")
    if status not in get_args(DealStatus):
        raise ValueError(f"unknown status {status!r}")
    at = utc(record["occurred_at"], "occurred_at")
    snapshot = DealFact(
        event_id=required(record, "event_id"),
        opportunity_id=required(record, "opportunity_id"),
        occurred_at=at,
        stage=required(record, "stage"),
        status=cast(DealStatus, status),
        amount=_decimal(record, "amount"),
        probability=_decimal(record, "probability"),
        forecast_category=forecast_category(required(record, "forecast_category"), status),
        close_date=date.fromisoformat(required(record, "close_date")),
        rep_id=record.get("owner_id") or None,
    )
    closed, activity = record.get("closed_at"), record.get("last_activity_at")
    return DealInput(
        snapshot.opportunity_id,
        snapshot.event_id,
        at,
        snapshot,
        lead_id=record.get("lead_id"),
        created_at=utc(record.get("created_at", at), "created_at"),
        closed_at=None if closed is None else utc(closed, "closed_at"),
        activity_at=None if activity is None else utc(activity, "last_activity_at"),
    )


def from_proposal(record: Record) -> DealInput:
    """proposals.generated: the deal reached the proposal step."""
    at = utc(record["occurred_at"], "occurred_at")
    return DealInput(required(record, "opportunity_id"), required(record, "event_id"), at, proposal=True)


DEAL_INPUTS: Mapping[str, Callable[[Record], DealInput]] = {
    "opportunities.changed": from_opportunity,
    "proposals.generated": from_proposal,
}
