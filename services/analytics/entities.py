"""What the tables hold per lead and per deal, how one input changes an entity and its
partition's totals together, and a partition's totals recounted from its entities alone.

Pure. An entity's value carries everything its share of the totals derives from (its record,
its event-deduped nurture counts, the funnel parts that missed their window, the latest event
time it folded), so one table write per input is the whole effect of that input: after a crash
the totals are recounted from the entities, and an input whose write was lost is redelivered
and counted then. Totals are never stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.analytics.deal_inputs import DealInput
from services.analytics.deals import DealRecord, deal_record_from_dict, deal_record_to_dict, fold_deal
from services.analytics.funnel import funnel_contribution
from services.analytics.inputs import LeadInput
from services.analytics.leads import LeadRecord, fold_lead, lead_from_dict, lead_to_dict
from services.analytics.links import DealLink, link_from_dict, link_lead, link_step, link_to_dict
from services.analytics.mailings import Mailbox, lead_counts, mailbox_from_dict, mailbox_to_dict
from services.analytics.speed import SlaPolicy
from services.analytics.tally import EMPTY, Tally, combine, tally_from_dict, tally_to_dict
from services.analytics.totals import (
    PartitionTotals,
    add_running,
    apply_deal,
    apply_lead_split,
    deal_contribution,
    lead_contribution,
)
from services.analytics.windows import Granularity, Stamped, flatten, rebuild, stamped_of

GRANULARITIES: tuple[Granularity, ...] = ("hour", "day")


@dataclass(frozen=True)
class LeadState:
    """One lead's table value; `partition` is the one whose records (and changelog) hold it."""

    partition: int
    record: LeadRecord | None = None
    mailbox: Mailbox = field(default_factory=Mailbox)
    counts: Tally = EMPTY
    late: Mapping[Granularity, Stamped] = field(default_factory=dict)
    mark: datetime | None = None


@dataclass(frozen=True)
class DealState:
    """One deal's table value: its record and its link to the lead it came from."""

    partition: int
    link: DealLink
    record: DealRecord | None = None


def fold_lead_input(
    state: LeadState, totals: PartitionTotals, item: LeadInput, policy: SlaPolicy
) -> tuple[LeadState, PartitionTotals]:
    """Fold one lead input into the lead's state and its partition's totals, in step."""
    record, late = state.record, dict(state.late)
    for fact in item.facts:
        folded = fold_lead(record, fact)
        totals, missed = apply_lead_split(totals, record, folded, fact.occurred_at, policy)
        record = folded
        for granularity, parts in missed.items():
            late[granularity] = stamped_of([*late.get(granularity, {}).items(), *parts.items()])
    mailbox, counts = lead_counts(state.mailbox, item)
    marks = [m for m in (state.mark, *(f.occurred_at for f in item.facts)) if m is not None]
    folded_state = LeadState(
        state.partition, record, mailbox, combine(state.counts, counts), late, max(marks, default=None)
    )
    return folded_state, add_running(totals, counts)


def fold_deal_input(state: DealState, totals: PartitionTotals, item: DealInput) -> tuple[DealState, PartitionTotals]:
    """Fold one deal input into the deal's state and its partition's totals, in step."""
    record = state.record
    if item.snapshot is not None:
        folded = fold_deal(record, item.snapshot)
        totals, record = apply_deal(totals, record, folded), folded
    return DealState(state.partition, linked(link_lead(state.link, item.lead_id), item), record), totals


def linked(link: DealLink, item: DealInput) -> DealLink:
    """The lead steps a deal input shows: opportunity, proposal, a logged activity (the rep's
    touch), won or lost."""
    steps = [
        ("proposal", item.occurred_at if item.proposal else None),
        ("opportunity", item.created_at),
        ("contacted", item.activity_at),
    ]
    snapshot = item.snapshot
    if snapshot is not None and snapshot.status != "open":
        steps.append((snapshot.status, item.closed_at or item.occurred_at))
    for step, at in steps:
        link = link if at is None else link_step(link, step, at)  # type: ignore[arg-type]
    return link


def recount(
    leads: Iterable[LeadState], deals: Iterable[DealState], empty: PartitionTotals, policy: SlaPolicy
) -> PartitionTotals:
    """A partition's totals from its entities alone: equal to folding their inputs one by one."""
    running: list[Tally] = []
    stamped: list[tuple[datetime, Tally]] = []
    late: dict[Granularity, list[tuple[datetime, Tally]]] = {g: [] for g in GRANULARITIES}
    marks: list[datetime] = []
    for lead in leads:
        funnel = funnel_contribution(lead.record)
        running += [flatten(funnel), lead_contribution(lead.record, policy), lead.counts]
        stamped.extend(funnel.items())
        for granularity, parts in lead.late.items():
            late[granularity].extend(parts.items())
        marks += [] if lead.mark is None else [lead.mark]
    running += [deal_contribution(deal.record) for deal in deals]
    mark, funnel_parts = max(marks, default=None), stamped_of(stamped)
    hour = rebuild(empty.hour, mark, funnel_parts, stamped_of(late["hour"]))
    day = rebuild(empty.day, mark, funnel_parts, stamped_of(late["day"]))
    return add_running(replace(empty, hour=hour, day=day, sections={}), combine(*running))


def _stamped_to_list(parts: Stamped) -> list[list[Any]]:
    return [[at.isoformat(), tally_to_dict(t)] for at, t in sorted(parts.items())]


def lead_state_to_dict(state: LeadState) -> dict[str, Any]:
    """Plain form for the leads table."""
    return {
        "p": state.partition,
        "record": None if state.record is None else lead_to_dict(state.record),
        "mailbox": mailbox_to_dict(state.mailbox),
        "counts": tally_to_dict(state.counts),
        "late": {g: _stamped_to_list(parts) for g, parts in state.late.items() if parts},
        "mark": None if state.mark is None else state.mark.isoformat(),
    }


def lead_state_from_dict(data: Mapping[str, Any], partition: int | None = None) -> LeadState:
    """Inverse of lead_state_to_dict. A value written before states carried their partition
    (record and mailbox only) takes `partition` and starts with no counts, late parts or mark."""
    late = {
        g: {datetime.fromisoformat(at): tally_from_dict(t) for at, t in parts}
        for g, parts in data.get("late", {}).items()
    }
    mark = data.get("mark")
    return LeadState(
        _partition(data, partition),
        None if data.get("record") is None else lead_from_dict(data["record"]),
        mailbox_from_dict(data["mailbox"]) if data.get("mailbox") else Mailbox(),
        tally_from_dict(data["counts"]) if "counts" in data else EMPTY,
        late,
        None if mark is None else datetime.fromisoformat(mark),
    )


def _partition(data: Mapping[str, Any], fallback: int | None) -> int:
    partition = data.get("p", fallback)
    if partition is None:
        raise ValueError("a stored state without its partition needs one given")
    return int(partition)


def deal_state_to_dict(state: DealState) -> dict[str, Any]:
    """Plain form for the deals table."""
    record = None if state.record is None else deal_record_to_dict(state.record)
    return {"p": state.partition, "record": record, "link": link_to_dict(state.link)}


def deal_state_from_dict(data: Mapping[str, Any], partition: int | None = None) -> DealState:
    """Inverse of deal_state_to_dict; an older value without its partition takes `partition`."""
    record = None if data.get("record") is None else deal_record_from_dict(data["record"])
    return DealState(_partition(data, partition), link_from_dict(data["link"]), record)
