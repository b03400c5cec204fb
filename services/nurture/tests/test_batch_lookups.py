"""A batch's prefetched "not erased" holds only for the leads read, and only until an erasure is flagged."""

from __future__ import annotations

from services.nurture.batch_lookups import BatchLookups


def test_a_lead_read_as_not_erased_is_vouched_for_while_no_erasure_is_flagged() -> None:
    lookups = BatchLookups(erasures=4, unerased=frozenset({"lead_a"}), reps={})
    assert lookups.not_erased("lead_a", 4)


def test_an_erasure_flagged_since_the_count_makes_every_answer_stale() -> None:
    lookups = BatchLookups(erasures=4, unerased=frozenset({"lead_a"}), reps={})
    assert not lookups.not_erased("lead_a", 5)


def test_a_lead_not_read_or_read_as_erased_is_not_vouched_for() -> None:
    lookups = BatchLookups(erasures=0, unerased=frozenset({"lead_a"}), reps={})
    assert not lookups.not_erased("lead_b", 0)
