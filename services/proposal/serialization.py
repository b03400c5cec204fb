"""The proposal ledger to and from plain JSON types, for the table value.

Pure. Decimals travel as strings (never floats), datetimes as ISO 8601, dates as YYYY-MM-DD;
ledger_from_dict(ledger_to_dict(x)) == x.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.proposal.approvals import Approval, Decision, Trigger
from services.proposal.catalog import Tier
from services.proposal.document import StoredDocuments
from services.proposal.ledger import Ledger
from services.proposal.money import Currency
from services.proposal.presentation import Party
from services.proposal.pricing import PricedLine, PricedProposal
from services.proposal.versions import Proposal, ProposalVersion
from services.proposal.workflow import ProposalFile, Quote, Revision

Json = dict[str, Any]


def ledger_to_dict(ledger: Ledger) -> Json:
    return {"files": [_file_to(f) for f in ledger.files], "seen": list(ledger.seen)}


def ledger_from_dict(data: Mapping[str, Any]) -> Ledger:
    return Ledger(tuple(_file_from(f) for f in data["files"]), tuple(data["seen"]))


def _file_to(file: ProposalFile) -> Json:
    proposal = file.proposal
    return {
        "number": proposal.number,
        "opportunity_id": proposal.opportunity_id,
        "versions": [_version_to(v) for v in proposal.versions],
        "revisions": [_revision_to(r) for r in file.revisions],
    }


def _file_from(data: Mapping[str, Any]) -> ProposalFile:
    versions = tuple(_version_from(v) for v in data["versions"])
    proposal = Proposal(data["number"], data["opportunity_id"], versions)
    return ProposalFile(proposal, tuple(_revision_from(r) for r in data["revisions"]))


def _version_to(version: ProposalVersion) -> Json:
    return {
        "version": version.version,
        "priced": priced_to_dict(version.priced),
        "valid_until": version.valid_until.isoformat(),
        "created_at": version.created_at.isoformat(),
        "status": version.status,
        "sent_at": _moment_to(version.sent_at),
    }


def _version_from(data: Mapping[str, Any]) -> ProposalVersion:
    return ProposalVersion(
        version=data["version"],
        priced=priced_from_dict(data["priced"]),
        valid_until=date.fromisoformat(data["valid_until"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        status=data["status"],
        sent_at=_moment_from(data["sent_at"]),
    )


def priced_to_dict(priced: PricedProposal) -> Json:
    currency = priced.currency
    return {
        "currency": {"code": currency.code, "minor_units": currency.minor_units, "symbol": currency.symbol},
        "segment": priced.segment,
        "lines": [_line_to(line) for line in priced.lines],
        **{name: str(getattr(priced, name)) for name in _PRICED_AMOUNTS},
    }


def priced_from_dict(data: Mapping[str, Any]) -> PricedProposal:
    return PricedProposal(
        currency=Currency(**data["currency"]),
        segment=data["segment"],
        lines=tuple(_line_from(line) for line in data["lines"]),
        **{name: Decimal(data[name]) for name in _PRICED_AMOUNTS},
    )


_PRICED_AMOUNTS = (
    "subtotal",
    "overall_discount_rate",
    "overall_discount_amount",
    "discount_total",
    "tax_rate",
    "tax",
    "total",
)
_LINE_AMOUNTS = ("list_price", "unit_price", "discount_rate", "discount_amount", "line_total", "max_discount")


def _line_to(line: PricedLine) -> Json:
    tier = {"min_qty": line.tier.min_qty, "unit_price": str(line.tier.unit_price)} if line.tier else None
    return {
        "sku": line.sku,
        "name": line.name,
        "unit": line.unit,
        "quantity": line.quantity,
        "tier": tier,
        **{name: str(getattr(line, name)) for name in _LINE_AMOUNTS},
    }


def _line_from(data: Mapping[str, Any]) -> PricedLine:
    tier = data["tier"]
    return PricedLine(
        sku=data["sku"],
        name=data["name"],
        unit=data["unit"],
        quantity=data["quantity"],
        tier=Tier(tier["min_qty"], Decimal(tier["unit_price"])) if tier else None,
        **{name: Decimal(data[name]) for name in _LINE_AMOUNTS},
    )


def _revision_to(revision: Revision) -> Json:
    quote, documents = revision.quote, revision.documents
    return {
        "quote": {
            "customer": _party_to(quote.customer),
            "terms": quote.terms,
            "rep_id": quote.rep_id,
            "role": quote.role,
            "request_id": quote.request_id,
        },
        "approval": approval_to_dict(revision.approval) if revision.approval else None,
        "documents": {"html_url": documents.html_url, "pdf_url": documents.pdf_url} if documents else None,
    }


def _revision_from(data: Mapping[str, Any]) -> Revision:
    quote = data["quote"]
    return Revision(
        quote=Quote(
            _party_from(quote["customer"]), quote["terms"], quote["rep_id"], quote["role"], quote["request_id"]
        ),
        approval=approval_from_dict(data["approval"]) if data["approval"] else None,
        documents=StoredDocuments(**data["documents"]) if data["documents"] else None,
    )


def _party_to(party: Party) -> Json:
    return {"company": party.company, "contact": party.contact, "address": list(party.address), "email": party.email}


def _party_from(data: Mapping[str, Any]) -> Party:
    return Party(data["company"], data["contact"], tuple(data["address"]), data["email"])


def approval_to_dict(approval: Approval) -> Json:
    return {
        "number": approval.number,
        "version": approval.version,
        "triggers": [_trigger_to(t) for t in approval.triggers],
        "pending": list(approval.pending),
        "status": approval.status,
        "waiting_since": approval.waiting_since.isoformat(),
        "decisions": [_decision_to(d) for d in approval.decisions],
    }


def approval_from_dict(data: Mapping[str, Any]) -> Approval:
    return Approval(
        number=data["number"],
        version=data["version"],
        triggers=tuple(_trigger_from(t) for t in data["triggers"]),
        pending=tuple(data["pending"]),
        status=data["status"],
        waiting_since=datetime.fromisoformat(data["waiting_since"]),
        decisions=tuple(_decision_from(d) for d in data["decisions"]),
    )


def _trigger_to(trigger: Trigger) -> Json:
    return {
        "sku": trigger.sku,
        "quantity": trigger.quantity,
        "unit_price": str(trigger.unit_price),
        "discount": str(trigger.discount),
        "outside_band": trigger.outside_band,
        "role": trigger.role,
    }


def _trigger_from(data: Mapping[str, Any]) -> Trigger:
    return Trigger(
        data["sku"],
        data["quantity"],
        Decimal(data["unit_price"]),
        Decimal(data["discount"]),
        data["outside_band"],
        data["role"],
    )


def _decision_to(decision: Decision) -> Json:
    return {
        "role": decision.role,
        "approver": decision.approver,
        "approved": decision.approved,
        "at": decision.at.isoformat(),
        "note": decision.note,
    }


def _decision_from(data: Mapping[str, Any]) -> Decision:
    return Decision(data["role"], data["approver"], data["approved"], datetime.fromisoformat(data["at"]), data["note"])


def _moment_to(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment_from(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None
