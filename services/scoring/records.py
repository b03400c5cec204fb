"""Mapping between the contract's records and the scoring domain. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.scoring.model import Engagement, Factor, LeadFacts, Score, parse_engagement_type
from shared.records import EngagementEvent, LeadCaptured, LeadQualified, LeadScored, ScoreFactor


def facts_from(lead: LeadCaptured) -> LeadFacts:
    return LeadFacts(
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company=lead.company,
        job_title=lead.job_title,
        industry=lead.industry,
        employees=lead.employees,
        annual_revenue=lead.annual_revenue,
        country=lead.country,
        region=lead.region,
        product_interest=lead.product_interest,
        source=lead.source,
    )


def engagement_from(event: EngagementEvent) -> Engagement:
    return Engagement(event.event_id, parse_engagement_type(event.type), event.occurred_at)


def _factor(factor: Factor) -> ScoreFactor:
    base = float(factor.base_points) if factor.base_points is not None else None
    return ScoreFactor(
        factor.name, factor.points, factor.detail, factor.event_id, factor.occurred_at, base, factor.decay
    )


def lead_scored(
    lead_id: str, cause_id: str, email: str, score: Score, now: datetime, captured_at: datetime | None
) -> LeadScored:
    """The score event; its id is derived from the event that caused the re-score (replays dedupe)."""
    return LeadScored(
        event_id=f"{lead_id}:scored:{cause_id}",
        lead_id=lead_id,
        email=email,
        occurred_at=now,
        score=score.score,
        fit_score=score.fit_score,
        engagement_score=score.engagement_score,
        grade=score.grade,
        captured_at=captured_at,
        temperature=score.temperature,
        explanation=tuple(_factor(f) for f in score.factors),
    )


def lead_qualified(
    lead_id: str,
    context: dict[str, Any],
    facts: LeadFacts,
    score: Score,
    threshold: int,
    now: datetime,
    captured_at: datetime | None,
) -> LeadQualified:
    """Qualification happens once per lead, so its event id is the lead's own."""
    return LeadQualified(
        event_id=f"{lead_id}:qualified",
        lead_id=lead_id,
        email=facts.email or "",
        occurred_at=now,
        score=score.score,
        grade=score.grade,
        threshold=threshold,
        captured_at=captured_at,
        company_domain=context.get("company_domain"),
        country=facts.country,
        region=facts.region,
        product_interest=facts.product_interest,
        employees=facts.employees,
        source=facts.source,
    )


def subject_erased(request: dict[str, Any], removed: list[str], now: datetime) -> tuple[str, dict[str, Any]]:
    """scoring's report on an erasure request: what it removed, without the person's data."""
    return "SubjectErased", {
        "event_id": f"{request['event_id']}:scoring",
        "occurred_at": now,
        "lead_id": request["lead_id"],
        "request_event_id": request["event_id"],
        "service": "scoring",
        "removed": removed,
    }
