"""The lead-event agents: a capture stores the profile, an assignment enrols in the rep's
sequence, a low score enrols in the marketing track, the roster names the reps.

Wiring only: each rule is a pure call (leads, signals, enrolment); Nurture.commit orders the effects.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.nurture import signals
from services.nurture.app import Nurture
from services.nurture.colleagues import record_domain
from services.nurture.enrolment import enrol
from services.nurture.leads import LeadProfile, RepContact, profile_from_captured
from shared.dead_letters import RecordMeta


class LeadEvents:
    """leads.captured, leads.assigned, leads.scored and reps.roster; each idempotent on redelivery."""

    def __init__(self, nurture: Nurture) -> None:
        self.nurture, self.config = nurture, nurture.config

    async def on_captured(self, lead: dict[str, Any], meta: RecordMeta) -> None:
        """Keep the profile, and the lead as a contact of its company (what a won deal onboards)."""
        nurture = self.nurture
        async with nurture.lock(lead["lead_id"]):
            if await nurture.forgotten(lead["lead_id"]):
                return
            record, writes = nurture.load(lead["lead_id"]), nurture.writes()
            nurture.queue_activity(writes, record, lead["occurred_at"])
            record = replace(record, profile=profile_from_captured(lead))
            domain = record_domain(record, self.config.free_mail_domains)
            if domain is not None:
                nurture.index.queue_contact(writes, domain, record.lead_id)
            await nurture.save(record, writes)

    async def on_assigned(self, assigned: dict[str, Any], meta: RecordMeta) -> None:
        nurture, sequence = self.nurture, self.nurture.sequences[self.config.rep_sequence]
        async with nurture.lock(assigned["lead_id"]):
            if await nurture.forgotten(assigned["lead_id"]):
                return
            record = nurture.load(assigned["lead_id"])
            if assigned["rep_id"] is None or record.assignment_event_id == assigned["event_id"]:
                return await nurture.commit(record, (), assigned["event_id"])
            rep = await nurture.rep(assigned["rep_id"])
            now = datetime.now(UTC)
            move = signals.on_assignment(record, assigned["rep_id"], sequence, now, nurture.tz_of(record, rep))
            profile = record.profile or LeadProfile(email=assigned["email"])
            record = replace(
                record,
                profile=profile,
                rep_id=assigned["rep_id"],
                assignment_event_id=assigned["event_id"],
                enrolments=move.state,
            )
            await nurture.commit(record, move.changes, assigned["event_id"])

    async def on_scored(self, scored: dict[str, Any], meta: RecordMeta) -> None:
        nurture, sequence = self.nurture, self.nurture.sequences[self.config.marketing_sequence]
        async with nurture.lock(scored["lead_id"]):
            record = nurture.load(scored["lead_id"])
            if not signals.wants_marketing(record, sequence.sequence_id, scored["score"], self.config.mql_threshold):
                return
            move = enrol(record.enrolments, sequence, datetime.now(UTC), nurture.tz_of(record))
            await nurture.commit(replace(record, enrolments=move.state), move.changes, scored["event_id"])

    async def on_roster(self, rep: dict[str, Any], meta: RecordMeta) -> None:
        calendar = self.config.calendar_url.format(rep_id=rep["rep_id"])
        contact = RepContact(rep["rep_id"], rep["name"], rep["email"], rep["timezone"], calendar)
        await self.nurture.store.put_rep(contact)
