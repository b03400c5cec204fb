"""The enrolment state machine: exclusivity, exits, pauses, step advance and serialisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.enrolment import (
    EXIT_SIGNALS,
    Signal,
    SignalKind,
    apply_signal,
    enrol,
    exit_enrolment,
    next_step,
    record_milestone,
    record_step,
    resume_due,
    step_skipped,
)
from services.nurture.schedule import in_window
from services.nurture.sequences import Sequence, load_shipped
from services.nurture.state import Enrolment, LeadEnrolments, enrolment_id

SEQUENCES = load_shipped()
REP = SEQUENCES["mql-follow-up"]
MARKETING = SEQUENCES["new-inbound-lead"]
COLD = SEQUENCES["re-engagement"]
TZ = ZoneInfo("America/New_York")
MONDAY = datetime(2025, 6, 2, 14, tzinfo=UTC)  # 10:00 in New York


def enrolled(*sequences: Sequence, at: datetime = MONDAY) -> LeadEnrolments:
    state = LeadEnrolments("lead-1")
    for sequence in sequences:
        state = enrol(state, sequence, at, TZ).state
    return state


def only(state: LeadEnrolments, sequence_id: str) -> Enrolment:
    [match] = [e for e in state.enrolments if e.sequence_id == sequence_id and e.is_live]
    return match


def test_enrol_schedules_first_step_inside_window() -> None:
    """Enrolment records the first step's due time, held to the send window."""
    transition = enrol(LeadEnrolments("lead-1"), REP, MONDAY, TZ)
    enrolment = transition.state.enrolments[0]
    assert [c.change for c in transition.changes] == ["enrolled"]
    assert enrolment.next_due == MONDAY + timedelta(hours=1)
    assert enrolment.enrolment_id == enrolment_id("lead-1", "mql-follow-up", 0)


def test_one_live_enrolment_per_sequence() -> None:
    """Enrolling twice in the same sequence is refused and changes nothing."""
    state = enrolled(MARKETING)
    transition = enrol(state, MARKETING, MONDAY, TZ)
    assert transition.rejected == "already_enrolled"
    assert transition.state == state and transition.changes == ()


def test_marketing_refused_while_in_rep_sequence() -> None:
    """A lead followed by a rep is not also put on a marketing track."""
    transition = enrol(enrolled(REP), COLD, MONDAY, TZ)
    assert transition.rejected == "in_rep_sequence"


def test_rep_sequence_takes_over_from_marketing() -> None:
    """Enrolling in a rep sequence ends live marketing enrolments with a reason."""
    transition = enrol(enrolled(MARKETING), REP, MONDAY, TZ)
    marketing = transition.state.enrolments[0]
    assert marketing.status == "exited" and marketing.exit_reason == "rep_sequence_started"
    assert [c.change for c in transition.changes] == ["exited", "enrolled"]


def test_re_enrolment_after_exit_starts_new_generation() -> None:
    """A lead can be re-enrolled once the earlier enrolment ended, under a new id."""
    state = enrolled(COLD)
    first = state.enrolments[0]
    state = exit_enrolment(state, first.enrolment_id, "manual", MONDAY).state
    second = enrol(state, COLD, MONDAY + timedelta(days=30), TZ).state.enrolments[-1]
    assert second.generation == 1 and second.enrolment_id != first.enrolment_id
    assert second.enrolment_id == enrolment_id("lead-1", "re-engagement", 1)


@pytest.mark.parametrize(
    "kind",
    [
        "email_reply",
        "meeting_booked",
        "unsubscribe",
        "spam_complaint",
        "opportunity_opened",
    ],
)
def test_exit_signals_end_every_track(kind: str) -> None:
    """Replies, meetings, unsubscribes, complaints and opportunities end the enrolment."""
    state = enrolled(REP)
    transition = apply_signal(state, Signal(kind), MONDAY, SEQUENCES, TZ)  # type: ignore[arg-type]
    enrolment = transition.state.enrolments[0]
    assert enrolment.status == "exited" and enrolment.exit_reason == kind
    assert enrolment.next_due is None and enrolment.ended_at == MONDAY


def test_demo_request_ends_only_marketing_tracks() -> None:
    """A demo request is a marketing goal; a rep keeps following up."""
    marketing = apply_signal(enrolled(MARKETING), Signal("demo_request"), MONDAY, SEQUENCES, TZ)
    rep = apply_signal(enrolled(REP), Signal("demo_request"), MONDAY, SEQUENCES, TZ)
    assert marketing.state.enrolments[0].status == "exited"
    assert rep.state.enrolments[0].status == "active" and rep.changes == ()


