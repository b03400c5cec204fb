"""`python -m bench --soak SECONDS`: every service under steady load, RSS sampled per service.

All seven services run on a private namespace (with an SMTP sink for nurture and the demo deals for
opportunity) while leads go to leads.inbound and engagement to engagement.inbound at a steady rate.
Every `interval` seconds each service's resident memory is read from /proc, and what its RocksDB
budget holds from its metrics; the report gives the first, last and peak RSS and the least-squares
slope in MiB per minute, over the measured window and over its second half, and the same slopes of
RSS less RocksDB: what grows outside the budget.

A warm-up runs the same load for `warmup` seconds before the measured window. A service's first
minutes fill bounded things (RocksDB's block cache and memtables, the allocator's arenas, the
topics' metadata) that a ten-minute window would otherwise mistake for a trend; what keeps growing
after them is what an SRE would see as a leak. Samples of the warm-up are kept, not summarised.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.stack import BENCH_MQL_THRESHOLD, Infra, Namespace, free_port, scoring_env, start_smtp_sink
from bench.stats import slope_per_minute
from bench.topic_io import create_producer
from shared.avro_codec import create_codec
from tools.workload import Workload

SERVICES = ("ingest", "scoring", "routing", "nurture", "opportunity", "proposal", "analytics")


@dataclass(frozen=True)
class SoakSettings:
    seconds: float
    leads_per_second: float = 50
    engagement_per_second: float = 100
    interval: float = 10
    warmup: float = 0  # seconds of the same load before the measured window
    service_env: dict[str, str] = field(default_factory=dict)  # on top of each service's own


@dataclass(frozen=True)
class MemorySample:
    """One service at one moment: seconds since the start, RSS and its RocksDB budget's use (MiB),
    and its consumer lag (records, all partitions): a soak means nothing for a service that falls behind."""

    at: float
    rss_mib: float
    rocksdb_mib: float
    rocksdb_limit_mib: float
    lag: float = 0


def memory_summary(samples: list[MemorySample], warmup: float = 0) -> dict[str, float]:
    """RSS at the start, first, last and peak of the measured window (the samples from `warmup` on)
    in MiB, with its slope (MiB/min) over the window and its second half; RocksDB's last, peak and
    limit; and the same two slopes of RSS less RocksDB."""
    measured = [s for s in samples if s.at >= warmup] or samples[-1:]
    rss = [(s.at, s.rss_mib) for s in measured]
    outside = [(s.at, s.rss_mib - s.rocksdb_mib) for s in measured]
    half = len(measured) // 2
    return {
        "start_mib": round(samples[0].rss_mib, 1),
        "first_mib": round(rss[0][1], 1),
        "last_mib": round(rss[-1][1], 1),
        "peak_mib": round(max(v for _, v in rss), 1),
        "slope_mib_per_min": round(slope_per_minute(rss), 3),
        "second_half_slope_mib_per_min": round(slope_per_minute(rss[half:]), 3),
        "rocksdb_last_mib": round(measured[-1].rocksdb_mib, 1),
        "rocksdb_peak_mib": round(max(s.rocksdb_mib for s in measured), 1),
        "rocksdb_limit_mib": round(measured[-1].rocksdb_limit_mib, 1),
        "outside_rocksdb_slope_mib_per_min": round(slope_per_minute(outside), 3),
        "outside_rocksdb_second_half_slope_mib_per_min": round(slope_per_minute(outside[half:]), 3),
        "lag_last": measured[-1].lag,
        "lag_peak": max(s.lag for s in measured),
        "samples": len(measured),
    }


class SteadyLoad(threading.Thread):
    """Leads and engagement at fixed rates (in 50 ms ticks) until stopped; counts what it sent."""

    def __init__(self, infra: Infra, namespace: Namespace, settings: SoakSettings) -> None:
        super().__init__(daemon=True)
        self.producer = create_producer(infra, idempotent=False)
        self.codec, self.namespace, self.settings = create_codec(), namespace, settings
        self.workload = Workload(seed=11)
        self.stopping = threading.Event()
        self.sent = {"leads": 0, "engagement": 0}

    def run(self) -> None:
        started = time.monotonic()
        while not self.stopping.wait(0.05):
            elapsed = time.monotonic() - started
            self._top_up("leads", elapsed * self.settings.leads_per_second)
            self._top_up("engagement", elapsed * self.settings.engagement_per_second)
            self.producer.poll(0)
        self.producer.flush(30)

    def _top_up(self, kind: str, due: float) -> None:
        while self.sent[kind] < int(due):
            now = datetime.now(UTC)
            if kind == "leads":
                self._produce("leads.inbound", "LeadSubmitted", self.workload.lead(now) | {"occurred_at": now})
            elif (event := self.workload.engagement(now)) is not None:
                self._produce("engagement.inbound", "EngagementEvent", event)
            self.sent[kind] += 1

    def _produce(self, topic: str, record: str, value: dict[str, Any]) -> None:
        key = str(value["email"]).encode()
        self.producer.produce(self.namespace.topic(topic), self.codec.encode(record, value), key=key)


def run_soak(infra: Infra, settings: SoakSettings, say: Any = print) -> dict[str, Any]:
    """Start everything, load it for `settings.seconds`, sample RSS; stops all it started."""
    # nurture's demo sequences (steps seconds apart, no caps), so it sends mail during the soak.
    # Imported here: devstack reads its run dir at import, which ensure_infra may have just set.
    from tools.devstack import NURTURE_DEMO

    smtp_port = free_port()
    env = NURTURE_DEMO | scoring_env() | {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)} | settings.service_env
    namespace = Namespace(infra, "soak", env | {"INGEST_RATE_LIMIT_PER_SECOND": "100000000"})
    namespace.add_process(start_smtp_sink(namespace, smtp_port))
    try:
        namespace.seed_roster()
        services = {name: namespace.start(name) for name in SERVICES}
        _seed_deals(namespace, services["opportunity"].env)
        load = SteadyLoad(infra, namespace, settings)
        load.start()
        points = _sample(services, settings, load, say)
        consumed = {name: _consumed(name, _scrape(service)) for name, service in services.items()}
        load.stopping.set()
        load.join(60)
    finally:
        namespace.close()
    return {
        "seconds": settings.seconds,
        "warmup_seconds": settings.warmup,
        "interval_seconds": settings.interval,
        "offered": {
            "leads_per_second": settings.leads_per_second,
            "engagement_per_second": settings.engagement_per_second,
        },
        "sent": load.sent,
        "service_env": settings.service_env,
        "scoring_mql_threshold": BENCH_MQL_THRESHOLD,
        "services": {
            name: memory_summary(series, settings.warmup) | {"consumed": consumed[name], "series": _series(series)}
            for name, series in points.items()
        },
    }


def _series(samples: list[MemorySample]) -> list[list[float]]:
    """Every sample as [seconds, RSS MiB, RocksDB MiB, lag], warm-up included, for a plot or a second look."""
    return [[round(s.at), round(s.rss_mib, 1), round(s.rocksdb_mib, 1), s.lag] for s in samples]


def _scrape(service: Any) -> list[str]:
    with urllib.request.urlopen(service.url("/metrics"), timeout=10) as response:
        lines: list[str] = response.read().decode().splitlines()
    return lines


def metric_sum(lines: list[str], name: str) -> float:
    """The sum of every sample of the metric `name` (all label sets) in a Prometheus exposition."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.split("{", 1)[0].split(" ", 1)[0] == name)


def _consumed(name: str, lines: list[str]) -> int:
    """Records the service consumed so far (its events_in counter): tells whether it kept up."""
    return int(metric_sum(lines, f"salesflow_{name}_events_in_total"))


def memory_sample(name: str, service: Any, at: float) -> MemorySample:
    """The service's RSS and what its RocksDB budget holds and allows, `at` seconds in."""
    lines = _scrape(service)
    rocksdb, limit = (metric_sum(lines, f"salesflow_{name}_rocksdb_memory{s}_bytes") for s in ("", "_limit"))
    lag = metric_sum(lines, f"salesflow_{name}_consumer_lag_records")
    return MemorySample(at, service.sample().rss_mib, rocksdb / 2**20, limit / 2**20, lag)


def _sample(
    services: dict[str, Any], settings: SoakSettings, load: SteadyLoad, say: Any
) -> dict[str, list[MemorySample]]:
    points: dict[str, list[MemorySample]] = {name: [] for name in services}
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) <= settings.warmup + settings.seconds:
        for name, service in services.items():
            points[name].append(memory_sample(name, service, elapsed))
        say(
            f"  {elapsed:4.0f} s: "
            + ", ".join(f"{n} {p[-1].rss_mib:.0f} ({p[-1].rocksdb_mib:.0f})" for n, p in points.items())
            + f" MiB (RocksDB); sent {load.sent}"
        )
        time.sleep(max(0.0, settings.interval - (time.monotonic() - started - elapsed)))
    return points


