"""The harness's statistics: spreads, percentiles, rates, stalls and the saturation load."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.stats import (
    latency_summary,
    longest_stall,
    per_thousand,
    percentile,
    rate,
    rate_between,
    saturation_load,
    slope_per_minute,
    spread,
)

samples = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200)


def test_spread_gives_median_min_max_and_run_count() -> None:
    """Three runs give their middle value as the median, with the extremes beside it."""
    assert spread([30.0, 10.0, 20.0]).to_dict() == {"median": 20.0, "min": 10.0, "max": 30.0, "runs": 3}


def test_spread_of_no_runs_is_an_error() -> None:
    """A figure with no run behind it is refused rather than reported as zero."""
    with pytest.raises(ValueError):
        spread([])


def test_percentile_interpolates_between_ranks() -> None:
    """Percentiles interpolate linearly, as numpy's default method does."""
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


def test_percentile_rejects_out_of_range_q() -> None:
    """A q outside 0..100 is a caller's mistake, not a value to clamp."""
    with pytest.raises(ValueError):
        percentile([1.0], 101)


@settings(max_examples=150, deadline=None)
@given(samples, st.floats(min_value=0, max_value=100), st.floats(min_value=0, max_value=100))
def test_percentile_is_monotonic_and_bounded(values: list[float], q1: float, q2: float) -> None:
    """A higher q never gives a lower value, and every percentile lies within the samples' range."""
    low, high = sorted((q1, q2))
    assert min(values) <= percentile(values, low) <= percentile(values, high) <= max(values)


@settings(max_examples=150, deadline=None)
@given(samples)
def test_latency_summary_orders_its_percentiles(values: list[float]) -> None:
    """p50 <= p95 <= p99 <= max, counted over every sample."""
    summary = latency_summary(values)
    assert summary.p50 <= summary.p95 <= summary.p99 <= summary.max
    assert summary.count == len(values)


def test_rate_and_per_thousand_handle_empty_windows() -> None:
    """No events or no time gives a zero rate and an undefined (NaN) cost, never a division error."""
    assert rate(500, 2.0) == 250.0
    assert rate(0, 2.0) == 0.0
    assert rate(10, 0.0) == 0.0
    assert per_thousand(1.5, 3000) == 0.5
    assert math.isnan(per_thousand(1.0, 0))


def test_rate_between_uses_the_count_at_each_bound() -> None:
    """The rate over a window counts what arrived between the samples at its two bounds."""
    series = [(0.0, 0), (1.0, 100), (2.0, 300), (3.0, 600)]
    assert rate_between(series, 1.0, 3.0) == 250.0
    assert rate_between(series, 1.5, 2.5) == 200.0


def test_longest_stall_finds_the_flat_stretch() -> None:
    """The longest time the count stood still inside the window is the stall."""
    series = [(0.0, 0), (1.0, 10), (2.0, 10), (3.0, 10), (4.5, 10), (5.0, 20), (6.0, 30)]
    assert longest_stall(series, 0.0, 6.0) == 4.0


def test_longest_stall_counts_a_stall_running_to_the_window_end() -> None:
    """A count that never grows again stalls until the window's last sample."""
    series = [(0.0, 5), (1.0, 6), (2.0, 6), (3.0, 6)]
    assert longest_stall(series, 0.0, 3.0) == 2.0


def test_saturation_is_the_lowest_load_over_the_limit_or_undrained() -> None:
    """The first load (by offered rate) whose p99 passes 1 s, or that did not drain, saturates."""
    assert saturation_load([(500, 80.0, True), (100, 20.0, True), (1000, 1500.0, True)]) == 1000
    assert saturation_load([(100, 20.0, True), (200, 900.0, False)]) == 200
    assert saturation_load([(100, 20.0, True), (200, 40.0, True)]) is None


def test_slope_per_minute_of_a_steady_climb() -> None:
    """1 MiB every 10 s is 6 MiB per minute; a flat series has slope 0."""
    assert slope_per_minute([(t * 10.0, 100.0 + t) for t in range(10)]) == pytest.approx(6.0)
    assert slope_per_minute([(t * 10.0, 100.0) for t in range(10)]) == 0.0


def test_slope_needs_two_moments() -> None:
    """One sample (or many at one moment) gives no trend rather than a division by zero."""
    assert slope_per_minute([(5.0, 100.0)]) == 0.0
    assert slope_per_minute([(5.0, 100.0), (5.0, 120.0)]) == 0.0
