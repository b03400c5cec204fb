"""HTTP ingest under wrk: POST /v1/leads with single leads and with batches of 100.

wrk (Debian's package) generates the load from a Lua script that gives every lead a unique
event_id and email, so each request is real capture work, never a deduplicated repeat.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from bench.stack import API_KEY, ServiceProcess
from bench.stats import rate

SCRIPT = Path(__file__).with_name("wrk") / "leads.lua"
MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class HttpRun:
    batch: int
    requests_per_second: float
    leads_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    # ingest's CPU seconds (user + system, from /proc) per 1,000 leads: comparable on a shared machine.
    cpu_seconds_per_1000: float = 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def parse_wrk(output: str, batch: int) -> HttpRun:
    """The run's figures from the script's BENCH_JSON line; ValueError when wrk printed none."""
    lines = [line for line in output.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise ValueError(f"wrk printed no {MARKER.strip()} line:\n{output[-2000:]}")
    data = json.loads(lines[-1].removeprefix(MARKER))
    per_second = rate(data["requests"], data["duration_us"] / 1e6)
    return HttpRun(
        batch,
        per_second,
        per_second * batch,
        data["p50_us"] / 1000,
        data["p90_us"] / 1000,
        data["p99_us"] / 1000,
        data["errors_status"] + data["errors_other"],
    )


def run_wrk(ingest: ServiceProcess, batch: int, seconds: int, connections: int, tag: str) -> HttpRun:
    """One wrk run (one thread) against a running ingest; wrk stops itself after `seconds`."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        ingest.url("/v1/leads"),
        "--",
        API_KEY,
        str(batch),
        tag,
    ]
    cpu_before = ingest.sample().cpu_seconds
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True)
    cpu_seconds = ingest.sample().cpu_seconds - cpu_before
    run = parse_wrk(result.stdout, batch)
    leads = run.leads_per_second * seconds
    return replace(run, cpu_seconds_per_1000=1000 * cpu_seconds / leads if leads else 0.0)
