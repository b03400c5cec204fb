"""The stage machine: transitions, rejections, idempotency, history, time in stage."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from services.opportunity.commands import (
    ActivityKind,
    ChangeStage,
    CloseLost,
    CloseWon,
    Command,
    LogActivity,
    Reopen,
    UpdateOpportunity,
)
from services.opportunity.domain import REMEMBERED_COMMAND_IDS, Applied, apply_command
from services.opportunity.pipeline import parse_pipelines
from services.opportunity.rejections import RejectReason
from services.opportunity.state import OpportunityStatus, time_in_stage
from services.opportunity.tests.builders import (
    T0,
    applied,
    new_id,
    open_command,
    opened,
    rejected,
)

DAY = timedelta(days=1)


def _stage(stage: str) -> ChangeStage:
    return ChangeStage(command_id=new_id(), opportunity_id="opp-1", stage=stage)


def _won(amount: Decimal | None = None) -> CloseWon:
    return CloseWon(command_id=new_id(), opportunity_id="opp-1", amount=amount)


def _lost(reason: str = "price") -> CloseLost:
    return CloseLost(command_id=new_id(), opportunity_id="opp-1", reason=reason)


def _update(
    amount: Decimal | None = None,
    close_date: date | None = None,
    next_step: str | None = None,
) -> UpdateOpportunity:
    return UpdateOpportunity(
        command_id=new_id(),
        opportunity_id="opp-1",
        amount=amount,
        close_date=close_date,
        next_step=next_step,
    )


def _activity(kind: ActivityKind = ActivityKind.CALL, occurred_at: datetime | None = None) -> LogActivity:
    return LogActivity(command_id=new_id(), opportunity_id="opp-1", kind=kind, occurred_at=occurred_at)


def test_open_starts_in_first_stage_with_its_probability() -> None:
    """A new deal enters the first open stage and takes its default probability."""
    result = applied(None, open_command(lead_id="lead-9"), T0)
    state = result.state
    assert (state.stage, state.probability, state.status) == (
        "qualification",
        Decimal("0.10"),
        OpportunityStatus.OPEN,
    )
    assert state.expected_revenue == Decimal("1000.00")
    assert state.lead_id == "lead-9"
    assert state.version == 1
    assert state.stage_history[0].entered_at == T0
    assert {"stage", "amount", "expected_revenue"} <= set(result.changed)


def test_open_in_a_named_stage() -> None:
    """A direct open may name a later open stage."""
    assert opened(stage="demo").probability == Decimal("0.40")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"amount": Decimal("-1")}, RejectReason.NEGATIVE_AMOUNT),
        ({"amount": Decimal("NaN")}, RejectReason.INVALID_AMOUNT),
        ({"currency": "euro"}, RejectReason.INVALID_CURRENCY),
        ({"stage": "signed"}, RejectReason.UNKNOWN_STAGE),
        ({"stage": "closed_won"}, RejectReason.ILLEGAL_TRANSITION),
        ({"pipeline": "renewals"}, RejectReason.UNKNOWN_PIPELINE),
    ],
)
def test_invalid_open_is_rejected(overrides: dict[str, object], reason: RejectReason) -> None:
    """An open with a bad amount, currency, stage or pipeline is rejected naming why."""
    assert rejected(None, open_command(**overrides), T0).reason is reason


def test_second_open_of_the_same_deal_is_a_duplicate_open() -> None:
    """Opening an existing deal with a new command id is rejected, state untouched."""
    state = opened()
    assert rejected(state, open_command(), T0).reason is RejectReason.DUPLICATE_OPEN


def test_commands_on_a_missing_deal_are_unknown_opportunity() -> None:
    """Anything but an open against no state names the unknown opportunity."""
    assert rejected(None, _stage("demo"), T0).reason is RejectReason.UNKNOWN_OPPORTUNITY
    other = ChangeStage(command_id=new_id(), opportunity_id="opp-2", stage="demo")
    assert rejected(opened(), other, T0).reason is RejectReason.UNKNOWN_OPPORTUNITY


def test_stage_change_forward_closes_previous_visit() -> None:
    """Moving on records the exit time and sets the new stage's probability."""
    result = applied(opened(), _stage("demo"), T0 + DAY)
    state = result.state
    assert state.stage == "demo" and state.probability == Decimal("0.40")
    assert state.expected_revenue == Decimal("4000.00")
    assert [(v.stage, v.entered_at, v.exited_at) for v in state.stage_history] == [
        ("qualification", T0, T0 + DAY),
        ("demo", T0 + DAY, None),
    ]
    assert set(result.changed) == {
        "stage",
        "probability",
        "stage_history",
        "expected_revenue",
    }
    assert state.version == 2


