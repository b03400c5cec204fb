"""Rep performance: leads assigned, response median, opportunities, win rate, revenue, deal
size and open load against capacity. Pure contributions and views; no Faust, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.analytics.deals import DealRecord, outcome
from services.analytics.leads import LeadRecord, attribute, is_closed
from services.analytics.speed import (
    FIRST_TOUCH_BUCKETS,
    histogram,
    latency,
    observe,
    quantile,
)
from services.analytics.tally import EMPTY, Key, Number, Tally, combine, tally_of


def rep_lead_contribution(record: LeadRecord | None) -> Tally:
    """An assigned lead counts for its latest rep: assigned, open until won or lost, and its
    assignment→first-touch time in the rep's response histogram.
    """
    rep = None if record is None else attribute(record, "rep")
    if record is None or rep is None or "assigned" not in record.reached:
        return EMPTY
    counts = tally_of(
        [
            (("rep", rep, "assigned"), 1),
            (("rep", rep, "open"), 0 if is_closed(record) else 1),
        ]
    )
    touched = latency(record, "assigned", "contacted")
    if touched is None:
        return counts
    return combine(counts, observe(("rep", rep, "response"), touched, FIRST_TOUCH_BUCKETS))


def rep_deal_contribution(record: DealRecord | None) -> Tally:
    """A deal counts for its latest owner: opened, then won with its amount, or lost."""
    rep = None if record is None else record.latest.rep_id
    if record is None or rep is None:
        return EMPTY
    final = outcome(record)
    entries: list[tuple[Key, Number]] = [(("rep", rep, "opened"), 1)]
    if final is not None:
        entries.append((("rep", rep, final), 1))
    if final == "won":
        entries.append((("rep", rep, "revenue"), record.latest.amount))
    return tally_of(entries)


@dataclass(frozen=True)
class RepSummary:
    """One rep's numbers; a ratio is None when its denominator is zero."""

    rep_id: str
    leads_assigned: int
    response_median_seconds: Decimal | None
    opportunities_opened: int
    win_rate: float | None
    revenue_won: Decimal
    average_deal_size: Decimal | None
    open_load: int
    capacity: int
    load_ratio: float | None


def rep_ids(tally: Tally) -> list[str]:
    """Every rep that has a number, sorted."""
    return sorted({key[1] for key in tally.entries if key[0] == "rep"})


def summarize_rep(tally: Tally, rep_id: str, capacity: int) -> RepSummary:
    """The rep's summary; capacity (open leads the rep can hold) comes from the roster.

    The response median is estimated from the histogram, exact only to its bucket.
    """

    def count(name: str) -> int:
        return tally.count(("rep", rep_id, name))

    won, closed = count("won"), count("won") + count("lost")
    revenue = tally.amount(("rep", rep_id, "revenue"))
    response = histogram(tally, ("rep", rep_id, "response"), FIRST_TOUCH_BUCKETS)
    return RepSummary(
        rep_id=rep_id,
        leads_assigned=count("assigned"),
        response_median_seconds=quantile(response, 0.5),
        opportunities_opened=count("opened"),
        win_rate=won / closed if closed else None,
        revenue_won=revenue,
        average_deal_size=revenue / won if won else None,
        open_load=count("open"),
        capacity=capacity,
        load_ratio=count("open") / capacity if capacity else None,
    )
