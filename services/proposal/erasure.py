"""Erasure (GDPR Article 17) in proposal: find the person's proposals, redact the contact on each
proposal's own partition, render its documents again without it, and report on subjects.erased.

Proposals are keyed by opportunity_id, the request by lead_id: the request's agent finds the
proposals in the SubjectIndex (contact email digest, and deals converted from the lead) and hands
each to its deal's partition as a proposals.due "erasure" command (the table's one writer). The
report names what was handed on: the commands are durable and applied at least once, by event id.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.proposal.ledger import Ledger
from services.proposal.redaction import ERASURE, erasure_command, has_contact, redact_file, rendered_versions
from services.proposal.workflow import ProposalFile
from shared.dead_letters import RecordMeta

if TYPE_CHECKING:
    from services.proposal.app import Proposals

SERVICE = "proposal"


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
    """The lead-keyed request, the deal-keyed redaction, and the lead -> deal link behind them."""

    def __init__(self, proposals: Proposals) -> None:
        self.proposals, self.index = proposals, proposals.subjects
        self.redacted = proposals.runtime.metrics.counter("proposals_redacted_total", "Proposals erased of a contact.")

    async def on_request(self, request: dict[str, Any], meta: RecordMeta) -> None:
        """Commands first, then the report, then the index: a crash replays and repeats the same ids."""
        runtime, now = self.proposals.runtime, datetime.now(UTC)
        refs = await self.index.proposals_of(request["lead_id"], request["email_sha256"])
        for ref in refs:
            await runtime.send("proposals.due", ref.opportunity_id, ("ProposalDue", erasure_command(request, ref, now)))
        removed = [f"table:proposals {ref.number}" for ref in refs] + [f"documents:proposal {r.number}" for r in refs]
        removed += await self.index.forget(request["lead_id"], request["email_sha256"])
        await runtime.send(
            "subjects.erased", request["lead_id"], ("SubjectErased", erased_record(request, removed, now))
        )
        runtime.log.info("subject_erased", lead_id=request["lead_id"], proposals=len(refs))

    async def redact(self, ledger: Ledger, value: dict[str, Any], now: datetime) -> None:
        """On the deal's partition: drop the contact from every version and re-render its documents."""
        file = ledger.find(value["number"])
        if file is None or not has_contact(file):
            self.proposals.runtime.log.info("proposal_erasure_skipped", number=value["number"])
            return
        file = await self._render(redact_file(file))
        await self.proposals.save(ledger, file, value["event_id"], now, "erased")
        self.redacted.inc()

    async def _render(self, file: ProposalFile) -> ProposalFile:
        revisions = list(file.revisions)
        for version in rendered_versions(file):
            stored = await self.proposals.publisher.render(file, version)
            revisions[version - 1] = replace(revisions[version - 1], documents=stored)
        return replace(file, revisions=tuple(revisions))

    async def on_opportunity(self, change: dict[str, Any], meta: RecordMeta) -> None:
        """A deal converted from a lead: remember the link, so erasing the lead finds its proposals."""
        if change.get("lead_id"):
            await self.index.link_lead(change["lead_id"], change["opportunity_id"])


def install_erasure(proposals: Proposals) -> Eraser:
    eraser = Eraser(proposals)
    proposals.due_kinds[ERASURE] = eraser.redact
    proposals.runtime.consume("subjects.erasure_requested", eraser.on_request)
    proposals.runtime.consume("opportunities.changed", eraser.on_opportunity)
    return eraser
