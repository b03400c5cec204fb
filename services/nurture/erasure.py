"""Erasure (GDPR Article 17) in nurture: on subjects.erasure_requested, flag the lead erased (so
nothing more is sent), drop its Redis traces and its table entry, and report on subjects.erased.

What stays is the suppression entry keyed by lead_id, flagged "erased", holding no address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.nurture.app import Nurture
from services.nurture.colleagues import live_members, record_domain
from services.nurture.leads import LeadRecord
from services.nurture.stats import ENGAGEMENT_METRICS
from services.nurture.traces import lead_traces
from shared.dead_letters import RecordMeta

SERVICE = "nurture"


def erased_record(request: dict[str, Any], removed: list[str], now: datetime) -> dict[str, Any]:
    """The SubjectErased audit record: its id derives from the request's, so a replay dedupes."""
    return {
        "event_id": f"{request['event_id']}:{SERVICE}",
        "occurred_at": now,
        "lead_id": request["lead_id"],
        "request_event_id": request["event_id"],
        "service": SERVICE,
        "removed": removed,
    }


class Eraser:
    """Erases one lead at a time under its lock, so no step or meeting mail of it runs meanwhile."""

    def __init__(self, nurture: Nurture) -> None:
        self.nurture = nurture
        self.erased_total = nurture.runtime.metrics.counter("subjects_erased_total", "Erasure requests carried out.")

    async def on_request(self, request: dict[str, Any], meta: RecordMeta) -> None:
        """Flag first (a send racing on another worker is refused), then Redis, the report, the table.

        Idempotent: a replay finds less to remove and sends the same event id again.
        """
        lead_id, nurture = request["lead_id"], self.nurture
        async with nurture.lock(lead_id):
            try:
                await nurture.store.suppress(lead_id, "erased")
            finally:
                # Once the flag is written (or may be): a batch's prefetch, which counted before it
                # read, may have read before the flag, so it must not be trusted for any lead.
                nurture.erasures += 1
            nurture.pii.forget(lead_id)  # a cached key must not outlive the erasure
            stored = nurture.leads.get(lead_id)
            removed = await self._forget(nurture.load(lead_id))
            if stored is not None:
                removed.append("table:nurture-leads")
            record = erased_record(request, removed, datetime.now(UTC))
            await nurture.runtime.send("subjects.erased", lead_id, ("SubjectErased", record))
            if stored is not None:
                del nurture.leads[lead_id]  # a changelog tombstone
        self.erased_total.inc()
        nurture.runtime.log.info("subject_erased", lead_id=lead_id, removed=removed)

    async def _forget(self, record: LeadRecord) -> list[str]:
        config = self.nurture.config
        traces = lead_traces(record, config.mail_domain, config.meeting_reminders)
        removed = await self.nurture.store.forget(record.lead_id, traces)
        live, ended = live_members(record)
        domain = record_domain(record, config.free_mail_domains)
        removed += await self.nurture.index.forget(record.lead_id, domain, live | ended)
        metrics = ENGAGEMENT_METRICS.values()
        return removed + await self.nurture.stats.forget(record.lead_id, traces.message_ids, metrics)


def install_erasure(nurture: Nurture) -> Eraser:
    eraser = Eraser(nurture)
    nurture.runtime.consume("subjects.erasure_requested", eraser.on_request)
    return eraser
