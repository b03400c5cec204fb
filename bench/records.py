"""The bench's records: the seeded workload's leads as the Avro values of each stage's input topic.

Pure apart from the seeded generator it wraps: the same seed gives the same records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tools.workload import Workload

FREE_MAIL = frozenset({"gmail.com"})
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "job_title",
    "industry",
    "employees",
    "country",
    "region",
    "product_interest",
    "marketing_consent",
    "utm_campaign",
)


@dataclass(frozen=True)
class Lead:
    """One workload lead with what the bench needs to know about it before any service sees it."""

    value: dict[str, Any]
    duplicate: bool
    valid: bool

    @property
    def email(self) -> str:
        return str(self.value["email"])


def workload_leads(seed: int, count: int, now: datetime) -> list[Lead]:
    """`count` leads from the workload (its share of duplicates and invalid records included)."""
    return [item for item in workload_with_engagement(seed, count, 0, now) if isinstance(item, Lead)]


def workload_with_engagement(seed: int, count: int, per_lead: int, now: datetime) -> list[Lead | dict[str, Any]]:
    """`count` workload leads, each followed by `per_lead` engagement events for leads already sent
    (mostly the newest, in bursts, as the workload makes them): the order they are offered in."""
    workload, seen = Workload(seed=seed), set[str]()
    mix: list[Lead | dict[str, Any]] = []
    for _ in range(count):
        value = workload.lead(now)
        mix.append(Lead(value, value["event_id"] in seen, "@" in value["email"]))
        seen.add(value["event_id"])
        mix += [event for _ in range(per_lead) if (event := workload.engagement(now)) is not None]
    return mix


def clean_leads(seed: int, count: int, now: datetime) -> list[Lead]:
    """`count` valid, distinct leads: the input of a stage downstream of ingest's checks."""
    workload = Workload(seed=seed, duplicate_share=0.0, invalid_share=0.0)
    return [Lead(workload.lead(now), False, True) for _ in range(count)]


def lead_submitted(lead: Lead, occurred_at: datetime) -> dict[str, Any]:
    """The LeadSubmitted value for leads.inbound."""
    value = lead.value
    base = {"event_id": value["event_id"], "occurred_at": occurred_at, "source": value["source"]}
    return base | {"email": value["email"], "attributes": {}} | {f: value.get(f) for f in LEAD_FIELDS}


def lead_id_for(lead: Lead) -> str:
    """A stable lead id derived from the event id, shaped like ingest's."""
    return "lead_" + uuid.uuid5(uuid.NAMESPACE_URL, lead.value["event_id"]).hex


def company_domain(email: str) -> str | None:
    domain = email.rpartition("@")[2]
    return None if domain in FREE_MAIL else domain


def lead_captured(lead: Lead, now: datetime) -> dict[str, Any]:
    """The LeadCaptured value ingest would emit for this lead, for scoring's input."""
    submitted = lead_submitted(lead, now)
    return submitted | {
        "lead_id": lead_id_for(lead),
        "captured_at": now,
        "is_new": True,
        "company_domain": company_domain(lead.email),
    }


def lead_qualified(lead: Lead, now: datetime, score: int = 72, grade: str = "B") -> dict[str, Any]:
    """A LeadQualified value as scoring would emit it, for routing's input."""
    value = lead.value
    return {
        "event_id": f"{lead_id_for(lead)}:qualified",
        "lead_id": lead_id_for(lead),
        "email": value["email"],
        "occurred_at": now,
        "captured_at": now,
        "score": score,
        "grade": grade,
        "threshold": 60,
        "company_domain": company_domain(lead.email),
        "country": value["country"],
        "region": value["region"],
        "product_interest": value["product_interest"],
        "employees": value["employees"],
        "source": value["source"],
    }


def lead_assigned(lead: Lead, now: datetime, rep_id: str) -> dict[str, Any]:
    """A LeadAssigned value as routing would emit it for a rep, for nurture's input."""
    return {
        "event_id": f"{lead_id_for(lead)}:assigned",
        "lead_id": lead_id_for(lead),
        "email": lead.value["email"],
        "occurred_at": now,
        "rep_id": rep_id,
        "queue": None,
        "rule": "bench",
        "reason": "round_robin",
        "grade": "B",
        "sla_due_at": now + timedelta(hours=1),
        "captured_at": now,
        "candidates": [],
    }