def _seed_deals(namespace: Namespace, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "services.opportunity.seed"], env=env, check=True, capture_output=True)


def render_markdown(soak: dict[str, Any]) -> str:
    warmup = soak.get("warmup_seconds", 0)
    lines = [
        f"Soak: {soak['seconds']:.0f} s measured"
        + (f" after {warmup:.0f} s of warm-up at the same load" if warmup else "")
        + f", RSS every {soak['interval_seconds']:.0f} s, offered "
        f"{soak['offered']['leads_per_second']:.0f} leads/s + {soak['offered']['engagement_per_second']:.0f} "
        f"engagement events/s (sent {soak['sent']['leads']:,} leads, {soak['sent']['engagement']:,} events)"
        + "".join(f", {name}={value}" for name, value in soak.get("service_env", {}).items())
        + ".",
        "",
        "Start is RSS before any load; first, last, peak and the slopes are of the measured window. "
        "RocksDB is what the service's RocksDB budget holds (block cache and memtables), last of its "
        "limit; the next two columns are the slopes of RSS less RocksDB: what grows outside the budget. "
        "Lag is the records behind the end of the service's input partitions, at the end and at its peak "
        "in the window: a service that fell behind holds fetched records it has not handled.",
        "",
        "| service | records consumed | start MiB | first MiB | last MiB | peak MiB | MiB/min | MiB/min (2nd half) "
        "| RocksDB MiB | MiB/min outside RocksDB | (2nd half) | lag (peak) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in soak["services"].items():
        lines.append(
            f"| {name} | {m.get('consumed', 0):,} | {m.get('start_mib', m['first_mib']):.1f} | {m['first_mib']:.1f} | "
            f"{m['last_mib']:.1f} | {m['peak_mib']:.1f} | "
            f"{m['slope_mib_per_min']:+.2f} | {m['second_half_slope_mib_per_min']:+.2f} | "
            f"{m['rocksdb_last_mib']:.1f} of {m['rocksdb_limit_mib']:.0f} | "
            f"{m.get('outside_rocksdb_slope_mib_per_min', 0):+.2f} | "
            f"{m['outside_rocksdb_second_half_slope_mib_per_min']:+.2f} | "
            f"{m.get('lag_last', 0):,.0f} ({m.get('lag_peak', 0):,.0f}) |"
        )
    return "\n".join(lines) + "\n"
