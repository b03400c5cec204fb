"""Every metric name a service exports, built against an injected registry.

Names follow the Prometheus guide: salesflow_<service>_..., base units, _total and _seconds.
Labels are bounded (topic, reason, error class, route, status): never lead ids or emails.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
AGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


@dataclass(frozen=True)
class ServiceMetrics:
    """The metrics every service has; services add their own through `counter`/`histogram`."""

    service: str
    registry: CollectorRegistry
    events_in: Counter
    events_out: Counter
    events_failed: Counter
    dead_letters: Counter
    processing_seconds: Histogram
    event_age_seconds: Histogram
    redis_errors: Counter
    redis_command_seconds: Histogram
    ready: Gauge
    rebalances: Counter
    consumer_lag: Gauge
    rocksdb_memory: Gauge
    rocksdb_memory_limit: Gauge

    @classmethod
    def create(cls, service: str, registry: CollectorRegistry) -> ServiceMetrics:
        p = f"salesflow_{service}"
        return cls(
            service=service,
            registry=registry,
            events_in=Counter(f"{p}_events_in_total", "Records consumed.", ["topic"], registry=registry),
            events_out=Counter(f"{p}_events_out_total", "Records produced.", ["topic"], registry=registry),
            events_failed=Counter(
                f"{p}_events_failed_total", "Records that failed.", ["topic", "reason"], registry=registry
            ),
            dead_letters=Counter(
                f"{p}_dead_letters_total", "Records sent to the DLQ.", ["topic", "error_class"], registry=registry
            ),
            processing_seconds=Histogram(
                f"{p}_processing_seconds",
                "Time to process one record.",
                ["topic"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            event_age_seconds=Histogram(
                f"{p}_event_age_seconds",
                "now - occurred_at when processed.",
                ["topic"],
                buckets=AGE_BUCKETS,
                registry=registry,
            ),
            redis_errors=Counter(f"{p}_redis_errors_total", "Failed Redis commands.", registry=registry),
            redis_command_seconds=Histogram(
                f"{p}_redis_command_seconds", "Redis round trips.", buckets=LATENCY_BUCKETS, registry=registry
            ),
            ready=Gauge(f"{p}_ready", "1 when the service is ready to process.", registry=registry),
            rebalances=Counter(f"{p}_rebalances_total", "Consumer group rebalances.", registry=registry),
            consumer_lag=Gauge(
                f"{p}_consumer_lag_records",
                "Records behind the end of each assigned partition.",
                ["topic", "partition"],
                registry=registry,
            ),
            rocksdb_memory=Gauge(
                f"{p}_rocksdb_memory_bytes",
                "RocksDB memory of all table partitions (blocks, memtables).",
                registry=registry,
            ),
            rocksdb_memory_limit=Gauge(
                f"{p}_rocksdb_memory_limit_bytes",
                "The RocksDB budget (SALESFLOW_ROCKSDB_MEMORY_MIB).",
                registry=registry,
            ),
        )

    def counter(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        """A service-specific counter, salesflow_<service>_<name> (name ends in _total)."""
        return Counter(f"salesflow_{self.service}_{name}", doc, list(labels), registry=self.registry)

    def histogram(
        self, name: str, doc: str, labels: tuple[str, ...] = (), buckets: tuple[float, ...] = LATENCY_BUCKETS
    ) -> Histogram:
        """A service-specific histogram, salesflow_<service>_<name> (name ends in a unit)."""
        return Histogram(f"salesflow_{self.service}_{name}", doc, list(labels), buckets=buckets, registry=self.registry)

    def gauge(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(f"salesflow_{self.service}_{name}", doc, list(labels), registry=self.registry)
