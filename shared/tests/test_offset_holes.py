"""The hole tracker: a skipped record is fetched again, a real hole is crossed once it shows twice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.offset_holes import HANDLE, Drop, OffsetHoles, Refetch


def test_consecutive_offsets_are_handled() -> None:
    holes = OffsetHoles()
    assert [holes.admit("p", offset) for offset in range(5)] == [HANDLE] * 5


def test_a_skipped_record_is_fetched_again_before_anything_after_it() -> None:
    """0 handled, 1 dropped by the framework: 2 and 3 wait until the seek back delivers 1."""
    holes = OffsetHoles()
    assert holes.admit("p", 0) == HANDLE
    assert holes.admit("p", 2) == Refetch(1)
    assert holes.admit("p", 3) == Drop(1)  # still queued from before the seek
    assert [holes.admit("p", offset) for offset in (1, 2, 3)] == [HANDLE] * 3


def test_a_real_hole_is_crossed_when_the_refetch_shows_it_again() -> None:
    """Offsets 1-4 do not exist (compaction): the refetch starts at 5 again, which is handled."""
    holes = OffsetHoles()
    holes.admit("p", 0)
    assert holes.admit("p", 5) == Refetch(1)
    assert holes.admit("p", 6) == Drop(1)
    assert [holes.admit("p", offset) for offset in (5, 6, 7)] == [HANDLE] * 3


def test_the_first_record_is_due_at_the_committed_offset() -> None:
    holes = OffsetHoles()
    assert holes.admit("p", 12, committed=10) == Refetch(10)
    assert holes.admit("p", 10, committed=10) == HANDLE


def test_going_back_is_a_seek_and_starts_over() -> None:
    holes = OffsetHoles()
    for offset in range(10):
        holes.admit("p", offset)
    assert [holes.admit("p", offset) for offset in (4, 5, 6)] == [HANDLE] * 3


def test_partitions_are_independent_and_forgotten_on_revoke() -> None:
    holes = OffsetHoles()
    holes.admit("a", 0)
    holes.admit("b", 7)
    assert holes.admit("b", 8) == HANDLE
    holes.forget(["a"])
    assert holes.admit("a", 40) == HANDLE  # a new owner starts wherever the group committed


@given(st.lists(st.integers(0, 29), min_size=1, max_size=60))
def test_every_offset_handled_once_in_order_whatever_the_framework_drops(dropped_mask: list[int]) -> None:
    """A partition of 31 records fetched by a consumer that drops some of the first 30 once; after
    a seek it delivers from the sought offset on. Every record is handled once, in offset order (a
    dropped last record waits for the next record to show the hole)."""
    holes, position, handled = OffsetHoles(), 0, []
    drops = set(dropped_mask)
    for _ in range(500):
        if position >= 31:
            break
        batch = [o for o in range(position, 31) if o not in drops]
        drops.clear()  # the framework drops only from the first fetch
        position = 31
        for offset in batch:
            verdict = holes.admit("p", offset, committed=0)
            if verdict == HANDLE:
                handled.append(offset)
            elif isinstance(verdict, Refetch):
                position = verdict.offset
                break
    assert handled == list(range(31))
