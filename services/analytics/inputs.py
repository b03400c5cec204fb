"""Decoded input records (plain dicts) to the facts the folds read, one mapping per record type.

Pure: no Avro library, no Faust; a record that cannot be read raises ValueError. To consume a
new record type, add one function and one entry to LEAD_INPUTS or DEAL_INPUTS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast, get_args

from services.analytics.facts import (
    FORECAST_CATEGORIES,
    DealFact,
    DealStatus,
    ForecastCategory,
    LeadFact,
    NurtureKind,
    Step,
)

Record = Mapping[str, Any]
# Engagement types that are outcomes of a nurture email.
OUTCOME_KINDS: Mapping[str, NurtureKind] = {
    "email_open": "opened",
    "email_click": "clicked",
    "email_reply": "replied",
    "unsubscribe": "unsubscribed",
    "email_bounce": "bounced",
}


@dataclass(frozen=True)
class SentEmail:
    """An email a lead received, remembered so its opens and clicks find their sequence step."""

    message_id: str
    sequence_id: str
    step: int
    variant: str


@dataclass(frozen=True)
class EmailOutcome:
    """An engagement that answers an email; message_id is None when upstream did not say which."""

    event_id: str
    kind: NurtureKind
    occurred_at: datetime
    message_id: str | None


@dataclass(frozen=True)
class LeadInput:
    """What one lead-keyed record says: funnel facts, an email sent, or an email outcome."""

    lead_id: str
    event_id: str
    occurred_at: datetime
    facts: tuple[LeadFact, ...] = ()
    sent: SentEmail | None = None
    outcome: EmailOutcome | None = None


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


def utc(value: Any, name: str) -> datetime:
    """A decoded timestamp as an aware UTC datetime; ValueError when it is not one."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a timestamp, got {value!r}")
    return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)


def _required(record: Record, name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is missing")
    return value


def _step(record: Record, step: Step, *, at: str = "occurred_at", **attrs: str | None) -> LeadFact:
    lead_id, event_id = _required(record, "lead_id"), _required(record, "event_id")
    return LeadFact(event_id, lead_id, step, utc(record[at], at), **attrs)


def _captured_too(record: Record) -> tuple[LeadFact, ...]:
    """Later steps carry the capture time: an explicit captured fact makes the latency known
    even when leads.captured was missed; its event id is derived so replays dedupe."""
    if record.get("captured_at") is None:
        return ()
    fact = _step(record, "captured", at="captured_at")
    return (LeadFact(f"{fact.event_id}:captured", fact.lead_id, "captured", fact.occurred_at),)


def _lead(record: Record, *facts: LeadFact, **extra: Any) -> LeadInput:
    at = utc(record["occurred_at"], "occurred_at")
    return LeadInput(_required(record, "lead_id"), _required(record, "event_id"), at, facts, **extra)


def from_captured(record: Record) -> LeadInput:
    """leads.captured: the lead entered the funnel, with source, campaign and territory."""
    fact = _step(
        record,
        "captured",
        at="captured_at",
        source=record.get("source"),
        campaign=record.get("utm_campaign"),
        territory=record.get("country"),
    )
    return _lead(record, fact)


def from_scored(record: Record) -> LeadInput:
    """leads.scored: the lead was scored, with its grade."""
    return _lead(record, _step(record, "scored", grade=record.get("grade")), *_captured_too(record))


def from_qualified(record: Record) -> LeadInput:
    """leads.qualified: the lead crossed the MQL threshold."""
    fact = _step(record, "qualified", grade=record.get("grade"), territory=record.get("country"))
    return _lead(record, fact, *_captured_too(record))


def from_assigned(record: Record) -> LeadInput:
    """leads.assigned: a rep (or a queue, rep None) got the lead; the grade sets its SLA."""
    fact = _step(record, "assigned", rep_id=record.get("rep_id"), grade=record.get("grade"))
    return _lead(record, fact, *_captured_too(record))


def from_email(record: Record) -> LeadInput:
    """email.outbound: a sent email is the lead's first touch and a nurture send."""
    if record.get("outcome") != "sent":
        return _lead(record)
    sent = SentEmail(
        _required(record, "message_id"),
        _required(record, "sequence_id"),
        int(record["step_index"]),
        _required(record, "variant"),
    )
    return _lead(record, _step(record, "contacted"), sent=sent)


def from_engagement(record: Record) -> LeadInput:
    """engagement.captured: opens, clicks, replies, unsubscribes and bounces; others say nothing."""
    kind = OUTCOME_KINDS.get(str(record.get("type")))
    if kind is None:
        return _lead(record)
    attributes = record.get("attributes") or {}
    at = utc(record["occurred_at"], "occurred_at")
    outcome = EmailOutcome(_required(record, "event_id"), kind, at, attributes.get("message_id"))
    return _lead(record, outcome=outcome)


LEAD_INPUTS: Mapping[str, Callable[[Record], LeadInput]] = {
    "leads.captured": from_captured,
    "leads.scored": from_scored,
    "leads.qualified": from_qualified,
    "leads.assigned": from_assigned,
    "email.outbound": from_email,
    "engagement.captured": from_engagement,
}


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
        return Decimal(_required(record, name))
    except InvalidOperation as exc:
        raise ValueError(f"{name} is not a decimal: {record[name]!r}") from exc


def from_opportunity(record: Record) -> DealInput:
    """opportunities.changed: the deal's full state after a change."""
    status = _required(record, "status")
    if status not in get_args(DealStatus):
        raise ValueError(f"unknown status {status!r}")
    at = utc(record["occurred_at"], "occurred_at")
    snapshot = DealFact(
        event_id=_required(record, "event_id"),
        opportunity_id=_required(record, "opportunity_id"),
        occurred_at=at,
        stage=_required(record, "stage"),
        status=cast(DealStatus, status),
        amount=_decimal(record, "amount"),
        probability=_decimal(record, "probability"),
        forecast_category=forecast_category(_required(record, "forecast_category"), status),
        close_date=date.fromisoformat(_required(record, "close_date")),
        rep_id=record.get("owner_id") or None,
    )
    closed = record.get("closed_at")
    return DealInput(
        snapshot.opportunity_id,
        snapshot.event_id,
        at,
        snapshot,
        lead_id=record.get("lead_id"),
        created_at=utc(record.get("created_at", at), "created_at"),
        closed_at=None if closed is None else utc(closed, "closed_at"),
    )


def from_proposal(record: Record) -> DealInput:
    """proposals.generated: the deal reached the proposal step."""
    at = utc(record["occurred_at"], "occurred_at")
    return DealInput(_required(record, "opportunity_id"), _required(record, "event_id"), at, proposal=True)


DEAL_INPUTS: Mapping[str, Callable[[Record], DealInput]] = {
    "opportunities.changed": from_opportunity,
    "proposals.generated": from_proposal,
}
