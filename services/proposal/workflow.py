"""A proposal's life across requests, approvals, escalations, expiry, acceptance and withdrawal.

Pure: each step takes the current file and `now` and returns the new file plus what to emit;
rendering, storage and sending are the caller's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime

from services.proposal import versions
from services.proposal.approvals import (
    PENDING,
    Approval,
    ApprovalPolicy,
    Decision,
    decide,
    escalate_overdue,
    needs_reapproval,
    request_approval,
)
from services.proposal.document import StoredDocuments
from services.proposal.presentation import Party, ProposalDocument, RepContact
from services.proposal.pricing import PricedProposal, PricingRequest


class UnknownProposal(ValueError):
    """A revision, decision or acceptance names a proposal this opportunity does not have."""


@dataclass(frozen=True)
class Quote:
    """What a version is for and from: the printed customer and terms, and who asked."""

    customer: Party
    terms: str
    rep_id: str
    role: str
    request_id: str


@dataclass(frozen=True)
class QuoteRequest:
    """A decoded proposal request; `number` None opens a new proposal."""

    opportunity_id: str
    number: str | None
    pricing: PricingRequest
    valid_until: date
    quote: Quote


@dataclass(frozen=True)
class Revision:
    """Per-version extras: the quote, the approval covering the version, its stored documents."""

    quote: Quote
    approval: Approval | None = None
    documents: StoredDocuments | None = None


@dataclass(frozen=True)
class ProposalFile:
    """One proposal number: its versions and, index for index, their revisions."""

    proposal: versions.Proposal
    revisions: tuple[Revision, ...]

    @property
    def number(self) -> str:
        return self.proposal.number

    @property
    def latest(self) -> Revision:
        return self.revisions[-1]


@dataclass(frozen=True)
class Step:
    """The file after a change, and whether the latest version now needs an approval or generating."""

    file: ProposalFile
    ask_approval: bool = False
    generate: bool = False


@dataclass(frozen=True)
class DueCheck:
    """A deadline that passed: `escalation` of an approval step or `expiry` of the latest version."""

    kind: str
    number: str
    version: int
    due_at: datetime
    key: str


def proposal_number(request_id: str) -> str:
    """The number of a new proposal, derived from its request's event id (a replay gets the same)."""
    return "P-" + hashlib.sha256(request_id.encode()).hexdigest()[:12].upper()


def request_quote(
    file: ProposalFile | None, request: QuoteRequest, priced: PricedProposal, policy: ApprovalPolicy, now: datetime
) -> Step:
    """Open v1 or add the next version, then ask for approval only where one is newly needed."""
    if file is None:
        number = proposal_number(request.quote.request_id)
        proposal = versions.open_proposal(number, request.opportunity_id, priced, request.valid_until, now)
        return _cleared(ProposalFile(proposal, ()), request.quote, None, priced, policy, now)
    previous = file.latest.approval
    proposal = versions.revise(file.proposal, priced, request.valid_until, now)
    return _cleared(replace(file, proposal=proposal), request.quote, previous, priced, policy, now)


def _cleared(
    file: ProposalFile,
    quote: Quote,
    previous: Approval | None,
    priced: PricedProposal,
    policy: ApprovalPolicy,
    now: datetime,
) -> Step:
    version = file.proposal.latest.version
    wanted = request_approval(file.number, version, priced, policy, now, author=quote.role)
    if wanted is not None and needs_reapproval(previous, wanted.triggers):
        return Step(_with_revision(file, Revision(quote, wanted)), ask_approval=True)
    # Unchanged triggering lines stay covered by the approval granted for the earlier version.
    carried = previous if wanted is not None else None
    return Step(_with_revision(file, Revision(quote, carried)), generate=True)


def _with_revision(file: ProposalFile, revision: Revision) -> ProposalFile:
    return replace(file, revisions=(*file.revisions, revision))


def decide_approval(file: ProposalFile, version: int, decision: Decision, policy: ApprovalPolicy) -> Step:
    """Apply a decision to the latest version's approval; approval of the last step generates it."""
    approval = _pending(file, version)
    decided = decide(approval, decision, policy)
    file = _with_latest(file, replace(file.latest, approval=decided))
    return Step(file, ask_approval=decided.status in PENDING, generate=decided.status == "approved")