def test_reassignment_ends_rep_sequence() -> None:
    """A re-assigned lead stops getting the previous rep's emails."""
    transition = apply_signal(enrolled(REP), Signal("lead_reassigned"), MONDAY, SEQUENCES, TZ)
    assert transition.state.enrolments[0].exit_reason == "lead_reassigned"


def test_only_hard_bounces_exit() -> None:
    """A soft bounce changes nothing; a hard bounce ends the enrolment."""
    state = enrolled(REP)
    assert apply_signal(state, Signal("email_bounce"), MONDAY, SEQUENCES, TZ).state == state
    hard = apply_signal(state, Signal("email_bounce", hard=True), MONDAY, SEQUENCES, TZ)
    assert hard.state.enrolments[0].status == "exited"


def test_out_of_office_pauses_until_return_then_resumes() -> None:
    """An out-of-office reply pauses until the return date, then the next step is due in the window."""
    back = datetime(2025, 6, 14, 12, tzinfo=UTC)  # a Saturday
    paused = apply_signal(
        enrolled(REP),
        Signal("email_reply", out_of_office_until=back),
        MONDAY,
        SEQUENCES,
        TZ,
    )
    enrolment = paused.state.enrolments[0]
    assert enrolment.status == "paused" and [c.reason for c in paused.changes] == ["out_of_office"]
    assert enrolment.next_due == datetime(2025, 6, 16, 13, tzinfo=UTC)  # Monday 09:00 New York
    assert next_step(enrolment, REP, enrolment.next_due) is None
    assert resume_due(paused.state, back - timedelta(seconds=1)).changes == ()
    resumed = resume_due(paused.state, back).state.enrolments[0]
    assert resumed.status == "active" and resumed.next_due is not None
    assert next_step(resumed, REP, resumed.next_due) == REP.steps[0]


def test_record_step_advances_and_shifts_from_actual_send() -> None:
    """The next step is due its delay after the step actually went out."""
    state = enrolled(REP)
    first = state.enrolments[0]
    sent_late = datetime(2025, 6, 3, 19, tzinfo=UTC)  # Tuesday 15:00 New York
    transition = record_step(state, first.enrolment_id, 0, REP, sent_late, TZ)
    after = transition.state.enrolments[0]
    assert after.step_index == 1 and after.next_due == datetime(2025, 6, 4, 19, tzinfo=UTC)
    assert [c.change for c in transition.changes] == ["step_sent"]


def test_record_step_is_idempotent() -> None:
    """A redelivered step record changes nothing the second time."""
    state = enrolled(REP)
    eid = state.enrolments[0].enrolment_id
    once = record_step(state, eid, 0, REP, MONDAY, TZ).state
    twice = record_step(once, eid, 0, REP, MONDAY, TZ)
    assert twice.state == once and twice.rejected == "stale_step"


def test_last_step_completes_the_enrolment() -> None:
    """After the last step the enrolment is completed and yields nothing more."""
    state = enrolled(COLD)
    eid = state.enrolments[0].enrolment_id
    for index in range(len(COLD.steps)):
        state = record_step(state, eid, index, COLD, MONDAY + timedelta(days=index), TZ).state
    enrolment = state.enrolments[0]
    assert enrolment.status == "completed" and enrolment.next_due is None
    assert next_step(enrolment, COLD, MONDAY + timedelta(days=365)) is None


def test_reached_milestone_skips_its_overdue_task() -> None:
    """An onboarding task for a milestone already reached is skipped, not sent."""
    onboarding = SEQUENCES["onboarding"]
    state = record_milestone(enrolled(onboarding), "kickoff_booked", MONDAY).state
    enrolment = state.enrolments[0]
    assert enrolment.milestones == ("kickoff_booked",)
    assert step_skipped(onboarding.steps[1], enrolment)
    assert not step_skipped(onboarding.steps[3], enrolment)
    state = record_step(state, enrolment.enrolment_id, 0, onboarding, MONDAY, TZ).state
    transition = record_step(state, enrolment.enrolment_id, 1, onboarding, MONDAY + timedelta(days=3), TZ)
    assert [c.change for c in transition.changes] == ["step_skipped"]


