"""Meetings on the lead's partition: store a booking, move or cancellation, mail the invite, and
keep the reminder timers in step; send a reminder when its timer fires. Each mail is sent once.
The attendee stays sealed in the table; it is opened only to address one mail.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email.headerregistry import Address
from typing import Any

from services.nurture.app import Nurture
from services.nurture.bookings import (
    booking_from_attributes,
    find_reminder,
    keep_meetings,
    reminder_ref,
    update_meeting,
)
from services.nurture.leads import LeadRecord
from services.nurture.meeting_mail import MeetingEnvelope, MeetingMail, meeting_message
from services.nurture.meetings import Meeting, ReminderPlan
from services.nurture.messages import message_id
from services.nurture.records import MeetingDelivery, meeting_email_sent
from services.nurture.sealed_profile import unreadable_reason
from services.nurture.suppression import refusal
from services.nurture.timers import Timer, TimerPlan
from shared.pii import PiiUnavailable


class MeetingDesk:
    """Meeting mails and reminders for one lead at a time (the caller holds the lead's lock)."""

    def __init__(self, nurture: Nurture) -> None:
        self.nurture, self.config = nurture, nurture.config

    async def on_booking(self, record: LeadRecord, event: dict[str, Any], now: datetime) -> LeadRecord:
        """The record with the meeting booked, moved or cancelled; mails and timers follow."""
        if "meeting_id" not in event["attributes"]:
            return record  # a booking we know nothing about: it still ends the sequences
        try:
            booking = booking_from_attributes(event["attributes"], self.config.meeting_minutes)
        except ValueError as error:
            self.nurture.runtime.log.warning("meeting_ignored", lead_id=record.lead_id, error=str(error))
            return record
        old = next((m for m in record.meetings if m.meeting_id == booking.meeting_id), None)
        organizer = await self._organizer(record)
        update = update_meeting(old, booking, organizer, now, self.config.meeting_reminders)
        if update.meeting is None or update.mail is None:
            return record
        await self._apply(record.lead_id, update.plan)
        await self._mail(record, update.meeting, update.mail, now)
        self.nurture.runtime.log.info("meeting_changed", lead_id=record.lead_id, mail=update.mail)
        return replace(record, meetings=keep_meetings(record.meetings, update.meeting, now))

    async def on_reminder(self, record: LeadRecord, ref: str, now: datetime) -> None:
        """Send the reminder a timer names, unless its meeting moved or was cancelled meanwhile."""
        found = find_reminder(record.meetings, ref, self.config.meeting_reminders)
        if found is None:
            self.nurture.runtime.log.info("reminder_withdrawn", lead_id=record.lead_id)
            return
        await self._mail(record, found[0], "reminder", now, once=f"reminder:{ref}")

    async def _organizer(self, record: LeadRecord) -> tuple[str, str]:
        rep = await self.nurture.store.rep(record.rep_id) if record.rep_id else None
        return (rep.name, rep.email) if rep else (self.config.sender_name, self.config.sender_email)

    async def _apply(self, lead_id: str, plan: ReminderPlan) -> None:
        schedule = {Timer("reminder", reminder_ref(r), lead_id).member: r.at for r in plan.schedule}
        cancel = tuple(Timer("reminder", reminder_ref(r), lead_id).member for r in plan.withdraw)
        await self.nurture.store.apply_timers(TimerPlan(schedule, cancel))

    async def _mail(
        self, record: LeadRecord, meeting: Meeting, kind: MeetingMail, now: datetime, once: str | None = None
    ) -> None:
        """Send one meeting mail once (per meeting revision, or per reminder), if consent allows."""
        once = once or f"meeting:{meeting.meeting_id}:{meeting.revision}:{kind}"
        consent = record.profile is not None and record.profile.marketing_consent
        refused = refusal(await self.nurture.store.suppression(record.lead_id, consent), "rep")
        if refused is not None:
            self.nurture.runtime.log.info("meeting_mail_suppressed", lead_id=record.lead_id, reason=refused)
            return
        sender = Address(meeting.organizer_name, addr_spec=meeting.organizer_email)
        msg_id = message_id(once, 0, self.config.mail_domain)
        rep = await self.nurture.store.rep(record.rep_id) if record.rep_id else None
        envelope = MeetingEnvelope(sender, msg_id, self.nurture.tz_of(record, rep), self.config.mail_domain)
        try:
            opened = await self._opened(record.lead_id, meeting)
            message = meeting_message(opened, kind, envelope, now)
            sealed = await self.nurture.pii.seal_values(
                record.lead_id, {"recipient": opened.attendee_email, "subject": str(message["Subject"])}
            )
        except PiiUnavailable as error:
            reason = unreadable_reason(error)
            self.nurture.runtime.log.info("meeting_mail_suppressed", lead_id=record.lead_id, reason=reason)
            return
        outcome = await self.nurture.postman.deliver_once(once, record.lead_id, message, "meeting")
        if outcome == "bounced":
            await self.nurture.store.suppress(record.lead_id, "hard_bounced")
        delivery = MeetingDelivery(
            record.lead_id,
            meeting.meeting_id,
            kind,
            once,
            msg_id,
            sender.addr_spec,
            sealed["recipient"],
            sealed["subject"],
            outcome,
        )
        await self.nurture.runtime.send(
            "email.outbound", record.lead_id, ("EmailSent", meeting_email_sent(delivery, now))
        )

    async def _opened(self, lead_id: str, meeting: Meeting) -> Meeting:
        """The meeting with its attendee opened: the table keeps them sealed as ingest wrote them
        (PiiUnavailable once the lead's key is gone)."""
        sealed = {"email": meeting.attendee_email, "name": meeting.attendee_name}
        attendee = await self.nurture.pii.open_values(lead_id, sealed)
        return replace(meeting, attendee_email=attendee["email"] or "", attendee_name=attendee["name"] or "")
