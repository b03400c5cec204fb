"""The deadline timer: scans this worker's ledgers and sends each passed deadline to proposals.due.

It never writes the table: the agent on proposals.due (same key, same partition) does, so one
writer per partition holds. Each deadline is sent once per process; repeats dedupe by event id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from services.proposal import events
from services.proposal.workflow import checks_due

if TYPE_CHECKING:
    from services.proposal.app import Proposals


class DeadlineScanner:
    """Finds passed deadlines and remembers which it already sent while they stay due."""

    def __init__(self, proposals: Proposals) -> None:
        self.proposals = proposals
        self.sent: set[str] = set()
        self.due_total = proposals.runtime.metrics.counter("deadlines_due_total", "Deadlines sent.", ("kind",))

    async def scan(self) -> None:
        app = self.proposals.runtime.app
        recovery = app.tables.recovery  # type: ignore[attr-defined]  # on the manager, not its interface
        if app.rebalancing or not recovery.completed.is_set():
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


def install_scheduler(proposals: Proposals) -> DeadlineScanner:
    scanner = DeadlineScanner(proposals)
    proposals.runtime.app.timer(proposals.config.check_interval_seconds)(scanner.scan)
    return scanner
