"""Tests of approval thresholds, the approval state machine and re-approval of revisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings

from services.proposal.approvals import (
    Approval,
    ApprovalError,
    Decision,
    PolicyError,
    approval_chain,
    decide,
    escalate_overdue,
    find_triggers,
    needs_reapproval,
    parse_policy,
    request_approval,
)
from services.proposal.pricing import (
    LineRequest,
    PricedProposal,
    PricingRequest,
    price_proposal,
)
from services.proposal.tests.samples import CATALOG, POLICY, pricing_requests

D = Decimal
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def quote(*lines: LineRequest, overall: str = "0") -> PricedProposal:
    return price_proposal(PricingRequest("USD", lines, overall_discount=D(overall)), CATALOG)


def chain_for(*lines: LineRequest, overall: str = "0") -> tuple[str, ...]:
    return approval_chain(find_triggers(quote(*lines, overall=overall), POLICY), POLICY)


def pending_approval(*lines: LineRequest) -> Approval:
    approval = request_approval("P-1", 1, quote(*lines), POLICY, NOW)
    assert approval is not None
    return approval


@pytest.mark.parametrize(
    ("discount", "chain"),
    [
        ("0", ()),
        ("0.10", ()),
        ("0.1001", ("manager",)),
        ("0.25", ("manager",)),
        ("0.2501", ("manager", "vp")),
        ("0.30", ("manager", "vp")),
    ],
)
def test_chain_follows_the_role_thresholds(discount: str, chain: tuple[str, ...]) -> None:
    """Up to 10 % needs nobody, up to 25 % the manager, beyond that the manager then the VP."""
    assert chain_for(LineRequest("SF-CRM-PRO", 10, D(discount))) == chain


def test_discount_outside_the_band_goes_to_the_top() -> None:
    """Training allows 5 %: 8 % is within the rep's limit but still needs the VP."""
    triggers = find_triggers(quote(LineRequest("SF-TRN-DAY", 1, D("0.08"))), POLICY)
    assert [(t.sku, t.outside_band, t.role) for t in triggers] == [("SF-TRN-DAY", True, "vp")]
    assert approval_chain(triggers, POLICY) == ("manager", "vp")


def test_overall_discount_counts_toward_each_line() -> None:
    """8 % on the line and 5 % overall make 12.6 %, over the rep's limit."""
    assert chain_for(LineRequest("SF-CRM-PRO", 10, D("0.08")), overall="0.05") == ("manager",)
    assert chain_for(LineRequest("SF-CRM-PRO", 10, D("0.08"))) == ()


def test_no_approval_when_every_line_is_within_limits() -> None:
    """A quote within the rep's limit and every band opens no approval."""
    priced = quote(LineRequest("SF-CRM-PRO", 10, D("0.05")))
    assert request_approval("P-1", 1, priced, POLICY, NOW) is None


def test_approval_completes_when_the_whole_chain_approves() -> None:
    """The manager then the VP approve; each step waits for its own approver."""
    approval = pending_approval(LineRequest("SF-CRM-PRO", 10, D("0.30")))
    assert (approval.status, approval.pending) == ("requested", ("manager", "vp"))
    approval = decide(approval, Decision("manager", "maria", True, NOW), POLICY)
    assert (approval.status, approval.pending) == ("requested", ("vp",))
    approval = decide(approval, Decision("vp", "victor", True, NOW), POLICY)
    assert (approval.status, approval.pending) == ("approved", ())
    assert [d.approver for d in approval.decisions] == ["maria", "victor"]


def test_a_higher_role_approves_for_the_steps_below() -> None:
    """The VP approving first clears the manager's step too."""
    approval = pending_approval(LineRequest("SF-CRM-PRO", 10, D("0.30")))
    approval = decide(approval, Decision("vp", "victor", True, NOW), POLICY)
    assert approval.status == "approved"


