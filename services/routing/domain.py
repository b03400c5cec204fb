"""Routing decisions: which pool a lead goes to, who got it, and why the others did not.

Pure: no Kafka, Redis, logging or clock; `now` is an argument, shared state a Protocol.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from services.routing.eligibility import (
    LeadToRoute,
    account_domain,
    eligibility,
    facts_of,
    first_rule,
    match_rule,
)
from services.routing.policy import RoutingPolicy
from services.routing.roster import Rep

Outcome = Literal["chosen", "passed_over"]
Reason = Literal[
    "account_owner",
    "round_robin",
    "at_capacity",
    "inactive",
    "not_in_roster",
    "outside_territory",
    "product_mismatch",
    "segment_mismatch",
    "lost_round_robin",
]
AssignmentReason = Literal[
    "account_owner",
    "round_robin",
    "no_matching_rule",
    "no_eligible_rep",
    "all_at_capacity",
]
__all__ = [
    "Assignment",
    "Candidate",
    "LeadToRoute",
    "Pick",
    "RepLoadStore",
    "RoutePlan",
    "account_domain",
    "decide_assignment",
    "match_rule",
    "plan_route",
    "route_leads",
    "sla_due_at",
]
OWNER_RULE = "account_owner"
NO_RULE = "no_matching_rule"


@dataclass(frozen=True)
class Candidate:
    """One rep the decision considered: chosen, or passed over for `reason`."""

    rep_id: str
    outcome: Outcome
    reason: Reason


@dataclass(frozen=True)
class RoutePlan:
    """The pure half of a decision: an active owner first, then a rotation over `pool`.

    `pool` is sorted by rep_id so the same roster always yields the same cursor order;
    `capacity` holds max open leads for the owner and every pool member.
    """

    rule_name: str
    pool: tuple[str, ...]
    passed_over: tuple[Candidate, ...]
    owner: str | None = None
    capacity: Mapping[str, int] = field(default_factory=dict, hash=False)

    @property
    def pool_key(self) -> str:
        """Names the round-robin cursor: one per distinct (rule, members) pair."""
        digest = hashlib.sha1("\n".join(self.pool).encode(), usedforsecurity=False)
        return f"{self.rule_name}:{digest.hexdigest()[:16]}"


@dataclass(frozen=True)
class Pick:
    """The store's answer: who took the lead (None: all full) and who was full."""

    rep_id: str | None
    skipped_at_capacity: tuple[str, ...] = ()
    replayed: bool = False


@dataclass(frozen=True)
class Assignment:
    """The routed lead: exactly one of `rep_id` and `queue` is set; none is dropped."""

    lead_id: str
    rep_id: str | None
    queue: str | None
    rule_name: str
    reason: AssignmentReason
    sla_due_at: datetime
    candidates: tuple[Candidate, ...]


class RepLoadStore(Protocol):
    """Shared, cross-replica state: rep open loads, pool cursors, account owners.

    Each call serves a list in one round trip; its answers come in the order asked.
    """

    async def account_owners(self, domains: Sequence[str]) -> list[str | None]:
        """The rep owning each company domain, if any."""
        ...

    async def pick_reps(self, requests: Sequence[tuple[str, RoutePlan]]) -> list[Pick]:
        """For each (lead_id, plan) in turn, atomically take the owner or the next rep with room
        and count the lead on them; a later pick sees the earlier ones.

        Idempotent per lead_id: a redelivered lead gets the first answer, counted once.
        """
        ...

    async def claim_accounts(self, claims: Sequence[tuple[str, str]]) -> list[str]:
        """Make each (domain, rep_id)'s rep the domain's owner unless one exists; returns the owners."""
        ...

    async def release(self, rep_id: str) -> int:
        """Give back one unit of the rep's load (floor 0); returns the new load."""
        ...


def plan_route(
    lead: LeadToRoute,
    reps: Mapping[str, Rep],
    policy: RoutingPolicy,
    account_owner: str | None,
) -> RoutePlan:
    """Plan the decision: an active owner, then the first matching rule's eligible reps.

    `reps` is keyed by rep_id. Deterministic: the same inputs give the same plan in any
    map order.
    An owner is tried whatever the rule; an owner at capacity overflows to the pool.
    """
    owner = reps.get(account_owner) if account_owner else None
    owner_id = owner.rep_id if owner is not None and owner.active else None
    passed = _owner_passed_over(account_owner, owner)
    facts = facts_of(lead, policy)
    rule = first_rule(facts, policy)
    verdicts = eligibility(facts, reps, rule, skip=account_owner)
    pool = tuple(rep_id for rep_id, reason in verdicts if reason is None)
    passed += tuple(Candidate(r, "passed_over", reason) for r, reason in verdicts if reason)
    members = (owner_id, *pool) if owner_id else pool
    return RoutePlan(
        rule_name=rule.name if rule else NO_RULE,
        pool=pool,
        passed_over=passed,
        owner=owner_id,
        capacity={rep_id: reps[rep_id].capacity for rep_id in members},
    )


