"""Lead scoring decisions: score a lead, keep its profile, decide what to publish.

Pure: no faust, kafka, redis, logging, Avro, clock or environment; `now` is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, replace
from datetime import datetime

from services.scoring.engagement import score_engagement
from services.scoring.fit import score_fit
from services.scoring.model import (
    ENGAGEMENT_PREFIX,
    FIT_PREFIX,
    Engagement,
    Factor,
    Grade,
    LeadFacts,
    LeadProfile,
    Score,
    ScoringDecision,
    Temperature,
    require_aware,
)
from services.scoring.rules import ScoringRules
from services.scoring.serialization import profile_from_dict, profile_to_dict

__all__ = [
    "Engagement",
    "Factor",
    "LeadFacts",
    "LeadProfile",
    "Score",
    "ScoringDecision",
    "apply_score",
    "assemble_score",
    "decide_emission",
    "new_profile",
    "profile_from_dict",
    "profile_to_dict",
    "record_engagement",
    "score_lead",
    "sum_points",
    "update_facts",
]

MIN_SCORE = 0
MAX_SCORE = 100


def score_lead(
    facts: LeadFacts,
    engagements: Iterable[Engagement],
    rules: ScoringRules,
    now: datetime,
) -> Score:
    """Score a lead at `now`: fit from its facts plus decayed engagement, clamped to 0..100."""
    require_aware(now, "now")
    factors = score_fit(facts, rules.fit) + score_engagement(engagements, rules.engagement, now)
    return assemble_score(factors, rules)


def assemble_score(factors: tuple[Factor, ...], rules: ScoringRules) -> Score:
    """Build a score from its factors; applied to a score's own factors it rebuilds that score.

    Rounding: each factor carries at most 2 decimals; each component (fit, engagement) is the
    exact sum of its factors rounded half up to an integer; the score clamps their sum.
    """
    fit = sum_points(factors, FIT_PREFIX)
    engagement = sum_points(factors, ENGAGEMENT_PREFIX)
    return Score(
        score=max(MIN_SCORE, min(MAX_SCORE, fit + engagement)),
        fit_score=fit,
        engagement_score=engagement,
        grade=grade_for(fit, rules),
        temperature=temperature_for(engagement, rules),
        factors=factors,
        rules_version=rules.version,
    )


def sum_points(factors: Iterable[Factor], prefix: str) -> int:
    """Sum of the points of factors named with `prefix`, rounded half up (toward +inf)."""
    # Summed in integer hundredths so float drift never moves a rounding boundary.
    hundredths = sum(round(f.points * 100) for f in factors if f.name.startswith(prefix))
    return (hundredths + 50) // 100


def grade_for(fit_score: int, rules: ScoringRules) -> Grade:
    """A-D from the fit score alone: who the lead is, whatever they did."""
    if fit_score >= rules.grade_a:
        return "A"
    if fit_score >= rules.grade_b:
        return "B"
    return "C" if fit_score >= rules.grade_c else "D"


def temperature_for(engagement_score: int, rules: ScoringRules) -> Temperature:
    """hot/warm/cold from the engagement score alone: how active the lead is lately."""
    if engagement_score >= rules.hot:
        return "hot"
    return "warm" if engagement_score >= rules.warm else "cold"


def new_profile(lead_id: str, facts: LeadFacts) -> LeadProfile:
    """The profile of a lead seen for the first time: no engagement, never scored."""
    return LeadProfile(lead_id=lead_id, facts=facts)


def record_engagement(profile: LeadProfile, engagement: Engagement, *, max_events: int) -> LeadProfile:
    """Add an engagement, keeping the newest max_events sorted by (occurred_at, event_id).

    Idempotent on event_id: a redelivered event (even with other content) leaves the profile
    unchanged. An event older than all kept ones on a full profile is dropped, and stays dropped.
    """
    if max_events < 1:
        raise ValueError(f"max_events must be at least 1, got {max_events}")
    if any(e.event_id == engagement.event_id for e in profile.engagements):
        return profile
    ordered = sorted((*profile.engagements, engagement), key=lambda e: (e.occurred_at, e.event_id))
    return replace(profile, engagements=tuple(ordered[-max_events:]))


def update_facts(profile: LeadProfile, facts: LeadFacts) -> LeadProfile:
    """Merge re-submitted facts: a known new value wins, None or blank keeps the old one.

    A later, shorter form must not erase what an earlier one told us.
    """
    known = {f.name: value for f in fields(LeadFacts) if _is_known(value := getattr(facts, f.name))}
    return replace(profile, facts=replace(profile.facts, **known))


def _is_known(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def decide_emission(profile: LeadProfile, new_score: Score, threshold: int) -> ScoringDecision:
    """Publish a score only when it changed; publish 'qualified' the first time it reaches threshold.

    Qualification is sticky: a lead that drops below and climbs back is not qualified again.
    """
    return ScoringDecision(
        emit_scored=new_score.score != profile.last_score,
        emit_qualified=not profile.qualified and new_score.score >= threshold,
    )


def apply_score(profile: LeadProfile, score: Score, decision: ScoringDecision) -> LeadProfile:
    """Record the score as the last one and remember a qualification once emitted."""
    return replace(
        profile,
        last_score=score.score,
        qualified=profile.qualified or decision.emit_qualified,
    )
