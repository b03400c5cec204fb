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
from services.analytics.speed import (
    ASSIGNMENT,
    ASSIGNMENT_BUCKETS,
    FIRST_TOUCH,
    FIRST_TOUCH_BUCKETS,
    INF,
    Histogram,
    histogram,
)
from services.analytics.tally import Tally, combine, select, tally_from_dict

if TYPE_CHECKING:
    from services.analytics.partitions import TotalsTable

P = "salesflow_analytics"


def _gauges() -> dict[str, GaugeMetricFamily]:
    return {
        "funnel": GaugeMetricFamily(
            f"{P}_funnel_leads", "Leads that reached each funnel step.", labels=["step", "source"]
        ),
        "raw": GaugeMetricFamily(
            f"{P}_pipeline_amount", "Open pipeline closing in the period.", labels=["category", "period"]
        ),
        "weighted": GaugeMetricFamily(
            f"{P}_pipeline_weighted_amount", "Open pipeline times win probability.", labels=["category", "period"]
        ),
        "won": GaugeMetricFamily(f"{P}_won_amount", "Won deals closing in the period.", labels=["period"]),
        "open": GaugeMetricFamily(f"{P}_rep_open_leads", "Assigned leads not yet won or lost.", labels=["rep"]),
    }


def _histograms() -> dict[str, HistogramMetricFamily]:
    return {
        "speed": HistogramMetricFamily(
            f"{P}_speed_to_lead_seconds", "Assignment to the rep's first touch (first email sent)."
        ),
        "assign": HistogramMetricFamily(f"{P}_capture_to_assignment_seconds", "Lead capture to assignment."),
    }


def _histogram(family: HistogramMetricFamily, hist: Histogram) -> None:
    bounds = [*(str(b) for b in hist.bounds), INF]
    buckets = [(le, float(n)) for le, n in zip(bounds, hist.cumulative, strict=True)]
    family.add_metric([], buckets, float(hist.sum_seconds))


def fill(families: dict[str, GaugeMetricFamily], histograms: dict[str, HistogramMetricFamily], tally: Tally) -> None:
    """Put one tally's numbers into the families."""
    for source, counts in funnel_counts(tally, "source").items():
        for step in STEPS:
            families["funnel"].add_metric([step, source], counts[step])
    for key, value in select(tally, ("forecast", "open")).items():
        period, category, kind = key
        families[kind].add_metric([category, period], float(value))
    for (period,), value in select(tally, ("forecast", "won")).items():
        families["won"].add_metric([period], float(value))
    for key, value in select(tally, ("rep",)).items():
        if key[1:] == ("open",):
            families["open"].add_metric([key[0]], float(value))
    _histogram(histograms["speed"], histogram(tally, FIRST_TOUCH, FIRST_TOUCH_BUCKETS))
    _histogram(histograms["assign"], histogram(tally, ASSIGNMENT, ASSIGNMENT_BUCKETS))


def local_tally(totals: TotalsTable) -> Tally:
    """The running sums of every owned partition."""
    parts: list[Tally] = []
    for docs in totals.local_docs().values():
        parts.extend(tally_from_dict(doc) for part, doc in docs.items() if part.startswith("section:"))
    return combine(*parts)


class TotalsCollector(Collector):
    """A custom collector: values are computed from the tables when scraped, never cached."""

    def __init__(self, totals: TotalsTable) -> None:
        self.totals = totals

    def describe(self) -> Iterable[Metric]:
        return [*_gauges().values(), *_histograms().values()]

    def collect(self) -> Iterator[Metric]:
        gauges, histograms = _gauges(), _histograms()
        fill(gauges, histograms, local_tally(self.totals))
        yield from gauges.values()
        yield from histograms.values()
