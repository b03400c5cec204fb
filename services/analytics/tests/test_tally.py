"""Tests of the additive tally."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.tally import (
    EMPTY,
    Tally,
    combine,
    negate,
    select,
    shift,
    tally_from_dict,
    tally_of,
    tally_to_dict,
)

keys = st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["x", "y", "z"]))
tallies = st.builds(
    tally_of,
    st.lists(st.tuples(keys, st.integers(-5, 5) | st.decimals(-100, 100, places=2))),
)


def test_repeated_keys_add_and_zeros_vanish() -> None:
    """Pairs with the same key add up and a zero sum leaves no entry."""
    tally = tally_of([(("a",), 2), (("a",), 3), (("b",), 1), (("b",), -1)])
    assert tally == Tally({("a",): 5})


def test_shift_replaces_a_contribution() -> None:
    """Shifting swaps an entity's old contribution for its new one."""
    total = tally_of([(("a",), 3), (("b",), 1)])
    moved = shift(total, tally_of([(("a",), 1)]), tally_of([(("b",), 1)]))
    assert moved == tally_of([(("a",), 2), (("b",), 2)])


def test_select_strips_the_prefix() -> None:
    """Selecting by prefix keeps matching entries keyed by the rest of the key."""
    tally = tally_of([(("f", "x", "1"), 1), (("f", "y", "2"), 2), (("g", "x", "1"), 3)])
    assert select(tally, ("f",)) == {("x", "1"): 1, ("y", "2"): 2}


def test_decimal_amounts_keep_their_type() -> None:
    """Decimal amounts stay Decimal and counts stay int."""
    tally = tally_of([(("n",), 2), (("m",), Decimal("1.50"))])
    assert type(tally.get(("n",))) is int
    assert tally.amount(("m",)) == Decimal("1.50")


@settings(max_examples=150, deadline=None)
@given(st.lists(tallies, max_size=5), st.randoms())
def test_combining_is_order_free(parts: list[Tally], rnd: object) -> None:
    """The sum of tallies does not depend on the order they are added."""
    shuffled = list(parts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert combine(*parts) == combine(*shuffled)


@settings(max_examples=150, deadline=None)
@given(tallies)
def test_negation_cancels(tally: Tally) -> None:
    """A tally plus its negation is empty."""
    assert combine(tally, negate(tally)) == EMPTY


@settings(max_examples=150, deadline=None)
@given(tallies)
def test_dict_round_trip_is_exact(tally: Tally) -> None:
    """A tally survives its plain-dict form unchanged, Decimal exponents included."""
    back = tally_from_dict(tally_to_dict(tally))
    assert back == tally
    assert {k: repr(v) for k, v in back.entries.items()} == {k: repr(v) for k, v in tally.entries.items()}
