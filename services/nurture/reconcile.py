"""Timer reconciliation: every live enrolment of the worker's partitions gets its step timer back
if Redis lost it (a restart without AOF, a failover, a flushed key).

Runs after every partition assignment (once the tables have recovered) and every
NURTURE_RECONCILE_INTERVAL_SECONDS. It only adds missing members, never moves one, and never
writes the table. A step re-armed just after it fired finds its enrolment moved on and changes
nothing; the send-once key stops a second email in any case.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from services.nurture.app import Nurture
from services.nurture.leads import LeadRecord
from services.nurture.timers import plan_timers

_BATCH = 500


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
        app = self.nurture.runtime.app
        tables: Any = app.tables  # TableManagerT does not declare the recovery its implementation has
        return not app.rebalancing and bool(tables and tables.recovery.completed.is_set())

    async def maybe_run(self) -> int:
        """Reconcile if due and the tables are whole; returns how many timers were re-armed."""
        if time.monotonic() < self.due_at or not self.ready():
            return 0
        self.due_at = time.monotonic() + self.nurture.config.reconcile_interval_seconds
        return await self.run()

    async def run(self) -> int:
        """Re-arm every missing step timer of the local partitions, in batches."""
        timers = list(self.wanted_timers().items())
        rearmed = 0
        for start in range(0, len(timers), _BATCH):
            rearmed += await self.nurture.store.arm_missing(dict(timers[start : start + _BATCH]))
        if rearmed:
            self.rearmed.inc(rearmed)
            self.nurture.runtime.log.warning("timers_rearmed", count=rearmed)
        return rearmed

    def wanted_timers(self) -> dict[str, datetime]:
        """The step timers the local enrolments want, read one record at a time.

        No await while the table is walked (a rebalance must not close a partition under the
        iterator), and only the timers are kept: holding every decoded record at once made each
        run's peak, and the memory it left behind, grow with the table.
        """
        schedule: dict[str, datetime] = {}
        for _, stored in self.nurture.leads.items():
            schedule |= plan_timers(LeadRecord.from_dict(stored).enrolments).schedule
        return schedule
