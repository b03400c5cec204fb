"""Tests of the Prometheus families built from a tally."""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.analytics.collector import TotalsCollector
from services.analytics.deals import fold_deal
from services.analytics.totals import PartitionTotals, apply_deal

from .builders import deal, lead
from .test_totals import fold_all


class FakeCache:
    """Stands in for the totals cache: the owned partitions' totals."""

    def __init__(self, totals: dict[int, PartitionTotals]) -> None:
        self.totals = totals

    def owned(self) -> dict[int, PartitionTotals]:
        return self.totals


def scrape(totals: dict[int, PartitionTotals]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(TotalsCollector(FakeCache(totals)))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_sum_the_local_partitions() -> None:
    """Funnel gauges, pipeline amounts and the histogram add up over the owned partitions."""
    a = fold_all([lead("captured", 0, "L1", source="web"), lead("assigned", 1, "L1", rep_id="r1")])
    b = apply_deal(fold_all([lead("captured", 0, "L2", source="web")]), None, fold_deal(None, deal("e1", 0)))
    samples = scrape({0: a, 3: b})
    assert samples["salesflow_analytics_funnel_leads", (("source", "web"), ("step", "captured"))] == 2
    assert samples["salesflow_analytics_rep_open_leads", (("rep", "r1"),)] == 1
    period = (("category", "pipeline"), ("period", "2026-Q4"))
    assert samples["salesflow_analytics_pipeline_weighted_amount", period] == 500
    assert samples["salesflow_analytics_speed_to_lead_seconds_count", ()] == 0


def test_no_partitions_means_empty_families() -> None:
    """A worker owning nothing exports no funnel samples (sum() across replicas stays right)."""
    samples = scrape({})
    assert not any(name == "salesflow_analytics_funnel_leads" for name, _ in samples)


def test_campaign_territory_and_rep_labels_are_capped_with_the_rest_as_other() -> None:
    """Beyond the limit, the values with fewest captured leads are summed under "other"."""
    facts = [
        lead("captured", 0, f"L{i}", territory=t) for i, t in enumerate(["US", "US", "US", "GB", "GB", "FR", "DE"])
    ]
    registry = CollectorRegistry()
    registry.register(TotalsCollector(FakeCache({0: fold_all(facts)}), label_limit=2))  # type: ignore[arg-type]
    samples = {
        s.labels["territory"]: s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
        if s.name == "salesflow_analytics_funnel_leads_by_territory" and s.labels["step"] == "captured"
    }
    assert samples == {"US": 3, "GB": 2, "other": 2}


def test_pipeline_by_stage_and_rep_numbers_are_exported() -> None:
    """Open deals by stage and each rep's assigned leads and won amount are gauges."""
    won = fold_deal(None, deal("e2", 0, opportunity_id="O2", status="won", amount="700", rep_id="r2"))
    totals = apply_deal(apply_deal(fold_all([]), None, fold_deal(None, deal("e1", 0))), None, won)
    samples = scrape({1: totals})
    assert samples["salesflow_analytics_pipeline_deals", (("stage", "discovery"),)] == 1
    assert samples["salesflow_analytics_pipeline_stage_amount", (("stage", "discovery"),)] == 1000
    assert samples["salesflow_analytics_rep_won_amount", (("rep", "r2"),)] == 700
