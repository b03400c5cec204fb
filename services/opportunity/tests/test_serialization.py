"""Opportunity state to and from plain dicts for the Faust table."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.opportunity.alerts import check_alerts, mark_alerted
from services.opportunity.commands import ChangeStage, CloseLost
from services.opportunity.serialization import (
    StateDecodeError,
    opportunity_from_dict,
    opportunity_to_dict,
)
from services.opportunity.state import Opportunity
from services.opportunity.tests.builders import PIPELINE, T0, applied, new_id, opened


def _lost_deal() -> Opportunity:
    state = opened(amount=Decimal("1234.50"), close_date=date(2025, 3, 4))
    state = mark_alerted(state, check_alerts(state, PIPELINE, T0 + timedelta(days=20)))
    move = ChangeStage(command_id=new_id(), opportunity_id="opp-1", stage="demo")
    state = applied(state, move, T0 + timedelta(days=21, microseconds=7)).state
    lose = CloseLost(command_id=new_id(), opportunity_id="opp-1", reason="timing")
    return applied(state, lose, T0 + timedelta(days=30)).state


def test_dict_is_plain_json_with_decimals_as_strings() -> None:
    """The dict survives JSON; money and probability travel as exact strings."""
    data = opportunity_to_dict(opened(amount=Decimal("1234.50")))
    assert json.loads(json.dumps(data)) == data
    assert (data["amount"], data["probability"]) == ("1234.50", "0.10")
    assert data["expected_revenue"] == "123.45"
    assert data["close_date"] == "2025-06-30"
    assert data["stage_history"][0]["entered_at"] == "2025-03-03T09:00:00+00:00"


def test_round_trip_is_exact_for_a_closed_deal_with_history_and_alerts() -> None:
    """A deal with history, alerts, microseconds and a lost reason comes back equal."""
    state = _lost_deal()
    data = json.loads(json.dumps(opportunity_to_dict(state)))
    restored = opportunity_from_dict(data)
    assert restored == state
    assert restored.amount.as_tuple() == Decimal("1234.50").as_tuple()
    assert restored.alerted and restored.lost_reason == "timing"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("amount", 1234.5),
        ("amount", "lots"),
        ("close_date", "30/06/2025"),
        ("status", "pending"),
        ("stage_history", None),
    ],
)
def test_malformed_dict_raises_state_decode_error(key: str, value: object) -> None:
    """A float amount, bad date, unknown status or broken history is refused."""
    data = opportunity_to_dict(opened())
    data[key] = value
    with pytest.raises(StateDecodeError):
        opportunity_from_dict(data)


def test_missing_key_is_named() -> None:
    """A dict without a field raises a StateDecodeError naming it."""
    data = opportunity_to_dict(opened())
    del data["push_count"]
    with pytest.raises(StateDecodeError, match="push_count"):
        opportunity_from_dict(data)
