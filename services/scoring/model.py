"""Value types of lead scoring: facts, engagements, factors, scores and the lead profile.

Pure data: no I/O, no clock, no framework; every datetime must be timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast, get_args

EngagementType = Literal[
    "page_view",
    "pricing_page_view",
    "form_submit",
    "content_download",
    "webinar_attended",
    "email_open",
    "email_click",
    "email_reply",
    "meeting_booked",
    "demo_request",
    "unsubscribe",
    "email_bounce",
    "spam_complaint",
    "call_logged",
    "task_completed",
    "other",
]
ENGAGEMENT_TYPES: frozenset[str] = frozenset(get_args(EngagementType))

Grade = Literal["A", "B", "C", "D"]
Temperature = Literal["hot", "warm", "cold"]

FIT_PREFIX = "fit."
ENGAGEMENT_PREFIX = "engagement."


def parse_engagement_type(value: str) -> EngagementType:
    """Narrow a string to an engagement type; ValueError names an unknown one."""
    if value not in ENGAGEMENT_TYPES:
        raise ValueError(f"unknown engagement type {value!r}")
    return cast(EngagementType, value)


def require_aware(value: datetime, field: str) -> None:
    """Reject naive datetimes: decay arithmetic across zones would silently be wrong."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware, got {value!r}")


@dataclass(frozen=True)
class LeadFacts:
    """What the lead told us or enrichment found; None means unknown, never zero."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: int | None = None  # USD
    country: str | None = None  # ISO 3166-1 alpha-2
    region: str | None = None
    product_interest: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Engagement:
    """One thing the lead did; event_id is the idempotency key."""

    event_id: str
    type: EngagementType
    occurred_at: datetime

    def __post_init__(self) -> None:
        parse_engagement_type(self.type)
        require_aware(self.occurred_at, "occurred_at")


@dataclass(frozen=True)
class Factor:
    """One line of a score's explanation.

    Fit factors are named ``fit.<rule>``, engagement factors ``engagement.<type>``.
    For an engagement factor, ``base_points`` is the rule's points, ``decay`` the fraction of
    them lost to age (0.0 = none, 1.0 = all), and ``points`` = round(base_points * (1 - decay), 2)
    computed before ``decay`` itself is rounded to 4 places.
    """

    name: str
    points: float
    detail: str
    event_id: str | None = None
    occurred_at: datetime | None = None
    base_points: int | None = None
    decay: float | None = None


@dataclass(frozen=True)
class Score:
    """A lead's score with everything needed to explain and rebuild it.

    score = clamp(fit_score + engagement_score, 0, 100); each component is the sum of its
    factors' points rounded half up to an integer.
    """

    score: int
    fit_score: int
    engagement_score: int
    grade: Grade
    temperature: Temperature
    factors: tuple[Factor, ...]
    rules_version: str


@dataclass(frozen=True)
class LeadProfile:
    """Per-lead state kept in the scoring table; engagements sorted oldest first."""

    lead_id: str
    facts: LeadFacts
    engagements: tuple[Engagement, ...] = ()
    last_score: int | None = None
    qualified: bool = False


@dataclass(frozen=True)
class ScoringDecision:
    """What a re-score must publish."""

    emit_scored: bool
    emit_qualified: bool