def test_rejection_ends_the_approval() -> None:
    """One rejection rejects, and no decision is taken after it."""
    approval = pending_approval(LineRequest("SF-CRM-PRO", 10, D("0.30")))
    approval = decide(approval, Decision("manager", "maria", False, NOW, "too deep"), POLICY)
    assert approval.status == "rejected"
    with pytest.raises(ApprovalError, match="rejected"):
        decide(approval, Decision("vp", "victor", True, NOW), POLICY)


@pytest.mark.parametrize("role", ["rep", "intern"])
def test_only_the_current_approver_or_above_may_decide(role: str) -> None:
    """A role below the current step, or unknown, cannot decide."""
    approval = pending_approval(LineRequest("SF-CRM-PRO", 10, D("0.15")))
    with pytest.raises(ApprovalError):
        decide(approval, Decision(role, "x", True, NOW), POLICY)


def test_timeout_escalates_to_the_next_role_once_per_timeout() -> None:
    """After 24 h of silence the manager's step goes to the VP; the VP's step stays put."""
    approval = pending_approval(LineRequest("SF-CRM-PRO", 10, D("0.15")))
    due = NOW + timedelta(hours=24)
    assert escalate_overdue(approval, POLICY, due - timedelta(seconds=1)) is approval
    escalated = escalate_overdue(approval, POLICY, due)
    assert (escalated.status, escalated.pending, escalated.waiting_since) == ("escalated", ("vp",), due)
    assert escalate_overdue(escalated, POLICY, due + timedelta(hours=1)) is escalated
    assert escalate_overdue(escalated, POLICY, due + timedelta(hours=48)) == escalated
    approved = decide(escalated, Decision("vp", "victor", True, due), POLICY)
    assert approved.status == "approved"


def test_escalation_merges_into_a_chain_that_already_has_the_role() -> None:
    """Manager then VP: the manager's timeout leaves the VP as the only step."""
    approval = pending_approval(LineRequest("SF-CRM-PRO", 10, D("0.30")))
    escalated = escalate_overdue(approval, POLICY, NOW + timedelta(days=1))
    assert escalated.pending == ("vp",)


def test_decided_approvals_never_escalate() -> None:
    """An approved request stays approved however late it is."""
    approval = pending_approval(LineRequest("SF-CRM-PRO", 10, D("0.15")))
    approved = decide(approval, Decision("manager", "maria", True, NOW), POLICY)
    assert escalate_overdue(approved, POLICY, NOW + timedelta(days=9)) is approved


def approved_for(*lines: LineRequest) -> Approval:
    approval = pending_approval(*lines)
    return decide(approval, Decision("vp", "victor", True, NOW), POLICY)


DEEP = LineRequest("SF-CRM-PRO", 10, D("0.20"))
PLAIN = LineRequest("SF-ANL-ADD", 10)


def test_revision_of_untriggering_lines_keeps_the_approval() -> None:
    """Changing a line that never needed approval does not ask again."""
    approved = approved_for(DEEP, PLAIN)
    revised = find_triggers(quote(DEEP, replace(PLAIN, quantity=40)), POLICY)
    assert not needs_reapproval(approved, revised)


def test_revision_removing_the_deep_discount_keeps_no_approval_need() -> None:
    """Dropping the discount that triggered approval needs none."""
    approved = approved_for(DEEP, PLAIN)
    assert not needs_reapproval(approved, find_triggers(quote(PLAIN), POLICY))


@pytest.mark.parametrize(
    "changed",
    [
        replace(DEEP, discount=D("0.22")),
        replace(DEEP, discount=D("0.18")),
        replace(DEEP, quantity=11),
    ],
)
def test_revision_changing_a_triggering_line_needs_reapproval(changed: LineRequest) -> None:
    """A new discount or quantity on the line that triggered approval asks again."""
    approved = approved_for(DEEP, PLAIN)
    assert needs_reapproval(approved, find_triggers(quote(changed, PLAIN), POLICY))


def test_revision_adding_a_triggering_line_needs_reapproval() -> None:
    """A newly added deep discount asks again."""
    approved = approved_for(DEEP)
    extra = LineRequest("SF-SBX-FULL", 1, D("0.12"))
    assert needs_reapproval(approved, find_triggers(quote(DEEP, extra), POLICY))


