"""Hypothesis invariants over arbitrary command sequences on the default pipeline."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.opportunity.commands import (
    ActivityKind,
    ChangeStage,
    CloseLost,
    CloseWon,
    Command,
    LogActivity,
    OpenOpportunity,
    Reopen,
    UpdateOpportunity,
)
from services.opportunity.domain import Applied, apply_command
from services.opportunity.serialization import (
    opportunity_from_dict,
    opportunity_to_dict,
)
from services.opportunity.state import Opportunity, OpportunityStatus, time_in_stage
from services.opportunity.tests.builders import PIPELINE, T0

STAGES = [s.name for s in PIPELINE.stages] + ["no_such_stage"]
REASONS = [*PIPELINE.lost_reasons, "no_such_reason"]

ids = st.sampled_from([f"c{i}" for i in range(12)])  # a small pool forces re-deliveries
opp_ids = st.sampled_from(["opp-1", "opp-1", "opp-1", "opp-2"])
amounts = st.one_of(
    st.decimals(min_value=-1000, max_value=10**7, places=2),
    st.sampled_from([Decimal(v) for v in ("NaN", "-Infinity", "0", "-0.01", "-1")]),
)
close_dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))
maybe = st.none

commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(
        OpenOpportunity,
        command_id=ids,
        opportunity_id=opp_ids,
        account_id=st.just("acct-1"),
        amount=amounts,
        currency=st.sampled_from(["EUR", "USD", "eur"]),
        close_date=close_dates,
        owner_id=st.just("rep-1"),
        stage=maybe() | st.sampled_from(STAGES),
    ),
    st.builds(
        ChangeStage,
        command_id=ids,
        opportunity_id=opp_ids,
        stage=st.sampled_from(STAGES),
    ),
    st.builds(
        UpdateOpportunity,
        command_id=ids,
        opportunity_id=opp_ids,
        amount=maybe() | amounts,
        close_date=maybe() | close_dates,
        next_step=maybe() | st.sampled_from(["", "demo", "send MSA"]),
    ),
    st.builds(
        LogActivity,
        command_id=ids,
        opportunity_id=opp_ids,
        kind=st.sampled_from(ActivityKind),
    ),
    st.builds(CloseWon, command_id=ids, opportunity_id=opp_ids, amount=maybe() | amounts),
    st.builds(
        CloseLost,
        command_id=ids,
        opportunity_id=opp_ids,
        reason=st.sampled_from(REASONS),
    ),
    st.builds(
        Reopen,
        command_id=ids,
        opportunity_id=opp_ids,
        stage=maybe() | st.sampled_from(STAGES),
    ),
)
valid_open = st.builds(
    OpenOpportunity,
    command_id=st.just("open-1"),
    opportunity_id=st.just("opp-1"),
    account_id=st.just("acct-1"),
    amount=st.decimals(min_value=0, max_value=10**7, places=2),
    currency=st.just("EUR"),
    close_date=close_dates,
    owner_id=st.just("rep-1"),
)
delays = st.integers(min_value=0, max_value=30 * 24 * 60)  # minutes between commands
# Start with a valid open so later commands meet a live deal (bad opens come later).
steps = st.builds(
    lambda first, rest: [first, *rest],
    st.tuples(valid_open, delays),
    st.lists(st.tuples(commands, delays), max_size=40),
)


def _run(
    sequence: list[tuple[Command, int]],
) -> list[tuple[Opportunity | None, Command, Opportunity | None, datetime]]:
    """Apply the sequence; return (before, command, after, now) for every step."""
    state: Opportunity | None = None
    now = T0
    trace = []
    for command, minutes in sequence:
        now += timedelta(minutes=minutes)
        result = apply_command(state, command, PIPELINE, now)
        after = result.state if isinstance(result, Applied) else state
        trace.append((state, command, after, now))
        state = after
    return trace


@settings(max_examples=150, deadline=None)
@given(steps)
def test_amount_and_probability_stay_in_range(
    sequence: list[tuple[Command, int]],
) -> None:
    """No sequence gives a negative or non-finite amount or probability outside 0..1."""
    for _, _, state, _ in _run(sequence):
        if state is not None:
            assert state.amount.is_finite() and state.amount >= 0
            assert Decimal(0) <= state.probability <= Decimal(1)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_expected_revenue_is_amount_times_probability(
    sequence: list[tuple[Command, int]],
) -> None:
    """Expected revenue is always amount * probability rounded to cents."""
    for _, _, state, _ in _run(sequence):
        if state is not None:
            exact = state.amount * state.probability
            assert state.expected_revenue == exact.quantize(Decimal("0.01"), ROUND_HALF_UP)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_closed_deal_changes_only_by_reopen(
    sequence: list[tuple[Command, int]],
) -> None:
    """A won or lost deal is left exactly as it was by every command but Reopen."""
    for before, command, after, _ in _run(sequence):
        if before is not None and not before.is_open and not isinstance(command, Reopen):
            assert after == before


@settings(max_examples=150, deadline=None)
@given(steps)
def test_state_is_coherent_after_every_step(
    sequence: list[tuple[Command, int]],
) -> None:
    """Stage, status and history agree, and versions count visible changes."""
    for before, _, after, now in _run(sequence):
        if after is None:
            continue
        history = after.stage_history
        assert history[-1].stage == after.stage and history[-1].exited_at is None
        assert all(a.exited_at == b.entered_at for a, b in itertools.pairwise(history))
        stage = PIPELINE.stage(after.stage)
        assert stage is not None and stage.type.value == after.status.value
        assert (after.status is OpportunityStatus.LOST) == (after.lost_reason is not None)
        assert sum(time_in_stage(after, now).values(), timedelta()) == now - after.created_at
        if before is not None:
            assert after.version - before.version in (0, 1)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_serialisation_round_trips_every_state(
    sequence: list[tuple[Command, int]],
) -> None:
    """Every reachable state survives to_dict/from_dict unchanged."""
    for _, _, state, _ in _run(sequence):
        if state is not None:
            assert opportunity_from_dict(opportunity_to_dict(state)) == state


@settings(max_examples=100, deadline=None)
@given(steps, st.data())
def test_replaying_an_applied_command_changes_nothing(sequence: list[tuple[Command, int]], data: st.DataObject) -> None:
    """Re-delivering any command already applied leaves the state as it is."""
    trace = _run(sequence)
    state = trace[-1][2] if trace else None
    if state is None or not state.applied_command_ids:
        return
    done = [c for _, c, after, _ in trace if after and c.command_id in state.applied_command_ids]
    replay = data.draw(st.sampled_from(done))
    result = apply_command(state, replay, PIPELINE, trace[-1][3] + timedelta(days=1))
    assert isinstance(result, Applied) and result.duplicate and result.state == state
