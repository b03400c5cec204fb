"""Timer reconciliation: every live enrolment of the worker's partitions gets its step timer back
if Redis lost it (a restart without AOF, a failover, a flushed key).

Runs after every partition assignment (once the tables have recovered) and every
NURTURE_RECONCILE_INTERVAL_SECONDS. It only adds missing members, never moves one, and never
writes the table. A step re-armed just after it fired finds its enrolment moved on and changes
nothing; the send-once key stops a second email in any case.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.nurture.app import Nurture
from services.nurture.leads import LeadRecord
from services.nurture.timers import plan_timers
from shared.tables import tables_ready

_PAGE = 200  # leads per page: about 7 ms of decoding between yields, one Redis round trip


class TimerReconciler:
    """Knows when the worker's partitions last had their timers checked."""

    def __init__(self, nurture: Nurture) -> None:
        self.nurture = nurture
        self.due_at = 0.0  # monotonic; 0 means "at the next chance"
        self.rearmed = nurture.runtime.metrics.counter(
            "timers_rearmed_total", "Step timers found missing from Redis and armed again."
        )

    async def on_assigned(self, sender: Any = None, *args: Any, **kwargs: Any) -> None:
        """Partitions moved here: their enrolments' timers are checked as soon as they recovered."""
        self.due_at = 0.0

    def ready(self) -> bool:
        return tables_ready(self.nurture.runtime.app)

    async def maybe_run(self) -> int:
        """Reconcile if due and the tables are whole; returns how many timers were re-armed."""
        if time.monotonic() < self.due_at or not self.ready():
            return 0
        self.due_at = time.monotonic() + self.nurture.config.reconcile_interval_seconds
        return await self.run()

    async def run(self) -> int:
        """Re-arm every missing step timer of the local partitions, a page of leads at a time.

        The event loop is yielded after every page, so a walk over a large table neither stalls the
        handlers nor holds every live timer at once. A rebalance that starts mid-walk ends it; the
        new assignment runs it again from the start.
        """
        rearmed = 0
        for page in self.nurture.leads.pages(_PAGE):
            if timers := wanted_timers(stored for _, stored in page):
                rearmed += await self.nurture.store.arm_missing(timers)
            await asyncio.sleep(0)  # the handlers run between pages, armed timers or not
            if not self.ready():
                self.due_at = 0.0
                break
        if rearmed:
            self.rearmed.inc(rearmed)
            self.nurture.runtime.log.warning("timers_rearmed", count=rearmed)
        return rearmed


def wanted_timers(records: Iterable[dict[str, Any]]) -> dict[str, datetime]:
    """The step timers the given stored lead records want; only the timers are kept."""
    schedule: dict[str, datetime] = {}
    for stored in records:
        schedule |= plan_timers(LeadRecord.from_dict(stored).enrolments).schedule
    return schedule
