"""Tests of bounded label sets."""

from hypothesis import given
from hypothesis import strategies as st

from services.analytics.labels import OTHER, capped, top_values


def test_the_top_values_keep_their_names_ties_by_name() -> None:
    """The heaviest values are kept; equal weights are broken by name so every scrape agrees."""
    assert top_values({"b": 2, "a": 2, "c": 1}, 2) == {"a", "b"}
    assert top_values({"a": 1}, 5) == {"a"}


@given(st.dictionaries(st.text(max_size=3), st.integers(0, 50), max_size=12), st.integers(1, 6))
def test_capping_never_changes_the_total_and_bounds_the_values(weights: dict[str, int], limit: int) -> None:
    """Whatever the values, at most limit + 1 label values remain and every count is kept."""
    rows = {value: {"captured": n, "won": n // 2} for value, n in weights.items()}
    out = capped(rows, "captured", limit)
    assert len(out) <= limit + 1
    assert set(out) - {OTHER} <= set(rows)
    for column in ("captured", "won"):
        assert sum(row[column] for row in out.values()) == sum(row[column] for row in rows.values())
