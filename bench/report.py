"""Turns the runs into the results document, checks it against the issue's targets, renders Markdown.

Pure: plain dicts in (the runs as `dataclasses.asdict` gives them), dicts and text out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from bench.stats import percentile, saturation_load, spread

Run = Mapping[str, Any]
E2E_TARGET_LOAD = 1000
E2E_TARGET_P99_MS = 100.0
HTTP_TARGET_LEADS = 5000.0
STAGE_TARGET_RATIO = 0.5


def summarise(runs: Sequence[Run], fields: Sequence[str]) -> dict[str, Any]:
    """A spread (median, min, max) of each named field over the runs, and the runs themselves."""
    summary: dict[str, Any] = {name: spread([float(run[name]) for run in runs]).to_dict() for name in fields}
    return summary | {"runs": [dict(run) for run in runs]}


def with_ratio(stage: dict[str, Any], ceiling_per_second: float | None) -> dict[str, Any]:
    """The stage's median events/s as a share of the ceiling's (None without a ceiling)."""
    if not ceiling_per_second:
        return stage | {"ratio_to_ceiling": None}
    return stage | {"ratio_to_ceiling": stage["events_per_second"]["median"] / ceiling_per_second}


def summarise_load(runs: Sequence[Run]) -> dict[str, Any]:
    """One offered load: latency percentiles per run, spread over runs, and the median of each hop."""
    per_run = [_latency_row(run) for run in runs]
    # dict.fromkeys keeps the spine's order of hops, first to last.
    hops = list(dict.fromkeys(hop for run in runs for hop in run["hops_p50_ms"]))
    return {
        "offered": runs[0]["offered"],
        **summarise(per_run, ("achieved_per_second", "p50_ms", "p95_ms", "p99_ms")),
        "drained": all(run["drained"] for run in runs),
        "hops_p50_ms": {h: statistics.median(r["hops_p50_ms"][h] for r in runs if h in r["hops_p50_ms"]) for h in hops},
        "latencies_ms": [latency for run in runs for latency in run["latencies_ms"]],
    }


def _latency_row(run: Run) -> dict[str, Any]:
    samples = run["latencies_ms"] or [math.inf]
    return {
        "achieved_per_second": run["achieved_per_second"],
        "p50_ms": percentile(samples, 50),
        "p95_ms": percentile(samples, 95),
        "p99_ms": percentile(samples, 99),
        "drained": run["drained"],
        "qualified": run["qualified"],
        "submitted": run["submitted"],
    }


def summarise_end_to_end(loads: Sequence[dict[str, Any]], planned: Sequence[int]) -> dict[str, Any]:
    measured = [(load["offered"], load["p99_ms"]["median"], load["drained"]) for load in loads]
    done = {load["offered"] for load in loads}
    return {
        "loads": list(loads),
        "saturation_load": saturation_load(measured),
        "skipped_loads": [load for load in planned if load not in done],
    }


def evaluate_targets(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The issue's four targets, each with what was measured and whether it was met (None: not measured)."""
    stages = results.get("stages", {})
    return [
        *(_stage_target(name, stages.get(name)) for name in ("scoring", "routing")),
        _e2e_target(results.get("end_to_end")),
        _http_target(results.get("http", {}).get("batch_100")),
        {
            "target": "memory per service flat over a 10-minute soak",
            "measured": "not measured by this bench (see the RSS growth over the end-to-end phase)",
            "met": None,
        },
    ]


def _stage_target(name: str, stage: Mapping[str, Any] | None) -> dict[str, Any]:
    ratio = stage.get("ratio_to_ceiling") if stage else None
    return {
        "target": f"{name} sustains at least half of the ceiling's events/s per process",
        "measured": "not measured" if ratio is None else f"{ratio:.0%} of the ceiling",
        "met": None if ratio is None else ratio >= STAGE_TARGET_RATIO,
    }


def _e2e_target(e2e: Mapping[str, Any] | None) -> dict[str, Any]:
    goal = f"end-to-end p99 under {E2E_TARGET_P99_MS:.0f} ms at {E2E_TARGET_LOAD} leads/s"
    if e2e is None:
        return {"target": goal, "measured": "not measured", "met": None}
    load = next((item for item in e2e["loads"] if item["offered"] == E2E_TARGET_LOAD), None)
    if load is None and E2E_TARGET_LOAD in e2e["skipped_loads"]:
        saturated = e2e["saturation_load"]
        return {"target": goal, "measured": f"not offered: the spine saturates at {saturated} leads/s", "met": False}
    if load is None:
        return {"target": goal, "measured": f"{E2E_TARGET_LOAD} leads/s is not in this plan", "met": None}
    p99 = load["p99_ms"]["median"]
    return {"target": goal, "measured": f"p99 {p99:,.0f} ms", "met": load["drained"] and p99 < E2E_TARGET_P99_MS}


def _http_target(batch: Mapping[str, Any] | None) -> dict[str, Any]:
    goal = f"HTTP ingest at least {HTTP_TARGET_LEADS:,.0f} leads/s in batches of 100 on one process"
    if batch is None:
        return {"target": goal, "measured": "not measured", "met": None}
    leads = batch["leads_per_second"]["median"]
    return {"target": goal, "measured": f"{leads:,.0f} leads/s", "met": leads >= HTTP_TARGET_LEADS}


