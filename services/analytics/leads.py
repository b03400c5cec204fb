"""One lead's analytics record: when it reached each step and its latest attributes.

Pure fold, idempotent and order-independent; no Faust, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from services.analytics.facts import LeadFact, Step

# The main path; "lost" leaves it after "opportunity".
PATH: tuple[Step, ...] = (
    "captured",
    "scored",
    "qualified",
    "assigned",
    "contacted",
    "opportunity",
    "proposal",
    "won",
)
ATTRIBUTES = ("source", "campaign", "territory", "rep", "grade")


def implied_by(step: Step) -> tuple[Step, ...]:
    """The steps a lead has passed once it reached step, step included."""
    if step == "lost":
        return (*PATH[: PATH.index("opportunity") + 1], "lost")
    return PATH[: PATH.index(step) + 1]


@dataclass(frozen=True, order=True)
class Stamp:
    """An attribute value with the event that set it; the greatest stamp wins."""

    at: datetime
    event_id: str
    value: str


@dataclass(frozen=True)
class LeadRecord:
    """Earliest event time per step seen, and the latest value per attribute."""

    lead_id: str
    reached: Mapping[Step, datetime]
    attributes: Mapping[str, Stamp]


def fold_lead(record: LeadRecord | None, fact: LeadFact) -> LeadRecord:
    """Merge one fact: earliest time per step, latest-stamped value per attribute.

    Commutative and idempotent, so re-delivered or reordered facts give the same record.
    """
    base = record or LeadRecord(fact.lead_id, {}, {})
    reached = dict(base.reached)
    known = reached.get(fact.step)
    reached[fact.step] = fact.occurred_at if known is None else min(known, fact.occurred_at)
    return LeadRecord(base.lead_id, reached, _merge_attributes(base.attributes, fact))


def _merge_attributes(current: Mapping[str, Stamp], fact: LeadFact) -> dict[str, Stamp]:
    merged = dict(current)
    for name, value in _fact_attributes(fact).items():
        stamp = Stamp(fact.occurred_at, fact.event_id, value)
        merged[name] = max(stamp, merged.get(name, stamp))
    return merged


def _fact_attributes(fact: LeadFact) -> dict[str, str]:
    values = (fact.source, fact.campaign, fact.territory, fact.rep_id, fact.grade)
    return {name: v for name, v in zip(ATTRIBUTES, values, strict=True) if v is not None}


def attribute(record: LeadRecord, name: str) -> str | None:
    """The latest known value of an attribute, None when never given."""
    stamp = record.attributes.get(name)
    return None if stamp is None else stamp.value


def effective_reach(record: LeadRecord) -> dict[Step, datetime]:
    """Every step passed, explicit or implied, at the earliest time known to have passed it."""
    reach: dict[Step, datetime] = {}
    for step, at in record.reached.items():
        for passed in implied_by(step):
            reach[passed] = min(at, reach.get(passed, at))
    return reach


def is_closed(record: LeadRecord) -> bool:
    """True once the lead's deal was won or lost."""
    return "won" in record.reached or "lost" in record.reached


def lead_to_dict(record: LeadRecord) -> dict[str, Any]:
    """Plain form with ISO 8601 times."""
    return {
        "lead_id": record.lead_id,
        "reached": {step: at.isoformat() for step, at in record.reached.items()},
        "attributes": {name: [s.at.isoformat(), s.event_id, s.value] for name, s in record.attributes.items()},
    }


def lead_from_dict(data: Mapping[str, Any]) -> LeadRecord:
    """Inverse of lead_to_dict."""
    reached = {cast(Step, s): datetime.fromisoformat(at) for s, at in data["reached"].items()}
    attributes = {
        name: Stamp(datetime.fromisoformat(at), event_id, value)
        for name, (at, event_id, value) in data["attributes"].items()
    }
    return LeadRecord(data["lead_id"], reached, attributes)