def test_moving_backwards_is_allowed_and_recorded() -> None:
    """A deal can go back a stage; history keeps both visits of the stage."""
    state = applied(opened(), _stage("proposal"), T0 + DAY).state
    state = applied(state, _stage("discovery"), T0 + 2 * DAY).state
    assert state.stage == "discovery" and state.probability == Decimal("0.20")
    assert [v.stage for v in state.stage_history] == [
        "qualification",
        "proposal",
        "discovery",
    ]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("qualification", RejectReason.ILLEGAL_TRANSITION),
        ("closed_won", RejectReason.ILLEGAL_TRANSITION),
        ("closed_lost", RejectReason.ILLEGAL_TRANSITION),
        ("contract", RejectReason.UNKNOWN_STAGE),
    ],
)
def test_illegal_stage_changes(target: str, reason: RejectReason) -> None:
    """Same stage, a closed stage (needs a close command), an unknown stage: refused."""
    assert rejected(opened(), _stage(target), T0).reason is reason


def test_close_won_sets_probability_one_and_final_amount() -> None:
    """Closing won enters the won stage, takes the final amount and stamps closed_at."""
    state = applied(opened(), _won(Decimal("12500")), T0 + DAY).state
    assert (state.status, state.stage, state.probability) == (
        OpportunityStatus.WON,
        "closed_won",
        Decimal("1"),
    )
    assert state.amount == Decimal("12500") and state.expected_revenue == Decimal("12500.00")
    assert state.closed_at == T0 + DAY


def test_close_lost_needs_a_configured_reason() -> None:
    """An unknown lost reason is refused; a known one closes with probability zero."""
    state = opened()
    assert rejected(state, _lost("bad vibes"), T0).reason is RejectReason.UNKNOWN_LOST_REASON
    lost = applied(state, _lost("competitor"), T0 + DAY).state
    assert (lost.status, lost.lost_reason, lost.expected_revenue) == (
        OpportunityStatus.LOST,
        "competitor",
        Decimal("0.00"),
    )


@pytest.mark.parametrize(
    "command",
    [
        _stage("demo"),
        _update(amount=Decimal("1")),
        _activity(),
        _won(),
        _lost(),
    ],
)
def test_closed_deal_cannot_be_edited(command: Command) -> None:
    """Every edit of a closed deal is rejected until it is reopened."""
    closed = applied(opened(), _won(), T0 + DAY).state
    assert rejected(closed, command, T0 + 2 * DAY).reason is RejectReason.CLOSED_DEAL_EDITED


def test_reopen_returns_to_last_open_stage() -> None:
    """Reopen without a stage goes back to where the deal was before it closed."""
    state = applied(opened(), _stage("negotiation"), T0 + DAY).state
    state = applied(state, _lost(), T0 + 2 * DAY).state
    reopened = applied(state, Reopen(command_id=new_id(), opportunity_id="opp-1"), T0 + 3 * DAY).state
    assert (reopened.status, reopened.stage, reopened.probability) == (
        OpportunityStatus.OPEN,
        "negotiation",
        Decimal("0.80"),
    )
    assert reopened.lost_reason is None and reopened.closed_at is None
    assert [v.stage for v in reopened.stage_history][-2:] == [
        "closed_lost",
        "negotiation",
    ]


def test_reopen_at_a_named_stage_and_only_when_closed() -> None:
    """Reopen may name an open stage; an open deal cannot be reopened."""
    state = opened()
    reopen = Reopen(command_id=new_id(), opportunity_id="opp-1", stage="demo")
    assert rejected(state, reopen, T0).reason is RejectReason.ILLEGAL_TRANSITION
    closed = applied(state, _won(), T0 + DAY).state
    assert applied(closed, reopen, T0 + 2 * DAY).state.stage == "demo"
    to_closed = Reopen(command_id=new_id(), opportunity_id="opp-1", stage="closed_lost")
    assert rejected(closed, to_closed, T0).reason is RejectReason.ILLEGAL_TRANSITION


def test_update_changes_only_given_fields_and_counts_pushes() -> None:
    """A later close date is a push; an earlier one is not; omitted fields stay."""
    state = opened()
    pushed = applied(state, _update(close_date=date(2025, 7, 31)), T0).state
    assert pushed.push_count == 1 and pushed.amount == state.amount
    pulled = applied(pushed, _update(close_date=date(2025, 7, 1)), T0).state
    assert pulled.push_count == 1
    result = applied(pulled, _update(amount=Decimal("20000"), next_step="send MSA"), T0)
    assert set(result.changed) == {"amount", "next_step", "expected_revenue"}
    assert result.state.expected_revenue == Decimal("2000.00")
    assert result.state.close_date == date(2025, 7, 1)


