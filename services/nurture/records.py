"""The values nurture produces, as the dicts the Avro codec encodes, with derived event ids.

Pure: every event id is derived from the input's event id, so a replay dedupes downstream.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.nurture.sequences import Sequence, Step
from services.nurture.state import EnrolmentChanged
from services.nurture.timers import DueStep


def derive_id(*parts: object) -> str:
    """A stable id from its parts: the same inputs always give the same id."""
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:32]


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
    due: DueStep, sequence: Sequence, step: Step, rep_id: str | None, instructions: str, at: datetime
) -> dict[str, Any]:
    """A TaskCreated record for a task step; the task id is stable per enrolment and step."""
    task_id = f"task_{derive_id('task', due.enrolment_id, due.step_index)[:24]}"
    return {
        "event_id": derive_id("task-created", task_id),
        "occurred_at": at,
        "task_id": task_id,
        "lead_id": due.lead_id,
        "rep_id": rep_id,
        "kind": step.task_kind or "call",
        "due_at": at,
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
