"""Business metrics for Prometheus, read at scrape time from the totals of the partitions this
worker owns only, so sum() across replicas counts every partition once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from services.analytics.facts import STEPS
from services.analytics.funnel import funnel_counts
from services.analytics.labels import capped
from services.analytics.pipeline import pipeline_by_stage
from services.analytics.reps import rep_ids
from services.analytics.speed import (
    ASSIGNMENT,
    ASSIGNMENT_BUCKETS,
    FIRST_TOUCH,
    FIRST_TOUCH_BUCKETS,
    INF,
    Histogram,
    histogram,
)
from services.analytics.tally import Number, Tally, combine, select

if TYPE_CHECKING:
    from services.analytics.partitions import TotalsCache

P = "salesflow_analytics"
# Funnel dimensions exported besides source (whose values are a closed enum), capped.
CAPPED_DIMENSIONS = ("campaign", "territory", "rep")
DEFAULT_LABEL_LIMIT = 20


def _gauges() -> dict[str, GaugeMetricFamily]:
    by = {
        dim: GaugeMetricFamily(
            f"{P}_funnel_leads_by_{dim}",
            f"Leads that reached each funnel step, by {dim} (top values, the rest as other).",
            labels=["step", dim],
        )
        for dim in CAPPED_DIMENSIONS
    }
    return {
        "funnel": GaugeMetricFamily(
            f"{P}_funnel_leads", "Leads that reached each funnel step.", labels=["step", "source"]
        ),
        **by,
        "raw": GaugeMetricFamily(
            f"{P}_pipeline_amount", "Open pipeline closing in the period.", labels=["category", "period"]
        ),
        "weighted": GaugeMetricFamily(
            f"{P}_pipeline_weighted_amount", "Open pipeline times win probability.", labels=["category", "period"]
        ),
        "won": GaugeMetricFamily(f"{P}_won_amount", "Won deals closing in the period.", labels=["period"]),
        "stage_deals": GaugeMetricFamily(f"{P}_pipeline_deals", "Open deals in each stage.", labels=["stage"]),
        "stage_amount": GaugeMetricFamily(
            f"{P}_pipeline_stage_amount", "Amount of the open deals in each stage.", labels=["stage"]
        ),
        "open": GaugeMetricFamily(f"{P}_rep_open_leads", "Assigned leads not yet won or lost.", labels=["rep"]),
        "assigned": GaugeMetricFamily(f"{P}_rep_leads_assigned", "Leads assigned to the rep.", labels=["rep"]),
        "revenue": GaugeMetricFamily(f"{P}_rep_won_amount", "Amount of the rep's won deals.", labels=["rep"]),
    }


def _histograms() -> dict[str, HistogramMetricFamily]:
    return {
        "speed": HistogramMetricFamily(
            f"{P}_speed_to_lead_seconds",
            "Assignment to the rep's first touch (email sent, activity or call logged, task completed).",
        ),
        "assign": HistogramMetricFamily(f"{P}_capture_to_assignment_seconds", "Lead capture to assignment."),
    }


def _histogram(family: HistogramMetricFamily, hist: Histogram) -> None:
    bounds = [*(str(b) for b in hist.bounds), INF]
    buckets = [(le, float(n)) for le, n in zip(bounds, hist.cumulative, strict=True)]
    family.add_metric([], buckets, float(hist.sum_seconds))


def _funnel(families: dict[str, GaugeMetricFamily], tally: Tally, limit: int) -> None:
    for source, counts in funnel_counts(tally, "source").items():
        for step in STEPS:
            families["funnel"].add_metric([step, source], counts[step])
    for dim in CAPPED_DIMENSIONS:
        rows: dict[str, dict[str, Number]] = {
            value: {str(step): n for step, n in counts.items()} for value, counts in funnel_counts(tally, dim).items()
        }
        for value, row in capped(rows, "captured", limit).items():
            for step in STEPS:
                families[dim].add_metric([step, value], float(row.get(step, 0)))


def _reps(families: dict[str, GaugeMetricFamily], tally: Tally, limit: int) -> None:
    columns = {"open": "open", "assigned": "assigned", "revenue": "revenue"}
    rows = {rep: {c: tally.get(("rep", rep, c)) for c in columns} for rep in rep_ids(tally)}
    for rep, row in capped(rows, "assigned", limit).items():
        for family, column in columns.items():
            families[family].add_metric([rep], float(row[column]))


def fill(
    families: dict[str, GaugeMetricFamily],
    histograms: dict[str, HistogramMetricFamily],
    tally: Tally,
    limit: int = DEFAULT_LABEL_LIMIT,
) -> None:
    """Put one tally's numbers into the families, at most `limit` values (+ other) per label."""
    _funnel(families, tally, limit)
    for key, value in select(tally, ("forecast", "open")).items():
        period, category, kind = key
        families[kind].add_metric([category, period], float(value))
    for (period,), value in select(tally, ("forecast", "won")).items():
        families["won"].add_metric([period], float(value))
    for stage in pipeline_by_stage(tally):
        families["stage_deals"].add_metric([stage.stage], float(stage.deals))
        families["stage_amount"].add_metric([stage.stage], float(stage.amount))
    _reps(families, tally, limit)
    _histogram(histograms["speed"], histogram(tally, FIRST_TOUCH, FIRST_TOUCH_BUCKETS))
    _histogram(histograms["assign"], histogram(tally, ASSIGNMENT, ASSIGNMENT_BUCKETS))


def local_tally(totals: TotalsCache) -> Tally:
    """The running sums of every owned partition."""
    return combine(*(part.running for part in totals.owned().values()))


class TotalsCollector(Collector):
    """A custom collector: values are computed from the tables when scraped, never cached."""

    def __init__(self, totals: TotalsCache, label_limit: int = DEFAULT_LABEL_LIMIT) -> None:
        self.totals, self.label_limit = totals, label_limit

    def describe(self) -> Iterable[Metric]:
        return [*_gauges().values(), *_histograms().values()]

    def collect(self) -> Iterator[Metric]:
        gauges, histograms = _gauges(), _histograms()
        fill(gauges, histograms, local_tally(self.totals), self.label_limit)
        yield from gauges.values()
        yield from histograms.values()
