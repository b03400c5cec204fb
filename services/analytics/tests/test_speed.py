"""Tests of speed-to-lead histograms and SLA breaches."""

from datetime import timedelta
from decimal import Decimal

from services.analytics.leads import fold_lead
from services.analytics.speed import (
    ASSIGNMENT,
    ASSIGNMENT_BUCKETS,
    DEFAULT_SLA,
    FIRST_TOUCH,
    FIRST_TOUCH_BUCKETS,
    histogram,
    is_overdue,
    observe,
    quantile,
    sla_from_dict,
    sla_to_dict,
    speed_contribution,
)
from services.analytics.tally import combine

from .builders import T0, lead, run_leads


def test_observation_lands_in_the_first_bucket_that_holds_it() -> None:
    """A value equal to a bound belongs to that bound's bucket; beyond all goes to +Inf."""
    bounds = (Decimal("1"), Decimal("5"))
    at_bound = observe(("h",), timedelta(seconds=1), bounds)
    beyond = observe(("h",), timedelta(seconds=6), bounds)
    assert at_bound.count(("h", "bucket", "1")) == 1
    assert beyond.count(("h", "bucket", "+Inf")) == 1
    assert histogram(combine(at_bound, beyond), ("h",), bounds).cumulative == (1, 1, 2)


def test_histogram_keeps_count_and_exact_sum() -> None:
    """Count and sum in seconds come back exactly, microseconds included."""
    bounds = (Decimal("1"),)
    tally = combine(
        observe(("h",), timedelta(microseconds=1), bounds),
        observe(("h",), timedelta(seconds=2, microseconds=500), bounds),
    )
    hist = histogram(tally, ("h",), bounds)
    assert (hist.count, hist.sum_seconds) == (2, Decimal("2.000501"))


def test_capture_to_assignment_and_first_touch_are_observed() -> None:
    """A lead assigned 30 s after capture and touched 10 min later lands in both histograms."""
    facts = [lead("captured", 0), lead("assigned", 0.5), lead("contacted", 10.5)]
    _, _, speed = run_leads(facts)
    assignment = histogram(speed, ASSIGNMENT, ASSIGNMENT_BUCKETS)
    touch = histogram(speed, FIRST_TOUCH, FIRST_TOUCH_BUCKETS)
    assert assignment.cumulative[:6] == (0, 0, 0, 0, 0, 1)
    assert touch.cumulative[:3] == (0, 0, 1)
    assert touch.sum_seconds == 600


def test_a_late_capture_event_corrects_the_latency() -> None:
    """When capture arrives after assignment, the latency is measured once it is known."""
    _, _, speed = run_leads([lead("assigned", 2), lead("captured", 0)])
    assignment = histogram(speed, ASSIGNMENT, ASSIGNMENT_BUCKETS)
    assert (assignment.count, assignment.sum_seconds) == (1, Decimal(120))


def test_negative_latency_from_clock_skew_counts_as_zero() -> None:
    """An assignment stamped before its capture is observed as 0 seconds."""
    _, _, speed = run_leads([lead("captured", 5), lead("assigned", 0)])
    assert histogram(speed, ASSIGNMENT, ASSIGNMENT_BUCKETS).cumulative[0] == 1


def test_sla_breach_is_counted_by_grade() -> None:
    """Grade A touched after 6 minutes breaches its 5 minute SLA; grade B within 1 h meets it."""
    facts = [
        lead("assigned", 0, "L1", grade="A"),
        lead("contacted", 6, "L1"),
        lead("assigned", 0, "L2", grade="B"),
        lead("contacted", 6, "L2"),
    ]
    _, _, speed = run_leads(facts)
    assert speed.count(("sla", "A", "breached")) == 1
    assert speed.count(("sla", "B", "met")) == 1
    assert speed.count(("sla", "A", "met")) == 0


def test_regrading_moves_the_sla_outcome() -> None:
    """A later re-score to grade C turns an A breach into a C met."""
    facts = [
        lead("assigned", 0, grade="A"),
        lead("contacted", 6),
        lead("scored", 7, event_id="rescore", grade="C"),
    ]
    _, _, speed = run_leads(facts)
    assert speed.count(("sla", "A", "breached")) == 0
    assert speed.count(("sla", "C", "met")) == 1


def test_untouched_lead_is_overdue_only_after_its_sla() -> None:
    """An assigned grade A lead is overdue once 5 minutes pass without a touch."""
    record = fold_lead(None, lead("assigned", 0, grade="A"))
    assert not is_overdue(record, DEFAULT_SLA, T0 + timedelta(minutes=5))
    assert is_overdue(record, DEFAULT_SLA, T0 + timedelta(minutes=6))
    touched = fold_lead(record, lead("contacted", 30))
    assert not is_overdue(touched, DEFAULT_SLA, T0 + timedelta(hours=2))


def test_grades_without_sla_are_not_judged() -> None:
    """A grade missing from the policy yields no SLA outcome."""
    record = fold_lead(fold_lead(None, lead("assigned", 0, grade="Z")), lead("contacted", 600))
    assert not any(key[0] == "sla" for key in speed_contribution(record, DEFAULT_SLA).entries)


def test_quantile_interpolates_inside_the_bucket() -> None:
    """The median of 4 values in the (1, 5] bucket is interpolated halfway."""
    bounds = (Decimal("1"), Decimal("5"))
    tally = combine(*(observe(("h",), timedelta(seconds=3), bounds) for _ in range(4)))
    assert quantile(histogram(tally, ("h",), bounds), 0.5) == Decimal("3")
    assert quantile(histogram(combine(), ("h",), bounds), 0.5) is None


def test_sla_policy_round_trips_through_seconds() -> None:
    """The policy reads and writes seconds per grade."""
    policy = sla_from_dict({"A": 300, "B": 3600})
    assert policy.targets["A"] == timedelta(minutes=5)
    assert sla_from_dict(sla_to_dict(policy)) == policy
