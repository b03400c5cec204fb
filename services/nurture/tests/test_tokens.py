"""Signed, expiring unsubscribe tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.tokens import InvalidToken, make_token, verify_token

KEY = b"k" * 32
NOW = datetime(2025, 6, 2, 12, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_token_round_trips_any_lead_id(lead_id: str) -> None:
    """A fresh token verifies to the lead it was made for, whatever characters the id holds."""
    assert verify_token(make_token(lead_id, LATER, KEY), KEY, NOW) == lead_id


def test_expired_token_is_refused() -> None:
    """A token is refused from its expiry instant on."""
    token = make_token("lead-1", LATER, KEY)
    with pytest.raises(InvalidToken) as error:
        verify_token(token, KEY, LATER)
    assert error.value.reason == "expired"


def test_other_key_is_refused() -> None:
    """A token signed with another key does not verify."""
    with pytest.raises(InvalidToken, match="bad_signature"):
        verify_token(make_token("lead-1", LATER, b"other"), KEY, NOW)


def test_altered_lead_or_expiry_is_refused() -> None:
    """Swapping in another lead or extending the expiry breaks the signature."""
    lead_part, expiry, signature = make_token("lead-1", LATER, KEY).split(".")
    other_lead = make_token("lead-2", LATER, KEY).split(".")[0]
    with pytest.raises(InvalidToken, match="bad_signature"):
        verify_token(f"{other_lead}.{expiry}.{signature}", KEY, NOW)
    with pytest.raises(InvalidToken, match="bad_signature"):
        verify_token(f"{lead_part}.{int(expiry) + 86400}.{signature}", KEY, NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.1.!!", "a.b.c.d"])
def test_malformed_tokens_are_refused(token: str) -> None:
    """Garbage is refused without raising anything but InvalidToken."""
    with pytest.raises(InvalidToken):
        verify_token(token, KEY, NOW)


def test_token_is_url_safe() -> None:
    """Tokens go into URLs and mailto subjects unescaped."""
    token = make_token("lead/+?=&", LATER, KEY)
    assert all(c.isalnum() or c in "-_." for c in token)
