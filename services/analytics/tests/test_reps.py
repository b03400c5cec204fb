"""Tests of rep performance."""

from decimal import Decimal

from services.analytics.reps import (
    rep_deal_contribution,
    rep_ids,
    rep_lead_contribution,
    summarize_rep,
)
from services.analytics.tally import EMPTY, Tally, combine, shift

from .builders import deal, lead, run_deals, run_leads


def lead_totals() -> Tally:
    """Two leads for r1 (one touched after 10 minutes, one won) and one for r2."""
    facts = [
        lead("assigned", 0, "L1", rep_id="r1"),
        lead("contacted", 10, "L1"),
        lead("assigned", 0, "L2", rep_id="r1"),
        lead("won", 500, "L2"),
        lead("assigned", 0, "L3", rep_id="r2"),
    ]
    records, _, _ = run_leads(facts)
    return combine(*(rep_lead_contribution(r) for r in records.values()))


def test_leads_assigned_open_load_and_response_median() -> None:
    """A rep's assigned leads, the ones still open, and the median first-touch time."""
    tally = lead_totals()
    summary = summarize_rep(tally, "r1", capacity=4)
    assert (summary.leads_assigned, summary.open_load, summary.load_ratio) == (2, 1, 0.25)
    # One 600 s touch in the (300, 900] bucket: interpolated halfway.
    assert summary.response_median_seconds == Decimal("600")
    assert rep_ids(tally) == ["r1", "r2"]


def test_deals_give_win_rate_revenue_and_average_size() -> None:
    """Two won deals and one lost: win rate 2/3, revenue and average from the won ones."""
    facts = [
        deal("a", 0, opportunity_id="O1", status="won", amount="1000"),
        deal("b", 0, opportunity_id="O2", status="won", amount="3000"),
        deal("c", 0, opportunity_id="O3", status="lost", amount="9999"),
        deal("d", 0, opportunity_id="O4", amount="500"),
    ]
    tally = combine(*(rep_deal_contribution(r) for r in run_deals(facts).values()))
    summary = summarize_rep(tally, "r1", capacity=0)
    assert summary.opportunities_opened == 4
    assert summary.win_rate == 2 / 3
    assert (summary.revenue_won, summary.average_deal_size) == (Decimal(4000), Decimal(2000))
    assert summary.load_ratio is None


def test_reassigned_deal_moves_to_its_new_owner() -> None:
    """A later snapshot with another owner moves the deal's numbers to that rep."""
    first = run_deals([deal("a", 0, rep_id="r1")])["O1"]
    moved = run_deals([deal("a", 0, rep_id="r1"), deal("b", 5, rep_id="r2", status="won")])["O1"]
    total = shift(rep_deal_contribution(first), rep_deal_contribution(first), rep_deal_contribution(moved))
    assert summarize_rep(total, "r1", 1).opportunities_opened == 0
    assert summarize_rep(total, "r2", 1).revenue_won == 1000


def test_rep_with_nothing_has_no_ratios() -> None:
    """An unknown rep reports zeros and no ratios rather than dividing by zero."""
    summary = summarize_rep(EMPTY, "nobody", capacity=3)
    assert summary.win_rate is None and summary.average_deal_size is None
    assert summary.response_median_seconds is None and summary.load_ratio == 0
