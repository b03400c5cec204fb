"""Tests of the lead steps a deal implies, and open pipeline by stage."""

from datetime import timedelta

from services.analytics.deals import fold_deal
from services.analytics.links import (
    DealLink,
    fact_from_dict,
    fact_to_dict,
    lead_facts,
    link_from_dict,
    link_lead,
    link_step,
    link_to_dict,
)
from services.analytics.pipeline import pipeline_by_stage, stage_contribution

from .builders import T0, deal


def test_a_deal_implies_lead_steps_once_its_lead_is_known() -> None:
    """Steps wait for the lead id, keep their earliest time and carry derived event ids."""
    link = link_step(DealLink("O1"), "opportunity", T0 + timedelta(hours=1))
    assert lead_facts(link) == []
    link = link_step(link_lead(link, "L1"), "opportunity", T0)
    link = link_lead(link, "L2")  # a deal never changes its lead
    facts = lead_facts(link)
    assert [(f.lead_id, f.step, f.occurred_at, f.event_id) for f in facts] == [
        ("L1", "opportunity", T0, "O1:opportunity")
    ]
    assert link_from_dict(link_to_dict(link)) == link
    assert fact_from_dict(fact_to_dict(facts[0])) == facts[0]


def test_pipeline_counts_open_deals_by_current_stage() -> None:
    """An open deal counts in its latest stage; a won one nowhere."""
    open_deal = fold_deal(None, deal("e1", 0, stage="demo", amount="700"))
    won = fold_deal(None, deal("e2", 0, opportunity_id="O2", status="won"))
    loads = pipeline_by_stage(stage_contribution(open_deal))
    assert [(s.stage, s.deals, s.amount) for s in loads] == [("demo", 1, 700)]
    assert stage_contribution(won).entries == {}
