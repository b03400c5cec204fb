"""The records proposal emits, as the dicts the Avro codec encodes.

Pure. Every event id is derived from the id of the event that caused it, so a replay produces
the same ids and downstream consumers dedupe it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from services.proposal.approvals import ApprovalPolicy, due_at
from services.proposal.versions import ProposalVersion
from services.proposal.workflow import DueCheck, ProposalFile

Record = tuple[str, dict[str, Any]]


def amount(value: Decimal) -> str:
    """A decimal as a plain string (never exponent notation): 1E+3 -> '1000'."""
    return f"{value:f}"


def generated(file: ProposalFile, cause_id: str, now: datetime) -> Record:
    """ProposalGenerated for the latest version, whose documents are stored."""
    version, revision = file.proposal.latest, file.latest
    priced = version.priced
    if revision.documents is None:
        raise ValueError(f"{file.number} v{version.version} has no stored documents")
    approved_by = [f"{d.role}:{d.approver}" for d in revision.approval.decisions] if revision.approval else []
    return "ProposalGenerated", _head(file, version, f"{cause_id}:generated", now) | {
        "currency": priced.currency.code,
        "subtotal": amount(priced.subtotal),
        "discount_total": amount(priced.discount_total),
        "tax": amount(priced.tax),
        "total": amount(priced.total),
        "valid_until": version.valid_until,
        "pdf_url": revision.documents.pdf_url,
        "html_url": revision.documents.html_url,
        "rep_id": revision.quote.rep_id,
        "approved_by": approved_by,
        "supersedes": version.version - 1 if version.version > 1 else None,
    }


def approval_requested(file: ProposalFile, cause_id: str, policy: ApprovalPolicy, now: datetime) -> Record:
    """ApprovalRequested for the latest version's pending approval."""
    version, approval = file.proposal.latest, file.latest.approval
    if approval is None:
        raise ValueError(f"{file.number} v{version.version} has no approval")
    triggers = [
        {
            "sku": t.sku,
            "quantity": t.quantity,
            "discount": amount(t.discount),
            "outside_band": t.outside_band,
            "role": t.role,
        }
        for t in approval.triggers
    ]
    return "ApprovalRequested", _head(file, version, f"{cause_id}:approval-requested", now) | {
        "status": approval.status,
        "approver_chain": list(approval.pending),
        "triggers": triggers,
        "rep_id": file.latest.quote.rep_id,
        "due_at": due_at(approval, policy),
        "currency": version.priced.currency.code,
        "total": amount(version.priced.total),
    }


def expired(file: ProposalFile, version: ProposalVersion, now: datetime) -> Record:
    """ProposalExpired; one per version, so its id is the version's own."""
    event_id = f"{file.number}:v{version.version}:expired"
    return "ProposalExpired", _head(file, version, event_id, now) | {"valid_until": version.valid_until}


def due(opportunity_id: str, check: DueCheck, now: datetime) -> Record:
    """ProposalDue for the owning agent; its id names the deadline, so repeated ticks dedupe."""
    return "ProposalDue", {
        "event_id": check.key,
        "occurred_at": now,
        "opportunity_id": opportunity_id,
        "number": check.number,
        "version": check.version,
        "kind": check.kind,
        "due_at": check.due_at,
    }


def accepted(file: ProposalFile, version: ProposalVersion, command: dict[str, Any], now: datetime) -> Record:
    """ProposalAccepted for the version an accept command accepted, with its total."""
    return "ProposalAccepted", _head(file, version, f"{command['event_id']}:accepted", now) | {
        "accepted_by": command.get("accepted_by"),
        "currency": version.priced.currency.code,
        "total": amount(version.priced.total),
    }


def withdrawn(file: ProposalFile, version: ProposalVersion, command: dict[str, Any], now: datetime) -> Record:
    """ProposalWithdrawn for the version a withdraw command took back."""
    return "ProposalWithdrawn", _head(file, version, f"{command['event_id']}:withdrawn", now) | {
        "withdrawn_by": command.get("withdrawn_by"),
        "note": command.get("note"),
    }


def command_rejected(command: dict[str, Any], reason: str, detail: str, now: datetime) -> Record:
    """ProposalCommandRejected naming why; its id derives from the command's, so a replay dedupes."""
    return "ProposalCommandRejected", {
        "event_id": f"{command['event_id']}:rejected",
        "occurred_at": now,
        "opportunity_id": command["opportunity_id"],
        "number": command["number"],
        "command_id": command["event_id"],
        "command_type": command["type"],
        "reason": reason,
        "detail": detail,
        "version": command.get("version"),
    }


def close_won(file: ProposalFile, version: ProposalVersion, cause_id: str, now: datetime) -> Record:
    """The OpportunityCommand that closes the deal as won at the accepted version's pre-tax value."""
    return "OpportunityCommand", {
        "event_id": f"{cause_id}:close-won",
        "occurred_at": now,
        "opportunity_id": file.proposal.opportunity_id,
        "type": "close_won",
        "amount": amount(version.priced.taxable),
        "source": "proposal",
    }


def _head(file: ProposalFile, version: ProposalVersion, event_id: str, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "occurred_at": now,
        "opportunity_id": file.proposal.opportunity_id,
        "number": file.number,
        "version": version.version,
    }
