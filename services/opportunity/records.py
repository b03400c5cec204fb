"""Mapping between the contract's records (Avro-ready dicts) and the stage machine's values.

Pure: no clock, no I/O; every event id is derived from the command id, so replays dedupe downstream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from services.opportunity.alerts import Alert
from services.opportunity.commands import (
    ActivityKind,
    ChangeStage,
    CloseLost,
    CloseWon,
    Command,
    LogActivity,
    MarkAlerted,
    OpenOpportunity,
    Reopen,
    UpdateOpportunity,
)
from services.opportunity.pipeline import Pipeline
from services.opportunity.rejections import Rejected
from services.opportunity.state import Opportunity

COMMAND_TYPES = ("open", "change_stage", "update", "log_activity", "close_won", "close_lost", "reopen", "mark_alerted")
INTERNAL_COMMAND_TYPES = frozenset({"mark_alerted"})
_OPTIONAL_FIELDS = (
    "account_id",
    "owner_id",
    "lead_id",
    "pipeline",
    "stage",
    "amount",
    "currency",
    "close_date",
    "next_step",
    "reason",
    "activity_kind",
    "activity_at",
    "source",
)


class CommandDecodeError(ValueError):
    """A record that is no command: a field its type needs is missing or malformed."""


def command_from_record(value: Mapping[str, Any]) -> Command:
    """The command an OpportunityCommand record carries; CommandDecodeError names what is wrong."""
    kind = value.get("type")
    build = _BUILDERS.get(str(kind))
    if build is None:
        raise CommandDecodeError(f"type: {kind!r} is not one of {', '.join(COMMAND_TYPES)}")
    base = {"command_id": _required(value, "event_id"), "opportunity_id": _required(value, "opportunity_id")}
    return build(value, base)


def _open(value: Mapping[str, Any], base: dict[str, str]) -> Command:
    return OpenOpportunity(
        **base,
        account_id=_required(value, "account_id"),
        amount=_amount(_required(value, "amount")),
        currency=_required(value, "currency"),
        close_date=_date(_required(value, "close_date")),
        owner_id=_required(value, "owner_id"),
        lead_id=value.get("lead_id"),
        stage=value.get("stage"),
        pipeline=value.get("pipeline"),
    )


def _update(value: Mapping[str, Any], base: dict[str, str]) -> Command:
    amount, close_date = value.get("amount"), value.get("close_date")
    return UpdateOpportunity(
        **base,
        amount=None if amount is None else _amount(amount),
        close_date=None if close_date is None else _date(close_date),
        next_step=value.get("next_step"),
    )


def _log_activity(value: Mapping[str, Any], base: dict[str, str]) -> Command:
    kind = _required(value, "activity_kind")
    if kind not in {k.value for k in ActivityKind}:
        raise CommandDecodeError(f"activity_kind: {kind!r} is not one of call, meeting, email")
    return LogActivity(**base, kind=ActivityKind(kind), occurred_at=value.get("activity_at"))


def _close_won(value: Mapping[str, Any], base: dict[str, str]) -> Command:
    amount = value.get("amount")
    return CloseWon(**base, amount=None if amount is None else _amount(amount))


_BUILDERS: dict[str, Callable[[Mapping[str, Any], dict[str, str]], Command]] = {
    "open": _open,
    "change_stage": lambda v, base: ChangeStage(**base, stage=_required(v, "stage")),
    "update": _update,
    "log_activity": _log_activity,
    "close_won": _close_won,
    "close_lost": lambda v, base: CloseLost(**base, reason=_required(v, "reason")),
    "reopen": lambda v, base: Reopen(**base, stage=v.get("stage")),
    "mark_alerted": lambda v, base: MarkAlerted(**base, alert_keys=tuple(v.get("alert_keys") or ())),
}


def _required(value: Mapping[str, Any], name: str) -> str:
    found = value.get(name)
    if not isinstance(found, str) or not found.strip():
        raise CommandDecodeError(f"{name}: is required for a {value.get('type')} command")
    return found


def _amount(text: str) -> Decimal:
    # Sign and range are the stage machine's to judge (it answers with a rejection); only syntax is ours.
    try:
        return Decimal(text)
    except InvalidOperation:
        raise CommandDecodeError(f"amount: {text!r} is not a decimal number") from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandDecodeError(f"close_date: {text!r} is not an ISO date (YYYY-MM-DD)") from None


def command_record(
    opportunity_id: str, command_id: str, kind: str, now: datetime, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """An OpportunityCommand record; fields holds the optional fields by name (others are null)."""
    record: dict[str, Any] = {name: fields.get(name) for name in _OPTIONAL_FIELDS}
    record |= {"event_id": command_id, "occurred_at": now, "opportunity_id": opportunity_id, "type": kind}
    return record | {"alert_keys": list(fields.get("alert_keys") or ())}


def conversion_opportunity_id(conversion: Mapping[str, Any]) -> str:
    """The deal a LeadConverted opens: its opportunity_id, else derived from the lead (stable on replay)."""
    given = conversion.get("opportunity_id")
    return str(given) if given else f"opp_{conversion['lead_id']}"


def open_from_conversion(conversion: Mapping[str, Any]) -> dict[str, Any]:
    """The open command a LeadConverted record stands for; its id derives from the conversion's."""
    names = ("account_id", "amount", "currency", "close_date", "owner_id", "lead_id", "pipeline", "stage")
    fields = {name: conversion.get(name) for name in names} | {"source": "lead_converted"}
    opportunity_id = conversion_opportunity_id(conversion)
    command_id = f"{conversion['event_id']}:open"
    return command_record(opportunity_id, command_id, "open", conversion["occurred_at"], fields)


