"""Tests of deal records and cycle time."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.cycle import cycle_contribution, cycle_stats
from services.analytics.deals import (
    closed_at,
    deal_record_from_dict,
    deal_record_to_dict,
    fold_deal,
    stage_durations,
)
from services.analytics.facts import DealFact
from services.analytics.tally import combine

from .builders import T0, deal, deal_facts, run_deals

DAY = 24 * 60


def won_deal() -> list[DealFact]:
    """Opened day 0, demo on day 2, won on day 5."""
    return [
        deal("e1", 0, stage="discovery"),
        deal("e2", 2 * DAY, stage="demo"),
        deal("e3", 5 * DAY, stage="closed", status="won"),
    ]


def test_latest_snapshot_wins_whatever_the_order() -> None:
    """The record holds the snapshot with the latest event time, in any arrival order."""
    facts = won_deal()
    forward = run_deals(facts)["O1"]
    backward = run_deals(reversed(facts))["O1"]
    assert forward == backward
    assert forward.latest.status == "won"
    assert closed_at(forward) == T0 + timedelta(days=5)


def test_stage_durations_run_until_the_next_stage_or_close() -> None:
    """Each stage lasts until the next one's entry, the last one until the close."""
    record = run_deals(won_deal())["O1"]
    assert stage_durations(record) == {"discovery": timedelta(days=2), "demo": timedelta(days=3)}


def test_open_deal_has_no_cycle() -> None:
    """An open deal contributes nothing to cycle time."""
    assert cycle_contribution(run_deals(won_deal()[:2])["O1"]).entries == {}


def test_cycle_days_are_kept_apart_for_won_and_lost() -> None:
    """Average cycle and stage days are computed per outcome."""
    lost = [deal("x1", 0, opportunity_id="O2"), deal("x2", DAY, opportunity_id="O2", status="lost")]
    records = run_deals([*won_deal(), *lost])
    tally = combine(*(cycle_contribution(r) for r in records.values()))
    won, lost_stats = cycle_stats(tally, "won"), cycle_stats(tally, "lost")
    assert (won.deals, won.average_days) == (1, Decimal(5))
    assert won.stage_average_days == {"discovery": 2, "demo": 3}
    assert (lost_stats.deals, lost_stats.average_days) == (1, Decimal(1))


def test_no_closed_deals_means_no_average() -> None:
    """Without closed deals the average is None, not zero."""
    assert cycle_stats(combine(), "lost").average_days is None


def test_snapshot_rejects_probability_above_one() -> None:
    """A probability outside 0..1 is refused at the edge."""
    with pytest.raises(ValueError, match="probability"):
        deal("e1", 0, probability="1.2")


@settings(max_examples=150, deadline=None)
@given(deal_facts(), st.randoms())
def test_deal_fold_is_order_free_and_idempotent(facts: list[DealFact], rnd: object) -> None:
    """Shuffled and repeated snapshots give the same records."""
    shuffled = [*facts, *facts]
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert run_deals(shuffled) == run_deals(facts)


@settings(max_examples=150, deadline=None)
@given(deal_facts())
def test_deal_records_round_trip_exactly(facts: list[DealFact]) -> None:
    """Every deal record survives its plain-dict form unchanged."""
    for record in run_deals(facts).values():
        back = deal_record_from_dict(deal_record_to_dict(record))
        assert back == record
        assert str(back.latest.amount) == str(record.latest.amount)


def test_fold_from_nothing_opens_at_the_first_event() -> None:
    """The first snapshot sets the open time and first stage."""
    record = fold_deal(None, deal("e1", 30, close=date(2026, 12, 1)))
    assert record.opened_at == T0 + timedelta(minutes=30)
    assert record.stage_entered == {"discovery": record.opened_at}


def test_deal_first_seen_closed_has_a_cycle_but_no_stage_times() -> None:
    """A deal whose first snapshot is already lost counts one lost cycle with no stage times."""
    record = run_deals([deal("e1", 0, status="lost", stage="closed_lost")])["O1"]
    assert stage_durations(record) == {}
    assert cycle_stats(cycle_contribution(record), "lost").deals == 1
