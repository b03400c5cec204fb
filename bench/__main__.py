"""`python -m bench [--quick]`: the whole unattended benchmark, written to bench/results/.

Runs the ceiling, each stage alone, the spine end to end, HTTP ingest under wrk and scoring's
scale-out, then writes latest.json, latest.md and the PNG plots. It stops only what it started.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import plots, report
from bench.ceiling import run_ceiling
from bench.e2e import Spine
from bench.http_load import run_wrk, wrk_available
from bench.machine import describe
from bench.plan import FULL, QUICK, SECTIONS, STAGES, Plan, scale_backlog
from bench.procstat import ProcSample
from bench.scale import run_scale
from bench.soak import SoakSettings, run_soak
from bench.soak import render_markdown as render_soak
from bench.stack import BENCH_MQL_THRESHOLD, Infra, Namespace, ensure_infra, prune_old_runs, scoring_env, stop_infra
from bench.stages import downstream_stages, relay_stages, run_stage, spine_stages
from bench.stats import saturation_load

RESULTS = Path(__file__).with_name("results")
Section = Callable[[Infra, Plan, dict[str, Any]], Any]


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def ceiling(infra: Infra, plan: Plan, results: dict[str, Any]) -> dict[str, Any]:
    runs = [asdict(run_ceiling(infra, plan.ceiling_events, seed)) for seed in range(plan.runs)]
    return report.summarise(runs, ("events_per_second", "cpu_seconds_per_1000"))


def stages(infra: Infra, plan: Plan, results: dict[str, Any]) -> dict[str, Any]:
    ceiling_rate = results.get("ceiling", {}).get("events_per_second", {}).get("median")
    summaries = {}
    for stage in (*relay_stages(), *spine_stages(scoring_env()), *downstream_stages()):
        if not plan.runs_stage(stage.name):
            continue
        runs = [asdict(run_stage(infra, stage, plan.events_for(stage.name), 100 + seed)) for seed in range(plan.runs)]
        summary = report.summarise(runs, ("events_per_second", "cpu_seconds_per_1000", "peak_rss_mib"))
        summaries[stage.name] = report.with_ratio(summary, ceiling_rate)
        say(f"  {stage.name}: {summary['events_per_second']['median']:,.0f} events/s")
    return summaries


def end_to_end(infra: Infra, plan: Plan, results: dict[str, Any]) -> dict[str, Any]:
    spine = Spine.start(infra, scoring_env(), plan.engagement_per_lead)
    try:
        before = {s.name: s.sample() for s in spine.services}
        loads = []
        for offered in plan.loads:
            loads.append(report.summarise_load(_load_runs(spine, offered, plan)))
            say(f"  {offered} leads/s: p99 {loads[-1]['p99_ms']['median']:,.0f} ms, drained {loads[-1]['drained']}")
            # A saturated load's p99 already passes 1 s: a higher one would only queue longer behind it.
            if saturation_load([(offered, loads[-1]["p99_ms"]["median"], loads[-1]["drained"])]) is not None:
                break
        after = {s.name: s.sample() for s in spine.services}
    finally:
        spine.close()
    return report.summarise_end_to_end(loads, plan.loads) | {"rss_mib": _rss_growth(before, after)}


def _load_runs(spine: Spine, offered: int, plan: Plan) -> list[dict[str, Any]]:
    """Up to plan.runs runs at one load; a run that did not drain ends the load (the next would queue)."""
    runs: list[dict[str, Any]] = []
    while len(runs) < plan.runs and (not runs or runs[-1]["drained"]):
        runs.append(asdict(spine.run(offered, plan.load_seconds, plan.drain_seconds)))
    return runs


def _rss_growth(before: dict[str, ProcSample], after: dict[str, ProcSample]) -> dict[str, dict[str, float]]:
    return {name: {"start": before[name].rss_mib, "end": after[name].rss_mib} for name in before}


def http(infra: Infra, plan: Plan, results: dict[str, Any]) -> dict[str, Any]:
    if not wrk_available():
        raise RuntimeError("wrk is not installed (Debian: apt-get install -y wrk)")
    # The per-key limiter stays on (its Redis call is part of a request's cost) but never refuses.
    namespace = Namespace(infra, "http", {"INGEST_RATE_LIMIT_PER_SECOND": "100000000"})
    try:
        ingest = namespace.start("ingest")
        modes = {}
        for mode, batch in (("single", 1), ("batch_100", 100)):
            runs = [
                asdict(run_wrk(ingest, batch, plan.http_seconds, plan.http_connections, f"{mode}{i}{time.time_ns()}"))
                for i in range(plan.runs)
            ]
            modes[mode] = report.summarise(
                runs, ("requests_per_second", "leads_per_second", "p50_ms", "p90_ms", "p99_ms", "cpu_seconds_per_1000")
            )
    finally:
        namespace.close()
    return modes


def scale(infra: Infra, plan: Plan, results: dict[str, Any]) -> dict[str, Any]:
    measured = results.get("stages", {}).get("scoring", {}).get("events_per_second", {}).get("median", 500.0)
    (stage,) = [s for s in spine_stages(scoring_env()) if s.name == "scoring"]
    count = scale_backlog(measured, plan)
    runs = [
        asdict(run_scale(infra, stage, count, 200 + seed, plan.scale_one_worker_seconds)) for seed in range(plan.runs)
    ]
    fields = ("one_worker_per_second", "two_workers_per_second", "rebalance_seconds", "stall_seconds")
    return report.summarise(runs, fields) | {"backlog": count}


SECTION_RUNNERS: dict[str, Section] = {
    "ceiling": ceiling,
    "stages": stages,
    "end_to_end": end_to_end,
    "http": http,
    "scale": scale,
}


def run(plan: Plan, sections: list[str], out: Path) -> int:
    started = time.monotonic()
    prune_old_runs()
    infra = ensure_infra()
    results: dict[str, Any] = {
        "plan": plan.name,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": plan.runs,
        "machine": describe(infra.bootstrap),
        "settings": asdict(plan) | {"scoring_mql_threshold": BENCH_MQL_THRESHOLD},
        "errors": {},
    }
    try:
        for name in sections:
            _run_section(name, infra, plan, results)
    finally:
        stop_infra(infra)
    results["targets"] = report.evaluate_targets(results)
    results["duration_seconds"] = round(time.monotonic() - started, 1)
    write(results, out)
    say(f"done in {results['duration_seconds']:.0f} s; results in {out}")
    return 1 if results["errors"] else 0


def _run_section(name: str, infra: Infra, plan: Plan, results: dict[str, Any]) -> None:
    say(f"{name} ...")
    began = time.monotonic()
    try:
        results[name] = SECTION_RUNNERS[name](infra, plan, results)
    except Exception as exc:  # one broken section must not lose the others' figures
        traceback.print_exc()
        results["errors"][name] = f"{type(exc).__name__}: {exc}"
    say(f"{name} took {time.monotonic() - began:.0f} s")


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "latest.md").write_text(report.render_markdown(results))
    if "end_to_end" in results:
        plots.latency_plot(results["end_to_end"], out / "latency.png")
        plots.throughput_plot(results, out / "throughput.png")


def soak(settings: SoakSettings, out: Path) -> int:
    """The memory soak alone (not part of the default run: it alone takes `seconds`)."""
    started = time.monotonic()
    infra = ensure_infra()
    try:
        say(f"soak for {settings.warmup:.0f} s of warm-up and {settings.seconds:.0f} s measured ...")
        results: dict[str, Any] = {
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": describe(infra.bootstrap),
            "soak": run_soak(infra, settings, say),
        }
    finally:
        stop_infra(infra)
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "soak.md").write_text(render_soak(results["soak"]))
    plots.soak_plot(results["soak"], out / "soak.png")
    say(f"soak done in {time.monotonic() - started:.0f} s; results in {out / 'soak.md'}")
    return 0


def parse_service_env(parser: argparse.ArgumentParser, pairs: list[str]) -> dict[str, str]:
    """NAME=VALUE pairs as a dict; anything else is a usage error."""
    if bad := [p for p in pairs if "=" not in p or not p.split("=", 1)[0]]:
        parser.error(f"--service-env takes NAME=VALUE, got {bad}")
    return dict(p.split("=", 1) for p in pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (one run each, small loads)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go")
    parser.add_argument("--stages", help=f"only these stages in the stages section, comma-separated: {STAGES}")
    parser.add_argument("--soak", type=float, metavar="SECONDS", help="only the memory soak, this long (600: 10 min)")
    parser.add_argument("--soak-rate", type=float, default=50, help="soak leads/s (engagement: twice that)")
    parser.add_argument(
        "--soak-warmup", type=float, default=0, metavar="SECONDS", help="soak: load this long before measuring"
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="soak: set this in every service's environment (an allocator, a budget), repeatable",
    )
    args = parser.parse_args(argv)
    if args.soak:
        rate, env = args.soak_rate, parse_service_env(parser, args.service_env)
        return soak(SoakSettings(args.soak, rate, 2 * rate, warmup=args.soak_warmup, service_env=env), args.out)
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {sorted(unknown)}")
    plan = QUICK if args.quick else FULL
    if args.stages:
        names = [s for s in args.stages.split(",") if s]
        if unknown := set(names) - set(STAGES):
            parser.error(f"unknown stages: {sorted(unknown)}")
        plan = plan.only_stages(names)
    return run(plan, sections, args.out)


if __name__ == "__main__":
    sys.exit(main())
