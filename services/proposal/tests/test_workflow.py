"""Tests of the proposal workflow: generation, approval holds, revisions, decisions, deadlines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.proposal.approvals import ApprovalError, Decision
from services.proposal.document import StoredDocuments
from services.proposal.ledger import REMEMBERED_EVENTS, Ledger, record
from services.proposal.presentation import Party, RepContact
from services.proposal.pricing import LineRequest, PricingRequest, price_proposal
from services.proposal.tests.samples import CATALOG, POLICY
from services.proposal.versions import VersionError
from services.proposal.workflow import (
    ProposalFile,
    Quote,
    QuoteRequest,
    Step,
    UnknownProposal,
    accept_version,
    checks_due,
    decide_approval,
    document_for,
    escalate,
    expire,
    proposal_number,
    record_generated,
    rep_of,
    request_quote,
)

D = Decimal
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
VALID = date(2025, 6, 30)
DOCS = StoredDocuments("http://x/P/v/1.html", "http://x/P/v/1.pdf")


def ask(*lines: LineRequest, number: str | None = None, role: str = "rep", request_id: str = "req-1") -> QuoteRequest:
    quote = Quote(Party("Northwind"), "Net 30", "rep-1", role, request_id)
    return QuoteRequest("opp-1", number, PricingRequest("USD", lines), VALID, quote)


def step(file: ProposalFile | None, request: QuoteRequest, now: datetime = NOW) -> Step:
    return request_quote(file, request, price_proposal(request.pricing, CATALOG), POLICY, now)


def approve(file: ProposalFile, role: str, version: int = 1, approved: bool = True) -> Step:
    return decide_approval(file, version, Decision(role, f"{role}-1", approved, NOW + timedelta(hours=1)), POLICY)


def test_a_quote_within_limits_is_generated_at_once() -> None:
    """No line over the rep's limit: v1 goes straight to generation, no approval."""
    result = step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.05"))))
    assert (result.generate, result.ask_approval, result.file.latest.approval) == (True, False, None)
    assert result.file.number == proposal_number("req-1")


def test_a_deep_discount_waits_for_approval() -> None:
    """20 % asks the manager and holds generation."""
    result = step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.20"))))
    assert (result.generate, result.ask_approval) == (False, True)
    assert result.file.latest.approval is not None and result.file.latest.approval.pending == ("manager",)


def test_the_authors_role_sets_what_needs_approval() -> None:
    """The same 20 % from a manager needs nobody."""
    assert step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.20")), role="manager")).generate


def test_approval_of_the_last_step_generates() -> None:
    """Manager then VP: the manager's approval asks the VP, the VP's generates."""
    held = step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.30")))).file
    after_manager = approve(held, "manager")
    assert (after_manager.ask_approval, after_manager.generate) == (True, False)
    after_vp = approve(after_manager.file, "vp")
    assert (after_vp.ask_approval, after_vp.generate) == (False, True)


def test_rejection_neither_generates_nor_asks_again() -> None:
    """A rejected approval ends there."""
    held = step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.20")))).file
    rejected = approve(held, "manager", approved=False)
    assert (rejected.ask_approval, rejected.generate) == (False, False)
    with pytest.raises(ApprovalError):
        approve(rejected.file, "manager")


def test_a_revision_with_the_approved_lines_unchanged_needs_no_reapproval() -> None:
    """Adding an undiscounted line keeps the approval granted for v1."""
    deep = LineRequest("SF-CRM-PRO", 10, D("0.20"))
    approved = approve(step(None, ask(deep)).file, "manager").file
    revised = step(approved, ask(deep, LineRequest("SF-ONB-STD", 1), number=approved.number, request_id="req-2"))
    assert (revised.generate, revised.ask_approval) == (True, False)
    assert revised.file.proposal.latest.version == 2
    assert [v.status for v in revised.file.proposal.versions] == ["superseded", "draft"]


