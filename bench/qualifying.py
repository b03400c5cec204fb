"""Which event qualified a lead, so end-to-end latency runs from that event, not from the lead.

Most leads do not qualify on their submission: an engagement event sent seconds later (a demo
request, a pricing visit) lifts the score over the threshold. Timing their assignment from the
submission would count the seconds the workload waited before sending that event as latency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SCORED_CAUSE = ":scored:"


def cause_of_score(event_id: str) -> str | None:
    """The id of the event a leads.scored record answers (scoring names it `<lead>:scored:<cause>`)."""
    _, marker, cause = event_id.partition(SCORED_CAUSE)
    return cause if marker else None


def qualifying_cause(scores: Sequence[tuple[int, str]], qualified_at: int, sent_at: Mapping[str, float]) -> str | None:
    """The cause of the lead's last score at or before its qualification, from (timestamp ms, cause id)
    pairs: scoring sends the score and the qualification from one handler, in that order.

    Scores stamped in the same millisecond cannot be told apart; the earliest sent of them is taken,
    so a latency is never understated. None when no score (with a known send time) precedes it.
    """
    candidates = [(stamp, cause) for stamp, cause in scores if stamp <= qualified_at and cause in sent_at]
    if not candidates:
        return None
    last = max(stamp for stamp, _ in candidates)
    return min((cause for stamp, cause in candidates if stamp == last), key=lambda cause: sent_at[cause])
