"""Discount approvals: who must approve a priced proposal, and the approval's state machine.

Pure: the policy comes in as YAML text or values, time comes in as `now`; nothing is sent here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import yaml

from services.proposal.pricing import ONE, PricedLine, PricedProposal

Status = Literal["requested", "escalated", "approved", "rejected"]
PENDING: frozenset[Status] = frozenset({"requested", "escalated"})


class PolicyError(ValueError):
    """The approval policy configuration is malformed."""


class ApprovalError(ValueError):
    """A decision that does not fit the approval's state (decided already, wrong approver)."""


@dataclass(frozen=True)
class Role:
    """A role and the widest discount fraction it may grant alone; None means no limit."""

    name: str
    max_discount: Decimal | None


@dataclass(frozen=True)
class ApprovalPolicy:
    """Roles from the quote author (first) to the final authority (last, no limit)."""

    roles: tuple[Role, ...]
    escalate_after: timedelta

    def index(self, role: str) -> int:
        names = [r.name for r in self.roles]
        if role not in names:
            raise ApprovalError(f"unknown role {role!r}")
        return names.index(role)


@dataclass(frozen=True)
class Trigger:
    """A line that needs approval, with the values the approval was given for."""

    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    outside_band: bool
    role: str


@dataclass(frozen=True)
class Decision:
    """One approver's answer."""

    role: str
    approver: str
    approved: bool
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class Approval:
    """An approval in flight: `pending` lists the roles still to approve, in order."""

    number: str
    version: int
    triggers: tuple[Trigger, ...]
    pending: tuple[str, ...]
    status: Status
    waiting_since: datetime
    decisions: tuple[Decision, ...] = ()


def load_policy(path: Path) -> ApprovalPolicy:
    """Read and validate an approval policy file."""
    return parse_policy(path.read_text(encoding="utf-8"))


def parse_policy(text: str) -> ApprovalPolicy:
    """Validate policy YAML: `escalate_after_hours` (or `_seconds`) and `roles` (see approvals.yaml)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyError(f"approval policy is not valid YAML: {error}") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("roles"), list):
        raise PolicyError("approval policy needs a 'roles' list")
    roles = tuple(_role(item, i) for i, item in enumerate(raw["roles"]))
    return _checked(ApprovalPolicy(roles, _escalation_delay(raw)))


def _escalation_delay(raw: dict[str, Any]) -> timedelta:
    """`escalate_after_hours` in production; `escalate_after_seconds` lets a demo or test escalate soon."""
    given = [key for key in ("escalate_after_hours", "escalate_after_seconds") if key in raw]
    if len(given) != 1:
        raise PolicyError("give exactly one of escalate_after_hours, escalate_after_seconds")
    value = raw[given[0]]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PolicyError(f"{given[0]} must be a whole number >= 1")
    return timedelta(hours=value) if given[0] == "escalate_after_hours" else timedelta(seconds=value)


def _role(raw: Any, i: int) -> Role:
    if not isinstance(raw, dict) or not isinstance(raw.get("role"), str):
        raise PolicyError(f"roles[{i}] needs a 'role' name")
    limit = raw.get("max_discount")
    if limit is None:
        return Role(raw["role"], None)
    try:
        value = Decimal(str(limit))
    except InvalidOperation as error:
        raise PolicyError(f"roles[{i}].max_discount must be a fraction") from error
    if not value.is_finite():
        raise PolicyError(f"roles[{i}].max_discount must be a fraction")
    return Role(raw["role"], value)


def _checked(policy: ApprovalPolicy) -> ApprovalPolicy:
    """Limits ascend from the author up, and only the last role is unlimited."""
    limits = [r.max_discount for r in policy.roles]
    bounded = [limit for limit in limits[:-1] if limit is not None]
    if len(limits) < 2 or limits[-1] is not None or len(bounded) != len(limits) - 1:
        raise PolicyError("at least two roles; every role but the last has a max_discount")
    if bounded != sorted(set(bounded)) or not all(0 <= b < 1 for b in bounded):
        raise PolicyError("max_discount must rise strictly from role to role, within [0, 1)")
    if len({r.name for r in policy.roles}) != len(policy.roles):
        raise PolicyError("role names must be unique")
    return policy


def effective_discount(line: PricedLine, overall_rate: Decimal) -> Decimal:
    """The line's total discount off its gross once the overall discount applies on top."""
    return ONE - (ONE - line.discount_rate) * (ONE - overall_rate)


