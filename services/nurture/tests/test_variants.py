"""Deterministic A/B choice and the two-proportion significance test."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.variants import choose_variant, two_proportion_test


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20), st.lists(st.floats(0.1, 100), min_size=1, max_size=5))
def test_choice_is_deterministic_and_valid(lead_id: str, weights: list[float]) -> None:
    """The same lead always gets the same variant, and it is one of the named ones."""
    named = [(f"v{i}", w) for i, w in enumerate(weights)]
    first = choose_variant(lead_id, "seq", "step", named)
    assert first == choose_variant(lead_id, "seq", "step", named)
    assert first in {name for name, _ in named}


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=2, max_size=4))
def test_choice_roughly_follows_weights(weights: list[int]) -> None:
    """Over 4000 leads each variant's share is within 3 points of its weight's share."""
    named = [(f"v{i}", float(w)) for i, w in enumerate(weights)]
    counts = Counter(choose_variant(f"lead-{n}", "seq", "step", named) for n in range(4000))
    for name, weight in named:
        assert abs(counts[name] / 4000 - weight / sum(weights)) < 0.03


def test_choice_differs_between_steps() -> None:
    """Steps are randomised independently, so a lead is not always in the same arm."""
    named = [("a", 1.0), ("b", 1.0)]
    picks = {choose_variant("lead-7", "seq", f"step-{i}", named) for i in range(20)}
    assert picks == {"a", "b"}


def test_bad_weights_are_rejected() -> None:
    """An empty list or a zero weight is a configuration error."""
    with pytest.raises(ValueError):
        choose_variant("lead", "seq", "step", [])
    with pytest.raises(ValueError):
        choose_variant("lead", "seq", "step", [("a", 0.0)])


def test_clear_difference_is_significant() -> None:
    """20% vs 10% reply rates over 1000 sends each is significant (z about 6.26)."""
    result = two_proportion_test(200, 1000, 100, 1000)
    assert result.z == pytest.approx(6.2622, abs=1e-3)
    assert result.p_value < 1e-6 and result.significant


def test_small_difference_is_not_significant() -> None:
    """11 vs 10 successes out of 100 is noise."""
    result = two_proportion_test(11, 100, 10, 100)
    assert not result.significant and result.p_value > 0.5
    assert two_proportion_test(10, 100, 11, 100).z == pytest.approx(-result.z)


def test_known_p_value() -> None:
    """60% vs 46% of 100 gives z about 1.98 and a two-sided p just under 0.05."""
    result = two_proportion_test(60, 100, 46, 100)
    assert result.z == pytest.approx(1.9835, abs=1e-3)
    assert result.p_value == pytest.approx(0.0475, abs=1e-3)


def test_degenerate_inputs_mean_no_evidence() -> None:
    """No trials or identical all-or-nothing rates give z 0, p 1."""
    assert two_proportion_test(0, 0, 5, 10).p_value == 1.0
    assert not two_proportion_test(10, 10, 5, 5).significant
    with pytest.raises(ValueError):
        two_proportion_test(11, 10, 1, 10)
