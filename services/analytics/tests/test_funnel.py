"""Tests of lead records and the funnel folds."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.facts import STEPS, LeadFact
from services.analytics.funnel import (
    UNKNOWN,
    conversion_rates,
    funnel_change,
    funnel_contribution,
    funnel_counts,
)
from services.analytics.leads import (
    effective_reach,
    fold_lead,
    lead_from_dict,
    lead_to_dict,
)
from services.analytics.tally import combine
from services.analytics.windows import Windows, flatten

from .builders import T0, lead, lead_facts, run_leads


def test_a_lead_counts_once_per_step() -> None:
    """Two captured events for one lead count one captured lead."""
    _, windows, _ = run_leads([lead("captured", 0), lead("captured", 5, event_id="other")])
    assert funnel_counts(windows.running, "all")["all"]["captured"] == 1


def test_reaching_a_step_implies_the_earlier_ones() -> None:
    """A lead first seen at assigned counts as captured, scored and qualified too."""
    _, windows, _ = run_leads([lead("assigned", 0)])
    counts = funnel_counts(windows.running, "all")["all"]
    assert [counts[s] for s in STEPS] == [1, 1, 1, 1, 0, 0, 0, 0, 0]


def test_lost_implies_the_path_up_to_opportunity_only() -> None:
    """A lost lead passed opportunity but not proposal or won."""
    _, windows, _ = run_leads([lead("lost", 0)])
    counts = funnel_counts(windows.running, "all")["all"]
    assert counts["opportunity"] == 1 and counts["lost"] == 1
    assert counts["proposal"] == 0 and counts["won"] == 0


def test_counts_by_dimension_follow_the_latest_attributes() -> None:
    """A lead assigned to a rep moves all its steps under that rep."""
    facts = [lead("captured", 0, source="web"), lead("assigned", 10, rep_id="r1")]
    _, windows, _ = run_leads(facts)
    by_rep = funnel_counts(windows.running, "rep")
    assert set(by_rep) == {"r1"}
    assert by_rep["r1"]["captured"] == 1
    assert funnel_counts(windows.running, "source")["web"]["assigned"] == 1
    assert funnel_counts(windows.running, "territory")[UNKNOWN]["captured"] == 1


def test_a_late_step_event_moves_the_count_to_its_event_time() -> None:
    """A captured event arriving after assigned places captured in the capture hour."""
    facts = [lead("assigned", 70), lead("captured", 10)]
    _, windows, _ = run_leads(facts)
    first, second = sorted(windows.buckets)
    assert funnel_counts(windows.buckets[first], "all")["all"]["captured"] == 1
    assert funnel_counts(windows.buckets[second], "all")["all"]["captured"] == 0
    assert funnel_counts(windows.buckets[second], "all")["all"]["assigned"] == 1


def test_late_events_beyond_grace_stay_out_of_closed_windows() -> None:
    """Once the watermark passed a window's end plus grace, a late step goes to `late`."""
    facts = [lead("captured", 0, lead_id="L2"), lead("captured", 180), lead("captured", 10, "L3")]
    _, windows, _ = run_leads(facts)
    assert funnel_counts(windows.late, "all")["all"]["captured"] == 1
    assert funnel_counts(windows.running, "all")["all"]["captured"] == 3


def test_conversion_rates_between_consecutive_steps() -> None:
    """Rates divide each path step by the one before; None where nobody was."""
    facts = [lead("captured", 0, "L1"), lead("captured", 0, "L2"), lead("scored", 1, "L1")]
    _, windows, _ = run_leads(facts)
    rates = conversion_rates(funnel_counts(windows.running, "all")["all"])
    assert rates["captured", "scored"] == 0.5
    assert rates["scored", "qualified"] == 0.0
    assert rates["qualified", "assigned"] is None


def test_fold_keeps_earliest_step_time_and_latest_attribute() -> None:
    """Reordered facts give the earliest time per step and the newest attribute value."""
    early, late = lead("captured", 0, rep_id="r1"), lead("captured", 30, rep_id="r2")
    record = fold_lead(fold_lead(None, late), early)
    assert record == fold_lead(fold_lead(None, early), late)
    assert record.reached["captured"] == T0
    assert record.attributes["rep"].value == "r2"


def test_effective_reach_takes_the_earliest_implying_time() -> None:
    """An implied step takes the earliest time of any step implying it."""
    record = fold_lead(fold_lead(None, lead("qualified", 20)), lead("assigned", 5))
    assert effective_reach(record)["captured"] == T0 + timedelta(minutes=5)


@settings(max_examples=150, deadline=None)
@given(lead_facts())
def test_rates_stay_within_zero_and_one(facts: list[LeadFact]) -> None:
    """On running totals every conversion rate lies in 0..1 for every dimension value."""
    _, windows, _ = run_leads(facts)
    for dimension in ("all", "source", "campaign", "territory", "rep"):
        for counts in funnel_counts(windows.running, dimension).values():
            rates = [r for r in conversion_rates(counts).values() if r is not None]
            assert all(0 <= r <= 1 for r in rates)


@settings(max_examples=150, deadline=None)
@given(lead_facts(), st.data())
def test_a_duplicate_event_changes_nothing(facts: list[LeadFact], data: st.DataObject) -> None:
    """Re-delivering any event, anywhere later in the stream, leaves every number as it was."""
    if not facts:
        return
    index = data.draw(st.integers(0, len(facts) - 1))
    where = data.draw(st.integers(index + 1, len(facts)))
    redelivered = [*facts[:where], facts[index], *facts[where:]]
    assert run_leads(redelivered)[0] == run_leads(facts)[0]
    assert run_leads(redelivered)[1].running == run_leads(facts)[1].running
    assert run_leads(redelivered)[2] == run_leads(facts)[2]


@settings(max_examples=150, deadline=None)
@given(lead_facts(), st.randoms())
def test_order_does_not_change_the_totals(facts: list[LeadFact], rnd: object) -> None:
    """Any arrival order gives the same records, running totals and speed totals."""
    shuffled = list(facts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    records, windows, speed = run_leads(facts)
    records2, windows2, speed2 = run_leads(shuffled)
    assert (records, windows.running, speed) == (records2, windows2.running, speed2)


@settings(max_examples=150, deadline=None)
@given(lead_facts())
def test_running_totals_equal_the_sum_of_final_contributions(facts: list[LeadFact]) -> None:
    """Folding by changes telescopes to the contributions of the final records."""
    records, windows, _ = run_leads(facts, Windows("day", retain=10))
    final = combine(*(flatten(funnel_contribution(r)) for r in records.values()))
    assert windows.running == final
    assert combine(*windows.buckets.values(), windows.late) == final


@settings(max_examples=150, deadline=None)
@given(lead_facts())
def test_lead_records_round_trip_exactly(facts: list[LeadFact]) -> None:
    """Every lead record survives its plain-dict form unchanged."""
    for record in run_leads(facts)[0].values():
        assert lead_from_dict(lead_to_dict(record)) == record


def test_no_change_when_the_record_is_unchanged() -> None:
    """A fold that changes nothing places nothing."""
    record = fold_lead(None, lead("captured", 0))
    assert funnel_change(record, record) == {}
