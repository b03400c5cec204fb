"""Tests of event-id dedupe."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.dedupe import (
    SeenIds,
    fold_once,
    remember,
    seen_from_dict,
    seen_to_dict,
)
from services.analytics.facts import NurtureFact
from services.analytics.nurture_stats import count_nurture
from services.analytics.tally import EMPTY, Tally

from .builders import T0


def sent(event_id: str) -> NurtureFact:
    """A send of step 1, variant a."""
    return NurtureFact(event_id, "seq", 1, "a", "sent", T0)


def apply_all(facts: list[NurtureFact], capacity: int = 100) -> tuple[Tally, SeenIds]:
    """Fold facts through the dedupe guard."""
    stats, seen = EMPTY, SeenIds(capacity)
    for fact in facts:
        stats, seen = fold_once(count_nurture, stats, seen, fact)
    return stats, seen


def test_a_repeated_event_id_changes_nothing() -> None:
    """Applying the same event twice leaves state and memory as after once."""
    once = apply_all([sent("e1")])
    assert apply_all([sent("e1"), sent("e1")]) == once
    assert once[0].count(("nurture", "seq", "1", "a", "sent")) == 1


def test_memory_is_bounded_oldest_first() -> None:
    """Past capacity the oldest id is forgotten, so only it would count again."""
    seen = SeenIds(2)
    for event_id in ("e1", "e2", "e3"):
        seen = remember(seen, event_id)
    assert seen.ids == ("e2", "e3")
    assert "e1" not in seen and "e3" in seen


def test_capacity_must_be_positive() -> None:
    """A memory that can hold nothing is refused."""
    with pytest.raises(ValueError, match="capacity"):
        SeenIds(0)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["e1", "e2", "e3", "e4"]), max_size=20))
def test_counts_each_distinct_id_once(ids: list[str]) -> None:
    """Whatever the repeats, the count equals the number of distinct event ids."""
    stats, _ = apply_all([sent(i) for i in ids])
    assert stats.count(("nurture", "seq", "1", "a", "sent")) == len(set(ids))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=4), max_size=10), st.integers(1, 5))
def test_dict_round_trip_is_exact(ids: list[str], capacity: int) -> None:
    """The memory survives its plain-dict form unchanged."""
    seen = SeenIds(capacity)
    for event_id in ids:
        seen = remember(seen, event_id)
    assert seen_from_dict(seen_to_dict(seen)) == seen
