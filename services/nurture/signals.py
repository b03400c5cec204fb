"""The rules that turn incoming events into enrolment decisions and suppression flags.

Pure: event fields and the lead's record in, a decision out; no I/O and no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from services.nurture.enrolment import Signal, SignalKind, Transition, apply_signal, enrol
from services.nurture.leads import LeadRecord
from services.nurture.sequences import Sequence
from services.nurture.state import EnrolmentChanged

SuppressionFlag = Literal["unsubscribed", "hard_bounced", "complained", "erased"]
OUT_OF_OFFICE_ATTRIBUTE = "out_of_office_until"
_SIGNALS: frozenset[str] = frozenset(get_args(SignalKind))


def _instant(text: str) -> datetime | None:
    """An ISO 8601 date or datetime as UTC; a bare date means its start (UTC); junk means None."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) <= len("2025-01-31"):
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)


def is_hard_bounce(attributes: Mapping[str, str]) -> bool:
    """Hard unless marked soft (`bounce_type`) or given a 4.x.x transient status (`status`)."""
    soft = attributes.get("bounce_type", "").lower() == "soft"
    return not (soft or attributes.get("status", "").startswith("4"))


def signal_for(event_type: str, attributes: Mapping[str, str]) -> Signal | None:
    """The state-machine signal of an engagement event, or None when it concerns no enrolment."""
    if event_type not in _SIGNALS or is_cancellation(event_type, attributes):
        return None
    until = _instant(attributes.get(OUT_OF_OFFICE_ATTRIBUTE, ""))
    return Signal(
        event_type,  # type: ignore[arg-type]
        hard=event_type == "email_bounce" and is_hard_bounce(attributes),
        out_of_office_until=until if event_type == "email_reply" else None,
    )


def is_cancellation(event_type: str, attributes: Mapping[str, str]) -> bool:
    """A meeting_booked event that cancels the meeting: it ends nothing, it withdraws reminders."""
    return event_type == "meeting_booked" and attributes.get("status", "").lower() == "cancelled"


def onboarding_lead(change: Mapping[str, Any]) -> str | None:
    """The lead to onboard when an OpportunityChanged closes a deal won; None for any other change.

    Only the change that made the deal won counts (status among the changed fields), so later
    edits of a won deal do not start onboarding again.
    """
    won = change.get("status") == "won" and "status" in change.get("changed", ())
    lead_id = change.get("lead_id")
    return lead_id if won and isinstance(lead_id, str) and lead_id else None


def suppression_for(event_type: str, attributes: Mapping[str, str]) -> SuppressionFlag | None:
    """The suppression-list flag an engagement event sets, if any (a soft bounce sets none)."""
    if event_type == "email_bounce":
        return "hard_bounced" if is_hard_bounce(attributes) else None
    flags: Mapping[str, SuppressionFlag] = {"unsubscribe": "unsubscribed", "spam_complaint": "complained"}
    return flags.get(event_type)


def on_assignment(
    record: LeadRecord,
    rep_id: str,
    sequence: Sequence,
    now: datetime,
    tz: ZoneInfo,
) -> Transition:
    """Enrol the lead in the rep's sequence; a different rep first ends the previous rep's sequence."""
    enrolments = record.enrolments
    changes: tuple[EnrolmentChanged, ...] = ()
    if record.rep_id is not None and record.rep_id != rep_id:
        handover = apply_signal(enrolments, Signal("lead_reassigned"), now, {}, tz)
        enrolments, changes = handover.state, handover.changes
    enrolled = enrol(enrolments, sequence, now, tz)
    return replace(enrolled, changes=(*changes, *enrolled.changes))


def wants_marketing(record: LeadRecord, sequence_id: str, score: int, threshold: int) -> bool:
    """A lead scored below MQL enters the marketing track once in its life, and only with consent.

    Every score change re-sends leads.scored; enrolling only a lead never in the track keeps a
    completed or exited track from starting over.
    """
    consent = record.profile is not None and record.profile.marketing_consent
    ever = any(e.sequence_id == sequence_id for e in record.enrolments.enrolments)
    return score < threshold and consent and not ever