def mark_alerted_record(opportunity_id: str, alerts: tuple[Alert, ...], now: datetime) -> dict[str, Any]:
    """The internal command that makes the state remember alerts; same alerts, same command id."""
    keys = sorted(a.key for a in alerts)
    command_id = f"{opportunity_id}:mark:{'|'.join(keys)}"
    return command_record(opportunity_id, command_id, "mark_alerted", now, {"alert_keys": keys, "source": "alerts"})


def changed_record(
    state: Opportunity, changed: tuple[str, ...], command_id: str, kind: str, pipeline: Pipeline
) -> dict[str, Any]:
    """OpportunityChanged: the full state after the command, with the names of what changed."""
    stage = pipeline.stage(state.stage)
    category = stage.forecast_category.value if stage is not None else "Omitted"
    return {
        "event_id": f"{command_id}:changed",
        "occurred_at": state.updated_at,
        "opportunity_id": state.opportunity_id,
        "command_id": command_id,
        "command_type": kind,
        "changed": list(changed),
        "version": state.version,
        "pipeline": state.pipeline,
        "account_id": state.account_id,
        "owner_id": state.owner_id,
        "lead_id": state.lead_id,
        "currency": state.currency,
        "amount": str(state.amount),
        "probability": str(state.probability),
        "expected_revenue": str(state.expected_revenue),
        "forecast_category": category,
        "close_date": state.close_date.isoformat(),
        "next_step": state.next_step,
        "stage": state.stage,
        "status": state.status.value,
        "lost_reason": state.lost_reason,
        "stage_history": [
            {"stage": v.stage, "entered_at": v.entered_at, "exited_at": v.exited_at} for v in state.stage_history
        ],
        "activity_count": state.activity_count,
        "last_activity_at": state.last_activity_at,
        "push_count": state.push_count,
        "created_at": state.created_at,
        "closed_at": state.closed_at,
    }


def rejected_record(
    opportunity_id: str, command_id: str, kind: str, rejected: Rejected, now: datetime
) -> dict[str, Any]:
    """CommandRejected, naming the reason; one per command id."""
    return {
        "event_id": f"{command_id}:rejected",
        "occurred_at": now,
        "opportunity_id": opportunity_id,
        "command_id": command_id,
        "command_type": kind,
        "reason": rejected.reason.value,
        "detail": rejected.detail,
    }


def alert_record(alert: Alert, state: Opportunity) -> dict[str, Any]:
    """OpportunityAlert; its id is the deal's and the alert key's, so it is the same on every tick."""
    return {
        "event_id": f"{alert.opportunity_id}:alert:{alert.key}",
        "occurred_at": alert.raised_at,
        "opportunity_id": alert.opportunity_id,
        "kind": alert.kind.value,
        "alert_key": alert.key,
        "condition": alert.condition,
        "stage": alert.stage,
        "owner_id": alert.owner_id,
        "account_id": state.account_id,
        "close_date": state.close_date.isoformat(),
        "push_count": state.push_count,
        "last_touched_at": state.last_touched_at,
    }