def find_triggers(priced: PricedProposal, policy: ApprovalPolicy, author: str | None = None) -> tuple[Trigger, ...]:
    """The lines whose discount exceeds the author's limit or the product's band.

    `author` is the requester's role (default: the first); what it may grant alone needs nobody.
    """
    floor = policy.index(author) if author else 0
    found = (_trigger(line, priced.overall_discount_rate, policy) for line in priced.lines)
    return tuple(trigger for trigger in found if trigger is not None and policy.index(trigger.role) > floor)


def _trigger(line: PricedLine, overall: Decimal, policy: ApprovalPolicy) -> Trigger | None:
    discount = effective_discount(line, overall)
    outside_band = discount > line.max_discount
    # A band exception goes to the final authority whatever the role limits say.
    role = policy.roles[-1] if outside_band else _lowest_role_allowing(discount, policy)
    if role == policy.roles[0]:
        return None
    return Trigger(line.sku, line.quantity, line.unit_price, discount, outside_band, role.name)


def _lowest_role_allowing(discount: Decimal, policy: ApprovalPolicy) -> Role:
    return next(r for r in policy.roles if r.max_discount is None or discount <= r.max_discount)


def approval_chain(triggers: tuple[Trigger, ...], policy: ApprovalPolicy, author: str | None = None) -> tuple[str, ...]:
    """Every role above the author up to the highest role a trigger needs, lowest first."""
    floor = policy.index(author) if author else 0
    top = max((policy.index(t.role) for t in triggers), default=floor)
    return tuple(role.name for role in policy.roles[floor + 1 : top + 1])


def request_approval(
    number: str, version: int, priced: PricedProposal, policy: ApprovalPolicy, now: datetime, author: str | None = None
) -> Approval | None:
    """Open an approval for a proposal version, or None when no line needs one from `author`."""
    triggers = find_triggers(priced, policy, author)
    if not triggers:
        return None
    chain = approval_chain(triggers, policy, author)
    return Approval(number, version, triggers, chain, "requested", waiting_since=now)


def decide(approval: Approval, decision: Decision, policy: ApprovalPolicy) -> Approval:
    """Apply a decision by the current approver or any role above it.

    An approval clears every pending role at or below the decider's; a rejection ends it.
    """
    if approval.status not in PENDING:
        where = f"{approval.number} v{approval.version}"
        raise ApprovalError(f"approval of {where} is {approval.status}")
    rank = policy.index(decision.role)
    if rank < policy.index(approval.pending[0]):
        raise ApprovalError(f"{decision.role} cannot decide for {approval.pending[0]}")
    decisions = (*approval.decisions, decision)
    if not decision.approved:
        return replace(approval, status="rejected", decisions=decisions, pending=())
    pending = tuple(role for role in approval.pending if policy.index(role) > rank)
    status: Status = "approved" if not pending else approval.status
    return replace(approval, status=status, pending=pending, decisions=decisions, waiting_since=decision.at)


def due_at(approval: Approval, policy: ApprovalPolicy) -> datetime:
    """When the current approver's silence escalates the request."""
    return approval.waiting_since + policy.escalate_after


def escalate_overdue(approval: Approval, policy: ApprovalPolicy, now: datetime) -> Approval:
    """Hand an overdue step to the next role up; unchanged if not due or nobody is above.

    The caller emits an escalation when the returned value differs from the one passed in.
    """
    if approval.status not in PENDING or now < due_at(approval, policy):
        return approval
    rank = policy.index(approval.pending[0])
    if rank + 1 >= len(policy.roles):
        return approval
    above = policy.roles[rank + 1].name
    rest = tuple(role for role in approval.pending if policy.index(role) > rank + 1)
    return replace(approval, status="escalated", pending=(above, *rest), waiting_since=now)


def needs_reapproval(approved: Approval | None, revised: tuple[Trigger, ...]) -> bool:
    """Whether a revision needs a new approval given the previous version's approval.

    Only when a revised line needs approval and was not approved as it now stands:
    a new triggering line, or a triggering line whose quantity, price or discount changed.
    """
    if not revised:
        return False
    if approved is None or approved.status != "approved":
        return True
    return not set(revised) <= set(approved.triggers)
