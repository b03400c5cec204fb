"""The plateau summary: growth per 10,000 records, first half of the rounds against the second."""

from __future__ import annotations

from bench.plateau import Round, plateau_summary, render_markdown


def rounds_of(rss: list[float], rocksdb: list[float]) -> list[Round]:
    return [Round(40_000 * (i + 1), value, db) for i, (value, db) in enumerate(zip(rss, rocksdb, strict=True))]


def test_a_service_that_only_fills_levels_off() -> None:
    summary = plateau_summary(rounds_of([120, 145, 162, 163, 163, 163], [16, 26, 30, 31, 31, 31]))
    assert summary["first_half_mib_per_10k"] > 3
    assert summary["second_half_mib_per_10k"] == 0.0
    assert summary["outside_rocksdb_second_half_mib_per_10k"] == 0.0
    assert (summary["first_mib"], summary["last_mib"]) == (120, 163)


def test_a_leak_keeps_its_step() -> None:
    """RocksDB full from the start, 8 MiB more per round: 2 MiB per 10,000 records throughout."""
    summary = plateau_summary(rounds_of([100 + 8 * i for i in range(6)], [32] * 6))
    assert summary["first_half_mib_per_10k"] == summary["second_half_mib_per_10k"] == 2.0
    assert summary["outside_rocksdb_second_half_mib_per_10k"] == 2.0


def test_the_table_lists_every_round() -> None:
    rounds = rounds_of([120, 130], [10, 20])
    text = render_markdown("analytics", rounds, plateau_summary(rounds))
    assert "| 2 | 80,000 | 130.0 | 20.0 | 110.0 |" in text