def decide_assignment(
    lead: LeadToRoute,
    plan: RoutePlan,
    picked: str | None,
    skipped_at_capacity: tuple[str, ...],
    policy: RoutingPolicy,
    now: datetime,
) -> Assignment:
    """Turn the store's pick into the assignment; no pick means the fallback queue."""
    by_owner = picked is not None and picked == plan.owner
    return Assignment(
        lead_id=lead.lead_id,
        rep_id=picked,
        queue=None if picked else policy.fallback_queue,
        rule_name=OWNER_RULE if by_owner else plan.rule_name,
        reason=_assignment_reason(plan, picked, by_owner),
        sla_due_at=sla_due_at(lead.grade, now, policy),
        candidates=_audit(plan, picked, frozenset(skipped_at_capacity)),
    )


def sla_due_at(grade: str | None, now: datetime, policy: RoutingPolicy) -> datetime:
    """When the first touch is due: `now` (timezone-aware) plus the grade's window."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now + policy.sla_for(grade)


async def route_leads(
    leads: Sequence[LeadToRoute],
    reps: Mapping[str, Rep],
    policy: RoutingPolicy,
    store: RepLoadStore,
    now: datetime,
) -> list[Assignment]:
    """Route leads in order, as one at a time would: owner look-up, plan, atomic pick, then the
    account claimed for the rep who got it.

    Each step is one round trip for a run of leads (`_runs`): a lead whose account an earlier lead
    of the run may just have claimed starts the next run, so it sees that claim.
    """
    assignments: list[Assignment] = []
    for run in _runs([(lead, account_domain(lead, policy)) for lead in leads]):
        owners = iter(await store.account_owners([domain for _, domain in run if domain]))
        plans = [plan_route(lead, reps, policy, next(owners) if domain else None) for lead, domain in run]
        picks = await store.pick_reps([(lead.lead_id, plan) for (lead, _), plan in zip(run, plans, strict=True)])
        claims = [(domain, pick.rep_id) for (_, domain), pick in zip(run, picks, strict=True) if domain and pick.rep_id]
        if claims:
            await store.claim_accounts(claims)
        assignments += [
            decide_assignment(lead, plan, pick.rep_id, pick.skipped_at_capacity, policy, now)
            for (lead, _), plan, pick in zip(run, plans, picks, strict=True)
        ]
    return assignments


def _runs(leads: list[tuple[LeadToRoute, str | None]]) -> list[list[tuple[LeadToRoute, str | None]]]:
    """The leads cut, in order, into runs with no account domain twice."""
    runs: list[list[tuple[LeadToRoute, str | None]]] = [[]]
    domains: set[str] = set()
    for lead, domain in leads:
        if domain in domains:
            runs.append([])
            domains.clear()
        runs[-1].append((lead, domain))
        if domain:
            domains.add(domain)
    return [run for run in runs if run]


def _owner_passed_over(account_owner: str | None, owner: Rep | None) -> tuple[Candidate, ...]:
    if account_owner is None or (owner is not None and owner.active):
        return ()
    return (
        Candidate(
            account_owner,
            "passed_over",
            "not_in_roster" if owner is None else "inactive",
        ),
    )


def _assignment_reason(plan: RoutePlan, picked: str | None, by_owner: bool) -> AssignmentReason:
    if picked:
        return "account_owner" if by_owner else "round_robin"
    if plan.rule_name == NO_RULE and plan.owner is None:
        return "no_matching_rule"
    return "all_at_capacity" if plan.pool or plan.owner else "no_eligible_rep"


def _audit(plan: RoutePlan, picked: str | None, full: frozenset[str]) -> tuple[Candidate, ...]:
    """Every rep considered: the chosen, the rest of owner and pool, the ineligible."""
    how: Reason = "account_owner" if picked == plan.owner else "round_robin"
    chosen = (Candidate(picked, "chosen", how),) if picked else ()
    members = (plan.owner, *plan.pool) if plan.owner else plan.pool
    lost = tuple(
        Candidate(r, "passed_over", "at_capacity" if r in full else "lost_round_robin") for r in members if r != picked
    )
    return chosen + lost + plan.passed_over
