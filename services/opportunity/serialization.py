"""Opportunity state to and from plain JSON-ready dicts, for the Faust table and events.

Exact round trip: Decimals travel as strings, datetimes and dates as ISO 8601 text.
Derived values (expected_revenue) are written for readers and ignored when read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.opportunity.state import Opportunity, OpportunityStatus, StageVisit


class StateDecodeError(ValueError):
    """A stored dict is not an opportunity state; the message names the bad key."""


def opportunity_to_dict(state: Opportunity) -> dict[str, Any]:
    return {
        "opportunity_id": state.opportunity_id,
        "pipeline": state.pipeline,
        "account_id": state.account_id,
        "owner_id": state.owner_id,
        "lead_id": state.lead_id,
        "currency": state.currency,
        "amount": str(state.amount),
        "probability": str(state.probability),
        "expected_revenue": str(state.expected_revenue),
        "close_date": state.close_date.isoformat(),
        "next_step": state.next_step,
        "stage": state.stage,
        "status": state.status.value,
        "lost_reason": state.lost_reason,
        "stage_history": [_visit_to_dict(v) for v in state.stage_history],
        "activity_count": state.activity_count,
        "last_activity_at": _optional_time(state.last_activity_at),
        "push_count": state.push_count,
        "created_at": state.created_at.isoformat(),
        "updated_at": state.updated_at.isoformat(),
        "closed_at": _optional_time(state.closed_at),
        "version": state.version,
        "applied_command_ids": list(state.applied_command_ids),
        "alerted": list(state.alerted),
    }


def opportunity_from_dict(data: Mapping[str, Any]) -> Opportunity:
    """Rebuild a state written by opportunity_to_dict; raises StateDecodeError."""
    try:
        return _from_dict(data)
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise StateDecodeError(f"not an opportunity state: {error!r}") from error


def _from_dict(data: Mapping[str, Any]) -> Opportunity:
    return Opportunity(
        opportunity_id=str(data["opportunity_id"]),
        pipeline=str(data["pipeline"]),
        account_id=str(data["account_id"]),
        owner_id=str(data["owner_id"]),
        lead_id=data["lead_id"],
        currency=str(data["currency"]),
        amount=_decimal(data["amount"]),
        probability=_decimal(data["probability"]),
        close_date=date.fromisoformat(data["close_date"]),
        next_step=data["next_step"],
        stage=str(data["stage"]),
        status=OpportunityStatus(data["status"]),
        lost_reason=data["lost_reason"],
        stage_history=tuple(_visit_from_dict(v) for v in data["stage_history"]),
        activity_count=int(data["activity_count"]),
        last_activity_at=_optional_parse(data["last_activity_at"]),
        push_count=int(data["push_count"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        closed_at=_optional_parse(data["closed_at"]),
        version=int(data["version"]),
        applied_command_ids=tuple(data["applied_command_ids"]),
        alerted=tuple(data["alerted"]),
    )


def _visit_to_dict(visit: StageVisit) -> dict[str, Any]:
    return {
        "stage": visit.stage,
        "entered_at": visit.entered_at.isoformat(),
        "exited_at": _optional_time(visit.exited_at),
    }


def _visit_from_dict(data: Mapping[str, Any]) -> StageVisit:
    return StageVisit(
        stage=str(data["stage"]),
        entered_at=datetime.fromisoformat(data["entered_at"]),
        exited_at=_optional_parse(data["exited_at"]),
    )


def _optional_time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _optional_parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _decimal(value: object) -> Decimal:
    # A float here was written by something else and has already lost cents.
    if not isinstance(value, str):
        raise TypeError(f"decimal must be a string, got {value!r}")
    return Decimal(value)
