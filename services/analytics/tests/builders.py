"""Fact builders, Hypothesis strategies and a fold driver shared by the analytics tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from services.analytics.deals import DealRecord, fold_deal
from services.analytics.facts import STEPS, DealFact, LeadFact, Step
from services.analytics.funnel import funnel_change
from services.analytics.leads import LeadRecord, fold_lead
from services.analytics.speed import DEFAULT_SLA, speed_contribution
from services.analytics.tally import EMPTY, Tally, shift
from services.analytics.windows import Windows, place

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def lead(step: Step, minutes: float, lead_id: str = "L1", event_id: str | None = None, **attrs: str) -> LeadFact:
    """A lead fact `minutes` after T0; the event id defaults to one unique per step and time."""
    eid = event_id or f"{lead_id}-{step}-{minutes}"
    return LeadFact(eid, lead_id, step, T0 + timedelta(minutes=minutes), **attrs)


def deal(
    event_id: str,
    minutes: float,
    *,
    opportunity_id: str = "O1",
    stage: str = "discovery",
    status: str = "open",
    amount: str = "1000",
    probability: str = "0.5",
    category: str = "pipeline",
    close: date = date(2026, 11, 20),
    rep_id: str | None = "r1",
) -> DealFact:
    """A deal snapshot `minutes` after T0."""
    return DealFact(
        event_id,
        opportunity_id,
        T0 + timedelta(minutes=minutes),
        stage,
        status,  # type: ignore[arg-type]
        Decimal(amount),
        Decimal(probability),
        category,  # type: ignore[arg-type]
        close,
        rep_id,
    )


def lead_facts() -> st.SearchStrategy[list[LeadFact]]:
    """Lists of facts over a few leads, steps, attributes and event times within two days."""
    fact = st.builds(
        LeadFact,
        event_id=st.uuids().map(str),
        lead_id=st.sampled_from(["L1", "L2", "L3", "L4"]),
        step=st.sampled_from(STEPS),
        occurred_at=st.integers(0, 2 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m)),
        source=st.sampled_from([None, "web", "ads"]),
        campaign=st.sampled_from([None, "fall"]),
        territory=st.sampled_from([None, "emea", "amer"]),
        rep_id=st.sampled_from([None, "r1", "r2"]),
        grade=st.sampled_from([None, "A", "B", "C"]),
    )
    return st.lists(fact, max_size=25)


def deal_facts() -> st.SearchStrategy[list[DealFact]]:
    """Lists of snapshots over a few deals with probabilities within 0..1."""
    fact = st.builds(
        DealFact,
        event_id=st.uuids().map(str),
        opportunity_id=st.sampled_from(["O1", "O2", "O3"]),
        occurred_at=st.integers(0, 90 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m)),
        stage=st.sampled_from(["discovery", "demo", "negotiation"]),
        status=st.sampled_from(["open", "open", "won", "lost"]),
        amount=st.decimals(0, 1_000_000, places=2),
        probability=st.decimals(0, 1, places=2),
        forecast_category=st.sampled_from(["pipeline", "best_case", "commit", "omitted"]),
        close_date=st.dates(date(2026, 10, 1), date(2027, 3, 31)),
        rep_id=st.sampled_from([None, "r1", "r2"]),
    )
    return st.lists(fact, max_size=20)


def run_leads(
    facts: Iterable[LeadFact], windows: Windows | None = None
) -> tuple[dict[str, LeadRecord], Windows, Tally]:
    """Fold facts the way the wiring does: per-lead record, funnel windows, speed totals."""
    records: dict[str, LeadRecord] = {}
    windows = windows or Windows("hour")
    speed = EMPTY
    for fact in facts:
        before = records.get(fact.lead_id)
        after = records[fact.lead_id] = fold_lead(before, fact)
        windows = place(windows, fact.occurred_at, funnel_change(before, after))
        speed = shift(speed, speed_contribution(before, DEFAULT_SLA), speed_contribution(after, DEFAULT_SLA))
    return records, windows, speed


def run_deals(facts: Iterable[DealFact]) -> dict[str, DealRecord]:
    """Fold snapshots into per-deal records."""
    records: dict[str, DealRecord] = {}
    for fact in facts:
        records[fact.opportunity_id] = fold_deal(records.get(fact.opportunity_id), fact)
    return records
