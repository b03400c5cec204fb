"""The results document: summaries, targets and the Markdown table."""

from __future__ import annotations

import math
from typing import Any

from bench.report import (
    evaluate_targets,
    figure,
    render_markdown,
    summarise,
    summarise_end_to_end,
    summarise_load,
    with_ratio,
)


def load_run(offered: int, latencies: list[float], drained: bool = True) -> dict[str, Any]:
    return {
        "offered": offered,
        "submitted": offered * 10,
        "achieved_per_second": offered * 0.95,
        "latencies_ms": latencies,
        "qualified": len(latencies),
        "drained": drained,
        "hops_p50_ms": {"produced -> leads.captured": 5.0, "leads.qualified -> leads.assigned": 3.0},
    }


def test_summarise_spreads_each_field_and_keeps_the_runs() -> None:
    """Each named field becomes median/min/max over the runs; the raw runs stay in the document."""
    runs = [{"events_per_second": 100.0}, {"events_per_second": 300.0}, {"events_per_second": 200.0}]
    summary = summarise(runs, ("events_per_second",))
    assert summary["events_per_second"] == {"median": 200.0, "min": 100.0, "max": 300.0, "runs": 3}
    assert summary["runs"] == runs


def test_ratio_to_ceiling_uses_the_medians() -> None:
    """A stage at 250/s against a 1,000/s ceiling is at a quarter of it; no ceiling, no ratio."""
    stage = summarise([{"events_per_second": 250.0}], ("events_per_second",))
    assert with_ratio(stage, 1000.0)["ratio_to_ceiling"] == 0.25
    assert with_ratio(stage, None)["ratio_to_ceiling"] is None


def test_load_summary_takes_percentiles_per_run_then_spreads_them() -> None:
    """p99 is computed within each run and the spread is over runs; hops keep the spine's order."""
    load = summarise_load([load_run(100, [10.0] * 95 + [500.0] * 5), load_run(100, [20.0] * 100)])
    assert load["p50_ms"]["median"] == 15.0
    assert load["p99_ms"]["max"] == 500.0
    assert list(load["hops_p50_ms"]) == ["produced -> leads.captured", "leads.qualified -> leads.assigned"]
    assert len(load["latencies_ms"]) == 200


def test_a_run_with_no_assignment_has_infinite_latency() -> None:
    """No lead came through: that is an unbounded latency, not a zero one."""
    load = summarise_load([load_run(500, [], drained=False)])
    assert math.isinf(load["p99_ms"]["median"])
    assert load["drained"] is False


def results_with(e2e_loads: list[dict[str, Any]], planned: list[int], batch_leads: float) -> dict[str, Any]:
    fields = ("events_per_second", "cpu_seconds_per_1000", "peak_rss_mib")
    run = {"events_per_second": 600.0, "cpu_seconds_per_1000": 1.5, "peak_rss_mib": 90.0}
    ratio_stage = with_ratio(summarise([run], fields), 1000.0)
    http_fields = ("requests_per_second", "leads_per_second", "p50_ms", "p90_ms", "p99_ms")
    http_run = dict.fromkeys(http_fields, 1.0) | {"leads_per_second": batch_leads, "errors": 0}
    http = summarise([http_run], http_fields)
    return {
        "stages": {"scoring": ratio_stage, "routing": with_ratio(ratio_stage, 2000.0)},
        "end_to_end": summarise_end_to_end(e2e_loads, planned),
        "http": {"batch_100": http},
    }


def test_targets_report_met_missed_and_unmeasured() -> None:
    """Each target says what was measured and whether it met the issue's goal."""
    loads = [summarise_load([load_run(100, [20.0] * 100)]), summarise_load([load_run(1000, [50.0] * 100)])]
    targets = evaluate_targets(results_with(loads, [100, 1000], 6000.0))
    met = [t["met"] for t in targets]
    assert met == [True, False, True, True, None]
    assert targets[1]["measured"] == "30% of the ceiling"


def test_e2e_target_is_missed_when_the_load_was_skipped_for_saturation() -> None:
    """A 1,000 leads/s step never offered because a lower one saturated counts as missed."""
    loads = [summarise_load([load_run(200, [1500.0] * 100, drained=False)])]
    e2e = evaluate_targets(results_with(loads, [200, 1000], 100.0))[2]
    assert e2e["met"] is False
    assert "200 leads/s" in e2e["measured"]


def test_figure_shows_the_spread_only_for_several_runs() -> None:
    """One run prints its value; several print median (min-max)."""
    assert figure({"median": 1234.0, "min": 1000.0, "max": 1500.0, "runs": 3}) == "1,234 (1,000–1,500)"
    assert figure({"median": 0.456, "min": 0.456, "max": 0.456, "runs": 1}, 2) == "0.46"


def test_markdown_has_a_row_per_stage_load_and_target() -> None:
    """The table names the machine, every stage, every offered load and every target."""
    results = results_with([summarise_load([load_run(100, [20.0] * 100)])], [100], 700.0)
    results |= {
        "plan": "quick",
        "generated_at": "now",
        "runs": 1,
        "machine": {"cores": 2, "memory_gib": 24, "cpu_model": "cpu", "python": "3.11", "broker": "b:9092"},
        "targets": evaluate_targets(results),
    }
    text = render_markdown(results)
    assert "2 cores, 24 GiB" in text
    assert "| scoring | 600 | 1.50 | 90 | 60% |" in text
    assert "| 100 | 95 |" in text
    assert "| 700 |" in text
    assert text.count("| missed |") == 2  # routing at 30% of its ceiling, HTTP at 700 leads/s


def test_the_end_to_end_table_says_how_much_engagement_rode_with_the_leads() -> None:
    """Figures with engagement in the load are not comparable to figures without: the table says which."""
    results = results_with([summarise_load([load_run(100, [20.0] * 100)])], [100], 700.0)
    machine = {"cores": 2, "memory_gib": 24, "cpu_model": "cpu", "python": "3.11", "broker": "b:9092"}
    results |= {"plan": "quick", "generated_at": "now", "runs": 1, "machine": machine, "targets": []}
    assert "engagement events" not in render_markdown(results)
    results["settings"] = {"engagement_per_lead": 2}
    assert "followed by 2 engagement events" in render_markdown(results)
