"""The lead funnel: leads at each step by source, campaign, territory and rep, and conversions.

Pure: contributions of one lead record and views over tallies; no Faust, no clock.
A lead counts once per step, at every step up to the furthest it reached (so counts never
rise along the path and conversion rates stay within 0..1), under its latest attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from itertools import pairwise

from services.analytics.facts import STEPS, Step
from services.analytics.leads import PATH, LeadRecord, attribute, effective_reach
from services.analytics.tally import Tally, select, tally_of
from services.analytics.windows import stamped_change

DIMENSIONS = ("all", "source", "campaign", "territory", "rep")
UNKNOWN = "(none)"
ALL = "all"
PREFIX = ("funnel",)


def dimension_values(record: LeadRecord) -> dict[str, str]:
    """The value the lead counts under for each dimension; UNKNOWN when never given."""
    values = {name: attribute(record, name) or UNKNOWN for name in DIMENSIONS[1:]}
    return {ALL: ALL, **values}


def funnel_contribution(record: LeadRecord | None) -> dict[datetime, Tally]:
    """One lead's counts, each placed at the earliest time the lead passed that step."""
    if record is None:
        return {}
    values = dimension_values(record).items()
    by_time: dict[datetime, list[Step]] = {}
    for step, at in effective_reach(record).items():
        by_time.setdefault(at, []).append(step)
    return {
        at: tally_of(((*PREFIX, dim, value, step), 1) for step in steps for dim, value in values)
        for at, steps in by_time.items()
    }


def funnel_change(before: LeadRecord | None, after: LeadRecord | None) -> dict[datetime, Tally]:
    """What one lead fold changes in the funnel, split by event time for the windows."""
    return stamped_change(funnel_contribution(before), funnel_contribution(after))


def funnel_counts(tally: Tally, dimension: str) -> dict[str, dict[Step, int]]:
    """Counts per step for every value of a dimension; missing steps are 0."""
    counts: dict[str, dict[Step, int]] = {}
    for (value, step), n in select(tally, (*PREFIX, dimension)).items():
        counts.setdefault(value, dict.fromkeys(STEPS, 0))[_step(step)] = int(n)
    return counts


def _step(value: str) -> Step:
    return next(step for step in STEPS if step == value)


def conversion_rates(
    counts: Mapping[Step, int],
) -> dict[tuple[Step, Step], float | None]:
    """Share of leads at each path step that reached the next; None when none were at it.

    Within 0..1 on running totals. Over a time range of windows it is a flow ratio, not a
    cohort's conversion, and can exceed 1.
    """
    pairs = pairwise(PATH)
    return {(a, b): counts[b] / counts[a] if counts[a] else None for a, b in pairs}
