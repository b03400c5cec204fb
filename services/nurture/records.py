"""The values nurture produces, as the dicts the Avro codec encodes, with derived event ids.

Pure: every event id is derived from the input's event id, so a replay dedupes downstream.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from services.nurture.sequences import Sequence, Step
from services.nurture.state import EnrolmentChanged
from services.nurture.timers import DueStep


def derive_id(*parts: object) -> str:
    """A stable id from its parts: the same inputs always give the same id."""
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:32]


def task_id_for(enrolment_id: str, step_index: int) -> str:
    """The id of the task a task step creates: stable per enrolment and step."""
    return f"task_{derive_id('task', enrolment_id, step_index)[:24]}"


def enrolment_changed(change: EnrolmentChanged, cause_event_id: str) -> dict[str, Any]:
    """An EnrolmentChanged record for one change caused by the input event `cause_event_id`."""
    return {
        "event_id": derive_id(cause_event_id, change.enrolment_id, change.change, change.step_index),
        "occurred_at": change.at,
        "enrolment_id": change.enrolment_id,
        "lead_id": change.lead_id,
        "sequence_id": change.sequence_id,
        "change": change.change,
        "step_index": change.step_index,
        "reason": change.reason,
    }


def step_due(due: DueStep, due_at: datetime, now: datetime) -> dict[str, Any]:
    """A StepDue record; its id names the step, so every firing of one timer has the same id."""
    return {
        "event_id": f"due:{due.enrolment_id}:{due.step_index}",
        "occurred_at": now,
        "lead_id": due.lead_id,
        "enrolment_id": due.enrolment_id,
        "step_index": due.step_index,
        "due_at": due_at,
    }


@dataclass(frozen=True)
class Delivery:
    """One email that went out (or, after a crash mid-send, may have): what EmailSent records."""

    lead_id: str
    enrolment_id: str
    step_index: int
    variant: str
    message_id: str
    sender: str
    recipient: str
    subject: str
    outcome: str


def email_sent(delivery: Delivery, sequence: Sequence, at: datetime) -> dict[str, Any]:
    """An EmailSent record; one id per enrolment and step however often it is recorded."""
    step = sequence.steps[delivery.step_index]
    return {
        "event_id": derive_id("email", delivery.enrolment_id, delivery.step_index),
        "occurred_at": at,
        "lead_id": delivery.lead_id,
        "enrolment_id": delivery.enrolment_id,
        "sequence_id": sequence.sequence_id,
        "sequence_kind": sequence.kind,
        "step_id": step.step_id,
        "step_index": delivery.step_index,
        "template": f"{sequence.sequence_id}/{step.step_id}",
        "variant": delivery.variant,
        "message_id": delivery.message_id,
        "sender": delivery.sender,
        "recipient": delivery.recipient,
        "subject": delivery.subject,
        "outcome": delivery.outcome,
    }


def task_created(
    due: DueStep,
    sequence: Sequence,
    step: Step,
    rep_id: str | None,
    instructions: str,
    at: datetime,
    due_after: timedelta = timedelta(0),
) -> dict[str, Any]:
    """A TaskCreated record for a task step, due `due_after` after `at`; the task id is stable per
    enrolment and step."""
    task_id = task_id_for(due.enrolment_id, due.step_index)
    return {
        "event_id": derive_id("task-created", task_id),
        "occurred_at": at,
        "task_id": task_id,
        "lead_id": due.lead_id,
        "rep_id": rep_id,
        "kind": step.task_kind or "call",
        "due_at": at + due_after,
        "instructions": instructions,
        "enrolment_id": due.enrolment_id,
        "sequence_id": sequence.sequence_id,
        "step_id": step.step_id,
    }


def unsubscribe_event(lead_id: str, token: str, at: datetime) -> dict[str, Any]:
    """The EngagementEvent a one-click unsubscribe emits; one id per token, so clicks dedupe."""
    return {
        "event_id": f"unsub-{derive_id('unsubscribe', token)}",
        "occurred_at": at,
        "lead_id": lead_id,
        "email": None,
        "type": "unsubscribe",
        "url": None,
        "campaign": None,
        "attributes": {"channel": "one_click"},
    }


CommandKind = Literal["enrol", "exit", "reengage", "reminder"]


@dataclass(frozen=True)
class Command:
    """A command for one lead's partition; `cause` is the event id (or request id) it came from."""

    kind: CommandKind
    lead_id: str
    cause: str
    sequence_id: str | None = None
    enrolment_id: str = ""
    reason: str | None = None
    ref: str | None = None


def command_record(command: Command, at: datetime) -> dict[str, Any]:
    """The StepDue record carrying a command; its id derives from the cause and what it asks."""
    target = command.sequence_id or command.enrolment_id or command.ref or ""
    return {
        "event_id": f"cmd-{derive_id(command.kind, command.cause, command.lead_id, target)}",
        "occurred_at": at,
        "lead_id": command.lead_id,
        "enrolment_id": command.enrolment_id,
        "step_index": -1,
        "due_at": at,
        "command": {
            "kind": command.kind,
            "sequence_id": command.sequence_id,
            "reason": command.reason,
            "ref": command.ref,
        },
    }


def command_from_record(value: dict[str, Any]) -> Command:
    """Inverse of command_record (the cause is the record's own event id)."""
    raw = value["command"]
    return Command(
        raw["kind"],
        value["lead_id"],
        value["event_id"],
        raw["sequence_id"],
        value["enrolment_id"],
        raw["reason"],
        raw["ref"],
    )


def task_overdue(task: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A TaskOverdue record for a stored TaskCreated value; one id per task, however often raised."""
    due_at = task["due_at"] if isinstance(task["due_at"], datetime) else datetime.fromisoformat(task["due_at"])
    return {
        "event_id": derive_id("task-overdue", task["task_id"]),
        "occurred_at": now,
        "task_id": task["task_id"],
        "lead_id": task["lead_id"],
        "rep_id": task["rep_id"],
        "kind": task["kind"],
        "due_at": due_at,
        "overdue_seconds": max(0, int((now - due_at).total_seconds())),
    }


@dataclass(frozen=True)
class MeetingDelivery:
    """One meeting email that went out: `mail` is confirmation, update, cancellation or reminder."""

    lead_id: str
    meeting_id: str
    mail: str
    once_ref: str
    message_id: str
    sender: str
    recipient: str
    subject: str
    outcome: str


def meeting_email_sent(delivery: MeetingDelivery, at: datetime) -> dict[str, Any]:
    """The EmailSent record of a meeting email: sequence "meeting", step the kind of mail."""
    return {
        "event_id": derive_id("meeting-email", delivery.once_ref),
        "occurred_at": at,
        "lead_id": delivery.lead_id,
        "enrolment_id": delivery.meeting_id,
        "sequence_id": "meeting",
        "sequence_kind": "rep",
        "step_id": delivery.mail,
        "step_index": 0,
        "template": f"meeting/{delivery.mail}",
        "variant": "default",
        "message_id": delivery.message_id,
        "sender": delivery.sender,
        "recipient": delivery.recipient,
        "subject": delivery.subject,
        "outcome": delivery.outcome,
    }
