"""The engagement.captured and leads.converted agents: suppression flags, A/B counts, meetings,
exits and pauses, and (when switched on) the end of a replier's colleagues' enrolments.

Wiring only: each rule is a pure call (signals, stats, bookings); this module orders the effects.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.nurture.app import Nurture
from services.nurture.colleagues import colleague_exits, ends_colleagues, record_domain
from services.nurture.commands import issue
from services.nurture.enrolment import Signal, apply_signal
from services.nurture.leads import LeadRecord
from services.nurture.meeting_desk import MeetingDesk
from services.nurture.signals import signal_for, suppression_for
from services.nurture.stats import ENGAGEMENT_METRICS
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord


class EngagementHandler:
    """One engagement event: every effect is idempotent, so a redelivery repeats none."""

    def __init__(self, nurture: Nurture, desk: MeetingDesk) -> None:
        self.nurture, self.desk = nurture, desk
        self.engaged = nurture.runtime.metrics.counter(
            "email_engagement_total",
            "Opens, clicks and replies counted per sequence, step and variant (once per email).",
            ("sequence", "step", "variant", "metric"),
        )

    async def on_engagement(self, event: dict[str, Any], meta: RecordMeta) -> None:
        lead_id = event["lead_id"]
        if lead_id is None:
            raise InvalidRecord("engagement.captured record without lead_id")
        if await self.nurture.forgotten(lead_id):
            return
        flag = suppression_for(event["type"], event["attributes"])
        if flag is not None:
            await self.nurture.store.suppress(lead_id, flag)
        await self._count(lead_id, event)
        signal = signal_for(event["type"], event["attributes"])
        record = await self._apply(event, signal)
        if signal is not None and ends_colleagues(signal) and self.nurture.config.colleague_reply_exit:
            await self._end_colleagues(record, event["event_id"])

    async def _apply(self, event: dict[str, Any], signal: Signal | None) -> LeadRecord:
        """The engagement's effect on the lead's own enrolments and meetings; the record after it."""
        async with self.nurture.lock(event["lead_id"]):
            record, now, writes = self.nurture.load(event["lead_id"]), datetime.now(UTC), self.nurture.writes()
            self.nurture.queue_activity(writes, record, now)
            if event["type"] == "meeting_booked":
                record = await self.desk.on_booking(record, event, now)
            elif signal is None:
                await self.nurture.flush(writes)
                return record
            tz = self.nurture.tz_of(record)
            move = apply_signal(record.enrolments, signal, now, self.nurture.sequences, tz) if signal else None
            record = replace(record, enrolments=move.state) if move else record
            await self.nurture.commit(record, move.changes if move else (), event["event_id"], writes=writes)
            return record

    async def _end_colleagues(self, record: LeadRecord, cause: str) -> None:
        """A reply ends every live enrolment of the replier's colleagues, each on its own partition."""
        domain = record_domain(record, self.nurture.config.free_mail_domains)
        members = await self.nurture.index.live_at(domain) if domain else set()
        exits = colleague_exits(members, record.lead_id, cause)
        for command in exits:
            await issue(self.nurture, command)
        if exits:
            self.nurture.runtime.log.info("colleague_exits_requested", lead_id=record.lead_id, count=len(exits))

    async def on_converted(self, converted: dict[str, Any], meta: RecordMeta) -> None:
        """A lead converted into a deal: its sequences end with reason opportunity_opened."""
        lead_id = converted["lead_id"]
        async with self.nurture.lock(lead_id):
            record, now = self.nurture.load(lead_id), datetime.now(UTC)
            signal = Signal("opportunity_opened")
            move = apply_signal(record.enrolments, signal, now, self.nurture.sequences, self.nurture.tz_of(record))
            await self.nurture.commit(replace(record, enrolments=move.state), move.changes, converted["event_id"])

    async def _count(self, lead_id: str, event: dict[str, Any]) -> None:
        """Count an open, click or reply once against the email it concerns (by message id)."""
        metric = ENGAGEMENT_METRICS.get(event["type"])
        if metric is None:
            return
        email = await self.nurture.stats.email_for(lead_id, event["attributes"].get("message_id"))
        if email is not None and await self.nurture.stats.count_engagement(email, metric):
            self.engaged.labels(email.sequence_id, email.step_id, email.variant, metric).inc()
