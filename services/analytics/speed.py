"""Speed to lead: capture→assignment and assignment→first touch histograms, SLA by grade.

Pure: contributions of one lead record and views over tallies; `now` is an argument.
Latencies use explicit step times only (an implied step has no time of its own); a negative
latency from clock skew between producers counts as 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from services.analytics.facts import Step
from services.analytics.leads import LeadRecord, attribute
from services.analytics.tally import EMPTY, Key, Tally, combine, tally_of

INF = "+Inf"
MICROS = timedelta(microseconds=1)
# Upper bounds in seconds. Assignment is the system's own latency; first touch is a person's.
ASSIGNMENT_BUCKETS = tuple(Decimal(s) for s in ("0.1", "0.5", "1", "5", "15", "60", "300", "3600"))
FIRST_TOUCH_BUCKETS = tuple(
    Decimal(s) for s in ("60", "300", "900", "1800", "3600", "14400", "28800", "86400", "604800")
)
ASSIGNMENT = ("speed", "assignment")
FIRST_TOUCH = ("speed", "first_touch")


@dataclass(frozen=True)
class SlaPolicy:
    """Longest allowed assignment→first-touch time per grade; unlisted grades have no SLA.

    Totals are recounted from the leads with the current policy after every restart and
    rebalance, so a changed policy re-judges every lead then.
    """

    targets: Mapping[str, timedelta]


DEFAULT_SLA = SlaPolicy(
    {
        "A": timedelta(minutes=5),
        "B": timedelta(hours=1),
        "C": timedelta(hours=4),
        "D": timedelta(hours=24),
    }
)


def sla_from_dict(data: Mapping[str, float]) -> SlaPolicy:
    """Read {"A": 300, "B": 3600, ...}: seconds per grade."""
    return SlaPolicy({grade: timedelta(seconds=s) for grade, s in data.items()})


def sla_to_dict(policy: SlaPolicy) -> dict[str, Any]:
    """Inverse of sla_from_dict."""
    return {grade: t.total_seconds() for grade, t in policy.targets.items()}


def latency(record: LeadRecord, start: Step, end: Step) -> timedelta | None:
    """Time between two explicit steps, None unless both were seen; never negative."""
    if start not in record.reached or end not in record.reached:
        return None
    return max(timedelta(0), record.reached[end] - record.reached[start])


def observe(prefix: Key, value: timedelta, bounds: Sequence[Decimal]) -> Tally:
    """One histogram observation: its bucket (non-cumulative), the count and the sum in µs."""
    micros = max(0, value // MICROS)
    bucket = next((str(b) for b in bounds if micros <= b * 1_000_000), INF)
    entries = [
        ((*prefix, "bucket", bucket), 1),
        ((*prefix, "count"), 1),
        ((*prefix, "sum_us"), micros),
    ]
    return tally_of(entries)


def speed_contribution(record: LeadRecord | None, policy: SlaPolicy) -> Tally:
    """One lead's observations in both histograms and its SLA outcome, once each."""
    if record is None:
        return EMPTY
    parts = [sla_contribution(record, policy)]
    assigned = latency(record, "captured", "assigned")
    if assigned is not None:
        parts.append(observe(ASSIGNMENT, assigned, ASSIGNMENT_BUCKETS))
    touched = latency(record, "assigned", "contacted")
    if touched is not None:
        parts.append(observe(FIRST_TOUCH, touched, FIRST_TOUCH_BUCKETS))
    return combine(*parts)


def sla_contribution(record: LeadRecord, policy: SlaPolicy) -> Tally:
    """("sla", grade, "met"|"breached") once the lead was touched and its grade has an SLA."""
    grade = attribute(record, "grade")
    touched = latency(record, "assigned", "contacted")
    if grade is None or grade not in policy.targets or touched is None:
        return EMPTY
    outcome = "breached" if touched > policy.targets[grade] else "met"
    return tally_of([(("sla", grade, outcome), 1)])


def is_overdue(record: LeadRecord, policy: SlaPolicy, now: datetime) -> bool:
    """True for an assigned, untouched lead whose grade's SLA ran out before now."""
    grade = attribute(record, "grade")
    assigned = record.reached.get("assigned")
    if grade is None or grade not in policy.targets or assigned is None:
        return False
    return "contacted" not in record.reached and now - assigned > policy.targets[grade]


@dataclass(frozen=True)
class Histogram:
    """Prometheus-shaped: cumulative counts per upper bound (seconds), +Inf last."""

    bounds: tuple[Decimal, ...]
    cumulative: tuple[int, ...]
    count: int
    sum_seconds: Decimal


def histogram(tally: Tally, prefix: Key, bounds: Sequence[Decimal]) -> Histogram:
    """Read one histogram back out of a tally."""
    labels = [*(str(b) for b in bounds), INF]
    running, cumulative = 0, []
    for label in labels:
        running += tally.count((*prefix, "bucket", label))
        cumulative.append(running)
    total_us = tally.amount((*prefix, "sum_us"))
    return Histogram(
        tuple(bounds),
        tuple(cumulative),
        tally.count((*prefix, "count")),
        total_us / 1_000_000,
    )


def quantile(hist: Histogram, q: float) -> Decimal | None:
    """Estimate the q-quantile by linear interpolation inside its bucket, as Prometheus's
    histogram_quantile does; the +Inf bucket answers the highest finite bound.
    """
    if hist.count == 0:
        return None
    rank = Decimal(str(q)) * hist.count
    index = next(i for i, c in enumerate(hist.cumulative) if c >= rank and c > 0)
    if index == len(hist.bounds):
        return hist.bounds[-1]
    lower = hist.bounds[index - 1] if index else Decimal(0)
    below = hist.cumulative[index - 1] if index else 0
    inside = hist.cumulative[index] - below
    return lower + (hist.bounds[index] - lower) * (rank - below) / inside
