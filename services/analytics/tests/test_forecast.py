"""Tests of the weighted forecast and run-rate projection."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings

from services.analytics.deals import DealRecord, fold_deal
from services.analytics.facts import FORECAST_CATEGORIES, DealFact
from services.analytics.forecast import (
    forecast_contribution,
    forecast_for,
    month_of,
    parse_period,
    quarter_of,
    run_rate,
)
from services.analytics.tally import EMPTY, combine, shift

from .builders import deal, deal_facts, run_deals

Q4 = parse_period("2026-Q4")


def test_periods_parse_and_hold_their_days() -> None:
    """Months and quarters parse to their first day and exclusive end."""
    assert parse_period("2026-10") == month_of(date(2026, 10, 31))
    assert (Q4.start, Q4.end) == (date(2026, 10, 1), date(2027, 1, 1))
    assert quarter_of(date(2027, 2, 3)).label == "2027-Q1"
    with pytest.raises(ValueError, match="period"):
        parse_period("2026-Q5")


def test_open_deal_counts_raw_and_weighted_in_month_and_quarter() -> None:
    """An open 1000 at 0.25 in commit adds 1000 raw and 250 weighted to Nov and Q4."""
    record = run_deals([deal("e1", 0, amount="1000", probability="0.25", category="commit")])
    tally = forecast_contribution(record["O1"])
    for period in (parse_period("2026-11"), Q4):
        forecast = forecast_for(tally, period)
        assert forecast.raw["commit"] == 1000 and forecast.weighted["commit"] == 250
        assert forecast.raw["pipeline"] == 0 and forecast.won == 0


def test_won_deal_leaves_the_pipeline_and_counts_as_won() -> None:
    """Winning a deal moves its amount from open pipeline to won to date."""
    facts = [deal("e1", 0, amount="800"), deal("e2", 60, status="won", amount="900")]
    before = forecast_contribution(run_deals(facts[:1])["O1"])
    after = forecast_contribution(run_deals(facts)["O1"])
    forecast = forecast_for(shift(before, before, after), Q4)
    assert (forecast.raw_total, forecast.weighted_total, forecast.won) == (Decimal(0), Decimal(0), Decimal(900))


def test_lost_deal_adds_nothing() -> None:
    """A lost deal is neither pipeline nor won."""
    record = run_deals([deal("e1", 0, status="lost")])["O1"]
    assert forecast_contribution(record) == EMPTY


def test_run_rate_scales_won_by_elapsed_share() -> None:
    """A quarter a quarter gone projects four times what was won."""
    elapsed = Q4.start + (Q4.end - Q4.start) / 4
    now = datetime.combine(elapsed, datetime.min.time(), UTC)
    assert run_rate(Decimal("100"), Q4, now) == Decimal("400.00")


def test_run_rate_outside_the_period_is_what_was_won() -> None:
    """Before the period starts or after it ends the projection is the amount won."""
    assert run_rate(Decimal("50"), Q4, datetime(2026, 9, 1, tzinfo=UTC)) == Decimal("50.00")
    assert run_rate(Decimal("50"), Q4, datetime(2027, 2, 1, tzinfo=UTC)) == Decimal("50.00")


@settings(max_examples=150, deadline=None)
@given(deal_facts())
def test_weighted_never_exceeds_raw(facts: list[DealFact]) -> None:
    """With probabilities within 0..1, weighted pipeline is at most raw in every cell."""
    tally = combine(*(forecast_contribution(r) for r in run_deals(facts).values()))
    for label in ("2026-10", "2026-11", "2026-Q4", "2027-Q1"):
        forecast = forecast_for(tally, parse_period(label))
        for category in FORECAST_CATEGORIES:
            assert 0 <= forecast.weighted[category] <= forecast.raw[category]


@settings(max_examples=150, deadline=None)
@given(deal_facts())
def test_change_folding_matches_a_recount(facts: list[DealFact]) -> None:
    """Shifting totals per snapshot, with repeats, equals a recount of the final records."""
    total, records = EMPTY, dict[str, DealRecord]()
    for fact in [*facts, *facts]:
        before = records.get(fact.opportunity_id)
        after = records[fact.opportunity_id] = fold_deal(before, fact)
        total = shift(total, forecast_contribution(before), forecast_contribution(after))
    recount = combine(*(forecast_contribution(r) for r in run_deals(facts).values()))
    assert total == recount