def test_every_signal_kind_has_an_exit_rule() -> None:
    """The exit table covers the eight exit events named by the product issue."""
    assert set(EXIT_SIGNALS) == {
        "email_reply",
        "meeting_booked",
        "demo_request",
        "unsubscribe",
        "email_bounce",
        "spam_complaint",
        "opportunity_opened",
        "lead_reassigned",
    }


utc_instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2027, 1, 1),
    timezones=st.just(UTC),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("step"), st.integers(0, 5)),
        st.tuples(st.just("signal"), st.sampled_from(sorted(EXIT_SIGNALS))),
        st.tuples(st.just("ooo"), st.integers(1, 20)),
        st.tuples(st.just("resume"), st.just(0)),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(utc_instants, st.sampled_from(sorted(SEQUENCES)), actions)
def test_exited_enrolment_never_yields_another_step(
    start: datetime, sequence_id: str, steps: list[tuple[str, object]]
) -> None:
    """Once exited, no later action brings back a step, and due steps stay in the window."""
    sequence = SEQUENCES[sequence_id]
    state = enrol(LeadEnrolments("lead-1"), sequence, start, TZ).state
    eid = state.enrolments[0].enrolment_id
    now, exited = start, False
    for action, arg in steps:
        now += timedelta(hours=7)
        current = state.enrolments[0]
        if action == "step":
            state = record_step(
                state,
                eid,
                current.step_index,
                sequence,
                max(now, current.next_due or now),
                TZ,
            ).state
        elif action == "signal":
            signal = Signal(cast(SignalKind, arg), hard=True)
            state = apply_signal(state, signal, now, SEQUENCES, TZ).state
        elif action == "ooo":
            until = now + timedelta(days=int(str(arg)))
            state = apply_signal(
                state,
                Signal("email_reply", out_of_office_until=until),
                now,
                SEQUENCES,
                TZ,
            ).state
        else:
            state = resume_due(state, now + timedelta(days=30)).state
        enrolment = state.enrolments[0]
        exited = exited or enrolment.status == "exited"
        if exited:
            assert enrolment.status == "exited" and enrolment.next_due is None
            assert next_step(enrolment, sequence, now + timedelta(days=3650)) is None
        elif enrolment.next_due is not None:
            assert in_window(enrolment.next_due, sequence.window, TZ)
    assert LeadEnrolments.from_dict(state.to_dict()) == state


enrolments = st.builds(
    Enrolment,
    enrolment_id=st.text(min_size=1, max_size=10),
    lead_id=st.text(min_size=1, max_size=10),
    sequence_id=st.text(min_size=1, max_size=10),
    kind=st.sampled_from(["rep", "marketing"]),
    generation=st.integers(0, 100),
    status=st.sampled_from(["active", "paused", "exited", "completed"]),
    step_index=st.integers(0, 20),
    enrolled_at=utc_instants,
    next_due=st.none() | utc_instants,
    paused_until=st.none() | utc_instants,
    exit_reason=st.none() | st.text(max_size=20),
    ended_at=st.none() | utc_instants,
    milestones=st.lists(st.text(max_size=8), max_size=3).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=10), st.lists(enrolments, max_size=4))
def test_state_round_trips_through_plain_dicts(lead_id: str, items: list[Enrolment]) -> None:
    """from_dict(to_dict(x)) == x and the dict form is stable, for every state."""
    state = LeadEnrolments(lead_id, tuple(items))
    raw = state.to_dict()
    assert LeadEnrolments.from_dict(raw) == state
    assert LeadEnrolments.from_dict(raw).to_dict() == raw


def test_round_trip_normalises_zones_to_utc() -> None:
    """An instant in a local zone comes back as the same instant in UTC."""
    local = datetime(2025, 11, 2, 1, 30, fold=1, tzinfo=TZ)
    state = enrolled(REP, at=local)
    restored = LeadEnrolments.from_dict(state.to_dict())
    assert restored == state
    assert restored.enrolments[0].enrolled_at == local.astimezone(UTC)
    assert restored.enrolments[0].enrolled_at.tzinfo == UTC


def test_enrolment_ids_are_deterministic_and_distinct() -> None:
    """Ids depend on lead, sequence and generation only."""
    assert enrolment_id("a", "s", 0) == enrolment_id("a", "s", 0)
    assert (
        len(
            {
                enrolment_id("a", "s", 0),
                enrolment_id("a", "s", 1),
                enrolment_id("b", "s", 0),
            }
        )
        == 3
    )
