"""The enrolment state machine: enrol with exclusivity, exit or pause on signals, advance steps.

Pure transitions over LeadEnrolments; every call returns the new state and what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from services.nurture.schedule import due_time, next_in_window
from services.nurture.sequences import Sequence, SequenceKind, Step
from services.nurture.state import Change, Enrolment, EnrolmentChanged, LeadEnrolments
from services.nurture.state import enrolment_id as derive_enrolment_id

SignalKind = Literal[
    "email_reply",
    "meeting_booked",
    "demo_request",
    "unsubscribe",
    "email_bounce",
    "spam_complaint",
    "opportunity_opened",
    "lead_reassigned",
]

_BOTH: frozenset[SequenceKind] = frozenset({"rep", "marketing"})
# Which tracks each signal ends. A demo request is the goal of a marketing track but a
# rep still follows up; a re-assignment ends only the sequence sent as the previous rep.
EXIT_SIGNALS: Mapping[str, frozenset[SequenceKind]] = {
    "email_reply": _BOTH,
    "meeting_booked": _BOTH,
    "demo_request": frozenset({"marketing"}),
    "unsubscribe": _BOTH,
    "email_bounce": _BOTH,
    "spam_complaint": _BOTH,
    "opportunity_opened": _BOTH,
    "lead_reassigned": frozenset({"rep"}),
}


@dataclass(frozen=True)
class Signal:
    """A lead's engagement or lifecycle event, reduced to what the state machine needs.

    `hard` matters only for email_bounce (a soft bounce changes nothing);
    `out_of_office_until` turns an email_reply into a pause until that instant.
    """

    kind: SignalKind
    hard: bool = False
    out_of_office_until: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """The lead's new state and the changes to publish; `rejected` says why nothing happened."""

    state: LeadEnrolments
    changes: tuple[EnrolmentChanged, ...] = ()
    rejected: str | None = None


def _changed(e: Enrolment, change: Change, at: datetime, reason: str | None = None) -> EnrolmentChanged:
    return EnrolmentChanged(e.enrolment_id, e.lead_id, e.sequence_id, change, at, e.step_index, reason)


def _update(
    state: LeadEnrolments, update: Callable[[Enrolment], Enrolment | None]
) -> tuple[LeadEnrolments, list[Enrolment]]:
    """Apply `update` to each enrolment; it returns None to leave one unchanged."""
    touched: list[Enrolment] = []
    new: list[Enrolment] = []
    for enrolment in state.enrolments:
        updated = update(enrolment)
        new.append(updated or enrolment)
        touched.extend([updated] if updated else [])
    return replace(state, enrolments=tuple(new)), touched


def _exit(
    state: LeadEnrolments,
    match: Callable[[Enrolment], bool],
    reason: str,
    now: datetime,
) -> Transition:
    def end(e: Enrolment) -> Enrolment | None:
        if not (e.is_live and match(e)):
            return None
        return replace(
            e,
            status="exited",
            exit_reason=reason,
            ended_at=now,
            next_due=None,
            paused_until=None,
        )

    new_state, ended = _update(state, end)
    return Transition(new_state, tuple(_changed(e, "exited", now, reason) for e in ended))


def enrol(state: LeadEnrolments, sequence: Sequence, now: datetime, tz: ZoneInfo) -> Transition:
    """Enrol the lead, keeping one live enrolment per sequence and rep/marketing exclusivity.

    A rep sequence takes over: it ends live marketing enrolments. A marketing enrolment is
    refused while a rep sequence is live. Re-enrolling after an end starts a new generation.
    """
    live = state.live()
    if any(e.sequence_id == sequence.sequence_id for e in live):
        return Transition(state, rejected="already_enrolled")
    if sequence.kind == "marketing" and any(e.kind == "rep" for e in live):
        return Transition(state, rejected="in_rep_sequence")
    handover = _exit(
        state,
        lambda e: e.kind == "marketing" and sequence.kind == "rep",
        "rep_sequence_started",
        now,
    )
    generation = sum(e.sequence_id == sequence.sequence_id for e in state.enrolments)
    enrolment = Enrolment(
        derive_enrolment_id(state.lead_id, sequence.sequence_id, generation),
        state.lead_id,
        sequence.sequence_id,
        sequence.kind,
        generation,
        "active",
        0,
        now,
        due_time(now, sequence.steps[0].delay, sequence.window, tz),
    )
    new_state = replace(handover.state, enrolments=(*handover.state.enrolments, enrolment))
    return Transition(new_state, (*handover.changes, _changed(enrolment, "enrolled", now)))


