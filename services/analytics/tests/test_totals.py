"""Tests of partition totals: folds into them, their documents and the sum over partitions."""

from datetime import timedelta

from hypothesis import given, settings

from services.analytics.deals import fold_deal
from services.analytics.facts import LeadFact
from services.analytics.funnel import funnel_counts
from services.analytics.leads import LeadRecord, fold_lead
from services.analytics.speed import DEFAULT_SLA
from services.analytics.totals import (
    PartitionTotals,
    apply_deal,
    apply_lead,
    changed_docs,
    new_totals,
    overall,
    totals_docs,
    totals_from_docs,
)

from .builders import deal, lead, lead_facts


def fold_all(facts: list[LeadFact], totals: PartitionTotals | None = None) -> PartitionTotals:
    totals = totals or new_totals()
    records: dict[str, LeadRecord] = {}
    for fact in facts:
        before = records.get(fact.lead_id)
        records[fact.lead_id] = fold_lead(before, fact)
        totals = apply_lead(totals, before, records[fact.lead_id], fact.occurred_at, DEFAULT_SLA)
    return totals


@settings(max_examples=100, deadline=None)
@given(lead_facts())
def test_documents_round_trip_to_the_same_numbers(facts: list[LeadFact]) -> None:
    """Totals rebuilt from their documents hold the same running sums and windows."""
    totals = fold_all(facts)
    rebuilt = totals_from_docs(totals_docs(totals), new_totals())
    assert rebuilt.running == totals.running
    assert rebuilt.hour.buckets == totals.hour.buckets and rebuilt.day.watermark == totals.day.watermark


@settings(max_examples=100, deadline=None)
@given(lead_facts())
def test_applying_changed_docs_gives_the_full_docs(facts: list[LeadFact]) -> None:
    """Writing only the changed parts after each fold leaves the same documents as a full write."""
    totals = new_totals()
    stored = totals_docs(totals)
    records: dict[str, LeadRecord] = {}
    for fact in facts:
        before = records.get(fact.lead_id)
        records[fact.lead_id] = fold_lead(before, fact)
        after = apply_lead(totals, before, records[fact.lead_id], fact.occurred_at, DEFAULT_SLA)
        writes, deletes = changed_docs(totals, after)
        stored = {k: v for k, v in stored.items() if k not in deletes} | writes
        totals = after
    assert stored == totals_docs(totals)


def test_an_unchanged_fold_writes_nothing() -> None:
    """A duplicate fact changes no part, so nothing is written."""
    first = lead("captured", 0, source="web")
    totals = fold_all([first])
    record = fold_lead(None, first)
    again = apply_lead(totals, record, fold_lead(record, first), first.occurred_at, DEFAULT_SLA)
    assert changed_docs(totals, again) == ({}, [])


def test_a_deal_moves_its_amount_between_sections() -> None:
    """A deal's second snapshot replaces its first one's forecast and stage numbers."""
    first, second = deal("e1", 0, stage="discovery"), deal("e2", 10, stage="demo", amount="2000")
    r1 = fold_deal(None, first)
    totals = apply_deal(apply_deal(new_totals(), None, r1), r1, fold_deal(r1, second))
    assert totals.running.amount(("pipeline", "demo", "amount")) == 2000
    assert totals.running.count(("pipeline", "discovery", "deals")) == 0


def test_overall_sums_partitions_window_by_window() -> None:
    """Two partitions' funnels add up in the running totals and in each shared window."""
    a = fold_all([lead("captured", 0, "L1")])
    b = fold_all([lead("captured", 5, "L2"), lead("captured", 70, "L3")])
    total = overall([a, b])
    assert funnel_counts(total.running, "all")["all"]["captured"] == 3
    counts = [funnel_counts(t, "all")["all"]["captured"] for _, t in sorted(total.windows["hour"].items())]
    assert counts == [2, 1]


def test_dropped_windows_are_deleted() -> None:
    """A window pushed out of retention is named for deletion."""
    totals = fold_all([lead("captured", 0, "L1")], new_totals(timedelta(0), hours=1))
    later = fold_all([lead("captured", 120, "L2")], totals)
    assert any(name.startswith("hour:") for name in changed_docs(totals, later)[1])
