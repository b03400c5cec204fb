"""Words for an assignment: the `reason` a rep or manager reads in LeadAssigned.

Pure formatting of a decided Assignment; it decides nothing itself.
"""

from __future__ import annotations

from services.routing.domain import Assignment

_IN_POOL = frozenset({"account_owner", "round_robin", "at_capacity", "lost_round_robin"})


def describe_assignment(assignment: Assignment) -> str:
    """One sentence saying why this rep, or why the queue (LeadAssigned.reason)."""
    pool = sum(c.reason in _IN_POOL for c in assignment.candidates)
    reps = f"{pool} eligible rep{'' if pool == 1 else 's'}"
    rule, queue = assignment.rule_name, assignment.queue
    return {
        "account_owner": "account owner for the lead's company",
        "round_robin": f"next in rotation with spare capacity among {reps} under rule {rule}",
        "all_at_capacity": f"all {reps} at capacity under rule {rule}; queued to {queue}",
        "no_eligible_rep": f"no active rep covers the lead under rule {rule}; queued to {queue}",
        "no_matching_rule": f"no routing rule matches the lead; queued to {queue}",
    }[assignment.reason]
