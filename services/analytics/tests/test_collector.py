"""Tests of the Prometheus families built from a tally."""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.analytics.collector import TotalsCollector
from services.analytics.deals import fold_deal
from services.analytics.totals import apply_deal, totals_docs

from .builders import deal, lead
from .test_totals import fold_all


class FakeTable:
    """Stands in for the totals table: local documents by partition."""

    def __init__(self, docs: dict[int, dict[str, dict[str, object]]]) -> None:
        self.docs = docs

    def local_docs(self) -> dict[int, dict[str, dict[str, object]]]:
        return self.docs


def scrape(docs: dict[int, dict[str, dict[str, object]]]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(TotalsCollector(FakeTable(docs)))  # type: ignore[arg-type]
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
    samples = scrape({0: totals_docs(a), 3: totals_docs(b)})
    assert samples["salesflow_analytics_funnel_leads", (("source", "web"), ("step", "captured"))] == 2
    assert samples["salesflow_analytics_rep_open_leads", (("rep", "r1"),)] == 1
    period = (("category", "pipeline"), ("period", "2026-Q4"))
    assert samples["salesflow_analytics_pipeline_weighted_amount", period] == 500
    assert samples["salesflow_analytics_speed_to_lead_seconds_count", ()] == 0


def test_no_partitions_means_empty_families() -> None:
    """A worker owning nothing exports no funnel samples (sum() across replicas stays right)."""
    samples = scrape({})
    assert not any(name == "salesflow_analytics_funnel_leads" for name, _ in samples)
