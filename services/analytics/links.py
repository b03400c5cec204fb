"""What a deal says about the lead it came from: the lead reached opportunity, proposal, won
or lost. Pure: a small per-deal record and the lead facts it implies; no Faust, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.analytics.facts import LeadFact, Step


@dataclass(frozen=True)
class DealLink:
    """A deal's lead and the times it reached each lead-funnel step (earliest seen)."""

    opportunity_id: str
    lead_id: str | None = None
    reached: Mapping[Step, datetime] | None = None


def link_step(link: DealLink, step: Step, at: datetime) -> DealLink:
    """Note that the deal reached step at `at`; the earliest time wins, so repeats are harmless."""
    reached = dict(link.reached or {})
    reached[step] = min(at, reached.get(step, at))
    return DealLink(link.opportunity_id, link.lead_id, reached)


def link_lead(link: DealLink, lead_id: str | None) -> DealLink:
    """Attach the lead once known; a deal never changes its lead."""
    return link if link.lead_id or not lead_id else DealLink(link.opportunity_id, lead_id, link.reached)


def lead_facts(link: DealLink) -> list[LeadFact]:
    """The lead facts the deal implies, empty until the lead is known.

    Event ids derive from the opportunity and step, so every re-send dedupes in the lead fold.
    """
    if link.lead_id is None:
        return []
    oid, lead = link.opportunity_id, link.lead_id
    return [LeadFact(f"{oid}:{step}", lead, step, at) for step, at in sorted((link.reached or {}).items())]


def link_to_dict(link: DealLink) -> dict[str, Any]:
    """Plain form with ISO 8601 times."""
    reached = {step: at.isoformat() for step, at in (link.reached or {}).items()}
    return {"opportunity_id": link.opportunity_id, "lead_id": link.lead_id, "reached": reached}


def link_from_dict(data: Mapping[str, Any]) -> DealLink:
    """Inverse of link_to_dict."""
    reached = {step: datetime.fromisoformat(at) for step, at in data["reached"].items()}
    return DealLink(data["opportunity_id"], data["lead_id"], reached)


def fact_to_dict(fact: LeadFact) -> dict[str, Any]:
    """A relayed lead step as plain JSON (the internal topic's value)."""
    return {"event_id": fact.event_id, "lead_id": fact.lead_id, "step": fact.step, "at": fact.occurred_at.isoformat()}


def fact_from_dict(data: Mapping[str, Any]) -> LeadFact:
    """Inverse of fact_to_dict."""
    return LeadFact(data["event_id"], data["lead_id"], data["step"], datetime.fromisoformat(data["at"]))
