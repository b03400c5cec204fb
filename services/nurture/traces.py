"""Every Redis trace nurture can leave of one lead, named from its table record, for erasure.

Pure: names key parts and set members, no I/O. The suppression entry is not a trace: erasure
keeps it, flagged "erased", so the lead is never emailed again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.nurture.bookings import reminder_ref
from services.nurture.leads import LeadRecord
from services.nurture.meeting_mail import MeetingMail
from services.nurture.meetings import Meeting, reminders
from services.nurture.messages import message_id
from services.nurture.records import task_id_for
from services.nurture.timers import DueStep, parse_timer

MEETING_MAILS: tuple[MeetingMail, ...] = ("confirmation", "update", "cancellation", "reminder")
_GLOB_SPECIALS = "\\*?[]"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LeadTraces:
    """The lead's send-once refs, enrolment ids (their lead map), task ids and Message-IDs."""

    send_refs: tuple[str, ...]
    enrolment_ids: tuple[str, ...]
    task_ids: tuple[str, ...]
    message_ids: tuple[str, ...]


def lead_traces(record: LeadRecord, mail_domain: str, reminders_before: Sequence[timedelta]) -> LeadTraces:
    """What the record's enrolments and meetings may have written, sent or not.

    Every step up to the enrolment's current one counts: the current one may be claimed mid-send.
    """
    steps = [(e.enrolment_id, i) for e in record.enrolments.enrolments for i in range(e.step_index + 1)]
    step_refs = tuple(DueStep(record.lead_id, enrolment, i).once_ref for enrolment, i in steps)
    return LeadTraces(
        send_refs=(*step_refs, *meeting_refs(record.meetings, reminders_before)),
        enrolment_ids=tuple(e.enrolment_id for e in record.enrolments.enrolments),
        task_ids=tuple(task_id_for(enrolment, i) for enrolment, i in steps),
        message_ids=tuple(message_id(enrolment, i, mail_domain) for enrolment, i in steps),
    )


def meeting_refs(meetings: Sequence[Meeting], reminders_before: Sequence[timedelta]) -> tuple[str, ...]:
    """Send-once refs of every revision's meeting mails and of the current reminders.

    Reminders of an earlier start cannot be named any more; their claims expire with their TTL.
    """
    return (*_mail_refs(meetings), *_reminder_refs(meetings, reminders_before))


def _mail_refs(meetings: Sequence[Meeting]) -> Iterator[str]:
    for meeting in meetings:
        for revision in range(meeting.revision + 1):
            yield from (f"meeting:{meeting.meeting_id}:{revision}:{kind}" for kind in MEETING_MAILS)


def _reminder_refs(meetings: Sequence[Meeting], before: Sequence[timedelta]) -> Iterator[str]:
    for meeting in meetings:
        yield from (f"reminder:{reminder_ref(r)}" for r in reminders(meeting, _EPOCH, before))


def timer_match(lead_id: str) -> str:
    """A Redis glob matching every timer member of the lead (and possibly a few others)."""
    return "*:" + "".join(f"\\{c}" if c in _GLOB_SPECIALS else c for c in lead_id)


def is_lead_timer(member: str, lead_id: str) -> bool:
    """True when the timer-set member belongs to the lead (steps, reminders, task checks)."""
    try:
        return parse_timer(member).lead_id == lead_id
    except ValueError:
        return False
