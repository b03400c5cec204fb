"""The one registry of topics: names, record types, keys, partitions, cleanup policy.

Everything else (topic creation, Strimzi KafkaTopic files, DLQ names, docs) is derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SERVICES = ("ingest", "scoring", "routing", "nurture", "opportunity", "proposal", "analytics")
WEEK_MS = 7 * 24 * 3600 * 1000
UPSTREAM_MS = 3 * 24 * 3600 * 1000


class Cleanup(StrEnum):
    DELETE = "delete"
    COMPACT = "compact"


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the contract. `record` is the Avro record name of its values (None: raw bytes)."""

    name: str
    record: str | None
    key: str
    partitions: int = 6
    cleanup: Cleanup = Cleanup.DELETE
    retention_ms: int = WEEK_MS
    doc: str = ""

    def config(self) -> dict[str, str]:
        """Kafka topic configuration entries."""
        if self.cleanup is Cleanup.COMPACT:
            return {"cleanup.policy": "compact"}
        return {"cleanup.policy": "delete", "retention.ms": str(self.retention_ms)}


def _spine() -> tuple[TopicSpec, ...]:
    return (
        # Upstream's records hold personal data in the clear (ingest seals it on the way in), so
        # they are kept only long enough to recover from an outage of a weekend (docs/security.md).
        TopicSpec(
            "leads.inbound",
            "LeadSubmitted",
            "email or none",
            retention_ms=UPSTREAM_MS,
            doc="Leads from upstream over Kafka.",
        ),
        TopicSpec(
            "engagement.inbound",
            "EngagementEvent",
            "lead_id, email or none",
            retention_ms=UPSTREAM_MS,
            doc="Engagement from upstream.",
        ),
        TopicSpec("leads.captured", "LeadCaptured", "lead_id", doc="Validated, deduplicated leads."),
        TopicSpec("engagement.captured", "EngagementEvent", "lead_id", doc="Engagement with lead_id filled."),
        TopicSpec("leads.scored", "LeadScored", "lead_id", doc="Score changes with their reasons."),
        TopicSpec("leads.qualified", "LeadQualified", "lead_id", doc="Leads that crossed the MQL threshold."),
        TopicSpec("leads.assigned", "LeadAssigned", "lead_id", doc="Assignments to reps, with the audit."),
        TopicSpec("reps.roster", "RepProfile", "rep_id", 1, Cleanup.COMPACT, doc="The sales team."),
    )


def _nurture() -> tuple[TopicSpec, ...]:
    return (
        TopicSpec("email.outbound", "EmailSent", "lead_id", doc="Every email nurture delivered."),
        TopicSpec("tasks.created", "TaskCreated", "lead_id", doc="Follow-up tasks for reps."),
        TopicSpec("tasks.overdue", "TaskOverdue", "lead_id", doc="Tasks past their due time."),
        TopicSpec("nurture.enrolments", "EnrolmentChanged", "lead_id", doc="Enrolled, step sent, paused, exited."),
        TopicSpec(
            "nurture.due",
            "StepDue",
            "lead_id",
            doc="Internal: the scheduler's due steps, back on the lead's partition.",
        ),
    )


def _deals() -> tuple[TopicSpec, ...]:
    return (
        TopicSpec("leads.converted", "LeadConverted", "lead_id", doc="A rep converted a lead into a deal."),
        TopicSpec("opportunities.commands", "OpportunityCommand", "opportunity_id", doc="Commands on deals."),
        TopicSpec(
            "opportunities.changed", "OpportunityChanged", "opportunity_id", doc="Full deal state after each change."
        ),
        TopicSpec("opportunities.rejected", "CommandRejected", "opportunity_id", doc="Commands refused, with why."),
        TopicSpec("opportunities.alerts", "OpportunityAlert", "opportunity_id", doc="Stalled, overdue, pushed deals."),
        TopicSpec("proposals.due", "ProposalDue", "opportunity_id", doc="Internal: expiry and escalation checks."),
        TopicSpec("proposals.requested", "ProposalRequested", "opportunity_id", doc="Quote requests."),
        TopicSpec("proposals.generated", "ProposalGenerated", "opportunity_id", doc="Priced proposal versions."),
        TopicSpec(
            "proposals.commands", "ProposalCommand", "opportunity_id", doc="Commands on proposals (accept, withdraw)."
        ),
        TopicSpec("proposals.rejected", "ProposalCommandRejected", "opportunity_id", doc="Proposal commands refused."),
        TopicSpec("proposals.accepted", "ProposalAccepted", "opportunity_id", doc="Accepted proposals."),
        TopicSpec("proposals.expired", "ProposalExpired", "opportunity_id", doc="Proposals past their validity."),
        TopicSpec("proposals.withdrawn", "ProposalWithdrawn", "opportunity_id", doc="Sent proposals taken back."),
        TopicSpec("approvals.requested", "ApprovalRequested", "opportunity_id", doc="Discounts awaiting approval."),
        TopicSpec("approvals.decided", "ApprovalDecided", "opportunity_id", doc="Approval decisions."),
    )


def _privacy() -> tuple[TopicSpec, ...]:
    return (
        TopicSpec("subjects.erasure_requested", "SubjectErasureRequested", "lead_id", doc="Erase a person everywhere."),
        TopicSpec("subjects.erased", "SubjectErased", "lead_id", doc="What each service erased (audit)."),
    )


def _dead_letters() -> tuple[TopicSpec, ...]:
    return tuple(
        TopicSpec(dlq_name(service), None, "original key", 3, doc=f"Records {service} could not process.")
        for service in SERVICES
    )


def dlq_name(service: str) -> str:
    return f"dlq.{service}"


TOPICS: tuple[TopicSpec, ...] = _spine() + _nurture() + _deals() + _privacy() + _dead_letters()
_BY_NAME = {spec.name: spec for spec in TOPICS}


def topic_spec(name: str) -> TopicSpec:
    """The spec of a contract topic; KeyError names the unknown topic."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}; add it to shared.topics") from None


def physical_name(name: str, prefix: str = "") -> str:
    """The topic's name on the cluster: tests give each run its own prefix, production none."""
    return f"{prefix}{name}"