def _pause(
    state: LeadEnrolments,
    until: datetime,
    now: datetime,
    sequences: Mapping[str, Sequence],
    tz: ZoneInfo,
) -> Transition:
    def pause(e: Enrolment) -> Enrolment | None:
        if not e.is_live or e.next_due is None:
            return None
        due = next_in_window(max(e.next_due, until), sequences[e.sequence_id].window, tz)
        return replace(e, status="paused", paused_until=until, next_due=due)

    new_state, paused = _update(state, pause)
    return Transition(new_state, tuple(_changed(e, "paused", now, "out_of_office") for e in paused))


def apply_signal(
    state: LeadEnrolments,
    signal: Signal,
    now: datetime,
    sequences: Mapping[str, Sequence],
    tz: ZoneInfo,
) -> Transition:
    """End (or, for an out-of-office reply, pause) the live enrolments the signal concerns."""
    if signal.kind == "email_reply" and signal.out_of_office_until is not None:
        return _pause(state, signal.out_of_office_until, now, sequences, tz)
    if signal.kind == "email_bounce" and not signal.hard:
        return Transition(state)
    kinds = EXIT_SIGNALS[signal.kind]
    return _exit(state, lambda e: e.kind in kinds, signal.kind, now)


def exit_enrolment(state: LeadEnrolments, enrolment_id: str, reason: str, now: datetime) -> Transition:
    """End one enrolment by id (a manual exit, a colleague's reply); a no-op if it already ended."""
    return _exit(state, lambda e: e.enrolment_id == enrolment_id, reason, now)


def resume_due(state: LeadEnrolments, now: datetime) -> Transition:
    """Make paused enrolments whose return date has passed active again."""

    def resume(e: Enrolment) -> Enrolment | None:
        due = e.status == "paused" and e.paused_until is not None and e.paused_until <= now
        return replace(e, status="active", paused_until=None) if due else None

    new_state, resumed = _update(state, resume)
    return Transition(new_state, tuple(_changed(e, "resumed", now) for e in resumed))


def record_milestone(state: LeadEnrolments, milestone: str, now: datetime) -> Transition:
    """Note a milestone reached (e.g. kickoff_booked) on the live enrolments, once each."""

    def note(e: Enrolment) -> Enrolment | None:
        return (
            replace(e, milestones=(*e.milestones, milestone)) if e.is_live and milestone not in e.milestones else None
        )

    return Transition(_update(state, note)[0])


def next_step(enrolment: Enrolment, sequence: Sequence, now: datetime) -> Step | None:
    """The step to act on now, or None: only an active enrolment whose step is due yields one."""
    due = enrolment.next_due is not None and enrolment.next_due <= now
    in_range = enrolment.step_index < len(sequence.steps)
    return sequence.steps[enrolment.step_index] if enrolment.status == "active" and due and in_range else None


def step_skipped(step: Step, enrolment: Enrolment) -> bool:
    """A milestone step is skipped once its milestone was reached (no overdue task needed)."""
    return step.unless_milestone is not None and step.unless_milestone in enrolment.milestones


def record_step(
    state: LeadEnrolments,
    enrolment_id: str,
    step_index: int,
    sequence: Sequence,
    done_at: datetime,
    tz: ZoneInfo,
) -> Transition:
    """Record that step `step_index` was sent (or skipped) at `done_at`, and schedule the next.

    Idempotent under redelivery: a step other than the enrolment's current one, or an
    enrolment no longer active, changes nothing. The next step is due its delay after
    `done_at`, so a late step shifts the ones after it.
    """
    current = state.get(enrolment_id)
    if current is None or current.status != "active" or current.step_index != step_index:
        return Transition(state, rejected="stale_step")
    done = sequence.steps[step_index]
    change: Change = "step_skipped" if step_skipped(done, current) else "step_sent"
    following = step_index + 1
    if following == len(sequence.steps):
        updated = replace(
            current,
            status="completed",
            step_index=following,
            next_due=None,
            ended_at=done_at,
        )
    else:
        due = due_time(done_at, sequence.steps[following].delay, sequence.window, tz)
        updated = replace(current, step_index=following, next_due=due)
    new_state, _ = _update(state, lambda e: updated if e.enrolment_id == enrolment_id else None)
    changes = [_changed(current, change, done_at)]
    changes += [_changed(updated, "completed", done_at)] if updated.status == "completed" else []
    return Transition(new_state, tuple(changes))