def test_update_rejects_negative_and_empty() -> None:
    """A negative amount or an update with nothing in it changes nothing."""
    state = opened()
    assert rejected(state, _update(amount=Decimal("-0.01")), T0).reason is (RejectReason.NEGATIVE_AMOUNT)
    assert rejected(state, _update(), T0).reason is RejectReason.EMPTY_UPDATE


def test_update_to_same_values_changes_nothing_and_keeps_version() -> None:
    """An update that sets the values already there reports no change."""
    state = opened()
    result = applied(state, _update(amount=state.amount), T0 + DAY)
    assert result.changed == () and result.state.version == state.version
    assert result.state.updated_at == state.updated_at


def test_activity_counts_and_never_moves_last_activity_back() -> None:
    """Activities count up; a late, older activity keeps the newest time."""
    state = applied(opened(), _activity(ActivityKind.MEETING), T0 + DAY).state
    late = _activity(ActivityKind.EMAIL, occurred_at=T0 + DAY / 2)
    state = applied(state, late, T0 + 2 * DAY).state
    assert state.activity_count == 2 and state.last_activity_at == T0 + DAY


def test_redelivered_command_is_a_no_op() -> None:
    """Applying the same command id twice changes the state once."""
    command = _stage("demo")
    first = applied(opened(), command, T0 + DAY)
    again = applied(first.state, command, T0 + 2 * DAY)
    assert again.duplicate and again.changed == () and again.state == first.state
    activity = _activity()
    once = applied(first.state, activity, T0 + DAY).state
    assert applied(once, activity, T0 + DAY).state.activity_count == 1


def test_redelivered_open_is_a_no_op_not_a_duplicate_open() -> None:
    """A re-delivered open of an existing deal is recognised by its command id."""
    command = open_command()
    state = applied(None, command, T0).state
    assert applied(state, command, T0 + DAY).duplicate


def test_only_the_last_command_ids_are_kept() -> None:
    """The idempotency window holds the most recent REMEMBERED_COMMAND_IDS ids."""
    state = opened()
    first_id = state.applied_command_ids[0]
    for _ in range(REMEMBERED_COMMAND_IDS):
        state = applied(state, _activity(), T0).state
    assert len(state.applied_command_ids) == REMEMBERED_COMMAND_IDS
    assert first_id not in state.applied_command_ids


def test_rejection_leaves_state_untouched_and_unrecorded() -> None:
    """A rejected command applies nothing, so fixing and resending it works."""
    state = opened()
    bad = _update(amount=Decimal("-5"), next_step="call")
    rejected(state, bad, T0)
    assert state.next_step is None and bad.command_id not in state.applied_command_ids


def test_deal_on_a_pipeline_no_longer_configured_is_rejected() -> None:
    """A state whose pipeline differs from the one given is refused, not misread."""
    state = replace(opened(), pipeline="legacy")
    assert rejected(state, _stage("demo"), T0).reason is RejectReason.UNKNOWN_PIPELINE


def test_open_under_a_named_second_pipeline() -> None:
    """A deal opened under a non-default pipeline uses that pipeline's stages."""
    config = parse_pipelines(
        {
            "lost_reasons": ["price"],
            "default_pipeline": "b2b",
            "pipelines": [
                {"name": "b2b", "stages": _stages("q")},
                {"name": "renewal", "stages": _stages("renewal_review")},
            ],
        }
    )
    command = open_command(pipeline="renewal")
    result = apply_command(None, command, config.select(command.pipeline), T0)
    assert isinstance(result, Applied)
    assert (result.state.pipeline, result.state.stage) == ("renewal", "renewal_review")


def _stages(first: str) -> list[dict[str, object]]:
    open_stage = {"name": first, "order": 1, "probability": "0.5", "type": "open"}
    closed = {"forecast_category": "Closed"}
    return [
        open_stage | {"forecast_category": "Commit", "days_to_stall": 5},
        {"name": "won", "order": 2, "probability": "1", "type": "won"} | closed,
        {"name": "lost", "order": 3, "probability": "0", "type": "lost"} | closed,
    ]


def test_time_in_stage_sums_repeat_visits_up_to_now() -> None:
    """Both stays of a revisited stage add up; the current one counts up to now."""
    state = applied(opened(), _stage("demo"), T0 + 2 * DAY).state
    state = applied(state, _stage("qualification"), T0 + 5 * DAY).state
    assert time_in_stage(state, T0 + 6 * DAY) == {
        "qualification": 3 * DAY,
        "demo": 3 * DAY,
    }


def test_time_in_stage_never_negative_when_clock_lags() -> None:
    """A now earlier than the stage entry counts zero, not negative time."""
    state = applied(opened(), _stage("demo"), T0 + DAY).state
    assert time_in_stage(state, T0)["demo"] == timedelta(0)
