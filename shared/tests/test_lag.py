"""Consumer lag per partition from the fetched end and the committed offset."""

from __future__ import annotations

from faust.types import TP

from shared.lag import partition_lags

A, B, C = TP("leads.captured", 0), TP("leads.captured", 1), TP("engagement.captured", 0)


def test_lag_is_the_end_less_the_committed_offset() -> None:
    assert partition_lags({A: 120, B: 7}, {A: 100, B: 7}) == {A: 20, B: 0}


def test_a_partition_without_a_fetch_or_a_commit_is_left_out() -> None:
    """Unknown is not zero: reporting 0 would hide a worker stuck before its first commit."""
    assert partition_lags({A: None, B: 50, C: 9}, {A: 3, B: None}) == {}


def test_a_commit_ahead_of_a_stale_end_is_no_lag() -> None:
    """The end is from the last fetch; a commit made since can pass it until the next one."""
    assert partition_lags({A: 10}, {A: 12}) == {A: 0}
