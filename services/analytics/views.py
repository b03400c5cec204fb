"""The API's JSON bodies, read out of the summed totals.

Pure: `now` is an argument; amounts are decimal strings, counts ints, rates floats or null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from services.analytics.cycle import cycle_stats
from services.analytics.facts import FORECAST_CATEGORIES
from services.analytics.forecast import Period, forecast_for, run_rate
from services.analytics.funnel import DIMENSIONS, conversion_rates, funnel_counts
from services.analytics.leads import PATH
from services.analytics.nurture_stats import ENROLMENT, enrolment_stats, sequence_stats
from services.analytics.pipeline import pipeline_by_stage
from services.analytics.reps import RepSummary, rep_ids, summarize_rep
from services.analytics.speed import (
    ASSIGNMENT,
    ASSIGNMENT_BUCKETS,
    FIRST_TOUCH,
    FIRST_TOUCH_BUCKETS,
    Histogram,
    histogram,
    quantile,
)
from services.analytics.tally import Tally, combine, select
from services.analytics.totals import Overall
from services.analytics.windows import Granularity


def money(value: Decimal | None) -> str | None:
    """A decimal amount to the cent as a string; None stays None."""
    return None if value is None else str(value.quantize(Decimal("0.01")))


def seconds(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 3)


def funnel_view(totals: Overall, by: str, span: tuple[datetime, datetime, Granularity] | None) -> dict[str, Any]:
    """Leads per step for each value of `by`, with conversions between consecutive path steps.

    Without a span: running totals. With one: the windows whose start lies in [from, to).
    """
    if by not in DIMENSIONS:
        raise ValueError(f"by must be one of {', '.join(DIMENSIONS)}")
    tally = totals.running if span is None else _between(totals, *span)
    groups = [
        {"value": value, "counts": counts, "conversion": _conversions(counts)}
        for value, counts in sorted(funnel_counts(tally, by).items())
    ]
    window = None if span is None else {"from": span[0].isoformat(), "to": span[1].isoformat(), "granularity": span[2]}
    return {"by": by, "window": window, "steps": [*PATH, "lost"], "groups": groups}


def _between(totals: Overall, start: datetime, end: datetime, granularity: Granularity) -> Tally:
    return combine(*(t for s, t in totals.windows[granularity].items() if start <= s < end))


def _conversions(counts: Mapping[Any, int]) -> dict[str, float | None]:
    rates = conversion_rates(counts)
    return {f"{a}->{b}": rates[a, b] for a, b in pairwise(PATH)}


def histogram_view(hist: Histogram) -> dict[str, Any]:
    """Buckets as (upper bound in seconds, cumulative count), plus count, sum and quantiles."""
    bounds = [str(b) for b in hist.bounds] + ["+Inf"]
    return {
        "buckets": [{"le": le, "count": n} for le, n in zip(bounds, hist.cumulative, strict=True)],
        "count": hist.count,
        "sum_seconds": seconds(hist.sum_seconds),
        "p50_seconds": seconds(quantile(hist, 0.5)),
        "p90_seconds": seconds(quantile(hist, 0.9)),
    }


def speed_view(totals: Overall) -> dict[str, Any]:
    """Capture→assignment and assignment→first-touch histograms, and SLA met/breached by grade."""
    tally = totals.running
    sla = {
        grade: {"met": tally.count(("sla", grade, "met")), "breached": tally.count(("sla", grade, "breached"))}
        for grade in sorted({key[0] for key in select(tally, ("sla",))})
    }
    return {
        "capture_to_assignment": histogram_view(histogram(tally, ASSIGNMENT, ASSIGNMENT_BUCKETS)),
        "assignment_to_first_touch": histogram_view(histogram(tally, FIRST_TOUCH, FIRST_TOUCH_BUCKETS)),
        "sla": sla,
    }


def forecast_view(totals: Overall, period: Period, now: datetime) -> dict[str, Any]:
    """Open pipeline per category (raw, weighted), won to date and the run-rate projection."""
    forecast = forecast_for(totals.running, period)
    categories = {
        c: {"raw": money(forecast.raw[c]), "weighted": money(forecast.weighted[c])} for c in FORECAST_CATEGORIES
    }
    return {
        "period": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "categories": categories,
        "raw_total": money(forecast.raw_total),
        "weighted_total": money(forecast.weighted_total),
        "won": money(forecast.won),
        "run_rate": money(run_rate(forecast.won, period, now)),
    }


def pipeline_view(totals: Overall) -> dict[str, Any]:
    """Open deals by stage, and cycle time for won and lost deals."""
    stages = [
        {"stage": s.stage, "deals": s.deals, "amount": money(s.amount)} for s in pipeline_by_stage(totals.running)
    ]
    cycles = {}
    for final in ("won", "lost"):
        stats = cycle_stats(totals.running, final)
        cycles[final] = {
            "deals": stats.deals,
            "average_days": seconds(stats.average_days),
            "stage_average_days": {k: seconds(v) for k, v in sorted(stats.stage_average_days.items())},
        }
    return {"stages": stages, "cycle": cycles}


def rep_view(summary: RepSummary) -> dict[str, Any]:
    """One rep's numbers."""
    return {
        "rep_id": summary.rep_id,
        "leads_assigned": summary.leads_assigned,
        "response_median_seconds": seconds(summary.response_median_seconds),
        "opportunities_opened": summary.opportunities_opened,
        "win_rate": summary.win_rate,
        "revenue_won": money(summary.revenue_won),
        "average_deal_size": money(summary.average_deal_size),
        "open_load": summary.open_load,
        "capacity": summary.capacity,
        "load_ratio": summary.load_ratio,
    }


