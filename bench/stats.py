"""The harness's statistics: spreads over repeated runs, percentiles, rates and saturation.

Pure: numbers in, numbers out; no clock, no I/O.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Spread:
    """One figure measured over several runs: the median, with the min and max beside it."""

    median: float
    min: float
    max: float
    runs: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spread(values: Sequence[float]) -> Spread:
    """The median, min and max of the runs' values; ValueError when there is none."""
    if not values:
        raise ValueError("a spread needs at least one run")
    return Spread(float(statistics.median(values)), float(min(values)), float(max(values)), len(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks, as numpy's default."""
    if not values:
        raise ValueError("a percentile needs at least one value")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return ordered[low]  # exact rank: no interpolation (keeps an infinite sample infinite, not NaN)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Latency:
    """Latency percentiles of one run, in milliseconds."""

    p50: float
    p95: float
    p99: float
    max: float
    count: int


def latency_summary(samples_ms: Sequence[float]) -> Latency:
    return Latency(
        percentile(samples_ms, 50),
        percentile(samples_ms, 95),
        percentile(samples_ms, 99),
        max(samples_ms),
        len(samples_ms),
    )


def rate(events: int, seconds: float) -> float:
    """Events per second; zero for an empty or instantaneous window rather than a division error."""
    return events / seconds if events > 0 and seconds > 0 else 0.0


def per_thousand(cpu_seconds: float, events: int) -> float:
    """CPU seconds spent per 1,000 events; NaN when no event was processed."""
    return cpu_seconds * 1000 / events if events > 0 else math.nan


def rate_between(series: Sequence[tuple[float, int]], start: float, end: float) -> float:
    """Events/s over [start, end] from a (time, cumulative count) series sampled in time order.

    Uses the last sample at or before each bound, so a bound between samples costs no accuracy
    beyond one sampling interval.
    """
    before_start = _count_at(series, start)
    before_end = _count_at(series, end)
    return rate(before_end - before_start, end - start)


def _count_at(series: Sequence[tuple[float, int]], moment: float) -> int:
    count = 0
    for at, value in series:
        if at > moment:
            break
        count = value
    return count


def longest_stall(series: Sequence[tuple[float, int]], start: float, end: float) -> float:
    """The longest time within [start, end] over which the cumulative count did not grow."""
    inside = [(at, value) for at, value in series if start <= at <= end]
    longest, since = 0.0, start
    last = _count_at(series, start)
    for at, value in inside:
        if value > last:
            longest, since, last = max(longest, at - since), at, value
    return max(longest, (inside[-1][0] if inside else end) - since)


def saturation_load(loads: Sequence[tuple[int, float, bool]], limit_ms: float = 1000.0) -> int | None:
    """The lowest offered load whose p99 exceeds `limit_ms` or that did not drain; None if none did.

    Each item is (offered leads/s, p99 ms, drained).
    """
    for offered, p99, drained in sorted(loads):
        if p99 > limit_ms or not drained:
            return offered
    return None


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of (seconds, value) points, per minute; 0 with fewer than two moments."""
    return slope(points) * 60


def slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of (x, y) points; 0 with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return 0.0
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return covariance / variance
