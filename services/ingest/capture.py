"""Builds the records ingest emits from validated input. Pure: the time is passed in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.ingest.validation import company_domain


def captured_lead(lead: dict[str, Any], lead_id: str, is_new: bool, now: datetime) -> dict[str, Any]:
    """A LeadCaptured value: the submission plus identity, capture time and company domain.

    Keeps the submission's event_id, so consumers dedupe on the id upstream chose.
    """
    return {
        **lead,
        "lead_id": lead_id,
        "captured_at": now,
        "is_new": is_new,
        "company_domain": company_domain(lead["email"]),
    }


def captured_engagement(engagement: dict[str, Any], lead_id: str) -> dict[str, Any]:
    """An EngagementEvent with lead_id filled, keyed by lead_id on engagement.captured."""
    return {**engagement, "lead_id": lead_id}