def test_revision_without_a_granted_approval_needs_one() -> None:
    """A pending or rejected approval does not cover a revision."""
    pending = pending_approval(DEEP)
    triggers = find_triggers(quote(DEEP), POLICY)
    assert needs_reapproval(pending, triggers)
    assert needs_reapproval(None, triggers)


@settings(max_examples=200, deadline=None)
@given(pricing_requests)
def test_no_discount_outside_its_band_or_limit_without_an_approval(request: PricingRequest) -> None:
    """A line beyond its band or the rep's limit, and only then, opens an approval."""
    priced = price_proposal(request, CATALOG)
    approval = request_approval("P-1", 1, priced, POLICY, NOW)
    rep_limit = POLICY.roles[0].max_discount
    assert rep_limit is not None
    overall = priced.overall_discount_rate
    discounts = [(1 - (1 - line.discount_rate) * (1 - overall), line) for line in priced.lines]
    outside_band = any(d > line.max_discount for d, line in discounts)
    over_limit = any(d > rep_limit for d, _ in discounts)
    assert (approval is not None) == (outside_band or over_limit)
    if outside_band:
        assert approval is not None and approval.pending[-1] == "vp"


POLICY_YAML = """
escalate_after_hours: 12
roles:
  - {role: rep, max_discount: "0.05"}
  - {role: director, max_discount: 0.2}
  - {role: cfo}
"""


def test_parses_a_policy() -> None:
    """Roles keep their order and limits; the timeout is in hours."""
    policy = parse_policy(POLICY_YAML)
    assert [(r.name, r.max_discount) for r in policy.roles] == [
        ("rep", D("0.05")),
        ("director", D("0.2")),
        ("cfo", None),
    ]
    assert policy.escalate_after == timedelta(hours=12)


def test_a_policy_may_escalate_after_seconds() -> None:
    """`escalate_after_seconds` replaces the hours, for demos and tests that cannot wait an hour."""
    policy = parse_policy(POLICY_YAML.replace("escalate_after_hours: 12", "escalate_after_seconds: 3"))
    assert policy.escalate_after == timedelta(seconds=3)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"0.05"', '"0.3"'),  # limits must rise
        ("  - {role: cfo}\n", ""),  # the last role must be unlimited
        ("director", "rep"),  # names are unique
        ("12", "0"),  # timeout of at least an hour
        ("0.2}", "abc}"),
        ("0.2}", "NaN}"),
        ("roles:", "rolez:"),
        ("escalate_after_hours: 12", "escalate_after_minutes: 5"),  # no known timeout
        ("escalate_after_hours: 12", "escalate_after_hours: 1\nescalate_after_seconds: 5"),  # two timeouts
    ],
)
def test_rejects_invalid_policies(old: str, new: str) -> None:
    """A malformed policy raises PolicyError."""
    assert old in POLICY_YAML
    with pytest.raises(PolicyError):
        parse_policy(POLICY_YAML.replace(old, new))


def test_a_manager_author_needs_only_the_roles_above() -> None:
    """A manager may grant 20 % alone and needs only the VP for 30 %."""
    alone = quote(LineRequest("SF-CRM-PRO", 10, D("0.20")))
    above = quote(LineRequest("SF-CRM-PRO", 10, D("0.30")))
    assert request_approval("P-1", 1, alone, POLICY, NOW, author="manager") is None
    approval = request_approval("P-1", 1, above, POLICY, NOW, author="manager")
    assert approval is not None and approval.pending == ("vp",)


def test_the_final_authority_may_grant_a_band_exception_alone() -> None:
    """The VP authoring a quote outside a product's band needs nobody."""
    outside = quote(LineRequest("SF-TRN-DAY", 1, D("0.08")))
    assert find_triggers(outside, POLICY, "vp") == ()
    assert find_triggers(outside, POLICY, "manager")[0].role == "vp"


def test_an_unknown_author_role_is_refused() -> None:
    """A role the policy does not know cannot author a quote."""
    with pytest.raises(ApprovalError):
        find_triggers(quote(LineRequest("SF-CRM-PRO", 1)), POLICY, "intern")
