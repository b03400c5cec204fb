"""scoring's engagement types equal the contract's Avro enum."""

from __future__ import annotations

from typing import get_args

from services.scoring.model import EngagementType
from shared.avro_codec import enum_symbols


def test_scoring_engagement_types_are_the_contract_ones() -> None:
    """scoring keeps its engagement types as a Literal for typing; it must equal the Avro enum."""
    assert set(get_args(EngagementType)) == set(enum_symbols("EngagementEvent", "type"))


def test_enum_symbols_refuses_a_field_that_is_not_an_enum() -> None:
    """Asking for the symbols of a non-enum field is an error, not an empty set."""
    import pytest

    with pytest.raises(ValueError, match="not an enum"):
        enum_symbols("LeadSubmitted", "email")