def figure(value: Mapping[str, Any], digits: int = 0) -> str:
    """A spread as `median (min-max)`, or the median alone for a single run."""

    def number(x: float) -> str:
        return "∞" if math.isinf(x) else f"{x:,.{digits}f}"

    if value["runs"] == 1:
        return number(value["median"])
    return f"{number(value['median'])} ({number(value['min'])}–{number(value['max'])})"


def render_markdown(results: Mapping[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        f"# salesflow bench ({results['plan']}, {results['generated_at']})",
        "",
        f"Machine: {machine['cores']} cores, {machine['memory_gib']} GiB, {machine['cpu_model']}; "
        f"Python {machine['python']}; broker {machine['broker']}. Each figure: median (min–max) "
        f"of {results['runs']} run(s).",
    ]
    for section in (_stage_table, _e2e_table, _http_table, _scale_table, _target_table):
        lines += section(results)
    return "\n".join(lines) + "\n"


def _stage_table(results: Mapping[str, Any]) -> list[str]:
    rows = []
    if "ceiling" in results:
        ceiling = results["ceiling"]
        rows.append(
            f"| ceiling (consume → decode → encode → produce) | {figure(ceiling['events_per_second'])} "
            f"| {figure(ceiling['cpu_seconds_per_1000'], 2)} | – | 100% |"
        )
    for name, stage in results.get("stages", {}).items():
        ratio = stage["ratio_to_ceiling"]
        rows.append(
            f"| {name} | {figure(stage['events_per_second'])} | {figure(stage['cpu_seconds_per_1000'], 2)} "
            f"| {figure(stage['peak_rss_mib'])} | {'–' if ratio is None else f'{ratio:.0%}'} |"
        )
    header = [
        "",
        "## Per stage, alone on a backlog",
        "",
        "| stage | events/s per process | CPU s per 1,000 events | peak RSS MiB | of ceiling |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    return header + rows if rows else []


def _engagement_note(results: Mapping[str, Any]) -> list[str]:
    per_lead = results.get("settings", {}).get("engagement_per_lead")
    if not per_lead:
        return []
    return [
        f"Each offered lead is followed by {per_lead} engagement events (engagement.inbound) for leads already sent.",
        "A lead is timed from the event that qualified it: its submission, or the engagement event that",
        "lifted its score over the threshold.",
        "",
    ]


def _e2e_table(results: Mapping[str, Any]) -> list[str]:
    e2e = results.get("end_to_end")
    if not e2e:
        return []
    lines = [
        "",
        "## End to end: ingest → scoring → routing (the qualifying event's produce → leads.assigned)",
        "",
        *_engagement_note(results),
        "| offered leads/s | achieved leads/s | p50 ms | p95 ms | p99 ms | drained | median per hop (ms) |",
        "| ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for load in e2e["loads"]:
        hops = ", ".join(f"{hop} {ms:,.0f}" for hop, ms in load["hops_p50_ms"].items())
        lines.append(
            f"| {load['offered']:,} | {figure(load['achieved_per_second'])} | {figure(load['p50_ms'])} "
            f"| {figure(load['p95_ms'])} | {figure(load['p99_ms'])} | {'yes' if load['drained'] else 'no'} | {hops} |"
        )
    saturation = e2e["saturation_load"]
    lines += [
        "",
        f"Saturation (p99 > 1 s or backlog not drained): "
        f"{'none up to the highest load' if saturation is None else f'{saturation:,} leads/s'}.",
    ]
    if e2e.get("rss_mib"):
        growth = ", ".join(f"{name} {m['start']:,.0f} → {m['end']:,.0f}" for name, m in e2e["rss_mib"].items())
        lines.append(f"Resident memory over the end-to-end phase (MiB): {growth}.")
    if e2e["skipped_loads"]:
        lines.append(f"Not offered (they would only queue behind a saturated spine): {e2e['skipped_loads']} leads/s.")
    return lines


def _http_table(results: Mapping[str, Any]) -> list[str]:
    http = results.get("http")
    if not http:
        return []
    lines = [
        "",
        "## HTTP ingest under wrk (POST /v1/leads, one process)",
        "",
        "| body | requests/s | leads/s | p50 ms | p90 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mode, run in http.items():
        errors = sum(r["errors"] for r in run["runs"])
        lines.append(
            f"| {mode.replace('_', ' ')} | {figure(run['requests_per_second'])} | {figure(run['leads_per_second'])} "
            f"| {figure(run['p50_ms'], 1)} | {figure(run['p90_ms'], 1)} | {figure(run['p99_ms'], 1)} | {errors} |"
        )
    return lines


def _scale_table(results: Mapping[str, Any]) -> list[str]:
    scale = results.get("scale")
    if not scale:
        return []
    return [
        "",
        "## Scale: scoring with 1, then 2 worker processes",
        "",
        "| workers | events/s | rebalance s (start → both ready) | longest output stall s |",
        "| ---: | ---: | ---: | ---: |",
        f"| 1 | {figure(scale['one_worker_per_second'])} | – | – |",
        f"| 2 | {figure(scale['two_workers_per_second'])} | {figure(scale['rebalance_seconds'], 1)} "
        f"| {figure(scale['stall_seconds'], 1)} |",
    ]


def _target_table(results: Mapping[str, Any]) -> list[str]:
    marks = {True: "met", False: "missed", None: "–"}
    rows = [f"| {t['target']} | {t['measured']} | {marks[t['met']]} |" for t in results.get("targets", [])]
    return ["", "## Targets (issue 7)", "", "| target | measured | |", "| --- | --- | --- |", *rows]
