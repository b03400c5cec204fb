"""PNG plots of the results: latency distribution per offered load, achieved vs offered throughput.

Reads the results document only; draws on matplotlib Figures directly (no pyplot, no display).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from bench.report import E2E_TARGET_P99_MS


def latency_plot(e2e: Mapping[str, Any], path: Path) -> None:
    """One empirical CDF of qualifying event → leads.assigned latency per offered load, on a log axis."""
    figure = Figure(figsize=(8, 4.5), dpi=110)
    axes = figure.subplots()
    for load in e2e["loads"]:
        samples = sorted(load["latencies_ms"])
        if not samples:
            continue
        shares = [(i + 1) / len(samples) for i in range(len(samples))]
        axes.step(samples, shares, where="post", label=f"{load['offered']:,} leads/s offered")
    axes.axvline(E2E_TARGET_P99_MS, color="green", linestyle="--", linewidth=1, label="target p99 (100 ms)")
    axes.axvline(1000, color="red", linestyle=":", linewidth=1, label="saturation (1 s)")
    axes.axhline(0.99, color="grey", linewidth=0.5)
    axes.set_xscale("log")
    axes.set_xlabel("qualifying event produced → leads.assigned (ms, log scale)")
    axes.set_ylabel("share of assigned leads")
    axes.set_title("End-to-end latency distribution per offered load")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)


def throughput_plot(results: Mapping[str, Any], path: Path) -> None:
    """Achieved leads/s (median, min-max bars) against offered, with the ideal line and stage rates."""
    loads = results["end_to_end"]["loads"]
    offered = [load["offered"] for load in loads]
    achieved = [load["achieved_per_second"] for load in loads]
    medians = [a["median"] for a in achieved]
    errors = [
        [m - a["min"] for m, a in zip(medians, achieved, strict=True)],
        [a["max"] - m for m, a in zip(medians, achieved, strict=True)],
    ]
    figure = Figure(figsize=(8, 4.5), dpi=110)
    axes = figure.subplots()
    top = max([*offered, *medians, 1])
    axes.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="achieved = offered")
    axes.errorbar(offered, medians, yerr=errors, marker="o", capsize=4, label="spine (ingest → scoring → routing)")
    for colour, (name, stage) in enumerate(results.get("stages", {}).items(), start=1):
        rate = stage["events_per_second"]["median"]
        if rate <= top * 2:
            axes.axhline(rate, linestyle=":", linewidth=1.2, color=f"C{colour}", label=f"{name} alone: {rate:,.0f}/s")
    axes.set_xlabel("offered leads/s (Kafka leads.inbound)")
    axes.set_ylabel("achieved leads/s")
    axes.set_title("Throughput vs offered load")
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)


def soak_plot(soak: Mapping[str, Any], path: Path) -> None:
    """Each service's RSS (solid) and RSS less RocksDB (dotted) over the soak, the warm-up shaded."""
    figure = Figure(figsize=(8, 4.5), dpi=110)
    axes = figure.subplots()
    for colour, (name, summary) in enumerate(soak["services"].items()):
        series = summary.get("series", [])
        minutes = [sample[0] / 60 for sample in series]
        axes.plot(minutes, [sample[1] for sample in series], color=f"C{colour}", linewidth=1.2, label=name)
        axes.plot(minutes, [sample[1] - sample[2] for sample in series], color=f"C{colour}", linestyle=":")
    if warmup := soak.get("warmup_seconds", 0):
        axes.axvspan(0, warmup / 60, color="grey", alpha=0.15, label="warm-up")
    axes.set_xlabel("minutes since the load started")
    axes.set_ylabel("MiB (solid: RSS; dotted: RSS less RocksDB)")
    axes.set_title("Memory per service under steady load")
    axes.legend(loc="upper left", fontsize=8, ncol=2)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
