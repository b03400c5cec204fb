"""The read model of a proposal as `GET /v1/proposals/{number}` answers it.

Pure: built from a `ProposalFile` at `now` (a live version past its validity reads as expired).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.proposal.approvals import Approval
from services.proposal.events import amount
from services.proposal.versions import ProposalVersion, status_at
from services.proposal.workflow import ProposalFile, Revision


def proposal_view(file: ProposalFile, now: datetime) -> dict[str, Any]:
    """Number, opportunity, the latest version's status and approval, and every version."""
    latest = file.proposal.latest
    return {
        "number": file.number,
        "opportunity_id": file.proposal.opportunity_id,
        "latest_version": latest.version,
        "status": status_at(latest, now),
        "approval": _approval(file.latest.approval),
        "versions": [_version(v, r, now) for v, r in zip(file.proposal.versions, file.revisions, strict=True)],
    }


def _version(version: ProposalVersion, revision: Revision, now: datetime) -> dict[str, Any]:
    priced, documents = version.priced, revision.documents
    return {
        "version": version.version,
        "status": status_at(version, now),
        "created_at": version.created_at.isoformat(),
        "valid_until": version.valid_until.isoformat(),
        "currency": priced.currency.code,
        "subtotal": amount(priced.subtotal),
        "discount_total": amount(priced.discount_total),
        "tax": amount(priced.tax),
        "total": amount(priced.total),
        "rep_id": revision.quote.rep_id,
        "pdf_url": documents.pdf_url if documents else None,
        "html_url": documents.html_url if documents else None,
    }


def _approval(approval: Approval | None) -> dict[str, Any] | None:
    if approval is None:
        return None
    return {
        "version": approval.version,
        "status": approval.status,
        "pending": list(approval.pending),
        "waiting_since": approval.waiting_since.isoformat(),
        "decisions": [
            {"role": d.role, "approver": d.approver, "approved": d.approved, "at": d.at.isoformat(), "note": d.note}
            for d in approval.decisions
        ],
    }
