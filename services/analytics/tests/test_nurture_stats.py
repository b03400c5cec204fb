"""Tests of nurture statistics per sequence, step and variant."""

from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.dedupe import SeenIds, fold_once
from services.analytics.facts import NURTURE_KINDS, NurtureFact
from services.analytics.nurture_stats import count_nurture, sequence_stats
from services.analytics.tally import EMPTY, Tally

from .builders import T0


def outcome(event_id: str, kind: str, step: int = 1, variant: str = "a") -> NurtureFact:
    """One outcome of sequence s1."""
    return NurtureFact(event_id, "s1", step, variant, kind, T0)  # type: ignore[arg-type]


def apply(facts: list[NurtureFact]) -> Tally:
    """Count facts behind the event-id guard, as the wiring does."""
    stats, seen = EMPTY, SeenIds(1000)
    for fact in facts:
        stats, seen = fold_once(count_nurture, stats, seen, fact)
    return stats


def test_rows_by_step_and_variant_with_totals() -> None:
    """Counts land in their step and variant row and add up in the totals."""
    stats = apply(
        [
            outcome("1", "sent"),
            outcome("2", "sent"),
            outcome("3", "opened"),
            outcome("4", "sent", variant="b"),
            outcome("5", "bounced", step=2),
        ]
    )
    result = sequence_stats(stats, "s1")
    assert [(r.step, r.variant) for r in result.rows] == [(1, "a"), (1, "b"), (2, "a")]
    assert result.rows[0].counts["sent"] == 2 and result.rows[0].rate("opened") == 0.5
    assert result.rows[2].rate("bounced") is None
    assert result.totals["sent"] == 3 and result.totals["bounced"] == 1


def test_other_sequences_are_not_mixed_in() -> None:
    """Stats of one sequence ignore another's outcomes."""
    other = NurtureFact("x", "s2", 1, "a", "sent", T0)
    stats = count_nurture(apply([outcome("1", "sent")]), other)
    assert sequence_stats(stats, "s1").totals["sent"] == 1


facts = st.lists(
    st.builds(
        NurtureFact,
        event_id=st.sampled_from([str(i) for i in range(12)]),
        sequence_id=st.just("s1"),
        step=st.integers(1, 3),
        variant=st.sampled_from(["a", "b"]),
        kind=st.sampled_from(NURTURE_KINDS),
        occurred_at=st.just(T0),
    ),
    max_size=25,
    unique_by=lambda f: f.event_id,
)


@settings(max_examples=150, deadline=None)
@given(facts, st.randoms(), st.data())
def test_duplicates_and_order_change_nothing(items: list[NurtureFact], rnd: object, data: st.DataObject) -> None:
    """Shuffled facts with re-deliveries give the same stats as one clean pass."""
    repeats = data.draw(st.lists(st.sampled_from(items), max_size=5)) if items else []
    noisy = [*items, *repeats]
    rnd.shuffle(noisy)  # type: ignore[attr-defined]
    assert apply(noisy) == apply(items)
    assert sum(sequence_stats(apply(noisy), "s1").totals.values()) == len(items)
