"""Decoded input records (plain dicts) to the facts the folds read, one mapping per record type.

Pure: no Avro library, no Faust; a record that cannot be read raises ValueError. To consume a
new record type, add one function and one entry to LEAD_INPUTS (deal records: deal_inputs.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.analytics.facts import LeadFact, NurtureKind, Step

Record = Mapping[str, Any]
# Engagement types that are outcomes of a nurture email.
OUTCOME_KINDS: Mapping[str, NurtureKind] = {
    "email_open": "opened",
    "email_click": "clicked",
    "email_reply": "replied",
    "unsubscribe": "unsubscribed",
    "email_bounce": "bounced",
}
# Engagement types that are the rep's own touch of the lead.
TOUCH_TYPES = frozenset({"call_logged", "task_completed"})


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
class EnrolmentChange:
    """A change to a lead's enrolment in a sequence (enrolled, paused, exited, ...) and why."""

    sequence_id: str
    change: str
    reason: str | None = None


@dataclass(frozen=True)
class LeadInput:
    """What one lead-keyed record says: funnel facts, an email sent, an email outcome, or an
    enrolment change."""

    lead_id: str
    event_id: str
    occurred_at: datetime
    facts: tuple[LeadFact, ...] = ()
    sent: SentEmail | None = None
    outcome: EmailOutcome | None = None
    enrolment: EnrolmentChange | None = None


def utc(value: Any, name: str) -> datetime:
    """A decoded timestamp as an aware UTC datetime; ValueError when it is not one."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a timestamp, got {value!r}")
    return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)


def required(record: Record, name: str) -> str:
    """A non-empty string field; ValueError names it when missing."""
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is missing")
    return value


def _step(record: Record, step: Step, *, at: str = "occurred_at", **attrs: str | None) -> LeadFact:
    lead_id, event_id = required(record, "lead_id"), required(record, "event_id")
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
    return LeadInput(required(record, "lead_id"), required(record, "event_id"), at, facts, **extra)


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
        required(record, "message_id"),
        required(record, "sequence_id"),
        int(record["step_index"]),
        required(record, "variant"),
    )
    return _lead(record, _step(record, "contacted"), sent=sent)


def from_engagement(record: Record) -> LeadInput:
    """engagement.captured: opens, clicks, replies, unsubscribes and bounces; a call logged or a
    task completed is a first touch; others say nothing."""
    kind = OUTCOME_KINDS.get(str(record.get("type")))
    if kind is None:
        return _lead(record, *from_engagement_touch(record))
    attributes = record.get("attributes") or {}
    at = utc(record["occurred_at"], "occurred_at")
    outcome = EmailOutcome(required(record, "event_id"), kind, at, attributes.get("message_id"))
    return _lead(record, outcome=outcome)


def from_enrolment(record: Record) -> LeadInput:
    """nurture.enrolments: a lead enrolled in, paused, resumed, exited or completed a sequence."""
    change = EnrolmentChange(required(record, "sequence_id"), required(record, "change"), record.get("reason"))
    return _lead(record, enrolment=change)


def from_engagement_touch(record: Record) -> tuple[LeadFact, ...]:
    """A rep's call logged or task completed is a first touch too."""
    if record.get("type") not in TOUCH_TYPES:
        return ()
    return (_step(record, "contacted"),)


LEAD_INPUTS: Mapping[str, Callable[[Record], LeadInput]] = {
    "leads.captured": from_captured,
    "leads.scored": from_scored,
    "leads.qualified": from_qualified,
    "leads.assigned": from_assigned,
    "email.outbound": from_email,
    "engagement.captured": from_engagement,
    "nurture.enrolments": from_enrolment,
}
