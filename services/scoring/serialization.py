"""Lead profile to and from a plain dict of JSON types, for the scoring table's value.

Pure: no codec, no framework. Datetimes travel as ISO 8601 strings in UTC, microseconds kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from services.scoring.model import (
    Engagement,
    LeadFacts,
    LeadProfile,
    parse_engagement_type,
)

_FACT_FIELDS = tuple(f.name for f in fields(LeadFacts))


def profile_to_dict(profile: LeadProfile) -> dict[str, Any]:
    """A dict of str, int, bool, None, lists and dicts; profile_from_dict inverts it exactly."""
    return {
        "lead_id": profile.lead_id,
        "facts": asdict(profile.facts),
        "engagements": [_engagement_to_dict(e) for e in profile.engagements],
        "last_score": profile.last_score,
        "qualified": profile.qualified,
    }


def profile_from_dict(data: Mapping[str, Any]) -> LeadProfile:
    """Rebuild a profile; fact keys missing from older records read as None.

    Raises ValueError (or KeyError for a missing top-level key) on malformed data.
    """
    facts = data["facts"]
    return LeadProfile(
        lead_id=str(data["lead_id"]),
        facts=LeadFacts(**{name: facts.get(name) for name in _FACT_FIELDS}),
        engagements=tuple(_engagement_from_dict(e) for e in data["engagements"]),
        last_score=None if data["last_score"] is None else int(data["last_score"]),
        qualified=bool(data["qualified"]),
    )


def _engagement_to_dict(engagement: Engagement) -> dict[str, str]:
    return {
        "event_id": engagement.event_id,
        "type": engagement.type,
        "occurred_at": engagement.occurred_at.astimezone(UTC).isoformat(),
    }


def _engagement_from_dict(data: Mapping[str, str]) -> Engagement:
    return Engagement(
        event_id=data["event_id"],
        type=parse_engagement_type(data["type"]),
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
    )