def reps_view(totals: Overall, capacities: Mapping[str, int]) -> dict[str, Any]:
    """Every rep with a number, by revenue won then leads assigned (a leaderboard)."""
    summaries = [summarize_rep(totals.running, rep, capacities.get(rep, 0)) for rep in rep_ids(totals.running)]
    summaries.sort(key=lambda s: (-s.revenue_won, -s.leads_assigned, s.rep_id))
    return {"reps": [rep_view(s) for s in summaries]}


def one_rep_view(totals: Overall, rep_id: str, capacities: Mapping[str, int]) -> dict[str, Any] | None:
    """One rep's numbers; None for a rep with none."""
    if rep_id not in rep_ids(totals.running):
        return None
    return rep_view(summarize_rep(totals.running, rep_id, capacities.get(rep_id, 0)))


def sequences_of(totals: Overall) -> list[str]:
    """Every sequence with a nurture send, outcome or enrolment change."""
    kinds = (("nurture",), (ENROLMENT,))
    return sorted({key[0] for kind in kinds for key in select(totals.running, kind)})


def enrolment_view(totals: Overall, sequence_id: str) -> dict[str, Any]:
    """A sequence's enrolment changes by kind, exits and pauses by reason, and those running."""
    stats = enrolment_stats(totals.running, sequence_id)
    return {
        "changes": dict(stats.changes),
        "exited_by_reason": dict(sorted(stats.exits.items())),
        "paused_by_reason": dict(sorted(stats.paused_by_reason.items())),
        "in_progress": stats.in_progress,
    }


def sequence_view(totals: Overall, sequence_id: str) -> dict[str, Any] | None:
    """A sequence's counts and rates per step and variant, totals and enrolment changes; None
    when it has none."""
    if sequence_id not in sequences_of(totals):
        return None
    stats = sequence_stats(totals.running, sequence_id)
    rows = [
        {
            "step": row.step,
            "variant": row.variant,
            "counts": dict(row.counts),
            "rates": {kind: row.rate(kind) for kind in row.counts if kind != "sent"},
        }
        for row in stats.rows
    ]
    return {
        "sequence_id": sequence_id,
        "rows": rows,
        "totals": dict(stats.totals),
        "enrolments": enrolment_view(totals, sequence_id),
    }
