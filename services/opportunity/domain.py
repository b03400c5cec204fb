"""The opportunity stage machine: apply one command to a state, all of it or none of it.

Pure: no clock (now is an argument), no I/O, no framework or wire types.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from datetime import datetime

from services.opportunity.alerts import remember_alert_keys
from services.opportunity.commands import (
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
from services.opportunity.rejections import (
    Rejected,
    RejectReason,
    check_amount,
    check_currency,
    check_open_stage,
)
from services.opportunity.state import (
    Opportunity,
    OpportunityStatus,
    StageVisit,
    enter_stage,
)

REMEMBERED_COMMAND_IDS = 64
# Bookkeeping, not what a reader of OpportunityChanged calls a change.
_BOOKKEEPING = frozenset({"version", "updated_at", "applied_command_ids", "alerted"})


@dataclass(frozen=True)
class Applied:
    """The new state and the fields that changed: all of them for an open, none for a re-delivery."""

    state: Opportunity
    changed: tuple[str, ...]
    duplicate: bool = False


def apply_command(state: Opportunity | None, command: Command, pipeline: Pipeline, now: datetime) -> Applied | Rejected:
    """Apply command to state (None: no such opportunity yet) under pipeline at now.

    A command whose command_id is among the state's recent ids is a no-op Applied with
    duplicate=True, so at-least-once delivery applies each command once.
    """
    if state is not None and command.command_id in state.applied_command_ids:
        return Applied(state, (), duplicate=True)
    outcome = _decide(state, command, pipeline, now)
    if isinstance(outcome, Rejected):
        return outcome
    return _commit(state, outcome, command.command_id, now)


def _decide(state: Opportunity | None, command: Command, pipeline: Pipeline, now: datetime) -> Opportunity | Rejected:
    if isinstance(command, OpenOpportunity):
        return _open(state, command, pipeline, now)
    if state is None or state.opportunity_id != command.opportunity_id:
        return Rejected(RejectReason.UNKNOWN_OPPORTUNITY, f"no {command.opportunity_id!r}")
    if isinstance(command, MarkAlerted):
        # Bookkeeping only: allowed on closed deals too, and never a visible change.
        return remember_alert_keys(state, command.alert_keys)
    if state.pipeline != pipeline.name:
        return Rejected(RejectReason.UNKNOWN_PIPELINE, f"{state.pipeline!r} is not configured")
    if isinstance(command, Reopen):
        return _reopen(state, command, pipeline, now)
    if not state.is_open:
        return Rejected(RejectReason.CLOSED_DEAL_EDITED, f"deal is {state.status}; reopen it first")
    return _edit_open(state, command, pipeline, now)


def _edit_open(state: Opportunity, command: Command, pipeline: Pipeline, now: datetime) -> Opportunity | Rejected:
    match command:
        case ChangeStage():
            return _change_stage(state, command, pipeline, now)
        case UpdateOpportunity():
            return _update(state, command)
        case LogActivity():
            return _log_activity(state, command, now)
        case CloseWon():
            return _close_won(state, command, pipeline, now)
        case CloseLost():
            return _close_lost(state, command, pipeline, now)
    raise TypeError(f"not an opportunity command: {command!r}")


def _open(
    state: Opportunity | None,
    command: OpenOpportunity,
    pipeline: Pipeline,
    now: datetime,
) -> Opportunity | Rejected:
    if state is not None:
        return Rejected(RejectReason.DUPLICATE_OPEN, f"{state.opportunity_id!r} exists")
    if command.pipeline not in (None, pipeline.name):
        return Rejected(RejectReason.UNKNOWN_PIPELINE, f"{command.pipeline!r} is not configured")
    stage = check_open_stage(pipeline, command.stage or pipeline.first_stage.name)
    if isinstance(stage, Rejected):
        return stage
    if problem := check_amount(command.amount) or check_currency(command.currency):
        return problem
    return Opportunity(
        opportunity_id=command.opportunity_id,
        pipeline=pipeline.name,
        account_id=command.account_id,
        owner_id=command.owner_id,
        lead_id=command.lead_id,
        currency=command.currency,
        amount=command.amount,
        probability=stage.probability,
        close_date=command.close_date,
        next_step=None,
        stage=stage.name,
        status=OpportunityStatus.OPEN,
        lost_reason=None,
        stage_history=(StageVisit(stage.name, now),),
        activity_count=0,
        last_activity_at=None,
        push_count=0,
        created_at=now,
        updated_at=now,
        closed_at=None,
        version=0,
        applied_command_ids=(),
        alerted=(),
    )


def _change_stage(
    state: Opportunity, command: ChangeStage, pipeline: Pipeline, now: datetime
) -> Opportunity | Rejected:
    stage = check_open_stage(pipeline, command.stage)
    if isinstance(stage, Rejected):
        return stage
    if stage.name == state.stage:
        return Rejected(RejectReason.ILLEGAL_TRANSITION, f"already in {stage.name!r}")
    return enter_stage(state, stage, now)


def _update(state: Opportunity, command: UpdateOpportunity) -> Opportunity | Rejected:
    if (command.amount, command.close_date, command.next_step) == (None, None, None):
        return Rejected(RejectReason.EMPTY_UPDATE, "nothing to update")
    if command.amount is not None and (problem := check_amount(command.amount)):
        return problem
    close_date = command.close_date or state.close_date
    return replace(
        state,
        amount=state.amount if command.amount is None else command.amount,
        close_date=close_date,
        next_step=state.next_step if command.next_step is None else command.next_step,
        push_count=state.push_count + (close_date > state.close_date),
    )


def _log_activity(state: Opportunity, command: LogActivity, now: datetime) -> Opportunity:
    occurred = command.occurred_at or now
    # A late-delivered activity must not move the last activity time backwards.
    latest = max(state.last_activity_at or occurred, occurred)
    return replace(state, activity_count=state.activity_count + 1, last_activity_at=latest)


def _close_won(state: Opportunity, command: CloseWon, pipeline: Pipeline, now: datetime) -> Opportunity | Rejected:
    if command.amount is not None and (problem := check_amount(command.amount)):
        return problem
    amount = state.amount if command.amount is None else command.amount
    return replace(enter_stage(state, pipeline.won_stage, now), amount=amount, closed_at=now)


def _close_lost(state: Opportunity, command: CloseLost, pipeline: Pipeline, now: datetime) -> Opportunity | Rejected:
    if command.reason not in pipeline.lost_reasons:
        allowed = ", ".join(pipeline.lost_reasons)
        return Rejected(RejectReason.UNKNOWN_LOST_REASON, f"{command.reason!r}; use {allowed}")
    closed = enter_stage(state, pipeline.lost_stage, now)
    return replace(closed, lost_reason=command.reason, closed_at=now)


def _reopen(state: Opportunity, command: Reopen, pipeline: Pipeline, now: datetime) -> Opportunity | Rejected:
    if state.is_open:
        return Rejected(RejectReason.ILLEGAL_TRANSITION, "only a closed deal can be reopened")
    stage = check_open_stage(pipeline, command.stage or _last_open_stage(state, pipeline))
    if isinstance(stage, Rejected):
        return stage
    return replace(enter_stage(state, stage, now), lost_reason=None, closed_at=None)


def _last_open_stage(state: Opportunity, pipeline: Pipeline) -> str:
    for visit in reversed(state.stage_history):
        stage = pipeline.stage(visit.stage)
        if stage is not None and stage.is_open:
            return stage.name
    return pipeline.first_stage.name


def _commit(old: Opportunity | None, new: Opportunity, command_id: str, now: datetime) -> Applied:
    changed = _changed_fields(old, new)
    ids = (*new.applied_command_ids, command_id)[-REMEMBERED_COMMAND_IDS:]
    if changed:
        new = replace(new, version=new.version + 1, updated_at=now)
    return Applied(replace(new, applied_command_ids=ids), changed)


def _changed_fields(old: Opportunity | None, new: Opportunity) -> tuple[str, ...]:
    names = [f.name for f in dataclasses.fields(Opportunity) if f.name not in _BOOKKEEPING]
    names.append("expected_revenue")
    if old is None:
        return tuple(names)
    return tuple(n for n in names if getattr(old, n) != getattr(new, n))
