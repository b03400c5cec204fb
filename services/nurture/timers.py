"""Due-step timers: how a step is named in the timer set, when it may go out, what to (un)schedule.

Pure: the Redis sorted set lives in store.py; this module only computes members and instants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from services.nurture.caps import Cap, earliest_allowed
from services.nurture.schedule import SendWindow, next_in_window
from services.nurture.state import LeadEnrolments


@dataclass(frozen=True)
class DueStep:
    """One step of one enrolment, as a member of the timer set (the lead_id routes it)."""

    lead_id: str
    enrolment_id: str
    step_index: int

    @property
    def member(self) -> str:
        """The sorted-set member; the lead_id goes last because it may contain anything."""
        return f"{self.enrolment_id}:{self.step_index}:{self.lead_id}"

    @property
    def once_ref(self) -> str:
        """What guards the step's one send (its send-once key, its booking in a mailbox)."""
        return f"{self.enrolment_id}:{self.step_index}"

    @classmethod
    def parse(cls, member: str) -> DueStep:
        """Inverse of `member`; ValueError for a member not written by this module."""
        enrolment_id, step, lead_id = member.split(":", 2)
        return cls(lead_id, enrolment_id, int(step))


@dataclass(frozen=True)
class Timer:
    """A timer that is not a step: a meeting reminder or a task's due time (ref has no colon)."""

    kind: Literal["reminder", "task"]
    ref: str
    lead_id: str

    @property
    def member(self) -> str:
        return f"{self.kind}:{self.ref}:{self.lead_id}"


def parse_timer(member: str) -> DueStep | Timer:
    """A timer-set member as the step or timer it names; ValueError for one no module wrote.

    Enrolment ids start with "enr_", so the kind prefixes cannot be mistaken for a step.
    """
    kind, ref, lead_id = member.split(":", 2)
    if kind == "reminder":
        return Timer("reminder", ref, lead_id)
    if kind == "task":
        return Timer("task", ref, lead_id)
    return DueStep.parse(member)


@dataclass(frozen=True)
class TimerPlan:
    """What the timer set must hold for a lead: members to (re)schedule and members to drop."""

    schedule: dict[str, datetime]
    cancel: tuple[str, ...]


def plan_timers(state: LeadEnrolments) -> TimerPlan:
    """One timer per live enrolment at its next due time; ended enrolments keep none.

    Applying the plan after every change makes the timer set follow the table, so a timer
    lost or left behind by a crash is put right by the next change of the lead.
    """
    schedule: dict[str, datetime] = {}
    cancel: list[str] = []
    for e in state.enrolments:
        member = DueStep(e.lead_id, e.enrolment_id, e.step_index).member
        if e.is_live and e.next_due is not None:
            schedule[member] = e.next_due
        else:
            cancel.append(member)
    return TimerPlan(schedule, tuple(cancel))


def send_at(
    now: datetime, window: SendWindow, tz: ZoneInfo, history: Sequence[datetime], caps: Sequence[Cap]
) -> datetime:
    """The first instant at or after `now` inside the window and within the lead's caps.

    A step picked up late (after an outage, or held by a cap) never goes out after hours.
    """
    moment = next_in_window(now, window, tz)
    while True:
        allowed = earliest_allowed(moment, history, caps) if caps else moment
        if allowed == moment:
            return moment
        moment = next_in_window(allowed, window, tz)


def postpone(state: LeadEnrolments, enrolment_id: str, until: datetime) -> LeadEnrolments:
    """The state with one enrolment's next step moved to `until` (a cap or the window held it)."""
    moved = tuple(replace(e, next_due=until) if e.enrolment_id == enrolment_id else e for e in state.enrolments)
    return replace(state, enrolments=moved)