def escalate(file: ProposalFile, version: int, policy: ApprovalPolicy, now: datetime) -> Step:
    """Hand an overdue approval step up; asks again only when something escalated."""
    approval = file.latest.approval
    if version != file.proposal.latest.version or approval is None:
        return Step(file)
    escalated = escalate_overdue(approval, policy, now)
    return Step(_with_latest(file, replace(file.latest, approval=escalated)), ask_approval=escalated != approval)


def record_generated(file: ProposalFile, documents: StoredDocuments, now: datetime) -> ProposalFile:
    """Keep the latest version's document URLs and mark it sent: it is now the live offer."""
    proposal = versions.mark_sent(file.proposal, file.proposal.latest.version, now)
    return _with_latest(replace(file, proposal=proposal), replace(file.latest, documents=documents))


def accept_version(file: ProposalFile, version: int, now: datetime) -> ProposalFile:
    """Record the customer's acceptance; VersionError unless `version` is the live, sent latest."""
    return replace(file, proposal=versions.accept(file.proposal, version, now))


def withdraw_version(file: ProposalFile, version: int, now: datetime) -> ProposalFile:
    """Record the seller's withdrawal; VersionError unless `version` is the live, sent latest."""
    return replace(file, proposal=versions.withdraw(file.proposal, version, now))


def expire(file: ProposalFile, now: datetime) -> tuple[ProposalFile, versions.ProposalVersion | None]:
    """Expire the latest version once its validity passed; the version returned expired now."""
    proposal, expired = versions.expire_due(file.proposal, now)
    return replace(file, proposal=proposal), expired


def checks_due(file: ProposalFile, policy: ApprovalPolicy, now: datetime) -> tuple[DueCheck, ...]:
    """The deadlines of this file that passed at `now`; each `key` names one deadline for good."""
    latest = file.proposal.latest
    if latest.status not in versions.LIVE:
        return ()
    checks = (_escalation(file, policy), _expiry(file))
    return tuple(check for check in checks if check is not None and now >= check.due_at)


def _escalation(file: ProposalFile, policy: ApprovalPolicy) -> DueCheck | None:
    approval, version = file.latest.approval, file.proposal.latest.version
    if approval is None or not _escalable(approval, policy):
        return None
    due = approval.waiting_since + policy.escalate_after
    key = f"{file.number}:v{version}:escalation:{approval.pending[0]}:{_millis(due)}"
    return DueCheck("escalation", file.number, version, due, key)


def _expiry(file: ProposalFile) -> DueCheck:
    latest = file.proposal.latest
    key = f"{file.number}:v{latest.version}:expiry"
    return DueCheck("expiry", file.number, latest.version, versions.expires_at(latest), key)


def _escalable(approval: Approval, policy: ApprovalPolicy) -> bool:
    """Pending with a role above the current approver to hand the step to."""
    return approval.status in PENDING and policy.index(approval.pending[0]) + 1 < len(policy.roles)


def document_for(file: ProposalFile, version: int, seller: Party, rep: RepContact | None = None) -> ProposalDocument:
    """The document of one version, issued on the day the version was created.

    `rep` is the roster's entry for the version's rep; without one the document names the rep's id.
    """
    priced = file.proposal.get(version)
    quote = file.revisions[version - 1].quote
    issued = priced.created_at.date()
    contact = rep if rep is not None and rep.rep_id == quote.rep_id else RepContact(quote.rep_id)
    return ProposalDocument(
        file.number, version, issued, priced.valid_until, seller, quote.customer, quote.terms, priced.priced, contact
    )


def rep_of(file: ProposalFile, version: int) -> str:
    """The id of the rep who asked for `version`."""
    return file.revisions[version - 1].quote.rep_id


def _pending(file: ProposalFile, version: int) -> Approval:
    approval = file.latest.approval
    if version != file.proposal.latest.version:
        raise versions.VersionError(f"{file.number} v{version} is not the latest version")
    if approval is None or approval.version != version:
        raise UnknownProposal(f"{file.number} v{version} has no approval to decide")
    return approval


def _with_latest(file: ProposalFile, revision: Revision) -> ProposalFile:
    return replace(file, revisions=(*file.revisions[:-1], revision))


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
