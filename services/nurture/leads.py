"""What nurture keeps per lead (profile, rep, enrolments, recent sends) and the template context.

Pure: the value stored per lead_id in the table; no I/O, no clock (`now` is passed in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.nurture.bookings import meeting_from_dict, meeting_to_dict
from services.nurture.meetings import Meeting
from services.nurture.state import LeadEnrolments
from services.nurture.timezones import resolve_timezone

# Sends older than this cannot affect any cap we accept ("N/week" is the longest period).
SEND_HISTORY = timedelta(weeks=1)


@dataclass(frozen=True)
class LeadProfile:
    """The facts about a lead that templates and the send window need; all optional but email."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    country: str | None = None
    region: str | None = None
    marketing_consent: bool = False
    timezone: str | None = None


@dataclass(frozen=True)
class RepContact:
    """The assigned rep as the templates see them; emails of a rep sequence go out as this rep."""

    rep_id: str
    name: str
    email: str
    timezone: str = "UTC"
    calendar_url: str = ""


@dataclass(frozen=True)
class LeadRecord:
    """One lead's table value: `assignment_event_id` makes a redelivered assignment a no-op."""

    lead_id: str
    profile: LeadProfile | None = None
    rep_id: str | None = None
    assignment_event_id: str | None = None
    enrolments: LeadEnrolments = field(default_factory=lambda: LeadEnrolments(""))
    sent: tuple[datetime, ...] = ()
    meetings: tuple[Meeting, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; send instants as UTC ISO 8601 strings."""
        return {
            "lead_id": self.lead_id,
            "profile": None if self.profile is None else self.profile.__dict__.copy(),
            "rep_id": self.rep_id,
            "assignment_event_id": self.assignment_event_id,
            "enrolments": self.enrolments.to_dict()["enrolments"],
            "sent": [moment.astimezone(UTC).isoformat() for moment in self.sent],
            "meetings": [meeting_to_dict(meeting) for meeting in self.meetings],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LeadRecord:
        """Inverse of to_dict."""
        profile = raw.get("profile")
        return cls(
            raw["lead_id"],
            None if profile is None else LeadProfile(**profile),
            raw.get("rep_id"),
            raw.get("assignment_event_id"),
            LeadEnrolments.from_dict({"lead_id": raw["lead_id"], "enrolments": raw.get("enrolments", [])}),
            tuple(datetime.fromisoformat(moment) for moment in raw.get("sent", ())),
            tuple(meeting_from_dict(meeting) for meeting in raw.get("meetings", ())),
        )


def new_record(lead_id: str) -> LeadRecord:
    """The record of a lead nurture has not seen yet."""
    return LeadRecord(lead_id, enrolments=LeadEnrolments(lead_id))


def record_to_store(record: LeadRecord, current: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The record as the table should hold it, or None when the table (`current`) already does.

    An erased or unknown lead's empty record is never written: erasure must not come back.
    """
    stored = record.to_dict()
    if current == stored or (current is None and stored == new_record(record.lead_id).to_dict()):
        return None
    return stored


def profile_from_captured(lead: Mapping[str, Any]) -> LeadProfile:
    """The profile from a LeadCaptured record (as a decoded dict)."""
    attributes = lead.get("attributes") or {}
    return LeadProfile(
        email=lead["email"],
        first_name=lead.get("first_name"),
        last_name=lead.get("last_name"),
        company=lead.get("company"),
        title=lead.get("job_title"),
        country=lead.get("country"),
        region=lead.get("region"),
        marketing_consent=bool(lead.get("marketing_consent")),
        timezone=attributes.get("timezone"),
    )


def record_send(record: LeadRecord, at: datetime) -> LeadRecord:
    """The record with one more email sent at `at`; sends older than SEND_HISTORY are dropped."""
    kept = tuple(moment for moment in record.sent if moment > at - SEND_HISTORY)
    return replace(record, sent=(*kept, at))


def lead_timezone(profile: LeadProfile | None, rep_timezone: str) -> ZoneInfo:
    """The zone the lead reads email in: explicit, else from the place, else the rep's."""
    if profile is None:
        return resolve_timezone({}, rep_timezone)
    place = {"timezone": profile.timezone, "country": profile.country, "region": profile.region}
    return resolve_timezone({k: v for k, v in place.items() if v}, rep_timezone)


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last


def render_context(
    profile: LeadProfile,
    rep: RepContact | None,
    sender: tuple[str, str],
    unsubscribe_url: str,
) -> dict[str, Any]:
    """Every variable of SAMPLE_CONTEXT, with neutral fallbacks where a fact is unknown.

    A missing first name reads "there" ("Hi there,") rather than failing the send.
    """
    rep_first, rep_last = _split_name(rep.name) if rep else (sender[0], "")
    return {
        "lead": {
            "first_name": profile.first_name or "there",
            "last_name": profile.last_name or "",
            "email": profile.email,
            "company": profile.company or "your company",
            "title": profile.title or "",
            "country": profile.country or "",
        },
        "rep": {
            "first_name": rep_first,
            "last_name": rep_last,
            "email": rep.email if rep else sender[1],
            "title": "Account Executive",
            "phone": "",
            "calendar_url": rep.calendar_url if rep else "",
        },
        "sender": {"name": sender[0], "email": sender[1]},
        "unsubscribe_url": unsubscribe_url,
    }
