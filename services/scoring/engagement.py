"""Engagement scoring: points per event type with exponential time decay and per-type caps.

Pure: `now` is an argument; nothing here reads the clock or keeps state.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.scoring.model import ENGAGEMENT_PREFIX, Engagement, Factor
from services.scoring.rules import EngagementRules, EventRule

SECONDS_PER_DAY = 86_400.0


def decay_multiplier(age_days: float, half_life_days: float) -> float:
    """Share of an event's points still earned at age_days: 1.0 now or in the future, 0.5 at one half-life."""
    if age_days <= 0:
        return 1.0
    return float(0.5 ** (age_days / half_life_days))


def age_in_days(occurred_at: datetime, now: datetime) -> float:
    """Days from occurred_at to now; negative for events stamped in the future (clock skew)."""
    return (now - occurred_at).total_seconds() / SECONDS_PER_DAY


def score_engagement(engagements: Iterable[Engagement], rules: EngagementRules, now: datetime) -> tuple[Factor, ...]:
    """One factor per counted event, oldest first, then one negative factor per capped type.

    An event_id seen twice counts once. Events older than the horizon and types without a rule
    earn nothing and get no factor.
    """
    factors = [
        _event_factor(event, rule, rules, now)
        for event in _unique_in_order(engagements)
        if (rule := rules.events.get(event.type)) is not None
        and age_in_days(event.occurred_at, now) <= rules.horizon_days
    ]
    return (*factors, *_cap_factors(factors, rules))


def _unique_in_order(engagements: Iterable[Engagement]) -> list[Engagement]:
    first_seen: dict[str, Engagement] = {}
    for event in engagements:
        first_seen.setdefault(event.event_id, event)
    return sorted(first_seen.values(), key=lambda e: (e.occurred_at, e.event_id))


def _event_factor(event: Engagement, rule: EventRule, rules: EngagementRules, now: datetime) -> Factor:
    age = age_in_days(event.occurred_at, now)
    multiplier = decay_multiplier(age, rules.half_life_days) if rule.decays else 1.0
    return Factor(
        name=f"{ENGAGEMENT_PREFIX}{event.type}",
        points=round(rule.points * multiplier, 2),
        detail=f"{event.type} {max(age, 0.0):.1f} days old, {1 - multiplier:.0%} decayed",
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        base_points=rule.points,
        decay=round(1 - multiplier, 4),
    )


def _cap_factors(factors: list[Factor], rules: EngagementRules) -> list[Factor]:
    """A negative adjustment per type whose events together earn more than its max_points."""
    caps = []
    for event_type, rule in rules.events.items():
        if rule.max_points is None:
            continue
        name = f"{ENGAGEMENT_PREFIX}{event_type}"
        earned = sum(round(f.points * 100) for f in factors if f.name == name)
        if earned > rule.max_points * 100:
            excess = (rule.max_points * 100 - earned) / 100
            caps.append(Factor(f"{name}.cap", excess, f"{event_type} capped at {rule.max_points}"))
    return caps
