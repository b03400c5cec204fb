"""Deadlines: the timer that scans this worker's ledgers and sends each passed one to proposals.due,
and the handlers that escalate or expire when the proposals.due agent applies it.

The timer never writes the table: the agent on proposals.due (same key, same partition) does, so one
writer per partition holds. Each deadline is sent once per process; repeats dedupe by event id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.proposal import events, workflow
from services.proposal.ledger import Ledger
from services.proposal.refusals import refused_as_invalid
from services.proposal.workflow import checks_due
from shared.tables import tables_ready

if TYPE_CHECKING:
    from services.proposal.app import Proposals


class DeadlineScanner:
    """Finds passed deadlines and remembers which it already sent while they stay due."""

    def __init__(self, proposals: Proposals) -> None:
        self.proposals = proposals
        self.sent: set[str] = set()
        metrics = proposals.runtime.metrics
        self.due_total = metrics.counter("deadlines_due_total", "Deadlines sent.", ("kind",))
        self.scans_total = metrics.counter("deadline_scans_total", "Completed scans of the local ledgers.")

    async def scan(self) -> None:
        if not tables_ready(self.proposals.runtime.app):
            return  # the table is incomplete until recovery ends; the next tick catches up
        now, still_due = datetime.now(UTC), set()
        for opportunity_id, ledger in self.proposals.ledgers.local_ledgers():
            for file in ledger.files:
                for check in checks_due(file, self.proposals.policy, now):
                    still_due.add(check.key)
                    if check.key not in self.sent:
                        await self.proposals.runtime.send(
                            "proposals.due", opportunity_id, events.due(opportunity_id, check, now)
                        )
                        self.due_total.labels(check.kind).inc()
        # Forget deadlines that were handled, so the set stays as small as what is pending.
        self.sent = still_due
        self.scans_total.inc()


class DeadlineHandlers:
    """What a passed deadline does to the deal's ledger, on its partition."""

    def __init__(self, proposals: Proposals) -> None:
        self.proposals = proposals

    async def escalate(self, ledger: Ledger, value: dict[str, Any], now: datetime) -> None:
        with refused_as_invalid():
            file = ledger.file(value["number"])
        step = workflow.escalate(file, value["version"], self.proposals.policy, now)
        await self.proposals.follow(ledger, step, value["event_id"], now)

    async def expire(self, ledger: Ledger, value: dict[str, Any], now: datetime) -> None:
        with refused_as_invalid():
            file, expired = workflow.expire(ledger.file(value["number"]), now)
        if expired is not None:
            record = events.expired(file, expired, now)
            await self.proposals.runtime.send("proposals.expired", value["opportunity_id"], record)
        await self.proposals.save(ledger, file, value["event_id"], now, "expired" if expired else "unchanged")


def install_scheduler(proposals: Proposals) -> DeadlineScanner:
    handlers = DeadlineHandlers(proposals)
    proposals.due_kinds |= {"escalation": handlers.escalate, "expiry": handlers.expire}
    scanner = DeadlineScanner(proposals)
    proposals.runtime.app.timer(proposals.config.check_interval_seconds)(scanner.scan)
    return scanner