def test_a_revision_changing_a_triggering_line_needs_reapproval() -> None:
    """A deeper discount on the approved line asks again."""
    approved = approve(step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.20")))).file, "manager").file
    deeper = ask(LineRequest("SF-CRM-PRO", 10, D("0.22")), number=approved.number, request_id="req-2")
    assert step(approved, deeper).ask_approval


def test_decisions_on_a_superseded_version_are_refused() -> None:
    """Once v2 exists, a decision for v1 is stale."""
    held = step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.20")))).file
    revised = step(held, ask(LineRequest("SF-CRM-PRO", 10, D("0.21")), number=held.number, request_id="r2")).file
    with pytest.raises(VersionError):
        approve(revised, "manager", version=1)


def test_a_decision_without_an_approval_is_refused() -> None:
    """A version generated at once has nothing to decide."""
    file = step(None, ask(LineRequest("SF-CRM-PRO", 1))).file
    with pytest.raises(UnknownProposal):
        approve(file, "manager")


def test_generation_marks_the_version_sent_and_acceptable() -> None:
    """Generated versions are the live offer; acceptance then records it."""
    file = record_generated(step(None, ask(LineRequest("SF-CRM-PRO", 1))).file, DOCS, NOW)
    assert (file.proposal.latest.status, file.latest.documents) == ("sent", DOCS)
    assert accept_version(file, 1, NOW).proposal.latest.status == "accepted"


def test_a_held_version_cannot_be_accepted() -> None:
    """A version awaiting approval was never sent."""
    held = step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.20")))).file
    with pytest.raises(VersionError):
        accept_version(held, 1, NOW)


def test_an_overdue_step_is_due_once_then_escalates() -> None:
    """After 24 h the manager's step is due; escalating hands it to the VP and asks again."""
    held = step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.20")))).file
    assert checks_due(held, POLICY, NOW + timedelta(hours=23)) == ()
    (check,) = checks_due(held, POLICY, NOW + timedelta(hours=24))
    assert (check.kind, check.version) == ("escalation", 1)
    escalated = escalate(held, 1, POLICY, NOW + timedelta(hours=24))
    assert escalated.ask_approval and escalated.file.latest.approval is not None
    assert escalated.file.latest.approval.pending == ("vp",)
    assert not escalate(escalated.file, 1, POLICY, NOW + timedelta(hours=25)).ask_approval


def test_nothing_escalates_past_the_final_authority() -> None:
    """A step already with the VP has no escalation deadline."""
    held = step(None, ask(LineRequest("SF-CRM-PRO", 10, D("0.30")))).file
    at_vp = approve(held, "manager").file
    assert [c.kind for c in checks_due(at_vp, POLICY, NOW + timedelta(days=2))] == []


def test_expiry_is_due_after_the_validity_date_and_expires_once() -> None:
    """The day after valid_until the version expires, once."""
    file = record_generated(step(None, ask(LineRequest("SF-CRM-PRO", 1))).file, DOCS, NOW)
    after = datetime(2025, 7, 1, tzinfo=UTC)
    assert checks_due(file, POLICY, after - timedelta(seconds=1)) == ()
    assert [c.key for c in checks_due(file, POLICY, after)] == [f"{file.number}:v1:expiry"]
    expired, version = expire(file, after)
    assert version is not None and expire(expired, after)[1] is None
    assert checks_due(expired, POLICY, after) == ()


def test_the_document_carries_the_version_and_quote() -> None:
    """The document shows the version's pricing, customer, terms and issue date."""
    file = step(None, ask(LineRequest("SF-CRM-PRO", 3))).file
    doc = document_for(file, 1, Party("Salesflow Inc."))
    assert (doc.number, doc.issued_on, doc.customer.company, doc.terms) == (
        file.number,
        NOW.date(),
        "Northwind",
        "Net 30",
    )
    assert doc.priced.total == file.proposal.latest.priced.total


def test_the_document_names_the_versions_rep_or_falls_back_to_the_id() -> None:
    """The roster's entry for the version's rep is printed; none, or another rep's, falls back to the id."""
    file = step(None, ask(LineRequest("SF-CRM-PRO", 3))).file
    rep_id = rep_of(file, 1)
    named = RepContact(rep_id, "Noor Haddad", "noor@example.com")
    assert document_for(file, 1, Party("Salesflow Inc."), named).rep == named
    assert document_for(
        file, 1, Party("Salesflow Inc."), RepContact("someone-else", "X", "x@example.com")
    ).rep == RepContact(rep_id)
    assert document_for(file, 1, Party("Salesflow Inc.")).rep == RepContact(rep_id)


def test_the_ledger_remembers_recent_event_ids_only() -> None:
    """Dedupe memory is bounded: the oldest ids are forgotten first."""
    file = step(None, ask(LineRequest("SF-CRM-PRO", 1))).file
    ledger = Ledger()
    for i in range(REMEMBERED_EVENTS + 1):
        ledger = record(ledger, file, f"e{i}")
    assert (ledger.has_seen("e0"), ledger.has_seen("e1"), len(ledger.files)) == (False, True, 1)
    assert record(ledger, replace(file, revisions=()), "x").find(file.number) == replace(file, revisions=())
