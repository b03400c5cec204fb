"""The nurture.due agent and the commands that reach a lead's partition through it.

A due step goes to the StepRunner; a command (manual enrol or exit, re-engagement, a meeting
reminder) is applied here under the lead's lock. Deals won are re-keyed by lead_id into commands;
the deal's lead, once enrolled in onboarding, fans the enrolment out to its company's contacts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.nurture.app import Nurture
from services.nurture.colleagues import ONBOARDING, onboarding_contacts, record_domain
from services.nurture.enrolment import Transition, enrol, exit_enrolment
from services.nurture.leads import LeadRecord
from services.nurture.meeting_desk import MeetingDesk
from services.nurture.records import Command, command_from_record, command_record
from services.nurture.reengagement import wants_reengagement
from services.nurture.signals import onboarding_lead
from services.nurture.steps import StepRunner
from services.nurture.timers import Timer, TimerPlan
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord


async def issue(nurture: Nurture, command: Command, *, wait: bool = False) -> str:
    """Send a command to the lead's partition; returns its (derived) event id."""
    record = command_record(command, datetime.now(UTC))
    await nurture.runtime.send("nurture.due", command.lead_id, ("StepDue", record), wait=wait)
    return str(record["event_id"])


class Commands:
    """Dispatches nurture.due records; every command is idempotent under redelivery."""

    def __init__(self, nurture: Nurture) -> None:
        self.nurture, self.config = nurture, nurture.config
        self.steps, self.desk = StepRunner(nurture), MeetingDesk(nurture)

    async def on_due(self, value: dict[str, Any], meta: RecordMeta) -> None:
        if value.get("command") is None:
            return await self.steps.on_due(value)
        command = command_from_record(value)
        async with self.nurture.lock(command.lead_id):
            record, now = self.nurture.load(command.lead_id), datetime.now(UTC)
            if command.kind == "reminder":
                await self.desk.on_reminder(record, command.ref or "", now)
                member = Timer("reminder", command.ref or "", command.lead_id).member
                return await self.nurture.store.apply_timers(TimerPlan({}, (member,)))
            move = await self._transition(record, command, now)
            if move.rejected:
                self.nurture.runtime.log.info("command_refused", lead_id=command.lead_id, reason=move.rejected)
            await self.nurture.commit(replace(record, enrolments=move.state), move.changes, command.cause)
        if command.kind == "enrol" and command.reason == ONBOARDING:
            await self._onboard_contacts(record, command)

    async def _onboard_contacts(self, record: LeadRecord, command: Command) -> None:
        """The won deal's lead enrolled: enrol every other known contact of its company too."""
        domain = record_domain(record, self.config.free_mail_domains)
        contacts = await self.nurture.index.contacts(domain) if domain else set()
        enrols = onboarding_contacts(contacts, record.lead_id, command.cause, command.sequence_id or "", command.ref)
        for enrol_contact in enrols:
            await issue(self.nurture, enrol_contact)
        if enrols:
            self.nurture.runtime.log.info("onboarding_contacts_requested", lead_id=record.lead_id, count=len(enrols))

    async def _transition(self, record: LeadRecord, command: Command, now: datetime) -> Transition:
        if command.kind == "exit":
            return exit_enrolment(record.enrolments, command.enrolment_id, command.reason or "manual", now)
        sequence_id = self.config.reengage_sequence if command.kind == "reengage" else command.sequence_id
        sequence = self.nurture.sequences.get(sequence_id or "")
        if sequence is None:
            raise InvalidRecord(f"{command.kind} command for unknown sequence {sequence_id!r}")
        if record.profile is None:
            return Transition(record.enrolments, rejected="unknown_lead")
        if command.kind == "reengage" and not wants_reengagement(record, sequence.sequence_id):
            await self.nurture.store.mark_silent(record.lead_id, None)
            return Transition(record.enrolments, rejected="not_eligible")
        rep = await self.nurture.store.rep(record.rep_id) if record.rep_id else None
        return enrol(record.enrolments, sequence, now, self.nurture.tz_of(record, rep))

    async def on_opportunity(self, change: dict[str, Any], meta: RecordMeta) -> None:
        """A deal closed won with a lead: onboard that lead, re-keyed to its partition."""
        lead_id = onboarding_lead(change)
        if lead_id is None or not self.config.onboarding_sequence:
            return
        command = Command(
            "enrol", lead_id, change["event_id"], self.config.onboarding_sequence, ref=change["opportunity_id"]
        )
        await issue(self.nurture, replace(command, reason=ONBOARDING))
        self.nurture.runtime.log.info("onboarding_requested", lead_id=lead_id)
