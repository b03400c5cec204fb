"""The soak's arithmetic: what is read off a service's metrics, and the slopes it reports."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import main, parse_service_env
from bench.plots import soak_plot
from bench.soak import MemorySample, memory_summary, metric_sum, render_markdown

EXPOSITION = """\
salesflow_nurture_consumer_lag_records{partition="0",topic="leads.assigned"} 3.0
salesflow_nurture_consumer_lag_records{partition="1",topic="leads.assigned"} 4.0
# HELP salesflow_nurture_rocksdb_memory_bytes Bytes the RocksDB budget holds.
# TYPE salesflow_nurture_rocksdb_memory_bytes gauge
salesflow_nurture_rocksdb_memory_bytes 3.3554432e+07
# HELP salesflow_nurture_rocksdb_memory_limit_bytes The budget.
# TYPE salesflow_nurture_rocksdb_memory_limit_bytes gauge
salesflow_nurture_rocksdb_memory_limit_bytes 6.7108864e+07
salesflow_nurture_events_in_total{topic="leads.assigned"} 120.0
salesflow_nurture_events_in_total{topic="engagement.recorded"} 30.0
salesflow_nurture_events_in_created{topic="leads.assigned"} 1.7e+09
"""


def test_metric_sum_adds_every_label_set_of_exactly_that_metric() -> None:
    """A metric whose name another extends (the limit, the _created series) is not added in."""
    lines = EXPOSITION.splitlines()
    assert metric_sum(lines, "salesflow_nurture_rocksdb_memory_bytes") == 32 * 2**20
    assert metric_sum(lines, "salesflow_nurture_rocksdb_memory_limit_bytes") == 64 * 2**20
    assert metric_sum(lines, "salesflow_nurture_events_in_total") == 150
    assert metric_sum(lines, "salesflow_nurture_consumer_lag_records") == 7
    assert metric_sum(lines, "salesflow_nurture_missing") == 0


def samples(rss: list[float], rocksdb: list[float]) -> list[MemorySample]:
    return [MemorySample(60.0 * i, r, d, 32.0) for i, (r, d) in enumerate(zip(rss, rocksdb, strict=True))]


def test_growth_that_is_all_rocksdb_shows_as_flat_outside_it() -> None:
    """RSS climbs 2 MiB/min, every MiB of it in RocksDB: nothing grows outside the budget."""
    summary = memory_summary(samples([100, 102, 104, 106, 108, 110], [0, 2, 4, 6, 8, 10]))
    assert summary["second_half_slope_mib_per_min"] == pytest.approx(2.0)
    assert summary["outside_rocksdb_second_half_slope_mib_per_min"] == pytest.approx(0.0)
    assert (summary["rocksdb_last_mib"], summary["rocksdb_peak_mib"], summary["rocksdb_limit_mib"]) == (10, 10, 32)


def test_growth_outside_a_full_budget_is_reported_as_such() -> None:
    """RocksDB sits at its limit while RSS keeps climbing: the growth is outside the budget."""
    summary = memory_summary(samples([100, 101, 102, 103, 104, 105], [32] * 6))
    assert summary["outside_rocksdb_second_half_slope_mib_per_min"] == pytest.approx(1.0)
    assert summary["peak_mib"] == 105 and summary["first_mib"] == 100


def test_a_warm_up_is_left_out_of_the_slopes() -> None:
    """Five minutes of filling (+4 MiB/min), then flat: the measured window from 300 s on is flat."""
    rss = [100, 104, 108, 112, 116, 120, 120, 120, 120, 120, 120]
    summary = memory_summary(samples(rss, [0] * len(rss)), warmup=300)
    assert summary["slope_mib_per_min"] == 0 and summary["outside_rocksdb_slope_mib_per_min"] == 0
    assert (summary["start_mib"], summary["first_mib"], summary["samples"]) == (100, 120, 6)
    assert memory_summary(samples(rss, [0] * len(rss)))["slope_mib_per_min"] > 1


def test_the_lag_at_the_end_and_its_peak_in_the_window_are_reported() -> None:
    """A service that fell behind in the measured window says so beside its memory."""
    points = [MemorySample(60.0 * i, 100, 0, 32, lag) for i, lag in enumerate([900, 5, 40, 250, 12])]
    summary = memory_summary(points, warmup=60)
    assert (summary["lag_last"], summary["lag_peak"]) == (12, 250)
    row = render_markdown(soak_result({"nurture": summary})).splitlines()[-1]
    assert row.endswith("| 12 (250) |")


def test_the_heading_names_the_warm_up() -> None:
    """A warmed-up soak says how long it warmed up, so its slopes are read as a steady state's."""
    soak = soak_result({}) | {"warmup_seconds": 300}
    assert "60 s measured after 300 s of warm-up at the same load," in render_markdown(soak).splitlines()[0]


def soak_result(services: dict[str, Any]) -> dict[str, Any]:
    """What run_soak returns for a 60 s run at 20 leads/s, around the given service summaries."""
    return {
        "seconds": 60,
        "interval_seconds": 10,
        "offered": {"leads_per_second": 20, "engagement_per_second": 40},
        "sent": {"leads": 1200, "engagement": 2400},
        "services": services,
    }


def test_the_table_gives_rocksdb_against_its_limit() -> None:
    """One row per service, with RocksDB's last value of its limit and the outside slope."""
    soak = soak_result({"nurture": memory_summary(samples([100, 101, 102, 103], [28, 29, 30, 31])) | {"consumed": 9}})
    row = render_markdown(soak).splitlines()[-1]
    assert row.startswith("| nurture | 9 | 100.0 | 100.0 | 103.0 |")
    assert row.endswith("| 31.0 of 32 | +0.00 | +0.00 | 0 (0) |")


def test_the_heading_names_the_environment_the_services_ran_with() -> None:
    """A soak run with an allocator setting says so, so its table is not mistaken for the default's."""
    soak = soak_result({}) | {"service_env": {"MALLOC_ARENA_MAX": "2"}}
    assert render_markdown(soak).splitlines()[0].endswith("2,400 events), MALLOC_ARENA_MAX=2.")


@pytest.mark.parametrize("pairs", [["NOEQUALS"], ["=value"]])
def test_service_env_must_be_name_equals_value(pairs: list[str]) -> None:
    """A malformed --service-env is a usage error, not a soak that silently ran without it."""
    with pytest.raises(SystemExit):
        main(["--soak", "1", *(f"--service-env={p}" for p in pairs)])


def test_service_env_pairs_keep_everything_after_the_first_equals() -> None:
    """A value may itself hold '=' (LD_PRELOAD paths do not, but options strings do)."""
    parser = argparse.ArgumentParser()
    assert parse_service_env(parser, ["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}


def test_the_soak_plot_draws_every_service_from_its_samples(tmp_path: Path) -> None:
    rss = [100, 104, 108, 112, 112, 112]
    series = [[60.0 * i, r, 4.0 * i] for i, r in enumerate(rss)]
    soak = soak_result({"scoring": {"series": series}, "nurture": {"series": series}}) | {"warmup_seconds": 180}
    soak_plot(soak, tmp_path / "soak.png")
    assert (tmp_path / "soak.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
