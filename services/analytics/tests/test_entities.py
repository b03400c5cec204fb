"""Tests of entity states: one value per input holds its whole effect, so a partition's totals
recounted from its entities equal the folded ones, whatever was lost or repeated in a crash."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.deal_inputs import DealInput
from services.analytics.entities import (
    DealState,
    LeadState,
    deal_state_from_dict,
    deal_state_to_dict,
    fold_deal_input,
    fold_lead_input,
    lead_state_from_dict,
    lead_state_to_dict,
    recount,
)
from services.analytics.facts import DealFact, LeadFact
from services.analytics.inputs import EnrolmentChange, LeadInput, SentEmail
from services.analytics.links import DealLink
from services.analytics.speed import DEFAULT_SLA
from services.analytics.totals import PartitionTotals, new_totals, totals_docs

from .builders import T0, deal, deal_facts, lead, lead_facts

GRACE = timedelta(minutes=15)
Input = LeadInput | DealInput


def empty() -> PartitionTotals:
    return new_totals(GRACE, 72, 5)


def lead_input(fact: LeadFact) -> LeadInput:
    return LeadInput(fact.lead_id, fact.event_id, fact.occurred_at, (fact,))


def deal_input(fact: DealFact) -> DealInput:
    return DealInput(fact.opportunity_id, fact.event_id, fact.occurred_at, fact)


def sent(lead_id: str, event_id: str, minutes: int) -> LeadInput:
    email = SentEmail(f"m-{event_id}", "s1", 0, "a")
    return LeadInput(lead_id, event_id, T0 + timedelta(minutes=minutes), sent=email)


def enrolled(lead_id: str, event_id: str, change: str, reason: str | None = None) -> LeadInput:
    return LeadInput(lead_id, event_id, T0, enrolment=EnrolmentChange("s1", change, reason))


class Worker:
    """The wiring's fold without Faust: a table of plain values and totals kept in memory."""

    def __init__(self, table: dict[str, dict[str, Any]] | None = None) -> None:
        self.table = table if table is not None else {}
        self.totals = self.recounted()

    def recounted(self) -> PartitionTotals:
        leads = [lead_state_from_dict(v) for k, v in self.table.items() if k.startswith("lead:")]
        deals = [deal_state_from_dict(v) for k, v in self.table.items() if k.startswith("deal:")]
        return recount(leads, deals, empty(), DEFAULT_SLA)

    def fold(self, item: Input, *, write: bool = True) -> None:
        """Fold one input; write=False is a kill after the fold and before its one write."""
        if isinstance(item, LeadInput):
            key, stored = f"lead:{item.lead_id}", self.table.get(f"lead:{item.lead_id}")
            state = LeadState(0) if stored is None else lead_state_from_dict(stored)
            state, totals = fold_lead_input(state, self.totals, item, DEFAULT_SLA)
            value = lead_state_to_dict(state)
        else:
            key, stored = f"deal:{item.opportunity_id}", self.table.get(f"deal:{item.opportunity_id}")
            new = DealState(0, DealLink(item.opportunity_id))
            deal_state, totals = fold_deal_input(
                new if stored is None else deal_state_from_dict(stored), self.totals, item
            )
            value = deal_state_to_dict(deal_state)
        if write:
            self.table[key], self.totals = value, totals


def inputs() -> st.SearchStrategy[list[Input]]:
    """Lead facts, emails, enrolment changes and deal snapshots, interleaved."""
    leads = lead_facts().map(lambda facts: [lead_input(f) for f in facts])
    deals = deal_facts().map(lambda facts: [deal_input(f) for f in facts])
    extra = st.lists(
        st.one_of(
            st.builds(sent, st.sampled_from(["L1", "L2"]), st.sampled_from(["e1", "e2"]), st.integers(0, 600)),
            st.builds(enrolled, st.sampled_from(["L1", "L3"]), st.sampled_from(["n1", "n2"]), st.just("enrolled")),
        ),
        max_size=6,
    )
    return st.tuples(leads, deals, extra).flatmap(lambda parts: st.permutations([*parts[0], *parts[1], *parts[2]]))


@settings(max_examples=150, deadline=None)
@given(inputs())
def test_recount_from_entities_equals_the_folded_totals(items: list[Input]) -> None:
    """Totals rebuilt from the stored entities alone equal the totals the folds kept, windows,
    late parts and watermark included."""
    worker = Worker()
    for item in items:
        worker.fold(item)
    assert totals_docs(worker.recounted()) == totals_docs(worker.totals)


@settings(max_examples=150, deadline=None)
@given(inputs(), st.data())
def test_a_kill_before_or_after_the_write_and_redelivery_counts_each_input_once(
    items: list[Input], data: st.DataObject
) -> None:
    """Killed before an input's one write (nothing of it kept) or after it (redelivered), the
    restarted worker's totals equal an uninterrupted run's."""
    clean = Worker()
    for item in items:
        clean.fold(item)
    crashed = Worker()
    for index, item in enumerate(items):
        if data.draw(st.booleans(), label=f"kill at {index}"):
            crashed.fold(item, write=data.draw(st.booleans(), label="written before the kill"))
            crashed = Worker(crashed.table)  # restart: totals come from the table only
        crashed.fold(item)
    assert totals_docs(crashed.totals) == totals_docs(clean.totals)


def test_a_late_fact_stays_out_of_its_closed_window_after_a_recount() -> None:
    """A step arriving after its window closed counts in late, also once recounted."""
    worker = Worker()
    worker.fold(lead_input(lead("captured", 0, "L1")))
    worker.fold(lead_input(lead("captured", 180, "L2")))
    worker.fold(lead_input(lead("scored", 5, "L1")))
    hour = worker.totals.hour
    assert hour.late != empty().hour.late
    recounted = worker.recounted()
    assert (recounted.hour.buckets, recounted.hour.late) == (hour.buckets, hour.late)


def test_enrolment_changes_count_once_per_event() -> None:
    """A re-delivered enrolment change leaves the counts as they were."""
    worker = Worker()
    for item in (enrolled("L1", "n1", "enrolled"), enrolled("L1", "n1", "enrolled"), enrolled("L1", "n2", "exited")):
        worker.fold(item)
    running = worker.totals.running
    assert running.count(("enrolment", "s1", "enrolled", "")) == 1
    assert running.count(("enrolment", "s1", "exited", "")) == 1


def test_a_logged_activity_is_the_leads_first_touch() -> None:
    """An opportunity's last activity reaches the lead as its contacted step."""
    worker = Worker()
    snapshot = deal("v1", 30)
    item = replace(deal_input(snapshot), lead_id="L1", activity_at=T0 + timedelta(minutes=20))
    worker.fold(item)
    state = deal_state_from_dict(worker.table["deal:O1"])
    assert state.link.reached is not None and state.link.reached["contacted"] == T0 + timedelta(minutes=20)


def test_a_value_written_before_states_carried_their_partition_still_reads() -> None:
    """An older lead value (record and mailbox only) takes the given partition and folds on."""
    worker = Worker()
    worker.fold(lead_input(lead("captured", 0, "L1", source="web")))
    older = {k: v for k, v in worker.table["lead:L1"].items() if k in ("record", "mailbox")}
    state = lead_state_from_dict(older, 4)
    assert (state.partition, state.record) == (4, lead_state_from_dict(worker.table["lead:L1"]).record)
    folded, _ = fold_lead_input(state, empty(), lead_input(lead("scored", 1, "L1")), DEFAULT_SLA)
    assert folded.record is not None and "scored" in folded.record.reached
