"""The scheduler loop: every second, hand due timers back to the lead's partition as StepDue.

It never touches the table (a timer runs outside any agent); the nurture.due agent does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.nurture.app import Nurture
from services.nurture.records import step_due
from services.nurture.timers import DueStep, TimerPlan
from shared.errors import TransientFailure


async def fire_due(nurture: Nurture, now: datetime) -> int:
    """Send a StepDue for every timer due by `now`; returns how many fired.

    Claimed timers stay leased in Redis until the agent reschedules or drops them, so a crash
    between the claim and the send only delays the step by the lease.
    """
    config = nurture.config
    claimed = await nurture.store.claim_due(now, config.timer_lease_seconds, config.timer_batch)
    for member, score in claimed:
        try:
            due = DueStep.parse(member)
        except ValueError:
            nurture.runtime.log.warning("timer_dropped", member=member)
            await nurture.store.apply_timers(TimerPlan({}, (member,)))
            continue
        record = step_due(due, datetime.fromtimestamp(score, UTC), now)
        await nurture.runtime.send("nurture.due", due.lead_id, ("StepDue", record))
    return len(claimed)


def install_scheduler(nurture: Nurture) -> None:
    """Register the timer on the app; every worker runs it, the lease keeps them from colliding."""

    timer = nurture.runtime.app.timer(interval=nurture.config.scheduler_interval_seconds, name="nurture.scheduler")

    @timer  # type: ignore[untyped-decorator]  # faust's decorators are untyped
    async def drain_timers() -> None:
        try:
            fired = await fire_due(nurture, datetime.now(UTC))
        except TransientFailure as exc:
            nurture.runtime.log.warning("scheduler_skipped", error=str(exc))
            return
        if fired:
            nurture.runtime.log.info("timers_fired", count=fired)
